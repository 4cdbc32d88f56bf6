"""The water cascade's rows over the periods of the year, with batch sources and storage.

:class:`~flowmatch.milp.water.WaterPart` builds its model here. The year is cut
into periods (:mod:`flowmatch.milp.periods`): one when every source and sink
runs in the same months (the steady-year model), more when some are seasonal.
Per period ``p`` there is a flow per source-sink pair that both run in ``p``,
fresh water per sink, wastewater per source, and each source's and sink's
balance, quality rows and pipe rows; pipes are built once (one binary, their
yearly cost once) and carry each period's flows up to that period's capacity.
A stream's period quantity is its yearly quantity times its
:attr:`~flowmatch.milp.periods.Periods.share`.

Rhythm (``frequency``). ``continuous`` and ``daily`` water flows steadily
(daily swings are buffered on site at this resolution); ``weekly``,
``monthly``, ``quarterly``, ``yearly`` and ``batch`` water comes (a source) or
is taken (a sink) in batches, :data:`~flowmatch.milp.milkrounds.COLLECTIONS_PER_YEAR`
of them spread over the resource's months. A pair of the same rhythm is
scheduled together and needs nothing more. A pair of different rhythms needs a
tank: the source's ``storage_m3``. Without one the pair is not offered; with
one, each batch cycle of the pair (the slower side's) holds at most the tank,
so per period ``sum over such sinks of flow / cycles + level <= storage_m3``.

Storage (``storage_m3`` on a water source). The tank also carries the source's
water from period to period: ``level[p]`` (0..``storage_m3``) at the end of each
period, cyclic over the year (December's level is January's start), so a
source's water may serve a sink in months when the source does not run, and
the periods are then contiguous runs of months in calendar order. Over a year
the levels cancel, so the yearly flows still balance against the yearly
quantity. Limits: one tank per source (not shared between sources), water
does not change in the tank, tank losses and the tank's cost are not modelled
(give the tank's yearly cost as part of the source's own costs).
"""

from __future__ import annotations

import logging
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flowmatch.milp.builder import ModelBuilder
from flowmatch.milp.milkrounds import COLLECTIONS_PER_YEAR
from flowmatch.milp.options import SolveBudget
from flowmatch.milp.periods import PERIOD_COLUMNS, Periods, build_periods
from flowmatch.milp.tighten import add_group_link_rows
from flowmatch.milp.water_check import infeasible_sinks
from flowmatch.plans.plan import DISPOSAL, VIRGIN

if TYPE_CHECKING:
    from flowmatch.milp.water import WaterPart, WaterStreams

__all__ = ["STEADY", "TANK", "water_periods", "rhythm_ok", "rhythm_keep", "pair_cycles", "add_water_rows",
           "period_pair_flows", "water_period_flows", "water_warm_start", "period_infeasible_sinks"]

log = logging.getLogger(__name__)

#: Frequencies that flow steadily at the resolution of a month.
STEADY = frozenset({"continuous", "daily"})
#: ``want_id`` of a tank's ``storage`` rows in ``flows_by_period.csv``.
TANK = "TANK"


def water_periods(ws: WaterStreams) -> Periods:
    """Periods of a water network: its sources' then its sinks' months (chronological with storage)."""
    masks = np.concatenate([ws.src_mask, ws.snk_mask])
    return build_periods(masks, chronological=bool((ws.src_storage > 0).any()))


def _steady(freq: np.ndarray) -> np.ndarray:
    return np.isin(freq.astype(str), list(STEADY))


def rhythm_ok(ws: WaterStreams, src: np.ndarray, snk: np.ndarray) -> np.ndarray:
    """Whether each pair's rhythms match (both steady, or the same batch frequency)."""
    fs, fk = ws.src_freq[src].astype(str), ws.snk_freq[snk].astype(str)
    return (_steady(ws.src_freq[src]) & _steady(ws.snk_freq[snk])) | (fs == fk)


