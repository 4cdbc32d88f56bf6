"""What a unit of disposal, virgin supply and transport costs and emits.

One place for the per-unit prices every model part and the baseline use, so a
plan and "today" are priced alike. All figures are per base unit (t, m3, MWh)
and come from the resource where it gives them (``cost``, ``co2``), otherwise
from :class:`~flowmatch.inputs.params.Params`:

========  =====================================  ===================================
category  disposal of a have (cost / kg CO2e)     virgin input of a want
========  =====================================  ===================================
material  ``landfill_price`` when landfilled,     ``virgin_price_t`` / 0
          else 0 / ``landfill_co2_kg_t`` when
          landfilled, else 0
water     ``wastewater_price`` /                  ``fresh_water_price`` /
          ``wastewater_co2_kg_m3``                ``fresh_water_co2_kg_m3``
energy    ``cold_utility_price`` /                ``hot_utility_price`` /
          ``cold_utility_co2_kg_mwh``             ``hot_utility_co2_kg_mwh``
========  =====================================  ===================================

A material have is *landfilled* when its ``route`` is ``landfill`` or empty;
``landfill_tax`` is added to every landfilled have's disposal cost, given or
not. ``carbon_cost`` turns kg CO2e into money at ``carbon_price`` per t; the
optimiser's ``cost`` metric includes it.
"""

from __future__ import annotations

from typing import overload

import numpy as np
import pandas as pd

from flowmatch.inputs.inventory import Inventory
from flowmatch.inputs.params import Params
from flowmatch.milp.capex import link_capex_annual

__all__ = ["disposal_terms", "virgin_terms", "transport_rates", "carbon_cost", "is_landfilled",
           "infrastructure_factors", "link_fixed_cost"]


def _given(df: pd.DataFrame, col: str) -> np.ndarray:
    return df[col].to_numpy(dtype=float) if col in df else np.full(len(df), np.nan)


def _by_category(cat: np.ndarray, table: dict[str, float]) -> np.ndarray:
    out = np.zeros(len(cat))
    for k, v in table.items():
        out[cat == k] = v
    return out


def is_landfilled(resources: pd.DataFrame) -> np.ndarray:
    """``True`` for material resources whose route is ``landfill`` or empty."""
    route = resources["route"].fillna("").astype(str).str.strip().str.lower() if "route" in resources \
        else pd.Series("", index=resources.index)
    return ((resources["category"] == "material") & route.isin(["landfill", ""])).to_numpy()


