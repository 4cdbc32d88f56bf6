"""RENS: the plan of a sub-MIP in which every integer the LP relaxation leaves integral is fixed.

The relaxation-enforced neighbourhood search (Berthold, "RENS: the optimal
rounding", Mathematical Programming Computation 6(1), 2014, pp. 33-54) takes the
LP relaxation's optimum, fixes each integer variable whose LP value is
integral at that value, bounds the others to their LP value rounded down and
up, and solves the much smaller MIP that is left for a short time. Its plans
are roundings of the LP point, chosen by the solver rather than one at a time.

On fixed-charge material parks it is the start that matters: the LP
relaxation of the 300-company park leaves 1,096 of its 14,110 binaries
fractional; with the rest fixed, HiGHS solves what is left to 0.1% in about
2 s and finds a plan of 1.033e8 (slope scaling's eight rounds: 1.071e8; the
full search's own heuristics need minutes, after its root's cuts, to pass it).
It proves nothing about the whole model: the bound of a run stays the
search's (or the LP relaxation's).
:func:`flowmatch.milp.heuristics.improve_start` runs it on each big block
(its own LP point), after slope scaling, before the search.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from flowmatch.milp.builder import LinearModel

__all__ = ["rens", "RensResult", "RENS_GAP", "INTEGRAL_TOL"]

log = logging.getLogger(__name__)

#: Relative gap at which the sub-MIP stops (it is a heuristic: near enough is enough).
RENS_GAP = 1e-3
#: An LP value within this of an integer counts as integral (and is fixed).
INTEGRAL_TOL = 1e-6


@dataclass
class RensResult:
    """What :func:`rens` found: the plan (``None`` without one), its objective, how many
    integers were left free, and the seconds taken."""

    x: np.ndarray | None
    objective: float
    free: int
    time_s: float


def rens(model: LinearModel, c: np.ndarray, k: float, lp_x: np.ndarray, time_limit: float,
         threads: int | None = None) -> RensResult:
    """Solve ``model`` (objective ``c @ x + k``) with every integer fixed where ``lp_x`` (the LP
    relaxation's optimum) is integral and bounded by its floor and ceiling elsewhere; see the
    module docstring. The plan returned is feasible for ``model`` (checked)."""
    import highspy

    from flowmatch.milp.heuristics import _rows_hold
    from flowmatch.milp.highs import new_highs, pass_highs
    from flowmatch.milp.scaling import scale_model, unscale
    from flowmatch.milp.solution import clean_solution

    t0 = time.perf_counter()
    ints = np.flatnonzero(model.integrality)
    v = np.asarray(lp_x, float)[ints]
    lo = np.maximum(model.lb[ints], np.floor(v + INTEGRAL_TOL))
    hi = np.minimum(model.ub[ints], np.ceil(v - INTEGRAL_TOL))
    hi = np.maximum(hi, lo)
    free = int((hi > lo).sum())
    if time_limit <= 0 or not len(ints):
        return RensResult(None, math.nan, free, time.perf_counter() - t0)
    lb, ub = model.lb.copy(), model.ub.copy()
    lb[ints], ub[ints] = lo, hi
    sub = dataclasses.replace(model, lb=lb, ub=ub)
    scaled, sc = scale_model(sub, base=2)  # as every solve sees a model (integers unscaled)
    h = new_highs(time_limit=max(time_limit, 0.05), gap=RENS_GAP, threads=threads)
    pass_highs(h, scaled, c * sc.col, k)
    h.run()
    dt = time.perf_counter() - t0
    if h.getInfo().primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
        log.info("RENS: no plan with %d integers free in %.2f s", free, dt)
        return RensResult(None, math.nan, free, dt)
    x = clean_solution(model, unscale(np.asarray(h.getSolution().col_value, float), sc))
    if not (_rows_hold(model, x).all() and np.all(x >= model.lb - 1e-6 * np.maximum(1.0, np.abs(model.lb)))
            and np.all(x <= model.ub + 1e-6 * np.maximum(1.0, np.abs(model.ub)))):
        log.info("RENS: the sub-MIP's plan breaks a row of the model beyond tolerance; not taken")
        return RensResult(None, math.nan, free, dt)
    obj = float(c @ x + k)
    log.info("RENS: %d integers free, plan %.6g, %.2f s", free, obj, dt)
    return RensResult(x, obj, free, dt)
