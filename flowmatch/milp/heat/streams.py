"""Heat streams and levels: the heat resources of an inventory, read into arrays.

Every heat resource of an inventory (an energy resource whose type is heat,
steam or hot water, or that gives a temperature) is a stream of the heat
cascade. Hot streams (energy haves) give heat, cold streams (energy wants) take
it; ``quantity`` is the duty in MWh per year. Two forms (``properties``):

- *stream*: ``temperature_c`` and ``target_temperature_c`` values; a hot stream
  cools from supply to target, a cold one heats up;
- *level*: a have with only a ``temperature_c`` value offers its heat at that
  temperature (steam condensing, say); a want with a ``temperature_c`` ``min``
  (or only a ``value``) needs its heat at that temperature.

Steam (``energy:steam:*`` levels) carries a pressure level (hp -> mp -> lp) for
let-down. Each stream also carries the price and CO2 of its utility: hot
utility (virgin) for a cold stream, cold utility (disposal) for a hot one.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

from flowmatch.errors import InventoryError
from flowmatch.inputs.inventory import Inventory
from flowmatch.inputs.requirements import heat_problems
from flowmatch.milp.costs import carbon_cost, disposal_terms, virgin_terms

__all__ = ["HEAT_ROOT", "STEAM_ROOT", "STEAM_LEVELS", "TEMPERATURE_PROPERTIES", "TOL",
           "HeatStreams", "heat_resource_ids", "heat_streams"]

HEAT_ROOT = "energy:heat"
STEAM_ROOT = "energy:steam"
STEAM_LEVELS = {"energy:steam:lp": 1, "energy:steam:mp": 2, "energy:steam:hp": 3}
TEMPERATURE_PROPERTIES = ("temperature_c", "target_temperature_c")
_ROUND = 6  # decimals of a shifted temperature (equal temperatures share a boundary)
TOL = 1e-9  # heat below this share of the total duty is solver noise


def _heat_mask(inv: Inventory) -> np.ndarray:
    res = inv.resources
    tax = inv.taxonomy
    energy = (res["category"] == "energy").to_numpy()
    types = res.loc[energy, "type"].unique()
    is_heat_type = {t: HEAT_ROOT in tax.ancestors(t) for t in types}
    by_type = res["type"].map(is_heat_type).eq(True).to_numpy()
    props = inv.properties
    with_temp = props.loc[props["property"].isin(TEMPERATURE_PROPERTIES), "resource_id"].unique()
    return energy & (by_type | res["resource_id"].isin(with_temp).to_numpy())


def heat_resource_ids(inv: Inventory) -> list[str]:
    """Ids of the energy resources the heat cascade owns.

    Those whose type is heat (``energy:heat`` and below: steam, hot water,
    flue gas) or that give a ``temperature_c``/``target_temperature_c``;
    electricity, fuel gas and the like stay direct synergies.
    """
    return inv.resources.loc[_heat_mask(inv), "resource_id"].astype(str).tolist()


@dataclass(frozen=True)
class HeatStreams:
    """Heat streams and levels as arrays (one entry per resource).

    Attributes
    ----------
    ids, sites : ndarray of str
    hot : ndarray of bool
        Hot (have) or cold (want).
    level : ndarray of bool
        A level (all its heat at one temperature) rather than a stream.
    t_supply, t_target : ndarray of float
        Real temperatures, degrees C (equal for a level).
    duty : ndarray of float
        MWh per year.
    price, co2 : ndarray of float
        Per MWh of utility: cold utility for a hot stream, hot utility for a
        cold one (:mod:`flowmatch.milp.costs`; price includes carbon).
    reach : ndarray of float
        Farthest a stream's heat is piped, km.
    steam_rank : ndarray of int
        Steam pressure level of a steam level (lp 1, mp 2, hp 3; 0 for other
        steam of unknown level, -1 for anything else).
    dt_min : float
    opportunity : ndarray of float
        Per MWh a hot stream gives to a cold one (let-down included): what using
        its heat costs its owner today (``opportunity_cost`` property, e.g. the
        electricity lost when steam is extracted); 0 for cold streams.
    months : ndarray of int
        Each stream's months (12-bit ``month_mask``): the cascade is planned per
        period of the year (:mod:`flowmatch.milp.heat.periods`).
    """

    ids: np.ndarray
    sites: np.ndarray
    hot: np.ndarray
    level: np.ndarray
    t_supply: np.ndarray
    t_target: np.ndarray
    duty: np.ndarray
    price: np.ndarray
    co2: np.ndarray
    reach: np.ndarray
    steam_rank: np.ndarray
    dt_min: float
    opportunity: np.ndarray
    months: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, keep: np.ndarray) -> HeatStreams:
        """The streams where ``keep`` (a bool mask) is true, in the same order.

        Equal to :func:`heat_streams` of those ids, without reading the
        inventory again (one read serves every part of a large inventory).
        """
        return replace(self, **{f.name: getattr(self, f.name)[keep] for f in fields(self)
                                if f.name != "dt_min"})

    @property
    def shifted_hi(self) -> np.ndarray:
        """Top of each stream's span on the shifted scale."""
        shift = np.where(self.hot, -self.dt_min / 2, self.dt_min / 2)
        return np.round(np.maximum(self.t_supply, self.t_target) + shift, _ROUND)

    @property
    def shifted_lo(self) -> np.ndarray:
        """Bottom of each stream's span on the shifted scale."""
        shift = np.where(self.hot, -self.dt_min / 2, self.dt_min / 2)
        return np.round(np.minimum(self.t_supply, self.t_target) + shift, _ROUND)


