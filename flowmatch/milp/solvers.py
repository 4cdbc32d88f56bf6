"""Solve a :class:`~flowmatch.milp.builder.LinearModel` with the solver a user names.

:func:`solve` and :func:`write_model` choose the adapter; two take the same
frozen arrays:

``highs`` (:mod:`flowmatch.milp.highs`)
    HiGHS through ``highspy``: the CSC matrix, bounds and objective go in as
    arrays in one call (no per-variable Python objects), so building is as
    fast as the arrays are. The default.
``cbc`` (or ``pulp``; :mod:`flowmatch.milp.pulp_cbc`)
    CBC through PuLP: one ``LpVariable`` per column and one constraint per
    row are made from the arrays. Slower to build, but it is the way to any
    solver PuLP knows (``pulp:NAME``, e.g. ``pulp:GLPK_CMD``).

Either back end can write the model as an LP or MPS file for inspection.

Statuses are read with care: a solver that stops on its time limit with a
plan in hand is ``time_limit`` (PuLP calls that "optimal" unless its
solution status is read too), and a stop without one has no ``x``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from flowmatch.errors import SolverError
from flowmatch.milp.builder import LinearModel
from flowmatch.milp.highs import new_highs, pass_highs, solve_highs, write_highs
from flowmatch.milp.options import MIN_SOLVE_S, SOLVERS, SolveOptions
from flowmatch.milp.pulp_cbc import solve_pulp, write_pulp
from flowmatch.milp.scaling import Scaling, check_magnitudes, scale_model, to_scaled, unscale
from flowmatch.milp.solution import STATUSES, SolveResult, clean_solution, relative_gap

__all__ = ["solve", "write_model", "SolveResult", "STATUSES", "SOLVERS"]

log = logging.getLogger(__name__)


def solve(
    model: LinearModel,
    weights: dict[str, float],
    solver: str = "highs",
    time_limit: float = 60.0,
    gap: float = 0.01,
    warm_start: np.ndarray | None = None,
    write_lp: str | Path | None = None,
    write_mps: str | Path | None = None,
    threads: int | None = None,
) -> SolveResult:
    """Minimise the weighted metrics of ``model``.

    Parameters
    ----------
    model : LinearModel
    weights : dict of str to float
        Weight of each metric in the objective, e.g. ``{"cost": 1.0}``.
    solver : str
        ``highs`` (highspy), ``cbc`` or ``pulp`` (CBC through PuLP), or
        ``pulp:NAME`` for any solver PuLP knows by that name.
    time_limit : float
        Seconds before the solver stops with the best plan it has.
    gap : float
        Relative MIP gap at which the solver stops.
    warm_start : ndarray, optional
        A feasible point (one value per variable) to start from.
    write_lp, write_mps : path-like, optional
        Write the model as an LP / MPS file (atomically) before solving.
    threads : int, optional
        Solver threads (default: the solver's own choice).

    Returns
    -------
    SolveResult

    Raises
    ------
    SolverError
        The solver is unknown, not installed, or crashed.
    """
    SolveOptions(time_limit=time_limit, gap=gap, solver=solver, threads=threads)  # validates them
    t0 = time.perf_counter()  # the time limit counts from here: checking and scaling use it too
    unknown = set(weights) - set(model.metrics)
    if unknown:
        raise SolverError(f"unknown metrics {sorted(unknown)} in the objective; use {sorted(model.metrics)}.")
    if warm_start is not None and len(warm_start) != model.n_vars:
        raise SolverError(f"warm start has {len(warm_start)} values for {model.n_vars} variables.")
    check_magnitudes(model)  # a number beyond any real one: refused, named (CBC called such models optimal)
    for path in (write_lp, write_mps):  # the model as built, not as scaled for the solver
        if path:
            write_model(model, weights, path, solver)
    c, k = model.objective(weights)
    # the solver sees the model scaled by powers of two (exact), so 1e-5 and 1e11 can share it
    name = solver.lower()
    scaled, sc = scale_model(model, base=2 if name == "highs" else 10)  # CBC reads and writes text
    cs, _ = scaled.objective(weights)
    start = None if warm_start is None else to_scaled(warm_start, sc)
    time_limit = min(time_limit, max(time_limit - (time.perf_counter() - t0), MIN_SOLVE_S))
    if name == "highs":
        res = solve_highs(scaled, cs, k, time_limit, gap, start, None, None, threads)
    else:
        res = solve_pulp(scaled, cs, k, solver, time_limit, gap, start, None, None, threads)
    res = _unscaled(res, model, sc, c, k)
    log.info("%s: %s, objective %.6g, bound %.6g, gap %.3g, %.2f s", res.solver, res.status,
             res.objective, res.bound, res.gap, res.time_s)
    return res


def _unscaled(res: SolveResult, model: LinearModel, sc: Scaling, c: np.ndarray, k: float) -> SolveResult:
    """A result of the scaled model as one of ``model``: ``x`` unscaled (exactly) and cleaned, its objective."""
    if res.x is None:
        return res
    x = clean_solution(model, unscale(res.x, sc))
    obj = float(c @ x + k)
    return replace(res, x=x, objective=obj, gap=relative_gap(obj, res.bound))


def write_model(model: LinearModel, weights: dict[str, float], path: str | Path, solver: str = "highs") -> Path:
    """Write ``model`` with objective ``weights`` as an LP or MPS file (by ``path``'s suffix), atomically.

    Writing does not solve: a run that writes its model solves it exactly as
    one that does not. ``highs`` writes through HiGHS, any other solver name
    through PuLP.
    """
    path = Path(path)
    if path.suffix.lower() not in (".lp", ".mps"):
        raise SolverError(f"{path}: a model file ends in .lp or .mps.")
    c, k = model.objective(weights)
    try:
        if solver.lower() == "highs":
            h = new_highs()
            pass_highs(h, model, c, k, names=True)
            write_highs(h, path)
        else:
            write_pulp(model, c, k, path)
    except OSError as exc:  # what files.atomic_write does not say itself (the solver's own write)
        why = exc.strerror or str(exc)
        raise SolverError(f"{path}: cannot write the model file there ({why}). Give a path in a folder "
                          "you can write.") from None
    return path
