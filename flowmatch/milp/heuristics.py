"""Primal heuristics that warm-start the search: dynamic slope scaling, then polish.

Fixed-charge network flow problems have a weak LP relaxation (a link's binary
sits at ``flow / capacity``, so the relaxation pays a sliver of each fixed
cost), but a good plan is found quickly by *dynamic slope scaling* (Kim and
Pardalos, "Solving fixed-charge network flow problems with a hybrid
optimization and constraint programming approach", Oper. Res. Lett. 24(4),
1999, pp. 195-203): solve an LP in which each link's fixed cost ``F`` is spread
over its flow at ``F / flow`` per unit, with ``flow`` the link's flow in the
previous LP (the first LP spreads it over the link's capacity, which is the LP
relaxation), until the flows repeat. Each LP's links that carry flow are then
opened and the flows re-solved with them fixed (:func:`flowmatch.milp.polish.polish`
without drop moves: LP with the binaries fixed, idle links closed); the best
round's plan is then polished with drop moves, and kept.

Generic over :class:`~flowmatch.milp.builder.LinearModel`: a binary's *link*
is a capacity row ``a x - M y <= 0`` (``M > 0``) in which it appears; binaries
without one keep their LP value rounded. :func:`slope_scaling_start` returns
the best plan (or ``None``) and the LP relaxation's bound (the root bound
before any cut), so a caller can report both. :func:`improve_start` then
rounds the LP relaxation's point on each big block by RENS
(:mod:`flowmatch.milp.rens`) and starts every block from its cheapest plan.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from flowmatch.milp.builder import LinearModel
from flowmatch.milp.polish import polish

__all__ = ["slope_scaling_start", "HeuristicResult", "capacity_links", "MAX_ROUNDS"]

log = logging.getLogger(__name__)

#: Most slope-scaling LPs per call.
MAX_ROUNDS = 8
#: A link whose flow is at most this share of its capacity counts as closed.
CLOSED_USE = 1e-6
#: A binary without a link within this of 1 in the LP counts as 1 when rounding down.
ROUND_DOWN_TOL = 1e-6
#: Share of :func:`improve_start`'s time after which slope scaling starts no new round; RENS
#: (:mod:`flowmatch.milp.rens`) has the rest (on the 300-company park its plan is 3.6% cheaper
#: than eight slope-scaling rounds').
SLOPE_SHARE = 0.3


@dataclass
class HeuristicResult:
    """What :func:`slope_scaling_start` found.

    Attributes
    ----------
    x : ndarray or None
        The best plan found (``None`` when no round gave a feasible plan).
    objective : float
        Its objective (``nan`` without a plan).
    lp_bound : float
        The LP relaxation's optimum (``nan`` when it did not solve in time): a
        lower bound on every plan.
    rounds : int
        Slope-scaling LPs solved.
    time_s : float
    lp_x : ndarray or None
        The LP relaxation's optimal point: the blocks of the model share no
        row, so each block's part of it is that block's own LP optimum, a
        lower bound on the block.
    """

    x: np.ndarray | None
    objective: float
    lp_bound: float
    rounds: int
    time_s: float
    lp_x: np.ndarray | None = None


def capacity_links(model: LinearModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(binary column, its capacity row, M)`` for every binary with a row ``a x - M y <= 0``.

    A binary with several such rows keeps its first.
    """
    A = model.A.tocsc()
    cap_row = (model.row_ub == 0) & ~np.isfinite(model.row_lb)
    cols, rows, ms = [], [], []
    for j in np.flatnonzero(model.integrality & (model.lb == 0) & (model.ub == 1)):
        r = A.indices[A.indptr[j]:A.indptr[j + 1]]
        v = A.data[A.indptr[j]:A.indptr[j + 1]]
        sel = np.flatnonzero(cap_row[r] & (v < 0))
        if len(sel):
            cols.append(j)
            rows.append(r[sel[0]])
            ms.append(-v[sel[0]])
    return np.array(cols, np.int64), np.array(rows, np.int64), np.array(ms, float)