def disposal_terms(haves: pd.DataFrame, params: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-unit (cost, kg CO2e, t landfilled) of disposing of each have as today.

    ``cost`` excludes the carbon price (see :func:`carbon_cost`).
    """
    cat = haves["category"].to_numpy()
    land = is_landfilled(haves)
    cost = _given(haves, "cost")
    default_cost = _by_category(cat, {"water": params.wastewater_price,
                                      "energy": params.cold_utility_price})
    default_cost[land] = params.landfill_price
    cost = np.where(np.isnan(cost), default_cost, cost) + np.where(land, params.landfill_tax, 0.0)
    co2 = _given(haves, "co2")
    default_co2 = _by_category(cat, {"water": params.wastewater_co2_kg_m3,
                                     "energy": params.cold_utility_co2_kg_mwh})
    default_co2[land] = params.landfill_co2_kg_t
    co2 = np.where(np.isnan(co2), default_co2, co2)
    return cost, co2, land.astype(float)


def virgin_terms(wants: pd.DataFrame, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit (cost, kg CO2e) of serving each want with virgin input as today."""
    cat = wants["category"].to_numpy()
    cost = _given(wants, "cost")
    cost = np.where(np.isnan(cost), _by_category(cat, {"material": params.virgin_price_t,
                                                       "water": params.fresh_water_price,
                                                       "energy": params.hot_utility_price}), cost)
    co2 = _given(wants, "co2")
    co2 = np.where(np.isnan(co2), _by_category(cat, {"water": params.fresh_water_co2_kg_m3,
                                                     "energy": params.hot_utility_co2_kg_mwh}), co2)
    return cost, co2


def transport_rates(categories: np.ndarray, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """Per unit-km (cost, kg CO2e) of moving each category (t-km, m3-km, MWh-km)."""
    cost = _by_category(categories, {"material": params.transport_cost_t_km,
                                     "water": params.transport_cost_m3_km,
                                     "energy": params.transport_cost_mwh_km})
    co2 = _by_category(categories, {"material": params.co2_kg_t_km, "water": params.co2_kg_m3_km,
                                    "energy": params.co2_kg_mwh_km})
    return cost, co2


def link_fixed_cost(category: str | np.ndarray, km: np.ndarray, params: Params) -> np.ndarray:
    """Yearly fixed cost of a piped link ``km`` long: a water pipe or a heat link.

    ``pipe_fixed_cost + pipe_cost_km * km`` for ``water``,
    ``heat_link_fixed_cost + heat_link_cost_km * km`` for ``energy``; NaN for a
    category moved by road (material), whose fixed cost is a synergy's.
    Plus ``pipe_capex_km`` / ``heat_link_capex_km`` times ``km`` annualised
    (:func:`flowmatch.milp.capex.link_capex_annual`).
    The one formula the direct synergies and the water and heat networks use.
    """
    km = np.asarray(km, dtype=float)
    cat = np.broadcast_to(np.asarray(category, dtype=object), km.shape)
    out = np.full(km.shape, np.nan)
    water, energy = cat == "water", cat == "energy"
    out[water] = params.pipe_fixed_cost + params.pipe_cost_km * km[water]
    out[energy] = params.heat_link_fixed_cost + params.heat_link_cost_km * km[energy]
    out[water | energy] += link_capex_annual(cat[water | energy], km[water | energy], params)
    return out


@overload
def carbon_cost(co2_kg: float, params: Params) -> float: ...
@overload
def carbon_cost(co2_kg: np.ndarray, params: Params) -> np.ndarray: ...
def carbon_cost(co2_kg: np.ndarray | float, params: Params) -> np.ndarray | float:
    """Money for ``co2_kg`` at ``params.carbon_price`` per t CO2e (a number for a number)."""
    return co2_kg * (params.carbon_price / 1000.0)


def infrastructure_factors(inventory: Inventory, from_site: np.ndarray, to_site: np.ndarray,
                           category: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(transport cost factor, fixed cost factor) of each link from ``inventory.infrastructure``.

    A network row applies between its two sites in either direction, to its
    ``category`` (or to every category when that is empty); where several
    rows apply the smallest factor wins. Links no network serves get 1.
    """
    n = len(from_site)
    tf, ff = np.ones(n), np.ones(n)
    infra = inventory.infrastructure
    if infra is None or len(infra) == 0 or n == 0:
        return tf, ff
    a = np.asarray(from_site, dtype=object)
    b = np.asarray(to_site, dtype=object)
    links = pd.DataFrame({"i": np.arange(n), "s1": np.where(a <= b, a, b), "s2": np.where(a <= b, b, a),
                          "category": np.asarray(category, dtype=object)})
    net = infra.copy()
    fa, fb = net["from_site"].astype(str).to_numpy(), net["to_site"].astype(str).to_numpy()
    net["s1"], net["s2"] = np.where(fa <= fb, fa, fb), np.where(fa <= fb, fb, fa)
    net["category"] = net["category"].fillna("").astype(str).str.strip().str.lower() \
        if "category" in net else ""
    for col in ("transport_cost_factor", "fixed_cost_factor"):
        net[col] = pd.to_numeric(net[col], errors="coerce").fillna(1.0) if col in net else 1.0
    m = links.merge(net[["s1", "s2", "category", "transport_cost_factor", "fixed_cost_factor"]],
                    on=["s1", "s2"], suffixes=("", "_net"))
    m = m[(m["category_net"] == "") | (m["category_net"] == m["category"])]
    if len(m):
        best = m.groupby("i")[["transport_cost_factor", "fixed_cost_factor"]].min()
        idx = best.index.to_numpy()
        tf[idx] = best["transport_cost_factor"].to_numpy()
        ff[idx] = best["fixed_cost_factor"].to_numpy()
    return tf, ff