def rhythm_keep(ws: WaterStreams, src: np.ndarray, snk: np.ndarray) -> np.ndarray:
    """Which pairs may be offered: the same rhythm, or a source with a tank; logs the others."""
    keep = rhythm_ok(ws, src, snk) | (ws.src_storage[src] > 0)
    if not keep.all():
        drop = np.flatnonzero(~keep)
        log.info("water: %d pairs of different frequencies need a tank (storage_m3 on the source) and are "
                 "not offered: %s", len(drop), ", ".join(f"{ws.src_ids[src[k]]} ({ws.src_freq[src[k]]}) -> "
                                                         f"{ws.snk_ids[snk[k]]} ({ws.snk_freq[snk[k]]})"
                                                         for k in drop[:5]) + (" ..." if len(drop) > 5 else ""))
    return keep


def pair_cycles(ws: WaterStreams, periods: Periods, src: np.ndarray, snk: np.ndarray) -> np.ndarray:
    """Batch cycles of each pair in each period, shape ``(n_pairs, n_periods)``: the slower side's.

    A batch resource's cycles a year are spread over its own months; a steady
    one has infinitely many.
    """
    def per_year(freq: np.ndarray) -> np.ndarray:
        f = pd.Series(freq.astype(str))
        return f.map(COLLECTIONS_PER_YEAR).fillna(np.inf).to_numpy(float)

    def spread(n: np.ndarray, share: np.ndarray) -> np.ndarray:
        return np.where(share > 0, n[:, None] * np.where(share > 0, share, 1.0), 0.0)

    n_src = len(ws.src_ids)
    return np.minimum(spread(per_year(ws.src_freq)[src], periods.share[src]),
                      spread(per_year(ws.snk_freq)[snk], periods.share[n_src + snk]))


def _group_cap(link: np.ndarray, who: np.ndarray, q: np.ndarray, n: int) -> np.ndarray:
    """Per link, the sum of ``q`` over the distinct members ``who`` on it."""
    d = pd.DataFrame({"link": link, "who": who, "q": q}).drop_duplicates(["link", "who"])
    return d.groupby("link")["q"].sum().reindex(range(n)).fillna(0.0).to_numpy(dtype=float)