def slope_scaling_start(model: LinearModel, c: np.ndarray, k: float, time_limit: float,
                        max_rounds: int = MAX_ROUNDS, threads: int | None = None,
                        first_lp_limit: float | None = None) -> HeuristicResult:
    """Dynamic slope scaling, each round's links opened and polished; see the module docstring.

    No round starts after ``time_limit`` s; the first LP (the LP relaxation) may take
    ``first_lp_limit`` s (default ``time_limit``), so a caller that needs its bound and
    point can give it longer than the rounds.
    """
    import highspy

    from flowmatch.milp.highs import new_highs, pass_highs

    t0 = time.perf_counter()
    nan = math.nan
    if not model.integrality.any() or model.n_vars == 0:
        return HeuristicResult(None, nan, nan, 0, 0.0)
    from flowmatch.milp.scaling import scale_model, unscale

    orig, c_orig = model, c
    # the LPs see the model scaled by powers of two, as every solve does (integers unscaled,
    # rows by positive factors: a capacity row stays one, and flow / capacity is unchanged)
    model, sc = scale_model(orig, base=2)
    c = c_orig * sc.col
    ycol, yrow, M = capacity_links(model)
    F = c[ycol].copy()
    Ar = model.A.tocsr()
    # flow columns of each link's capacity row (positive entries, continuous)
    rows_sub = Ar[yrow]
    rows_sub = rows_sub.multiply(rows_sub > 0).tocsr()
    rows_sub = rows_sub.multiply(~model.integrality[None, :]).tocsr()
    relaxed = dataclasses.replace(model, integrality=np.zeros(model.n_vars, bool))
    h = new_highs(time_limit=max(time_limit if first_lp_limit is None else first_lp_limit, 0.05),
                  threads=threads)
    c_lp = c.copy()
    c_lp[ycol] = 0.0
    slope = F / M  # round 0: the fixed cost spread over the capacity
    best_x, best, lp_bound, rounds, prev, lp_x = None, math.inf, nan, 0, None, None
    # round 0 is the LP relaxation itself (binaries at flow / capacity, paying F / M per unit)
    pass_highs(h, relaxed, c, k)
    while rounds < max_rounds and (rounds == 0 or time.perf_counter() - t0 < time_limit):
        if rounds:
            extra = np.asarray(rows_sub.T @ slope).ravel()
            h.changeColsCost(model.n_vars, np.arange(model.n_vars, dtype=np.int32), c_lp + extra)
        limit = time_limit if rounds or first_lp_limit is None else first_lp_limit
        h.setOptionValue("time_limit", max(limit - (time.perf_counter() - t0), 0.05))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break
        x = np.asarray(h.getSolution().col_value, float)
        if rounds == 0:
            lp_bound = float(c @ x + k)
            lp_x = unscale(x, sc)
        rounds += 1
        act = np.asarray(rows_sub @ x).ravel()
        open_ = act > CLOSED_USE * M
        if prev is not None and np.array_equal(open_, prev):
            break
        prev = open_
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0:
            break
        p = _open_links(orig, c_orig, k, x, ycol, open_, sc, left, threads)
        if p.feasible and p.objective < best:
            best_x, best = p.x, p.objective
        # next slopes: F over the flow just carried; links without flow keep their slope
        slope = np.where(open_, F / np.maximum(act, 1e-12), slope)
    left = time_limit - (time.perf_counter() - t0)
    if best_x is not None and left > 0:  # drop moves on the best round's plan only
        p = polish(orig, c_orig, k, best_x, time_limit=left, threads=threads)
        if p.feasible and p.objective < best:
            best_x, best = p.x, p.objective
    dt = time.perf_counter() - t0
    log.info("slope scaling: %d LPs, best %.6g, LP bound %.6g, %.2f s", rounds, best, lp_bound, dt)
    return HeuristicResult(best_x, best if best_x is not None else nan, lp_bound, rounds, dt, lp_x)


def _open_links(model: LinearModel, c: np.ndarray, k: float, x: np.ndarray, ycol: np.ndarray,
                open_: np.ndarray, sc, time_limit: float, threads: int | None):
    """The LP point ``x`` (scaled by ``sc``) with the links ``open_`` open and polished (LP with the
    binaries fixed, idle links closed). Binaries without a link (milk rounds) are rounded; when
    that breaks a row (two overlapping rounds each rounded up, a route taking a have whose
    link is open), they are rounded down instead: the rounds the LP runs whole are kept, which
    the rows it holds allow (on the 300-company park, rounding gave no plan in any round)."""
    from flowmatch.milp.scaling import unscale

    ints = np.flatnonzero(model.integrality)
    p = None
    for rounding in (np.round, lambda v: np.floor(v + ROUND_DOWN_TOL)):
        trial = x.copy()
        trial[ints] = rounding(x[ints])
        trial[ycol] = open_.astype(float)
        p = polish(model, c, k, unscale(trial, sc), time_limit=time_limit, max_moves=0, threads=threads)
        if p.feasible:
            break
    return p


