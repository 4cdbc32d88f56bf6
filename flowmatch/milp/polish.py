"""Polish a plan after the branch-and-bound search stops: fix the binaries, re-solve the LP.

A MIP solver that stops within its relative gap (or on time) may leave
artefacts a planner reads at once: a link built with nothing on it (a fixed
cost paid for nothing), a 1-tonne synergy carrying a full fixed cost, a tonne
disposed of while an open link still had room. :func:`polish` removes them in
three steps, on one block of the model at a time and never making the
objective worse:

1. **Re-solve the flows.** Every integer variable is fixed at its value in the
   plan and the LP over the continuous variables is solved. With a link's
   binary fixed open, its ``link_min`` row holds its flow at or above
   ``min_synergy_flow`` (a flow below it is raised, or moved elsewhere);
   flows and disposal settle at the LP optimum of the chosen links.
2. **Close idle links.** Every open binary with a positive objective term
   (a fixed cost) whose capacity rows carry (almost) nothing is closed; the LP
   is solved again (and the closing undone if it would break a row). A row's
   every other column counts, integers too: a rule's build binary over a milk
   round's columns, or a ``min_size`` binary over round binaries, is not idle
   while they carry something.
3. **Drop moves.** Open binaries are tried closed, least used first (the use of
   a binary is the flow on its capacity row, ``flow - M * use <= 0``, over
   ``M``); a closing is kept when the LP with it is cheaper. HiGHS re-solves
   each LP from the previous basis, so a move costs milliseconds; the moves
   stop at ``MAX_MOVES`` or when the time given is spent.
4. **Break ties.** Where the model has a tie-break (``LinearModel.prefer``:
   water a sink takes only by blending it with cleaner water, say), the LP is
   solved once more with ``PREFER_WEIGHT * prefer`` added to its costs, and its
   flows kept when they cost no more than the best found (within ``TIE_REL``):
   of two equally cheap plans, an
   engineer's (effluent to the slag quench, desalinated water to the process)
   rather than the solver's pick.

The result has the same integers as the plan given except the links closed,
and its objective is at most that of any plan with the integers given (so at
most the plan given's, when that was feasible). Generic over
:class:`~flowmatch.milp.builder.LinearModel`: no part needs to know.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from flowmatch.milp.builder import LinearModel
from flowmatch.milp.solution import clean_solution

__all__ = ["polish", "polish_blocks", "PolishResult", "MAX_MOVES", "IDLE_USE", "POLISH_SKIP_S"]

log = logging.getLogger(__name__)

#: Most drop moves tried per block.
MAX_MOVES = 400
#: A binary whose capacity rows carry at most this share of its capacity is idle.
IDLE_USE = 1e-7
#: A move is kept when it lowers the objective by more than this (relative).
IMPROVE_REL = 1e-9
#: Objective units one unit of the tie-break is worth (0.0001 CNY per m3 of blended water): less
#: than any price, so the tie-break never buys a dearer plan, only picks among equal ones.
PREFER_WEIGHT = 1e-4
#: A tie-broken plan is kept when it costs at most this much more than the best (relative: the LP's
#: own tolerances).
TIE_REL = 1e-9


@dataclass
class PolishResult:
    """What :func:`polish` did.

    Attributes
    ----------
    x : ndarray
        The polished plan (the plan given when polishing could not improve it).
    objective : float
        ``c @ x + k`` of ``x``.
    before : float
        The objective of the plan given.
    closed : int
        Binaries closed (idle links and kept drop moves).
    moves : int
        Drop moves tried.
    time_s : float
    feasible : bool
        Whether the LP with the integers given fixed solved, proving they admit a
        plan; when not, ``x`` is the plan given, unchanged.
    timed_out : bool
        That LP did not finish within the time given (or there was no time to
        start it): ``feasible`` is then ``False`` without saying the integers
        admit no plan.
    """

    x: np.ndarray
    objective: float
    before: float
    closed: int = 0
    moves: int = 0
    time_s: float = 0.0
    feasible: bool = True
    timed_out: bool = False


def _usage(model: LinearModel, x: np.ndarray) -> np.ndarray:
    """Per variable, the use of its capacity rows (``inf`` for continuous variables and
    binaries without one): for a row ``a x - M y <= 0`` with ``M > 0``, what the row's other
    columns carry (``|a_k x_k|`` over its positive coefficients, integers included: a rule's
    build binary bounds flows that a milk round's integer columns may carry, a ``min_size``
    binary bounds round binaries) over ``M``; the most over such rows. A binary is idle
    only when nothing it bounds carries anything."""
    use = np.full(model.n_vars, np.inf)
    cap_row = np.isfinite(model.row_ub) & (model.row_ub == 0) & ~np.isfinite(model.row_lb)
    Ar = model.A.tocsr()
    pos = Ar.copy()
    pos.data = np.where(pos.data > 0, pos.data, 0.0)
    act = pos @ np.abs(x)  # what each row's positive-coefficient columns carry (never the bounding binary)
    A = model.A.tocoo()  # every (row, integer column) entry of a capacity row, at once
    sel = model.integrality[A.col] & cap_row[A.row] & (A.data < 0)
    if sel.any():
        cols = A.col[sel]
        most = np.full(model.n_vars, -np.inf)
        np.maximum.at(most, cols, act[A.row[sel]] / -A.data[sel])
        use[cols] = most[cols]
    return use


class _LP:
    """The model with its integers fixed, as a HiGHS LP that is re-solved after bound changes."""

    def __init__(self, model: LinearModel, c: np.ndarray, k: float, fixed: np.ndarray, time_limit: float,
                 threads: int | None = None):
        import highspy

        from flowmatch.milp.highs import new_highs, pass_highs
        from flowmatch.milp.scaling import scale_model

        self.model = model
        self.ints = np.flatnonzero(model.integrality)
        # the LP sees the model scaled by powers of two, as every solve does (exact; integers unscaled)
        scaled, self.scaling = scale_model(model, base=2)
        relaxed = dataclasses.replace(scaled, lb=scaled.lb.copy(), ub=scaled.ub.copy(),
                                      integrality=np.zeros(model.n_vars, bool))
        relaxed.lb[self.ints] = fixed[self.ints]
        relaxed.ub[self.ints] = fixed[self.ints]
        self.h = new_highs(time_limit=max(time_limit, 0.01), threads=threads)
        pass_highs(self.h, relaxed, c * self.scaling.col, k)
        self._runs = 0
        self._optimal = highspy.HighsModelStatus.kOptimal
        self._time_limit = highspy.HighsModelStatus.kTimeLimit

    def limit(self, seconds: float) -> None:
        """Let HiGHS run ``seconds`` in all from now (its limit counts over every re-solve)."""
        self.h.setOptionValue("time_limit", float(self.h.getRunTime() + max(seconds, 0.0)))

    def timed_out(self) -> bool:
        return self.h.getModelStatus() == self._time_limit

    def fix(self, j: int, value: float) -> None:
        self.h.changeColBounds(int(j), float(value), float(value))

    def prefer(self, c: np.ndarray, prefer: np.ndarray) -> np.ndarray | None:
        """The flows minimising ``c @ x + PREFER_WEIGHT * prefer @ x`` (the last solve: costs change)."""
        n = self.model.n_vars
        cost = (c + PREFER_WEIGHT * prefer) * self.scaling.col
        self.h.changeColsCost(n, np.arange(n, dtype=np.int32), cost.astype(float))
        return self.run()

    def run(self) -> np.ndarray | None:
        from flowmatch.milp.scaling import unscale

        self.h.run()
        if self._runs == 0:  # the first solve presolves; re-solves start from its basis
            self.h.setOptionValue("presolve", "off")
        self._runs += 1
        if self.h.getModelStatus() != self._optimal:
            return None
        return unscale(np.asarray(self.h.getSolution().col_value, float), self.scaling)


def _objective(c: np.ndarray, k: float, x: np.ndarray) -> float:
    return float(c @ x + k)


def polish(model: LinearModel, c: np.ndarray, k: float, x: np.ndarray, time_limit: float = 5.0,
           max_moves: int = MAX_MOVES, threads: int | None = None) -> PolishResult:
    """Polish the plan ``x`` of ``model`` (objective ``c @ x + k``); see the module docstring.

    ``time_limit`` bounds the whole polish, the first LP included: when it does
    not finish in time, the plan given comes back (``timed_out``).
    ``threads`` as the run's solves use (HiGHS keeps one thread pool per
    process: a pool worker's ``threads=1`` must be every instance's).
    Models without integer variables come back as given.
    """
    t0 = time.perf_counter()
    x = clean_solution(model, x)
    before = _objective(c, k, x)
    if not model.integrality.any() or model.n_vars == 0:
        return PolishResult(x, before, before)
    fixed = x.copy()
    lp = _LP(model, c, k, fixed, time_limit, threads)
    left = time_limit - (time.perf_counter() - t0)  # building the LP used some of it
    if left <= 0:
        return PolishResult(x, before, before, time_s=time.perf_counter() - t0, feasible=False,
                            timed_out=True)
    lp.limit(left)
    x1 = lp.run()
    if x1 is None:  # the LP should hold the plan given; keep it if the solver disagrees
        timed_out = lp.timed_out()
        log.debug("polish: the LP with the integers fixed did not solve%s; plan kept",
                  " in time" if timed_out else "")
        return PolishResult(x, before, before, time_s=time.perf_counter() - t0, feasible=False,
                            timed_out=timed_out)
    # the LP optimum for the integers given: no worse than any plan with them (and a plan
    # even when ``x``'s continuous values were not, as a heuristic's rounded LP point)
    best_x = clean_solution(model, x1)
    best = _objective(c, k, best_x)
    closed = 0
    if time.perf_counter() - t0 > time_limit:  # no time for the moves: the re-solved flows only
        return PolishResult(best_x, best, before, time_s=time.perf_counter() - t0)
    cand = lp.ints[(fixed[lp.ints] > 0.5) & (model.lb[lp.ints] == 0) & (c[lp.ints] > 0)]
    # 2. idle links: close them all at once
    use = _usage(model, best_x)
    idle = cand[use[cand] <= IDLE_USE]
    if len(idle):
        for j in idle:
            lp.fix(j, 0.0)
        x2 = lp.run()
        if x2 is not None and _objective(c, k, x2) <= best + 1e-9 * max(1.0, abs(best)):
            best_x, best = clean_solution(model, x2), _objective(c, k, x2)
            fixed[idle] = 0.0
            closed += len(idle)
        else:
            for j in idle:
                lp.fix(j, fixed[j])
            lp.run()
    # 3. drop moves, least used first
    if time.perf_counter() - t0 > time_limit:
        return PolishResult(best_x, best, before, closed, 0, time.perf_counter() - t0)
    open_ = cand[fixed[cand] > 0.5]
    use = _usage(model, best_x)
    order = open_[np.argsort(use[open_], kind="stable")]
    moves = 0
    for j in order:
        if moves >= max_moves or time.perf_counter() - t0 > time_limit:
            break
        moves += 1
        lp.fix(j, 0.0)
        xj = lp.run()
        if xj is not None:
            obj = _objective(c, k, xj)
            if obj < best - IMPROVE_REL * max(1.0, abs(best)):
                best_x, best = clean_solution(model, xj), obj
                fixed[j] = 0.0
                closed += 1
                continue
        lp.fix(j, fixed[j])
    if moves and not math.isclose(best, before):
        log.debug("polish: %d closed, %d moves, objective %.6g -> %.6g", closed, moves, before, best)
    # 4. ties: of the flows as cheap as the best, the least ``prefer`` (the row and costs change last)
    if model.prefer is not None and (model.prefer @ best_x) > 0 and time.perf_counter() - t0 < time_limit:
        lp.limit(time_limit - (time.perf_counter() - t0))
        xt = lp.prefer(c, model.prefer)
        if xt is not None and _objective(c, k, xt) <= best + TIE_REL * max(1.0, abs(best)):
            best_x = clean_solution(model, xt)
    best = _objective(c, k, best_x)
    return PolishResult(best_x, best, before, closed, moves, time.perf_counter() - t0)


def polish_blocks(model: LinearModel, blocks: list, results: list, weights: dict[str, float],
                  budget, gap: float, enabled: bool = True, start: np.ndarray | None = None,
                  lp_x: np.ndarray | None = None, threads: int | None = None) -> list[dict]:
    """Polish every solved block's plan in place (``results[i].x``, ``objective``, ``gap``)
    and say, per block, how its solve ended.

    ``budget`` (a :class:`~flowmatch.milp.options.SolveBudget`) is the time
    kept back for the polish before the search started: each block, when its
    turn comes, gets a share of what is left of it in proportion to its
    variables (time a block does not use passes on). A block left with under
    ``POLISH_SKIP_S`` is not polished (``polish: "skipped"`` in its report:
    the run's deadline holds), and one whose first LP does not finish in its
    share keeps its plan (``polish: "timed_out"``); else ``polish: "done"``.
    A block's ``status`` is ``optimal`` when its own relative gap, after
    polishing, is within ``gap`` (the solver's word "optimal" is kept: it proved
    its own gap), else ``time_limit``. Returns one dict per block for
    ``summary.json``'s ``blocks``.

    ``start`` is the feasible plan the search was started from: where a
    solver returns a plan worse than it (a start the solver did not take, say),
    the block keeps the start's, so the best plan found is always the one returned.
    ``lp_x`` is the LP relaxation's optimum over the whole model: a block's part
    of it is a lower bound on the block, kept where it beats the solver's
    bound (a block stopped on time before its root was solved, say).
    """
    from flowmatch.milp.blocks import sub_model
    from flowmatch.milp.solution import relative_gap

    report = []
    todo = [enabled and r.x is not None and r.status in ("optimal", "time_limit")
            and bool(model.integrality[b.cols].any()) for b, r in zip(blocks, results, strict=True)]
    rest = float(sum(len(b.cols) for b, t in zip(blocks, todo, strict=True) if t))
    for i, (b, r) in enumerate(zip(blocks, results, strict=True)):
        sub = sub_model(model, b)
        n_int = int(sub.integrality.sum())
        row: dict = {"block": i, "n_vars": int(sub.n_vars), "n_integer": n_int, "solver_status": r.status,
                     "solver_objective": _finite(r.objective), "bound": _finite(r.bound)}
        c, k = sub.objective(weights)
        if lp_x is not None and r.x is not None:
            lp_b = float(c @ lp_x[b.cols] + k)
            if not math.isfinite(r.bound) or lp_b > r.bound:
                r.bound = min(lp_b, r.objective)
                r.gap = relative_gap(r.objective, r.bound)
                row["bound"], row["bound_from"] = _finite(r.bound), "lp_relaxation"
        if start is not None and r.x is not None and r.status in ("optimal", "time_limit"):
            xs = clean_solution(sub, start[b.cols])
            if float(c @ xs + k) < r.objective - 1e-9 * max(1.0, abs(r.objective)):
                r.x, r.objective = xs, float(c @ xs + k)
                r.gap = relative_gap(r.objective, r.bound)
                row["from_start"] = True
        if todo[i]:
            share = budget.left() * sub.n_vars / max(rest, 1.0)
            rest -= sub.n_vars
            if share < POLISH_SKIP_S:
                row["polish"] = "skipped"
            else:
                p = polish(sub, c, k, r.x, time_limit=share, threads=threads)
                r.x, r.objective = p.x, p.objective
                r.gap = relative_gap(r.objective, r.bound)
                row.update(polish="timed_out" if p.timed_out else "done", polish_closed=p.closed,
                           polish_moves=p.moves, polish_s=round(p.time_s, 4))
        within = r.status == "optimal" or (math.isfinite(r.gap) and r.gap <= gap + 1e-12)
        if r.status in ("optimal", "time_limit"):
            r.status = "optimal" if within else "time_limit"
        row.update(status=r.status, objective=_finite(r.objective), gap=_finite(r.gap),
                   time_s=round(r.time_s, 4))
        report.append(row)
    return report


#: A block is not polished with less time than this left for it (its plan stays the search's).
POLISH_SKIP_S = 0.005


def _finite(v: float) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None
