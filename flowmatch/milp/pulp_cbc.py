"""The PuLP adapter: CBC (or any solver PuLP knows) from a :class:`~flowmatch.milp.builder.LinearModel`.

One ``LpVariable`` per column and one constraint per row are made from the
arrays: slower to build than the HiGHS adapter, but the way to CBC and to any
solver PuLP knows (``pulp:NAME``, e.g. ``pulp:GLPK_CMD``). Statuses are read
with care: PuLP calls a stop on the time limit with a plan in hand "optimal"
unless its solution status is read too; CBC's bound is read from its log.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from flowmatch.errors import SolverError
from flowmatch.files import atomic_write
from flowmatch.milp.builder import LinearModel
from flowmatch.milp.options import MIN_SOLVE_S
from flowmatch.milp.solution import SolveResult, clean_solution, file_names, solve_result
from flowmatch.milp.workers import children_die_with_this_process

__all__ = ["build_pulp", "solve_pulp", "write_pulp", "CBC_SEC_SHARE"]

log = logging.getLogger(__name__)

#: Share of the time left, after the model is built, that CBC's own limit (its search) gets;
#: the rest is for writing the model, CBC's reading and presolve, and reading its answer.
CBC_SEC_SHARE = 0.8


def _pulp_solver(solver: str, time_limit: float, gap: float, warm: bool, threads: int | None,
                 log_path: str):
    import pulp

    name = solver.lower()
    if name.startswith("pulp:"):
        try:
            return pulp.getSolver(solver.split(":", 1)[1], msg=False, timeLimit=time_limit,
                                  gapRel=gap, warmStart=warm)
        except pulp.PulpSolverError as exc:
            raise SolverError(f"PuLP does not know solver '{solver}': {exc}") from None
    kw = dict(msg=False, timeLimit=time_limit, gapRel=gap, warmStart=warm, threads=threads,
              logPath=log_path)
    cmd = pulp.COIN_CMD(**kw)
    if cmd.available():
        return cmd
    with warnings.catch_warnings():
        # PuLP 3 asks for a separately installed CBC; its bundled one is what we have
        warnings.simplefilter("ignore", DeprecationWarning)
        cmd = pulp.PULP_CBC_CMD(**kw)
    if not cmd.available():
        raise SolverError("CBC is not available: pip install 'pulp[cbc]', or use --solver highs.")
    return cmd


def build_pulp(model: LinearModel, c: np.ndarray, k: float):
    """The model as a ``pulp.LpProblem`` (one object per variable and row); returns (problem, variables)."""
    import pulp

    prob = pulp.LpProblem("flowmatch", pulp.LpMinimize)
    vnames = file_names(model.var_names)
    lb = [None if not math.isfinite(v) else float(v) for v in model.lb]
    ub = [None if not math.isfinite(v) else float(v) for v in model.ub]
    cats = [pulp.LpInteger if b else pulp.LpContinuous for b in model.integrality]
    # PuLP 3 attaches variables to the problem; older PuLP makes them free-standing
    new_var = getattr(prob, "add_variable", None) or pulp.LpVariable
    xs = [new_var(n, lo, hi, cat=cat) for n, lo, hi, cat in zip(vnames, lb, ub, cats, strict=True)]
    nz = np.flatnonzero(c)
    prob.setObjective(pulp.LpAffineExpression([(xs[j], float(c[j])) for j in nz], constant=float(k)))
    A = model.A.tocsr()
    rnames = file_names(model.row_names)
    indptr, indices, data = A.indptr, A.indices, A.data
    for i in range(model.n_rows):
        lo, hi = model.row_lb[i], model.row_ub[i]
        sl = slice(indptr[i], indptr[i + 1])
        expr = pulp.LpAffineExpression([(xs[j], float(v)) for j, v in zip(indices[sl], data[sl], strict=True)])
        if lo == hi:
            prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintEQ, rhs=float(lo)), rnames[i])
            continue
        both = math.isfinite(lo) and math.isfinite(hi)
        if math.isfinite(lo):
            prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintGE, rhs=float(lo)),
                               rnames[i] + ("_lo" if both else ""))
        if math.isfinite(hi):
            prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintLE, rhs=float(hi)),
                               rnames[i] + ("_hi" if both else ""))
    return prob, xs


_NUM = r"(-?\d[\d.]*(?:[eE][-+]?\d+)?)"


def _cbc_bound(log_text: str, objective: float) -> float:
    """The lower bound CBC proved, shifted like ``objective`` (CBC omits the constant).

    ``nan`` when the log does not say (another PuLP solver, or CBC silent).
    """
    found = re.findall(r"Objective value:\s*" + _NUM, log_text)
    if not found:
        return math.nan
    cbc_obj = float(found[-1])
    offset = objective - cbc_obj
    if "Search completed" in log_text:
        return objective
    lower = re.findall(r"Lower bound:\s*" + _NUM, log_text)
    if lower:
        return float(lower[-1]) + offset
    exit_gap = re.findall(r"Exiting as integer gap of\s*" + _NUM, log_text)
    if exit_gap:
        return objective - float(exit_gap[-1])
    best = re.findall(r"best possible\s*" + _NUM, log_text)
    return float(best[-1]) + offset if best else math.nan


def solve_pulp(model, c, k, solver, time_limit, gap, warm_start, write_lp, write_mps,
                threads) -> SolveResult:
    import pulp

    t0 = time.perf_counter()
    prob, xs = build_pulp(model, c, k)
    if write_lp:
        atomic_write(write_lp, lambda p: prob.writeLP(str(p)), suffix=".lp")
    if write_mps:
        atomic_write(write_mps, lambda p: prob.writeMPS(str(p)), suffix=".mps")
    is_mip = bool(model.integrality.any())
    if warm_start is not None and is_mip:
        for v, val in zip(xs, clean_solution(model, warm_start), strict=True):
            v.setInitialValue(float(val))
    fd, log_path = tempfile.mkstemp(prefix="flowmatch-cbc-", suffix=".log")
    os.close(fd)
    deadline = t0 + time_limit
    if time.perf_counter() >= deadline:
        # building took the whole budget: starting CBC now would only race the interrupt (a
        # small model can finish first, a large one is killed); the start is the plan known
        Path(log_path).unlink(missing_ok=True)
        return _stopped(model, c, k, warm_start, time.perf_counter() - t0, solver,
                        f"stopped at the deadline ({time_limit:.3g} s) before CBC could start")
    # CBC's own limit covers its search only: it gets a share of what is left after building, the
    # rest is for writing the model, CBC's reading and presolve, and reading its solution back
    sec = max((deadline - time.perf_counter()) * CBC_SEC_SHARE, MIN_SOLVE_S)
    try:
        cmd = _pulp_solver(solver, sec, gap, warm_start is not None and is_mip, threads, log_path)
        try:
            # CBC ends with the run, and is interrupted at the deadline (killed soon after)
            with children_die_with_this_process(type(cmd).__module__, deadline=deadline) as stop:
                prob.solve(cmd)
        except pulp.PulpSolverError as exc:
            if not (stop.interrupted or stop.killed):
                raise SolverError(f"{solver} failed: {exc}") from None
            return _stopped(model, c, k, warm_start, time.perf_counter() - t0, solver,
                            f"stopped at the deadline ({time_limit:.3g} s) without an answer")
        log_text = Path(log_path).read_text(errors="replace")
    finally:
        Path(log_path).unlink(missing_ok=True)
    dt = time.perf_counter() - t0
    st, sol = prob.status, prob.sol_status
    message = f"{pulp.LpStatus.get(st, st)} / {pulp.LpSolution.get(sol, sol)}"
    if (st == pulp.LpStatusInfeasible or sol == pulp.LpSolutionInfeasible) \
            and (stop.interrupted or _stopped_on_time(log_text) or _holds(model, warm_start)):
        # CBC's "Infeasible" / "Integer infeasible" after a stop on time, or against a start
        # that keeps every row, is no proof: the start is the best plan known
        return _stopped(model, c, k, warm_start, dt, solver, f"CBC said {message} but " + (
            "stopped on time" if not _holds(model, warm_start) else "the warm start keeps every row"))
    values = [v.varValue for v in xs]
    has_x = all(v is not None for v in values)
    x = clean_solution(model, np.array(values, float)) if has_x and len(xs) else (np.zeros(0) if not xs else None)
    if sol == pulp.LpSolutionOptimal and st == pulp.LpStatusOptimal:
        status = "optimal"
    elif sol == pulp.LpSolutionIntegerFeasible:
        status = "time_limit"
    elif st == pulp.LpStatusInfeasible or sol == pulp.LpSolutionInfeasible:
        status, x = "infeasible", None
    elif st == pulp.LpStatusUnbounded or sol == pulp.LpSolutionUnbounded:
        status, x = "unbounded", None
    elif st == pulp.LpStatusNotSolved or sol == pulp.LpSolutionNoSolutionFound:
        status, x = "time_limit", None
    else:
        status, x = "error", None
    def bound_of(obj: float) -> float:
        bound = _cbc_bound(log_text, obj) if is_mip else (obj if status == "optimal" else math.nan)
        return min(bound, obj) if math.isfinite(bound) else bound

    name = "cbc" if solver.lower() in ("cbc", "pulp") else solver
    return solve_result(status, x, c, k, bound_of, dt, name, message)


def _stopped_on_time(log_text: str) -> bool:
    """Whether CBC's log says it stopped on its time limit."""
    return bool(re.search(r"stopped on (iterations or )?time|exiting on maximum time", log_text, re.I))