def add_water_rows(part: WaterPart, mb: ModelBuilder) -> None:
    """Add the flows, fresh water, wastewater, pipes, tank levels and rows of ``part`` to ``mb``."""
    ws, pr, per = part.streams, part.pairs, part.periods
    n_p, n_per, n_src = len(pr.src), len(per), ws.n_src
    ssh, ksh = per.share[:n_src], per.share[n_src:]
    tank = ws.src_storage
    levels = n_per > 1 and bool((tank > 0).any())
    ids_s, ids_k = ws.src_ids, ws.snk_ids
    pcost, pco2 = part._pair_cost()
    labels = [f"{ids_s[i]},{ids_k[j]}" for i, j in zip(pr.src, pr.snk, strict=True)]
    kinds = ["regen" if r else "flow" for r in pr.regen]
    src_on = (ssh > 0) | (tank[:, None] > 0)
    snk_on = ksh > 0
    F = np.full((n_p, n_per), -1, np.int64)
    FR = np.full((ws.n_snk, n_per), -1, np.int64)
    WA = np.full((n_src, n_per), -1, np.int64)
    fresh_cost = 1.0 if part.targeting else ws.snk_price
    fresh_co2 = 0.0 if part.targeting else ws.snk_co2
    waste_cost = 0.0 if part.targeting else ws.src_price
    waste_co2 = 0.0 if part.targeting else ws.src_co2
    for p in range(n_per):
        sfx = per.suffix(p)
        on = np.flatnonzero(src_on[pr.src, p] & snk_on[pr.snk, p])
        F[on, p] = mb.add_vars(len(on), name=[f"water_{kinds[k]}[{labels[k]}]{sfx}" for k in on],
                               cost=pcost[on], co2=pco2[on])
        k_on = np.flatnonzero(snk_on[:, p])
        FR[k_on, p] = mb.add_vars(len(k_on), name=[f"water_fresh[{ids_k[j]}]{sfx}" for j in k_on],
                                  cost=np.broadcast_to(fresh_cost, (ws.n_snk,))[k_on],
                                  co2=np.broadcast_to(fresh_co2, (ws.n_snk,))[k_on])
        s_on = np.flatnonzero(src_on[:, p])
        WA[s_on, p] = mb.add_vars(len(s_on), name=[f"water_waste[{ids_s[i]}]{sfx}" for i in s_on],
                                  cost=np.broadcast_to(waste_cost, (n_src,))[s_on],
                                  co2=np.broadcast_to(waste_co2, (n_src,))[s_on])
    n_l = len(part.link_km)
    pipe = mb.add_vars(n_l, lb=0.0, ub=1.0, integer=True,
                       name=[f"water_pipe[{a},{b}]" for a, b in zip(part.link_from, part.link_to, strict=True)],
                       cost=part._pipe_cost())
    LV = np.full((n_src, n_per), -1, np.int64)
    if levels:
        has = np.flatnonzero(tank > 0)
        for p in range(n_per):
            LV[has, p] = mb.add_vars(len(has), ub=tank[has],
                                     name=[f"water_level[{ids_s[i]}]{per.suffix(p)}" for i in has])
    cyc = pair_cycles(ws, per, pr.src, pr.snk) if (tank > 0).any() else None
    buffered = ~rhythm_ok(ws, pr.src, pr.snk)
    for p in range(n_per):
        _period_rows(part, mb, p, F[:, p], FR[:, p], WA[:, p], LV, pipe)
        if cyc is not None and buffered.any():
            _buffer_rows(part, mb, p, F[:, p], LV, buffered, cyc[:, p])
    part._idx = {"flow": F, "fresh": FR, "waste": WA, "pipe": pipe, "level": LV}