def _steam_rank(tax, types: pd.Series) -> np.ndarray:
    def rank(t: str) -> int:
        anc = tax.ancestors(t)
        for a in anc:
            if a in STEAM_LEVELS:
                return STEAM_LEVELS[a]
        return 0 if STEAM_ROOT in anc else -1
    cache = {t: rank(t) for t in types.unique()}
    return types.map(cache).to_numpy(dtype=np.int64)


def heat_streams(inv: Inventory, resource_ids: list[str] | None = None) -> HeatStreams:
    """Read the heat streams of ``inv`` (the heat resources, or those in ``resource_ids``).

    Raises
    ------
    InventoryError
        Naming each stream without temperatures, each hot stream colder than
        its target and each cold stream hotter than its target.
    """
    p = inv.params
    res = inv.resources
    ids = heat_resource_ids(inv) if resource_ids is None else list(resource_ids)
    heat = res[res["resource_id"].isin(ids)]
    props = inv.properties[inv.properties["property"].isin(TEMPERATURE_PROPERTIES)]
    props = props[props["resource_id"].isin(heat["resource_id"])]
    wide = props.pivot_table(index="resource_id", columns="property", values=["value", "min"],
                             aggfunc="first")
    rid = heat["resource_id"]

    def col(kind: str, prop: str) -> np.ndarray:
        if (kind, prop) not in wide.columns:
            return np.full(len(heat), np.nan)
        return wide[(kind, prop)].reindex(rid).to_numpy(dtype=float)

    t_val, t_min, tgt = col("value", "temperature_c"), col("min", "temperature_c"), \
        col("value", "target_temperature_c")
    hot = (heat["role"] == "have").to_numpy()
    names = rid.to_numpy(dtype=object)
    sites = heat["site_id"].to_numpy(dtype=object)
    problems = heat_problems(inv, ids)  # the same check `flowmatch validate` runs
    if problems:
        raise InventoryError(problems)

    stream = ~np.isnan(tgt) & ~np.isnan(t_val) & (tgt != t_val)
    # a level sits at its value (have, or want with only a value) or its min (want)
    t_level = np.where(hot | np.isnan(t_min), t_val, t_min)
    t_supply = np.where(stream, t_val, t_level)
    t_target = np.where(stream, tgt, t_level)
    d_cost, d_co2, _ = disposal_terms(heat, p)
    v_cost, v_co2 = virgin_terms(heat, p)
    co2 = np.where(hot, d_co2, v_co2)
    reach = heat["max_distance_km"].to_numpy(dtype=float)
    rank = _steam_rank(inv.taxonomy, heat["type"])
    return HeatStreams(
        ids=names, sites=sites, hot=hot, level=~stream,
        t_supply=t_supply, t_target=t_target, duty=heat["quantity"].to_numpy(dtype=float),
        price=np.where(hot, d_cost, v_cost) + carbon_cost(co2, p), co2=co2,
        reach=np.where(np.isnan(reach), p.max_distance_energy_km, reach),
        steam_rank=np.where(stream, -1, rank), dt_min=p.dt_min_k,
        opportunity=np.where(hot, _opportunity(inv, rid), 0.0),
        months=heat["month_mask"].to_numpy(dtype=np.int64),
    )


def _opportunity(inv: Inventory, rid: pd.Series) -> np.ndarray:
    """``opportunity_cost`` value of each resource in ``rid`` (0 where none is given)."""
    props = inv.properties
    sel = props[props["property"] == "opportunity_cost"].drop_duplicates("resource_id")
    v = sel.set_index("resource_id")["value"].reindex(rid).to_numpy(dtype=float)
    return np.where(np.isnan(v), 0.0, v)
