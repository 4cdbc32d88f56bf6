"""Fix-and-optimise: re-solve one neighbourhood of links as a small MIP, the rest fixed.

From a feasible plan, a *neighbourhood* of the candidate graph (a seed link
and its neighbours, breadth first through
:func:`flowmatch.milp.localsearch.link_neighbours`: the links of the seed's
have, its want, and theirs, up to ``size`` links) has its binaries freed;
every other binary is fixed at its value in the plan, and HiGHS solves that
sub-MIP, warm-started with the plan (so it can only return something at least
as good). An improvement is kept and the next neighbourhood starts from it.
Seeds are taken where the plan and the LP relaxation disagree most, each
link covered once per pass; a pass without improvement doubles the size
(a variable-neighbourhood search). This is the fix-and-optimise scheme of
lot-sizing and network design (Helber and Sahling, "A fix-and-optimize
approach for the multi-level capacitated lot sizing problem", Int. J.
Production Economics 123(2), 2010, pp. 247-256).

Nothing here proves anything: the bound of a run stays the solver's (or the LP
relaxation's), never a heuristic's. :func:`improve_results` runs the local
search (:mod:`flowmatch.milp.localsearch`) and fix-and-optimise on every big
block the branch-and-bound search left on time, from the search's best plan;
:func:`flowmatch.milp.optimise.optimise` calls it at ``heuristics="auto"``
with ``SEARCH_SHARE`` of the time kept back from the search. (Run before
the search instead, to warm-start it, it cost the cascades more search time
than it gave: their search finds better plans than fix-and-optimise does in
the same time.)
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time

import numpy as np
import scipy.sparse as sp

from flowmatch.milp.builder import LinearModel
from flowmatch.milp.localsearch import SearchResult, link_neighbours, local_search
from flowmatch.milp.polish import IMPROVE_REL
from flowmatch.milp.solution import clean_solution

__all__ = ["fix_and_optimise", "improve_results", "search_blocks", "search_fraction", "NEIGHBOURHOOD", "SUB_TIME_S", "MIN_INTEGERS",
           "LOCAL_SHARE"]

log = logging.getLogger(__name__)

#: Links freed in a neighbourhood at first (doubled after a pass without improvement).
NEIGHBOURHOOD = 40
#: Most seconds one sub-MIP is given.
SUB_TIME_S = 2.0
#: Blocks with fewer integer variables are left to the search alone (it proves most of them
#: in time, and time kept back from it costs their bounds).
MIN_INTEGERS = 500
#: Share of :func:`improve_plan`'s time the local search takes; fix-and-optimise the rest.
LOCAL_SHARE = 0.3


def _neighbourhood(N: sp.csr_matrix, seed: int, size: int) -> np.ndarray:
    """Up to ``size`` links breadth first from ``seed`` over ``N``."""
    seen = {seed}
    frontier = [seed]
    while frontier and len(seen) < size:
        nxt: list[int] = []
        for a in frontier:
            for b in N.indices[N.indptr[a]:N.indptr[a + 1]].tolist():
                if b not in seen:
                    seen.add(b)
                    nxt.append(b)
                    if len(seen) >= size:
                        return np.fromiter(seen, np.int64)
        frontier = nxt
    return np.fromiter(seen, np.int64)


def fix_and_optimise(model: LinearModel, c: np.ndarray, k: float, x: np.ndarray, time_limit: float = 5.0,
                     lp_x: np.ndarray | None = None, size: int = NEIGHBOURHOOD, sub_time: float = SUB_TIME_S,
                     threads: int | None = None, seed: int = 0) -> SearchResult:
    """Fix-and-optimise from the feasible plan ``x``; see the module docstring.

    Returns the best plan found (never costlier than ``x``). ``seed`` fixes
    the order of equal seeds, so a run is repeatable.
    """
    import highspy

    from flowmatch.milp.highs import new_highs, pass_highs
    from flowmatch.milp.scaling import scale_model, to_scaled, unscale

    t0 = time.perf_counter()
    best_x = clean_solution(model, x)
    best = before = float(c @ best_x + k)
    ycol, N = link_neighbours(model)
    if len(ycol) == 0 or time_limit <= 0:
        return SearchResult(best_x, best, before, time_s=time.perf_counter() - t0)
    ints = np.flatnonzero(model.integrality)
    scaled, sc = scale_model(model, base=2)
    h = new_highs(threads=threads, gap=1e-6)
    h.setOptionValue("mip_heuristic_effort", 0.1)
    pass_highs(h, scaled, c * sc.col, k)
    rng = np.random.default_rng(seed)
    relax = np.zeros(len(ycol)) if lp_x is None else np.asarray(lp_x, float)[ycol]
    moves = kept = 0
    lo, hi = scaled.lb[ints].copy(), scaled.ub[ints].copy()
    idx = ints.astype(np.int32)
    while time.perf_counter() - t0 < time_limit and size <= 4 * max(len(ycol), 1):
        # seeds: where the plan and the relaxation disagree most, ties at random
        score = np.abs(best_x[ycol] - relax) + 1e-3 * rng.random(len(ycol))
        covered = np.zeros(len(ycol), bool)
        improved = False
        for s in np.argsort(-score, kind="stable"):
            left = time_limit - (time.perf_counter() - t0)
            if left <= 0.02:
                break
            if covered[s]:
                continue
            free = _neighbourhood(N, int(s), size)
            covered[free] = True
            fixed_lb = np.round(best_x[ints])
            fixed_ub = fixed_lb.copy()
            freecols = ycol[free]
            pos = np.searchsorted(ints, freecols)
            fixed_lb[pos], fixed_ub[pos] = lo[pos], hi[pos]
            h.changeColsBounds(len(idx), idx, fixed_lb, fixed_ub)
            sol = highspy.HighsSolution()
            sol.col_value = list(map(float, to_scaled(best_x, sc)))
            sol.value_valid = True
            h.setSolution(sol)
            h.setOptionValue("time_limit", float(min(sub_time, left)))
            h.run()
            moves += 1
            if h.getInfo().primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
                continue
            xs = clean_solution(model, unscale(np.asarray(h.getSolution().col_value, float), sc))
            obj = float(c @ xs + k)
            if obj < best - IMPROVE_REL * max(1.0, abs(best)) and _rows_hold(model, xs):
                best_x, best = xs, obj
                kept += 1
                improved = True
        if not improved:
            if size >= len(ycol):
                break  # the whole block was one neighbourhood: nothing more to free
            size *= 2
    dt = time.perf_counter() - t0
    log.debug("fix-and-optimise: %d sub-MIPs, %d kept, %.6g -> %.6g, %.2f s", moves, kept, before, best, dt)
    return SearchResult(best_x, best, before, moves, kept, dt)


def _rows_hold(model: LinearModel, x: np.ndarray, tol: float = 1e-6) -> bool:
    from flowmatch.milp.heuristics import _rows_hold as rows_hold

    return bool(rows_hold(model, x, tol).all()) and bool(
        np.all(x >= model.lb - tol * np.maximum(1.0, np.abs(model.lb)))
        & np.all(x <= model.ub + tol * np.maximum(1.0, np.abs(model.ub))))


def search_blocks(model: LinearModel, min_integers: int | None = None) -> int:
    """How many independent blocks of ``model`` have at least ``min_integers`` (default
    ``MIN_INTEGERS``) integer variables: the blocks :func:`improve_results` works on."""
    from flowmatch.milp.blocks import split_blocks

    least = MIN_INTEGERS if min_integers is None else min_integers
    return sum(int(model.integrality[b.cols].sum()) >= least for b in split_blocks(model)[0])


def search_fraction(model: LinearModel, min_integers: int | None = None) -> float:
    """The share of ``model``'s integer variables that lie in blocks of at least ``min_integers``
    (default ``MIN_INTEGERS``) of them: the blocks the heuristics work for. 0 without integers.

    :func:`flowmatch.milp.optimise.optimise` scales the time the heuristics take from the
    search by it, so 100 parks of small blocks, which the search proves quickly, keep their
    search time (the defaults cost 1.4% more than plain HiGHS on 10^5 pairs over 100 parks
    when a fixed share was kept back).
    """
    from flowmatch.milp.blocks import split_blocks

    total = int(model.integrality.sum())
    if not total:
        return 0.0
    least = MIN_INTEGERS if min_integers is None else min_integers
    sizes = [int(model.integrality[b.cols].sum()) for b in split_blocks(model)[0]]
    return sum(n for n in sizes if n >= least) / total


def improve_results(model: LinearModel, blocks: list, results: list, weights: dict[str, float],
                    time_limit: float, lp_x: np.ndarray | None = None, threads: int | None = None,
                    min_integers: int | None = None) -> dict:
    """Local search, then fix-and-optimise, from the plan of every block the search left
    on time (``status == "time_limit"``) with at least ``min_integers`` (default
    ``MIN_INTEGERS``) integer variables; ``results[i]`` is updated in place (``x``,
    ``objective``, ``gap``) when a cheaper plan is found, its ``bound`` never.

    Each block gets a share of ``time_limit`` in proportion to its integer
    variables. Returns a report for ``summary.json``.
    """
    from flowmatch.milp.blocks import sub_model
    from flowmatch.milp.solution import relative_gap

    t0 = time.perf_counter()
    least = MIN_INTEGERS if min_integers is None else min_integers
    todo = [i for i, (b, r) in enumerate(zip(blocks, results, strict=True))
            if r.x is not None and r.status == "time_limit" and int(model.integrality[b.cols].sum()) >= least]
    weight = {i: float(model.integrality[blocks[i].cols].sum()) for i in todo}
    rest = sum(weight.values())
    info: dict = {"blocks": len(todo), "local_moves": 0, "local_kept": 0, "fo_subproblems": 0, "fo_kept": 0,
                  "before": 0.0, "objective": 0.0}
    for i in todo:
        left = time_limit - (time.perf_counter() - t0)
        share = left * weight[i] / max(rest, 1.0)
        rest -= weight[i]
        r = results[i]
        sub = sub_model(model, dataclasses.replace(blocks[i]))
        cs, ks = sub.objective(weights)
        sub_lp = None if lp_x is None else lp_x[np.sort(blocks[i].cols)]
        before = float(cs @ r.x + ks)
        info["before"] += before
        if share > 0.05:
            ls = local_search(sub, cs, ks, r.x, time_limit=LOCAL_SHARE * share, lp_x=sub_lp, threads=threads)
            fo = fix_and_optimise(sub, cs, ks, ls.x, time_limit=share - ls.time_s, lp_x=sub_lp,
                                  threads=threads)
            if math.isfinite(fo.objective) and fo.objective < before:
                r.x, r.objective = fo.x, fo.objective
                r.gap = relative_gap(r.objective, r.bound)
            info["local_moves"] += ls.moves
            info["local_kept"] += ls.kept
            info["fo_subproblems"] += fo.moves
            info["fo_kept"] += fo.kept
        info["objective"] += float(cs @ r.x + ks)
    info["time_s"] = round(time.perf_counter() - t0, 4)
    log.info("local search and fix-and-optimise on %d blocks: %.6g -> %.6g, %.2f s", len(todo), info["before"],
             info["objective"], info["time_s"])
    return info