def _period_rows(part: WaterPart, mb: ModelBuilder, p: int, f: np.ndarray, fresh: np.ndarray,
                 waste: np.ndarray, LV: np.ndarray, pipe: np.ndarray) -> None:
    """Balances, quality rows and pipe rows of period ``p`` (``-1``: no such variable in ``p``)."""
    ws, pr, per = part.streams, part.pairs, part.periods
    n_src, sfx = ws.n_src, per.suffix(p)
    supply = ws.src_flow * per.share[:n_src, p]
    demand = ws.snk_flow * per.share[n_src:, p]
    on = f >= 0
    # sources: reused + wasted + into the tank - out of the tank = supply in the period
    s_rows = np.flatnonzero(waste >= 0)
    row_of = -np.ones(n_src, np.int64)
    row_of[s_rows] = np.arange(len(s_rows))
    rows = [row_of[pr.src[on]], row_of[s_rows]]
    cols = [f[on], waste[s_rows]]
    vals = [np.ones(int(on.sum())), np.ones(len(s_rows))]
    if (LV >= 0).any():
        tk = np.flatnonzero(LV[:, p] >= 0)
        prev = (p - 1) % LV.shape[1]
        rows += [row_of[tk], row_of[tk]]
        cols += [LV[tk, p], LV[tk, prev]]
        vals += [np.ones(len(tk)), -np.ones(len(tk))]
    mb.add_rows(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), supply[s_rows],
                supply[s_rows], name=[f"water_source[{ws.src_ids[i]}]{sfx}" for i in s_rows])
    k_rows = np.flatnonzero(fresh >= 0)
    row_of = -np.ones(ws.n_snk, np.int64)
    row_of[k_rows] = np.arange(len(k_rows))
    mb.add_rows(np.concatenate([row_of[pr.snk[on]], row_of[k_rows]]), np.concatenate([f[on], fresh[k_rows]]),
                np.ones(int(on.sum()) + len(k_rows)), demand[k_rows], demand[k_rows],
                name=[f"water_sink[{ws.snk_ids[j]}]{sfx}" for j in k_rows])
    part._add_quality_rows(mb, f, fresh, sfx)
    sel = np.flatnonzero(on)
    mb.declare_pair_flows(ws.src_ids[pr.src[sel]], ws.snk_ids[pr.snk[sel]], f[sel], 1.0, "cascade", part.name)
    n_l = len(part.link_km)
    if not n_l:
        return
    tank = ws.src_storage
    give = supply + tank  # a source gives at most its period's water and a full tank
    link = np.where(on, part.pair_link, -1)
    if len(per) == 1 and not (tank > 0).any():
        cap = part.link_cap
    else:
        lk = link >= 0
        cap = np.minimum(_group_cap(link[lk], pr.src[lk], give[pr.src[lk]], n_l),
                         _group_cap(link[lk], pr.snk[lk], demand[pr.snk[lk]], n_l))
    used = np.flatnonzero(np.bincount(link[link >= 0], minlength=n_l) > 0)
    if not len(used):
        return
    if len(used) == n_l:
        lrow = link[link >= 0]
    else:
        local = -np.ones(n_l, np.int64)
        local[used] = np.arange(len(used))
        lrow = local[link[link >= 0]]
    lsel = link >= 0
    rows_l = np.concatenate([lrow, np.arange(len(used))])
    cols_l = np.concatenate([f[lsel], pipe[used]])
    vals_l = np.concatenate([np.ones(int(lsel.sum())), -cap[used]])
    mb.add_rows(rows_l, cols_l, vals_l, -np.inf, 0.0,
                name=[f"water_pipe_use[{part.link_from[k]},{part.link_to[k]}]{sfx}" for k in used])
    # per source and per sink on each pipe: what it gives (takes) at most, where that cuts
    pipes = [f"{a}>{b}{sfx}" for a, b in zip(part.link_from, part.link_to, strict=True)]
    add_group_link_rows(mb, f, link, pr.src, give, pipe, cap, list(ws.src_ids), pipes, "water_pipe_source")
    add_group_link_rows(mb, f, link, pr.snk, demand, pipe, cap, list(ws.snk_ids), pipes, "water_pipe_sink")


def _buffer_rows(part: WaterPart, mb: ModelBuilder, p: int, f: np.ndarray, LV: np.ndarray,
                 buffered: np.ndarray, cycles: np.ndarray) -> None:
    """Per source with a tank: a batch cycle's water to sinks of another rhythm, plus the level, fits."""
    ws, pr, per = part.streams, part.pairs, part.periods
    sel = np.flatnonzero(buffered & (f >= 0) & (ws.src_storage[pr.src] > 0) & (cycles > 0))
    if not len(sel):
        return
    srcs, loc = np.unique(pr.src[sel], return_inverse=True)
    ends = [p, (p - 1) % len(per)] if (LV >= 0).any() else [None]
    for e in dict.fromkeys(ends):  # the level at the period's end, and at its start
        rows, cols, vals = [loc], [f[sel]], [1.0 / cycles[sel]]
        if e is not None:
            rows.append(np.arange(len(srcs)))
            cols.append(LV[srcs, e])
            vals.append(np.ones(len(srcs)))
        mb.add_rows(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), -np.inf,
                    ws.src_storage[srcs],
                    name=[f"water_buffer[{ws.src_ids[i]}]{per.suffix(p)}" for i in srcs])


def period_pair_flows(part: WaterPart, x: np.ndarray) -> np.ndarray:
    """Flow of each pair in each period at ``x``, shape ``(n_pairs, n_periods)``, clipped at 0."""
    F = part._idx["flow"]
    return np.where(F >= 0, np.clip(x[np.maximum(F, 0)], 0.0, None), 0.0)