def improve_start(model: LinearModel, weights: dict[str, float], x0: np.ndarray | None,
                  time_limit: float, threads: int | None = None, rens_min_integers: int | None = None
                  ) -> tuple[np.ndarray | None, dict, np.ndarray | None]:
    """The best, block by block, of the greedy start ``x0``, slope scaling's plan and RENS's.

    Slope scaling (:func:`slope_scaling_start`) starts no round after ``SLOPE_SHARE`` of
    ``time_limit`` (its first LP, the LP relaxation, may take all of it); RENS
    (:func:`flowmatch.milp.rens.rens`) rounds the LP relaxation's point in what is left, on
    each block of at least ``rens_min_integers`` integers (default
    :data:`~flowmatch.milp.fix_and_optimise.MIN_INTEGERS`; ``rens_objective`` in the report
    is the objective of the blocks it found plans for, without the model's constant).
    The model's independent blocks (:func:`flowmatch.milp.blocks.split_blocks`)
    share no row, so a plan taking each block from whichever start is cheapest
    there is feasible. Returns the start, a report for ``summary.json``
    (``lp_bound``: the LP relaxation's optimum; objectives of the starts) and
    the LP relaxation's point (``None`` when it did not solve in time).
    """
    from flowmatch.milp.blocks import split_blocks

    t0 = time.perf_counter()
    c, k = model.objective(weights)
    h = slope_scaling_start(model, c, k, time_limit * SLOPE_SHARE, threads=threads, first_lp_limit=time_limit)
    info = {"lp_bound": h.lp_bound if math.isfinite(h.lp_bound) else None,
            "greedy_objective": None if x0 is None else float(c @ x0 + k),
            "slope_scaling_objective": h.objective if h.x is not None else None,
            "slope_scaling_rounds": h.rounds}
    plans: dict[str, np.ndarray | None] = {"slope_scaling": h.x}
    blocks = split_blocks(model)[0]
    covered = {"slope_scaling": np.ones(len(blocks), bool)}
    left = time_limit - (time.perf_counter() - t0)
    if h.lp_x is not None and left > 0:
        plans["rens"], covered["rens"], r_info = _rens_big_blocks(model, c, h.lp_x, blocks, t0 + time_limit,
                                                                  threads, rens_min_integers)
        info.update(r_info)
    info["time_s"] = round(time.perf_counter() - t0, 4)
    found = {name: p for name, p in plans.items() if p is not None}
    if not found:
        return x0, info, h.lp_x
    oks = {name: _rows_hold(model, p) for name, p in found.items()}
    x = None if x0 is None else x0.copy()
    taken = dict.fromkeys(found, 0)
    for i, b in enumerate(blocks):
        best_name, best = None, (math.inf if x0 is None else float(c[b.cols] @ x0[b.cols]))
        for name, p in found.items():
            if not covered[name][i] or not oks[name][b.rows].all():
                continue  # the LP's tolerance left a row broken in this block: not taken here
            obj = float(c[b.cols] @ p[b.cols])
            if obj < best - 1e-9 * max(1.0, abs(best)):
                best_name, best = name, obj
        if best_name is None:
            if x0 is None:
                return None, info, h.lp_x  # a block with no feasible plan: the search starts cold
            continue
        if x is None:
            x = np.zeros(model.n_vars)
        x[b.cols] = found[best_name][b.cols]
        taken[best_name] += 1
    for name, n in taken.items():
        info[f"blocks_from_{name}"] = n
    if x is not None:
        info["start_objective"] = float(c @ x + k)
    return x, info, h.lp_x


def _rens_big_blocks(model: LinearModel, c: np.ndarray, lp_x: np.ndarray, blocks: list, deadline: float,
                     threads: int | None, min_integers: int | None = None
                     ) -> tuple[np.ndarray | None, np.ndarray, dict]:
    """RENS (:func:`flowmatch.milp.rens.rens`) on each block of at least
    :data:`~flowmatch.milp.fix_and_optimise.MIN_INTEGERS` integers (the search proves smaller ones
    quickly; one sub-MIP over 100 parks overran its time), biggest first, each given a share of
    the time to ``deadline`` in proportion to its integers. Returns the plan on those blocks
    (``None`` when none found one), which blocks it covers, and a report."""
    import dataclasses

    from flowmatch.milp.blocks import sub_model
    from flowmatch.milp.fix_and_optimise import MIN_INTEGERS
    from flowmatch.milp.rens import rens

    n_int = np.array([int(model.integrality[b.cols].sum()) for b in blocks])
    least = MIN_INTEGERS if min_integers is None else min_integers
    todo = [i for i in np.argsort(-n_int, kind="stable") if n_int[i] >= least]
    covered = np.zeros(len(blocks), bool)
    x = np.zeros(model.n_vars)
    info: dict = {"rens_blocks": 0, "rens_free_integers": 0, "rens_objective": None}
    rest = float(n_int[todo].sum()) if todo else 0.0
    for i in todo:
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        share = left * n_int[i] / max(rest, 1.0)
        rest -= n_int[i]
        b = dataclasses.replace(blocks[i])
        sub = sub_model(model, b)  # sorts b.cols, as the sub-model's columns are
        r = rens(sub, c[b.cols], 0.0, lp_x[b.cols], share, threads=threads)
        info["rens_free_integers"] += r.free
        if r.x is not None:
            x[b.cols] = r.x
            covered[i] = True
            info["rens_blocks"] += 1
            info["rens_objective"] = (info["rens_objective"] or 0.0) + r.objective
    return (x if covered.any() else None), covered, info


def _rows_hold(model: LinearModel, x: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Per row, whether ``x`` keeps it, within ``tol`` of the row's size (the sum of its
    terms' magnitudes: a ``flow - M * use <= 0`` row of M = 1e5 t is kept within 0.1 t,
    as the solver's own tolerance on the scaled model allows)."""
    ax = model.A @ x
    scale = np.maximum(1.0, abs(model.A) @ np.abs(x))
    return (ax >= model.row_lb - tol * scale) & (ax <= model.row_ub + tol * scale)
