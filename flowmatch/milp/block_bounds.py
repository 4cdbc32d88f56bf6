"""Give every solved block a valid lower bound, so a run's bound and gap are always numbers.

A block's solver may stop on its time limit with a plan but no bound (HiGHS
before its root LP is solved, CBC when its log does not say), and the LP
relaxation that slope scaling solves (:mod:`flowmatch.milp.heuristics`) may
itself have run out of time. Then the run's bound, the sum of the blocks',
would be unknown and its gap ``nan``, although the issue asks that the best plan
found always comes with an honest bound and gap.

:func:`ensure_bounds` fills in, for each block with a plan and no finite bound,
in this order:

1. ``lp_relaxation``: the block's share of the whole model's LP relaxation
   optimum when slope scaling solved it (the blocks share no row), else the
   block's own LP relaxation (integrality dropped), solved by HiGHS within
   the time :func:`~flowmatch.milp.optimise.optimise` keeps back for it
   before the search starts (``BOUND_SHARE`` of what is left then, when slope
   scaling did not solve the whole relaxation), and
   taken only when HiGHS proves it optimal: a relaxation's optimum is a lower
   bound on every plan of the block. With under ``BOUND_SKIP_S`` of that time
   left for a block, its LP is not started (the run's deadline holds);
2. ``variable_bounds``: the sum over the block's variables of each one's
   lowest cost contribution, ``min(c_j * lb_j, c_j * ub_j)`` (a term ``0``
   when ``c_j = 0``), which no plan can undercut whatever its rows say. It is
   finite whenever every variable with a negative cost has a finite upper
   bound and every one with a positive cost a finite lower bound, as the
   models flowmatch builds have (flows are capped by the quantities).

Each bound is capped by the block's own plan objective (a bound above the plan
would only be a solver's tolerance), and where it came from is recorded.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np

from flowmatch.milp.builder import LinearModel
from flowmatch.milp.solution import SolveResult, relative_gap

__all__ = ["ensure_bounds", "lp_bound", "trivial_bound", "BOUND_SHARE", "BOUND_SKIP_S"]

log = logging.getLogger(__name__)

#: Share of the budget left when the search starts that the LP relaxations of the blocks it
#: leaves without a bound may take (kept back before it; 5% left 3 s of 60 unused on plain runs).
BOUND_SHARE = 0.02
#: A block's LP is not started with less time than this for it: its bound is then the
#: variables' (``variable_bounds``), so the bounds never run past the time given.
BOUND_SKIP_S = 0.02


def trivial_bound(model: LinearModel, c: np.ndarray, k: float) -> float:
    """``k`` plus each variable's lowest cost contribution over its bounds; see the module docstring.

    ``-inf`` when a variable with a negative (positive) cost has no upper (lower) bound.
    """
    with np.errstate(invalid="ignore"):
        lo = np.where(c == 0, 0.0, np.minimum(c * model.lb, c * model.ub))
    lo = np.nan_to_num(lo, nan=0.0, posinf=np.inf, neginf=-np.inf)
    return float(lo.sum() + k)


def lp_bound(model: LinearModel, c: np.ndarray, k: float, time_limit: float,
             threads: int | None = None) -> float:
    """The optimum of ``model``'s LP relaxation, or ``nan`` unless HiGHS proves it within
    ``time_limit`` (which counts from the call: passing the model to HiGHS uses it too)."""
    import time

    import highspy

    from flowmatch.milp.highs import new_highs, pass_highs
    from flowmatch.milp.scaling import scale_model

    if model.n_vars == 0:
        return float(k)
    t0 = time.perf_counter()
    relaxed = dataclasses.replace(model, integrality=np.zeros(model.n_vars, bool))
    scaled, sc = scale_model(relaxed, base=2)  # exact: the same optimum, better numbers
    h = new_highs(time_limit=max(time_limit, 0.01), threads=threads)
    pass_highs(h, scaled, c * sc.col, k)
    left = time_limit - (time.perf_counter() - t0)
    if left < BOUND_SKIP_S:
        return math.nan
    h.setOptionValue("time_limit", float(left))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return math.nan
    return float(h.getInfo().objective_function_value)


def ensure_bounds(model: LinearModel, blocks: list, results: list[SolveResult], weights: dict[str, float],
                  time_limit: float, lp_x: np.ndarray | None = None, threads: int | None = None
                  ) -> dict[int, str]:
    """Give every result with a plan and no finite bound one (in place); see the module docstring.

    ``lp_x``, the whole model's LP relaxation optimum (from slope scaling), when
    given, gives each block its LP bound without a solve (the blocks share no
    row). Else ``time_limit`` is shared among the blocks' LPs in proportion to
    their variables (a block left with under ``BOUND_SKIP_S`` takes its
    ``variable_bounds`` without an LP). Returns ``{block index: where its bound
    came from}`` for the blocks that needed one.
    """
    import time

    from flowmatch.milp.blocks import sub_model

    todo = [i for i, r in enumerate(results) if r.x is not None and not math.isfinite(r.bound)]
    if not todo:
        return {}
    t0 = time.perf_counter()
    sizes = {i: float(len(blocks[i].cols)) for i in todo}
    rest = sum(sizes.values())
    found: dict[int, str] = {}
    for i in todo:
        r = results[i]
        sub = sub_model(model, dataclasses.replace(blocks[i]))
        c, k = sub.objective(weights)
        left = time_limit - (time.perf_counter() - t0)
        share = min(left * sizes[i] / max(rest, 1.0), left)
        rest -= sizes[i]
        if lp_x is not None:
            bound = float(c @ lp_x[np.sort(blocks[i].cols)] + k)
        elif share >= BOUND_SKIP_S:
            bound = lp_bound(sub, c, k, share, threads)
        else:  # no time left for its LP: the deadline holds, the bound is the variables'
            bound = math.nan
        source = "lp_relaxation"
        if not math.isfinite(bound):
            bound, source = trivial_bound(sub, c, k), "variable_bounds"
        if math.isfinite(r.objective):
            bound = min(bound, r.objective)
        r.bound = bound
        r.gap = relative_gap(r.objective, bound)
        found[i] = source
        log.info("block %d had no bound from %s: %s gives %.6g", i, r.solver, source, bound)
    return found