def water_warm_start(part: WaterPart, x: np.ndarray) -> None:
    """Today's state in every period: sinks on fresh water, sources to wastewater, no pipe, tanks empty."""
    ix, ws, per = part._idx, part.streams, part.periods
    n_src = ws.n_src
    for key, q in (("flow", None), ("level", None), ("fresh", ws.snk_flow[:, None] * per.share[n_src:]),
                   ("waste", ws.src_flow[:, None] * per.share[:n_src])):
        on = ix[key] >= 0
        x[ix[key][on]] = 0.0 if q is None else q[on]
    x[ix["pipe"]] = 0.0


def water_period_flows(part: WaterPart, x: np.ndarray) -> pd.DataFrame:
    """Rows of ``PERIOD_COLUMNS`` for each period of ``part`` at ``x`` (empty with one period).

    Reuse (``cascade``, ``regenerated``), wastewater (``disposal``), fresh water
    (``virgin``) and, for a source with a tank, ``storage``: the change of its
    level over the period (negative where the tank is drawn).
    """
    ws, pr, per, ix = part.streams, part.pairs, part.periods, part._idx
    if len(per) == 1:
        return pd.DataFrame(columns=PERIOD_COLUMNS)
    q = period_pair_flows(part, x)
    val = lambda cols: np.where(cols >= 0, np.clip(x[np.maximum(cols, 0)], 0.0, None), 0.0)  # noqa: E731
    waste, fresh, level = val(ix["waste"]), val(ix["fresh"]), val(ix["level"])
    tol = 1e-9 * max(float(ws.src_flow.max(initial=0.0)), float(ws.snk_flow.max(initial=0.0)), 1.0)
    out = []
    for p in range(len(per)):
        on = q[:, p] > tol
        d_level = level[:, p] - level[:, p - 1]
        tk = (ix["level"][:, p] >= 0) & (np.abs(d_level) > tol)
        w_on, f_on = waste[:, p] > tol, fresh[:, p] > tol
        out.append(pd.DataFrame({
            "period": per.label(p), "months": per.months(p),
            "have_id": np.concatenate([ws.src_ids[pr.src[on]], ws.src_ids[w_on], np.full(int(f_on.sum()), VIRGIN),
                                       ws.src_ids[tk]]),
            "want_id": np.concatenate([ws.snk_ids[pr.snk[on]], np.full(int(w_on.sum()), DISPOSAL),
                                       ws.snk_ids[f_on], np.full(int(tk.sum()), TANK)]),
            "quantity": np.concatenate([q[on, p], waste[w_on, p], fresh[f_on, p], d_level[tk]]),
            "unit": "m3",
            "mode": np.concatenate([np.where(pr.regen[on], "regenerated", "cascade"),
                                    np.full(int(w_on.sum()), "disposal"), np.full(int(f_on.sum()), "virgin"),
                                    np.full(int(tk.sum()), "storage")])}))
    return pd.concat(out, ignore_index=True)[PERIOD_COLUMNS]


def period_infeasible_sinks(ws: WaterStreams, pairs: Any, removal: float | None, budget: SolveBudget,
                            periods: Periods) -> list[str]:
    """:func:`~flowmatch.milp.water_check.infeasible_sinks` in every period: a sink no mix of the
    sources running in its months (or holding water in a tank) and its fresh water can meet."""
    if len(periods) == 1:
        return infeasible_sinks(ws, pairs, removal, budget)
    bad: list[str] = []
    n_src = ws.n_src
    for p in range(len(periods)):
        supply = ws.src_flow * periods.share[:n_src, p] + ws.src_storage
        demand = ws.snk_flow * periods.share[n_src:, p]
        on = (supply[pairs.src] > 0) & (demand[pairs.snk] > 0)
        sub = replace(pairs, **{f.name: getattr(pairs, f.name)[on] for f in fields(pairs)})
        for name in infeasible_sinks(replace(ws, src_flow=supply, snk_flow=demand), sub, removal, budget):
            if name not in bad:
                bad.append(name)
    return bad
