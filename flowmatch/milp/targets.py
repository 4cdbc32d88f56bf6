"""Water and heat targets: the best any network can do, before any cost.

Water (fixed-flow sources and sinks): for each contaminant alone, the water
cascade (the source-sink composite, or material-recovery pinch, method) gives
the minimum fresh water, the wastewater and the pinch concentration. With
several contaminants each of those is only a lower bound; the true minimum is
the linear programme of the water network with every source free to reach
every sink (no distances, no regeneration), and it is the headline target.

Heat: the problem table (temperature-interval cascade with ``dt_min_k``) gives
the minimum hot and cold utility and the pinch, as the hot and the cold
temperature. Levels (steam, say) are heat at one temperature. Targets treat
all sites as one; the plan may fall short of them where links do not pay, and
may beat the hot-utility target where steam is let down directly (no
exchanger, so no ``dt_min_k``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from flowmatch.errors import ModelError
from flowmatch.inputs.inventory import Inventory
from flowmatch.milp.builder import ModelBuilder
from flowmatch.milp.heat import build_slots, heat_resource_ids, heat_streams
from flowmatch.milp.solvers import solve
from flowmatch.milp.water import WaterPart, water_streams

__all__ = ["WaterTargets", "HeatTargets", "water_targets", "heat_targets", "targets_text",
           "water_cascade_target"]

log = logging.getLogger(__name__)

#: largest source x sink product for which the multi-contaminant LP target is computed
MAX_LP_PAIRS = 2_000_000


@dataclass(frozen=True)
class WaterTargets:
    """Water targets of an inventory (quantities in m3 per year).

    Attributes
    ----------
    fresh_water, wastewater : float
        Minimum fresh water and the wastewater that goes with it: the LP
        target where it was computed, else the largest single-contaminant one.
    pinch_ppm : float or None
        Pinch concentration (one contaminant only; ``None`` with several or
        where fresh water is set by the overall flow balance).
    pinch_contaminant : str or None
    by_contaminant : pandas.DataFrame
        ``contaminant, fresh_water, wastewater, pinch_ppm``: each contaminant alone.
    lp_computed : bool
        Whether ``fresh_water`` is the LP target.
    n_sources, n_sinks : int
    hours_per_year : float
    """

    fresh_water: float
    wastewater: float
    pinch_ppm: float | None
    pinch_contaminant: str | None
    by_contaminant: pd.DataFrame
    lp_computed: bool
    n_sources: int
    n_sinks: int
    hours_per_year: float


@dataclass(frozen=True)
class HeatTargets:
    """Heat targets of an inventory (quantities in MWh per year).

    Attributes
    ----------
    hot_utility, cold_utility : float
        Minimum hot and cold utility.
    pinch_hot_c, pinch_cold_c : float or None
        Pinch as the hot-stream and the cold-stream temperature, C (``None``
        for a threshold problem, which needs only one utility).
    dt_min_k : float
    problem_table : pandas.DataFrame
        ``top_c, bottom_c`` (shifted), ``hot, cold, surplus, cascade`` per slot
        (``cascade`` is the heat flowing out of the slot with the minimum hot
        utility entering at the top).
    n_hot, n_cold : int
    hours_per_year : float
    """

    hot_utility: float
    cold_utility: float
    pinch_hot_c: float | None
    pinch_cold_c: float | None
    dt_min_k: float
    problem_table: pd.DataFrame
    n_hot: int
    n_cold: int
    hours_per_year: float


# --------------------------------------------------------------------------- water


def water_cascade_target(src_flow: np.ndarray, src_conc: np.ndarray, snk_flow: np.ndarray,
                         snk_max: np.ndarray, fresh_conc: float = 0.0) -> tuple[float, float, float | None]:
    """Minimum fresh water for one contaminant by the water cascade.

    Parameters
    ----------
    src_flow, src_conc : ndarray
        Source flows and concentrations (NaN: unknown, usable only by unlimited sinks).
    snk_flow, snk_max : ndarray
        Sink flows and maximum concentrations (``inf``: no limit).
    fresh_conc : float
        Concentration of the fresh water.

    Returns
    -------
    fresh, wastewater, pinch : float, float, float or None
        Pinch is the concentration where the cumulative load cascade is zero.

    Raises
    ------
    ModelError
        When some sinks are cleaner than the fresh water and the cleaner
        sources cannot serve them.
    """
    finite = np.concatenate([src_conc[np.isfinite(src_conc)], snk_max[np.isfinite(snk_max)], [fresh_conc]])
    top = 2.0 * float(finite.max()) + 1.0  # stands for "any concentration"
    sc = np.where(np.isfinite(src_conc), src_conc, top)
    kc = np.where(np.isfinite(snk_max), snk_max, top)
    levels = np.unique(np.concatenate([sc, kc, [fresh_conc]]))
    net = np.zeros(len(levels))
    np.add.at(net, np.searchsorted(levels, sc), src_flow)
    np.add.at(net, np.searchsorted(levels, kc), -snk_flow)
    flow = np.cumsum(net)[:-1]  # flow through the interval above each level, without fresh water
    width = np.diff(levels)
    load = np.cumsum(flow * width)  # cumulative load up to each level above the first
    upper = levels[1:]
    k0 = int(np.searchsorted(levels, fresh_conc))
    helped = np.arange(len(upper)) >= k0
    scale = max(float(src_flow.sum() + snk_flow.sum()) * float(levels[-1]), 1.0) * 1e-9
    if (load[~helped] < -scale).any():
        raise ModelError("no mix of sources and fresh water meets the sinks cleaner than the fresh "
                         f"water ({fresh_conc:g} ppm).")
    need = np.where(helped, -load / np.where(helped, upper - fresh_conc, 1.0), 0.0)
    balance = float(snk_flow.sum() - src_flow.sum())
    fresh = max(0.0, float(need.max()) if len(need) else 0.0, balance)
    final = load + np.where(helped, fresh * (upper - fresh_conc), 0.0)
    pinch = None
    at_zero = np.flatnonzero(helped & (np.abs(final) <= scale) & (upper < top))
    if fresh > 0 and len(at_zero):
        pinch = float(upper[at_zero[0]])
    return fresh, fresh - balance, pinch


def _lp_min_fresh(inv: Inventory) -> tuple[float, float]:
    """Minimum fresh water (and wastewater) by the targeting LP of the water network."""
    part = WaterPart(inv, targeting=True)
    mb = ModelBuilder()
    part.add_to(mb)
    res = solve(mb.build(), {"cost": 1.0}, gap=0.0)
    if res.status != "optimal" or res.x is None:  # an optimal result always has x
        raise ModelError(f"the water targeting LP ended {res.status} ({res.message}).")
    fl = part.flows(res.x)
    fresh = float(fl.loc[fl["mode"] == "virgin", "quantity"].sum())
    waste = float(fl.loc[fl["mode"] == "disposal", "quantity"].sum())
    return fresh, waste


def water_targets(inv: Inventory) -> WaterTargets | None:
    """Water targets of ``inv``, or ``None`` when it has no water sources and sinks.

    Raises
    ------
    InventoryError
        A water resource without a concentration.
    ModelError
        A sink no mix of sources and fresh water can meet, by name.
    """
    ws = water_streams(inv)
    if ws.n_src + ws.n_snk == 0:
        return None
    rows = []
    for c, name in enumerate(ws.contaminants):
        fresh_conc = float(ws.snk_fresh[:, c].min()) if ws.n_snk else 0.0
        try:
            f, w, pinch = water_cascade_target(ws.src_flow, ws.src_conc[:, c], ws.snk_flow,
                                               ws.snk_max[:, c], fresh_conc)
        except ModelError:
            f, w, pinch = np.nan, np.nan, None
        rows.append((name, f, w, pinch))
    by_c = pd.DataFrame(rows, columns=["contaminant", "fresh_water", "wastewater", "pinch_ppm"])
    lp = ws.n_src * ws.n_snk <= MAX_LP_PAIRS
    if lp:
        fresh, waste = _lp_min_fresh(inv)  # raises, by name, for a sink nothing can meet
    else:
        log.warning("water targets: %d sources x %d sinks is too large for the LP target; "
                    "showing the largest single-contaminant target (a lower bound)", ws.n_src, ws.n_snk)
        k = int(np.nanargmax(by_c["fresh_water"].to_numpy()))
        fresh, waste = float(by_c.at[k, "fresh_water"]), float(by_c.at[k, "wastewater"])
    single = len(ws.contaminants) == 1
    return WaterTargets(
        fresh_water=fresh, wastewater=waste,
        pinch_ppm=by_c.at[0, "pinch_ppm"] if single else None,
        pinch_contaminant=ws.contaminants[0] if single else None,
        by_contaminant=by_c, lp_computed=lp, n_sources=ws.n_src, n_sinks=ws.n_snk,
        hours_per_year=inv.params.hours_per_year)


# --------------------------------------------------------------------------- heat


def heat_targets(inv: Inventory) -> HeatTargets | None:
    """Heat targets of ``inv`` by the problem table, or ``None`` when it has no heat streams.

    Raises
    ------
    InventoryError
        A heat stream without temperatures or running the wrong way, by name.
    """
    ids = heat_resource_ids(inv)
    if not ids:
        return None
    hs = heat_streams(inv, ids)
    sl = build_slots(hs)
    n = len(sl)
    hot_k = hs.hot[sl.stream]
    hot = np.bincount(sl.slot[hot_k], weights=sl.heat[hot_k], minlength=n)
    cold = np.bincount(sl.slot[~hot_k], weights=sl.heat[~hot_k], minlength=n)
    surplus = hot - cold
    cum = np.cumsum(surplus)
    qh = max(0.0, -float(cum.min())) if n else 0.0
    cascade = qh + cum
    qc = float(cascade[-1]) if n else 0.0
    tol = 1e-9 * max(float(hs.duty.sum()), 1.0)
    pinch_hot = pinch_cold = None
    inner = np.flatnonzero(np.abs(cascade[:-1]) <= tol)
    if qh > tol and qc > tol and len(inner):
        t = float(sl.bottom[inner[0]])
        pinch_hot, pinch_cold = t + hs.dt_min / 2, t - hs.dt_min / 2
    table = pd.DataFrame({"top_c": sl.top, "bottom_c": sl.bottom, "hot": hot, "cold": cold,
                          "surplus": surplus, "cascade": cascade})
    return HeatTargets(hot_utility=qh, cold_utility=max(qc, 0.0), pinch_hot_c=pinch_hot,
                       pinch_cold_c=pinch_cold, dt_min_k=hs.dt_min, problem_table=table,
                       n_hot=int((hs.hot & (hs.duty > 0)).sum()),
                       n_cold=int((~hs.hot & (hs.duty > 0)).sum()),
                       hours_per_year=inv.params.hours_per_year)


# --------------------------------------------------------------------------- text


def _num(q: float) -> str:
    """A quantity for people: whole numbers with thousands separators from 1000 up."""
    return f"{q:,.0f}" if abs(q) >= 1000 else f"{q:.4g}"


def _amount(q: float, unit: str, rate_unit: str, rate_factor: float, hours: float) -> str:
    return f"{_num(q)} {unit}/yr ({_num(q / hours * rate_factor)} {rate_unit} at {hours:g} h/yr)"


def targets_text(inv: Inventory) -> str:
    """The water and heat targets of ``inv`` as text (what ``flowmatch targets`` prints)."""
    lines = []
    wt = water_targets(inv)
    if wt is None:
        lines.append("Water: no water sources or sinks.")
    else:
        h = wt.hours_per_year
        cons = ", ".join(wt.by_contaminant["contaminant"])
        lines.append(f"Water targets ({wt.n_sources} sources, {wt.n_sinks} sinks; contaminants: {cons})")
        how = "network LP" if wt.lp_computed else "largest single-contaminant target, a lower bound"
        lines.append(f"  minimum fresh water  {_amount(wt.fresh_water, 'm3', 'm3/h', 1.0, h)}  [{how}]")
        lines.append(f"  wastewater           {_amount(wt.wastewater, 'm3', 'm3/h', 1.0, h)}")
        if wt.pinch_ppm is not None:
            lines.append(f"  pinch                {wt.pinch_ppm:g} ppm {wt.pinch_contaminant}")
        if len(wt.by_contaminant) > 1:
            lines.append("  each contaminant alone (water cascade):")
            for r in wt.by_contaminant.itertuples(index=False):
                pinch = f"pinch {r.pinch_ppm:g} ppm" if r.pinch_ppm is not None and np.isfinite(
                    r.pinch_ppm) else "no pinch"
                lines.append(f"    {r.contaminant:<16} fresh {_num(r.fresh_water)} m3/yr, "
                             f"wastewater {_num(r.wastewater)} m3/yr, {pinch}")
    ht = heat_targets(inv)
    if ht is None:
        lines.append("Heat: no heat streams.")
    else:
        h = ht.hours_per_year
        lines.append(f"Heat targets (dt_min {ht.dt_min_k:g} K; {ht.n_hot} hot, {ht.n_cold} cold streams)")
        lines.append(f"  minimum hot utility  {_amount(ht.hot_utility, 'MWh', 'kW', 1000.0, h)}")
        lines.append(f"  minimum cold utility {_amount(ht.cold_utility, 'MWh', 'kW', 1000.0, h)}")
        if ht.pinch_hot_c is None:
            lines.append("  pinch                none (threshold problem)")
        else:
            lines.append(f"  pinch                {ht.pinch_hot_c:g} C hot / {ht.pinch_cold_c:g} C cold")
    return "\n".join(lines)
