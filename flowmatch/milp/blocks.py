"""Solve a model by independent blocks, within the run's budget.

The constraint matrix of a park's model falls apart into connected components
(the candidate graph is sparse: a cement plant in one province and a brewery in
another share no row). Each component is solved alone, which is much faster
than one solve of the whole, and with the same optimum. Components with at most
``BUNDLE_MAX_INT`` integer variables are bundled (each solves at the root);
bigger ones are solved one by one, largest first, in a process pool when at
least two are big and ``jobs`` allows it.

Time: each block, when it starts, gets its share of the run's
:class:`~flowmatch.milp.options.SolveBudget` left (in proportion to its integer
variables, times the processes running at once); time a block does not use
passes on to the next. Local worker processes are started before any block's
clock runs; a block sent to a worker carries its deadline (wall clock), so its
transfer counts against it, and the shares are cut by what the blocks not yet
sent will cost beside their solves (measured on those that came back). Once
under two ``MIN_SOLVE_S`` are left, no more blocks are sent: the rest are
solved here as one (:func:`_solve_here`), so a spent budget is not overrun by a
floor paid per block.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import parent_process

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from flowmatch.milp.builder import LinearModel
from flowmatch.milp.executors import block_executor, executor_workers
from flowmatch.milp.options import MIN_SOLVE_S, SolveBudget, SolveOptions
from flowmatch.milp.solution import SolveResult
from flowmatch.milp.solvers import solve

__all__ = ["Block", "split_blocks", "sub_model", "solve_blocks", "solve_by", "BUNDLE_MAX_INT", "BUNDLE_VARS",
           "POOL_MIN_INT", "POOL_MIN_LEFT_S"]

log = logging.getLogger(__name__)

#: Components with at most this many integer variables are solved together in
#: bundles (each solves at the root); bigger ones are solved one by one, since
#: one gap over a bundle would let each of its components stop far from its optimum.
BUNDLE_MAX_INT = 4
#: Most variables in one bundle.
BUNDLE_VARS = 20000
#: A process pool is used (for every block with binaries) when at least two
#: blocks have this many integer variables and ``jobs`` is not 1.
POOL_MIN_INT = 50
#: ... and at least this many seconds of the budget are left: starting worker
#: processes (each imports flowmatch) costs about a second.
POOL_MIN_LEFT_S = 2.0


@dataclass
class Block:
    """Columns and rows of the model that form one independent solve."""

    cols: np.ndarray
    rows: np.ndarray


def split_blocks(model: LinearModel) -> tuple[list[Block], int]:
    """Independent blocks: connected components of the variables through the rows.

    Components with at most ``BUNDLE_MAX_INT`` integer variables are bundled;
    the others stay alone, largest first. Returns the blocks and the number of
    components.
    """
    n, m = model.n_vars, model.n_rows
    A = model.A.tocoo()
    graph = sp.coo_matrix((np.ones(A.nnz), (A.col, n + A.row)), shape=(n + m, n + m))
    k, label = connected_components(graph, directed=False)
    col_lab, row_lab = label[:n], label[n:]
    size = np.bincount(col_lab, minlength=k)
    n_int = np.bincount(col_lab, weights=model.integrality.astype(float), minlength=k)
    order = np.argsort(col_lab, kind="stable")
    starts = np.searchsorted(col_lab[order], np.arange(k + 1))
    rorder = np.argsort(row_lab, kind="stable")
    rstarts = np.searchsorted(row_lab[rorder], np.arange(k + 1))
    blocks: list[Block] = []
    bundle_c: list[np.ndarray] = []
    bundle_r: list[np.ndarray] = []
    in_bundle = 0
    for comp in np.argsort(-size, kind="stable"):
        cols = order[starts[comp]:starts[comp + 1]]
        rows = rorder[rstarts[comp]:rstarts[comp + 1]]
        if len(cols) == 0:
            continue  # an empty row: checked by the caller
        if n_int[comp] > BUNDLE_MAX_INT:
            blocks.append(Block(cols, rows))
            continue
        bundle_c.append(cols)
        bundle_r.append(rows)
        in_bundle += len(cols)
        if in_bundle >= BUNDLE_VARS:
            blocks.append(Block(np.concatenate(bundle_c), np.concatenate(bundle_r)))
            bundle_c, bundle_r, in_bundle = [], [], 0
    if bundle_c:
        blocks.append(Block(np.concatenate(bundle_c), np.concatenate(bundle_r)))
    return blocks, int((size > 0).sum())


def sub_model(model: LinearModel, b: Block) -> LinearModel:
    """The model restricted to block ``b`` (whose indices are sorted in place)."""
    cols, rows = np.sort(b.cols), np.sort(b.rows)
    b.cols, b.rows = cols, rows
    A = model.A[:, cols].tocsr()[rows, :].tocsc()
    return LinearModel(
        lb=model.lb[cols], ub=model.ub[cols], integrality=model.integrality[cols], A=A,
        row_lb=model.row_lb[rows], row_ub=model.row_ub[rows],
        metrics={k: v[cols] for k, v in model.metrics.items()},
        metric_const={k: 0.0 for k in model.metric_const},
        var_names=[model.var_names[j] for j in cols], row_names=[model.row_names[i] for i in rows],
        prefer=None if model.prefer is None else model.prefer[cols],
    )


class _Shares:
    """Shares what is left of the budget among blocks in proportion to their weights, less
    what the blocks not yet started will cost beside their solves (``overhead`` each: a pooled
    block's transfer and hand-over, measured as the blocks come back)."""

    def __init__(self, budget: SolveBudget, weights: np.ndarray):
        self.budget = budget
        self.weights = weights
        self.rest = float(weights.sum())
        self.waiting = len(weights)
        self.overhead = 0.0
        self._seen = 0

    def take(self, i: int, parallel: int = 1) -> float:
        left = self.budget.left()
        usable = max(left - self.overhead * self.waiting / parallel, 0.0)
        share = usable * parallel * self.weights[i] / max(self.rest, 1e-12)
        self.rest -= self.weights[i]
        self.waiting -= 1
        return max(min(share, left), MIN_SOLVE_S)

    def observe(self, seconds: float) -> None:
        """A block came back ``seconds`` after it was sent, beyond its solve: the running mean."""
        self._seen += 1
        self.overhead += (max(seconds, 0.0) - self.overhead) / self._seen


def solve_by(wall_deadline: float, model: LinearModel, weights: dict[str, float], **kw) -> SolveResult:
    """:func:`~flowmatch.milp.solvers.solve` in a worker, its ``time_limit`` cut to what is left
    until ``wall_deadline`` (a ``time.time()``; the worker's start-up and the model's transfer
    count), but at least ``MIN_SOLVE_S``."""
    kw["time_limit"] = max(min(kw["time_limit"], wall_deadline - time.time()), MIN_SOLVE_S)
    return solve(model, weights, **kw)


def _solve_in_pool(subs: list[LinearModel], order: list[int], workers: int, shares: _Shares,
                   results: list[SolveResult | None], weights: dict[str, float],
                   starts: list[np.ndarray | None], options: SolveOptions) -> None:
    """Solve blocks ``order`` in ``workers`` processes, each started with its share of the budget
    and its deadline; blocks not sent before the budget is all but spent stay ``None``."""
    with block_executor(workers) as pool:  # local workers end with this process, however it ends
        if executor_workers() is None:  # start the local workers before any block's clock runs
            wait([pool.submit(os.getpid) for _ in range(workers)])
        queue = list(order)
        running: dict[Future[SolveResult], int] = {}
        sent: dict[int, float] = {}
        while queue or running:
            while queue and len(running) < workers and shares.budget.left() >= 2 * MIN_SOLVE_S:
                i = queue.pop(0)
                limit = shares.take(i, workers)
                sent[i] = time.perf_counter()
                running[pool.submit(solve_by, time.time() + limit, subs[i], weights, solver=options.solver,
                                    time_limit=limit, gap=options.gap, warm_start=starts[i], threads=1)] = i
            if not running:
                break  # the budget is spent: the caller solves what is left in one go
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in done:
                i = running.pop(f)
                res = results[i] = f.result()
                shares.observe(time.perf_counter() - sent[i] - res.time_s)
        if executor_workers() is None:
            # tell the idle workers to end, without joining them: that took 1.1 s under load, past the
            # deadline (they end by themselves, and with this process in any case)
            pool.shutdown(wait=False)


def _solve_here(model: LinearModel, blocks: list[Block], subs: list[LinearModel],
                here: Callable[[int], SolveResult], weights: dict[str, float], x0: np.ndarray | None,
                options: SolveOptions, budget: SolveBudget) -> tuple[list[Block], list[SolveResult]]:
    """Solve the blocks one after another in this process.

    Once the budget is all but spent (under two ``MIN_SOLVE_S`` left), the
    remaining blocks are solved together in one call with what is left, so a
    short time limit is not overrun by a floor paid once per block.
    """
    done_blocks: list[Block] = []
    done: list[SolveResult] = []
    for i in range(len(subs)):
        rest = len(subs) - i
        if rest > 1 and budget.left() < 2 * MIN_SOLVE_S:
            merged = Block(np.concatenate([b.cols for b in blocks[i:]]),
                           np.concatenate([b.rows for b in blocks[i:]]))
            sub = sub_model(model, merged)  # sorts merged's indices
            log.info("%d blocks left with %.2f s of the budget: solving them together", rest, budget.left())
            done.append(solve(sub, weights, solver=options.solver, time_limit=budget.share(),
                              gap=options.gap, warm_start=None if x0 is None else x0[merged.cols],
                              threads=options.threads))
            done_blocks.append(merged)
            break
        done.append(here(i))
        done_blocks.append(blocks[i])
    return done_blocks, done


def solve_blocks(model: LinearModel, weights: dict[str, float], x0: np.ndarray | None,
                 options: SolveOptions, budget: SolveBudget
                 ) -> tuple[list[Block], list[SolveResult], int]:
    """Solve every independent block of ``model`` within ``budget``.

    Returns the blocks solved, their results (same order) and the number of
    connected components. Blocks left when the budget runs out are solved as
    one (see :func:`_solve_here`), so there may be fewer blocks than components.
    """
    blocks, n_comp = split_blocks(model)
    subs = [sub_model(model, b) for b in blocks]
    starts = [None if x0 is None else x0[b.cols] for b in blocks]
    n_int = np.array([s.integrality.sum() for s in subs], float)
    shares = _Shares(budget, n_int + 1.0)
    # with a pool, every block with binaries goes to it, smallest first: they are proved quickly and
    # pass their time on, and the per-block overhead is paid (and measured) early, so the shares of the
    # big blocks at the end are cut by it; largest first, the small blocks left unsent when the time
    # ran out were solved as one in 0.1 s, with no bound but the variables' (10^5 pairs under load: gaps
    # of 23-27% against 9-12%); LPs are solved here
    pooled = sorted((i for i in range(len(subs)) if n_int[i] > 0), key=lambda i: (n_int[i], i))
    workers = min(executor_workers() or options.jobs or os.cpu_count() or 1, len(pooled))
    if (n_int >= POOL_MIN_INT).sum() < 2 or parent_process() is not None or budget.left() < POOL_MIN_LEFT_S:
        workers = 1  # nothing worth a pool, already a worker of someone's pool (what-if, Pareto), or no time
    if workers < 2:
        pooled = []
    in_pool = set(pooled)
    results: list[SolveResult | None] = [None] * len(subs)

    def here(i: int) -> SolveResult:
        return solve(subs[i], weights, solver=options.solver, time_limit=shares.take(i), gap=options.gap,
                     warm_start=starts[i], threads=options.threads)

    if not pooled:
        return (*_solve_here(model, blocks, subs, here, weights, x0, options, budget), n_comp)
    for i in range(len(subs)):
        if i not in in_pool:
            results[i] = here(i)
    log.info("solving %d blocks in %d processes", len(pooled), workers)
    try:
        _solve_in_pool(subs, pooled, workers, shares, results, weights, starts, options)
    except BrokenProcessPool:
        log.warning("the process pool failed (a script that calls optimise needs an "
                    "'if __name__ == \"__main__\":' guard): solving the remaining blocks here")
    rest = [i for i in pooled if results[i] is None]
    if rest:  # not sent (the budget all but spent) or lost with the pool: here, merged once spent
        more_blocks, more = _solve_here(model, [blocks[i] for i in rest], [subs[i] for i in rest],
                                        lambda j: here(rest[j]), weights, x0, options, budget)
        done = [i for i in range(len(subs)) if results[i] is not None]
        return ([blocks[i] for i in done] + more_blocks,
                [r for r in results if r is not None] + more, n_comp)
    return blocks, [r for r in results if r is not None], n_comp