def _holds(model: LinearModel, x: np.ndarray | None, tol: float = 1e-6) -> bool:
    """Whether ``x`` (integers whole) keeps every bound and row of ``model``, within ``tol`` of
    each row's size."""
    if x is None or len(x) != model.n_vars:
        return False
    x = clean_solution(model, x)
    ax = model.A @ x
    scale = np.maximum(1.0, abs(model.A) @ np.abs(x))
    return bool(np.all(ax >= model.row_lb - tol * scale) and np.all(ax <= model.row_ub + tol * scale))


def _stopped(model: LinearModel, c: np.ndarray, k: float, warm_start: np.ndarray | None, dt: float,
             solver: str, message: str) -> SolveResult:
    """A stop on time: the warm start as the best plan when it keeps every row, else no plan."""
    x = clean_solution(model, warm_start) if warm_start is not None and _holds(model, warm_start) else None
    name = "cbc" if solver.lower() in ("cbc", "pulp") else solver
    if x is None:
        message += "; no plan in time"
    log.warning("%s: %s", name, message)
    return solve_result("time_limit", x, c, k, lambda obj: math.nan, dt, name, message)


def write_pulp(model: LinearModel, c: np.ndarray, k: float, path: str | Path) -> None:
    """Write the model with objective ``c @ x + k`` as an LP or MPS file (by suffix), atomically."""
    path = Path(path)
    prob, _ = build_pulp(model, c, k)
    write = prob.writeLP if path.suffix.lower() == ".lp" else prob.writeMPS
    atomic_write(path, lambda p: write(str(p)), suffix=path.suffix)
