"""Local search over a plan's links: add, swap and reassign moves, each judged by an LP.

From a feasible plan (the slope-scaling start, say) a *move* changes which
links (binaries) are open and re-solves the LP over the continuous variables
with every binary fixed (:class:`flowmatch.milp.polish` 's fixed-binary LP,
re-solved by HiGHS from the previous basis, so a move costs milliseconds):

* **add** a synergy: open a closed link the LP relaxation used (largest
  relaxation value first);
* **swap** a synergy for another, which is also how a want is **reassigned**
  to another have: close an open link and open a closed *neighbour* (a link
  whose flows share a resource's row with the first's: the same have, the
  same want, the same sink);
* **drop** moves are the polish's own (:func:`flowmatch.milp.polish.polish`),
  run first.

A move is kept only when the LP with it solves (the plan stays feasible) and
is cheaper, so the plan returned is never worse than the plan given. Generic
over :class:`~flowmatch.milp.builder.LinearModel`: a binary's flows are the
continuous columns of its capacity row ``a x - M y <= 0``
(:func:`flowmatch.milp.heuristics.capacity_links`), and two binaries are
neighbours when their flows share a row that is not a capacity row (rows of
more than ``WIDE_ROW`` entries, a metric cap over the whole model, say, are
left out: every link would be every other's neighbour).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from flowmatch.milp.builder import LinearModel
from flowmatch.milp.heuristics import capacity_links
from flowmatch.milp.polish import _LP, IMPROVE_REL, polish
from flowmatch.milp.solution import clean_solution

__all__ = ["local_search", "link_neighbours", "SearchResult", "WIDE_ROW", "MAX_SWAPS_PER_LINK"]

log = logging.getLogger(__name__)

#: Rows with more entries than this do not make links neighbours.
WIDE_ROW = 400
#: Closed neighbours tried per open link in the swap moves.
MAX_SWAPS_PER_LINK = 4


@dataclass
class SearchResult:
    """What a search from a plan found.

    Attributes
    ----------
    x : ndarray
        The best plan found (the plan given, cleaned, when nothing was better).
    objective, before : float
        ``c @ x + k`` of the plan returned and of the plan given.
    moves, kept : int
        Moves (LPs or sub-MIPs) tried and kept.
    time_s : float
    """

    x: np.ndarray
    objective: float
    before: float
    moves: int = 0
    kept: int = 0
    time_s: float = 0.0


def link_neighbours(model: LinearModel) -> tuple[np.ndarray, sp.csr_matrix]:
    """The binaries with a capacity row and which of them are neighbours.

    Returns ``(cols, N)``: ``cols`` the binaries' columns; ``N[a, b]`` is
    nonzero when the flows of ``cols[a]`` and ``cols[b]`` share a row (not a
    capacity row, not wider than ``WIDE_ROW``); ``N`` has no diagonal.
    """
    ycol, yrow, _ = capacity_links(model)
    if not len(ycol):
        return ycol, sp.csr_matrix((0, 0))
    S = (model.A.tocsr() != 0).astype(np.float64)
    cont = (~model.integrality).astype(np.float64)
    flows = S[yrow].multiply(cont[None, :]).tocsr()  # binary x its flow columns
    keep = np.ones(model.n_rows)
    keep[yrow] = 0.0
    keep[np.asarray(S.sum(axis=1)).ravel() > WIDE_ROW] = 0.0
    rows = sp.diags(keep) @ S  # resource rows only
    R = (flows @ rows.T.tocsr()).tocsr()  # binary x the resource rows its flows are in
    R.data[:] = 1.0
    N = (R @ R.T).tocsr()
    N.setdiag(0)
    N.eliminate_zeros()
    return ycol, N


def _lp_value(lp_x: np.ndarray | None, cols: np.ndarray) -> np.ndarray:
    return np.zeros(len(cols)) if lp_x is None else np.asarray(lp_x, float)[cols]


def local_search(model: LinearModel, c: np.ndarray, k: float, x: np.ndarray, time_limit: float = 5.0,
                 lp_x: np.ndarray | None = None, max_moves: int = 2000,
                 threads: int | None = None) -> SearchResult:
    """Polish ``x``, then add and swap moves until none helps, ``max_moves`` or ``time_limit``.

    ``lp_x`` (the LP relaxation's point) orders the moves: links the
    relaxation opens most are tried open first. ``x`` must be feasible; the
    plan returned is at most as costly (see the module docstring).
    """
    t0 = time.perf_counter()
    x = clean_solution(model, x)
    before = float(c @ x + k)
    p = polish(model, c, k, x, time_limit=time_limit, threads=threads)
    if not p.feasible or not model.integrality.any():
        return SearchResult(p.x, p.objective, before, p.moves, p.closed, time.perf_counter() - t0)
    best_x, best = p.x, p.objective
    ycol, N = link_neighbours(model)
    if not len(ycol):
        return SearchResult(best_x, best, before, p.moves, p.closed, time.perf_counter() - t0)
    fixed = np.round(best_x)
    lp = _LP(model, c, k, fixed, time_limit, threads)
    if lp.run() is None:
        return SearchResult(best_x, best, before, p.moves, p.closed, time.perf_counter() - t0)
    relax = _lp_value(lp_x, ycol)
    moves, kept = p.moves, p.closed

    def out_of_time() -> bool:
        return moves >= max_moves or time.perf_counter() - t0 > time_limit

    def attempt(changes: list[tuple[int, float]]) -> bool:
        """Apply ``changes`` (column, value), keep them when the LP is cheaper, else undo."""
        nonlocal best_x, best, moves, kept
        moves += 1
        for j, v in changes:
            lp.fix(j, v)
        xj = lp.run()
        if xj is not None:
            obj = float(c @ xj + k)
            if obj < best - IMPROVE_REL * max(1.0, abs(best)):
                best_x, best = clean_solution(model, xj), obj
                for j, v in changes:
                    fixed[j] = v
                kept += 1
                return True
        for j, _ in changes:
            lp.fix(j, fixed[j])
        return False

    improved = True
    while improved and not out_of_time():
        improved = False
        # add: closed links the relaxation uses, most used first
        closed = np.flatnonzero(fixed[ycol] < 0.5)
        for a in closed[np.argsort(-relax[closed], kind="stable")]:
            if out_of_time() or (lp_x is not None and relax[a] <= 1e-9):
                break
            improved |= attempt([(int(ycol[a]), 1.0)])
        # swap / reassign: an open link for a closed neighbour
        for a in np.flatnonzero(fixed[ycol] > 0.5):
            if out_of_time():
                break
            if fixed[ycol[a]] < 0.5:
                continue  # closed by an earlier swap
            nb = N.indices[N.indptr[a]:N.indptr[a + 1]]
            nb = nb[fixed[ycol[nb]] < 0.5]
            for b in nb[np.argsort(-relax[nb], kind="stable")][:MAX_SWAPS_PER_LINK]:
                if out_of_time():
                    break
                if attempt([(int(ycol[a]), 0.0), (int(ycol[b]), 1.0)]):
                    improved = True
                    break
    dt = time.perf_counter() - t0
    log.debug("local search: %d moves, %d kept, %.6g -> %.6g, %.2f s", moves, kept, before, best, dt)
    return SearchResult(best_x, best, before, moves, kept, dt)
