"""One small adapter from a :class:`~flowmatch.milp.builder.LinearModel` to a MILP solver.

Two back ends take the same frozen arrays:

``highs``
    HiGHS through ``highspy``: the CSC matrix, bounds and objective go in as
    arrays in one call (no per-variable Python objects), so building is as
    fast as the arrays are. The default.
``cbc`` (or ``pulp``)
    CBC through PuLP: one ``LpVariable`` per column and one constraint per
    row are made from the arrays. Slower to build, but it is the way to any
    solver PuLP knows (``pulp:NAME``, e.g. ``pulp:GLPK_CMD``).

Either back end can write the model as an LP or MPS file for inspection.

Statuses are read with care: a solver that stops on its time limit with a
plan in hand is ``time_limit`` (PuLP calls that "optimal" unless its
solution status is read too), and a stop without one has no ``x``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flowmatch.errors import SolverError
from flowmatch.files import atomic_write
from flowmatch.milp.builder import LinearModel
from flowmatch.milp.options import SOLVERS, SolveOptions

__all__ = ["SolveResult", "solve", "write_model", "STATUSES", "SOLVERS"]

log = logging.getLogger(__name__)

STATUSES = ("optimal", "time_limit", "infeasible", "unbounded", "error")


@dataclass
class SolveResult:
    """What a solve gave.

    Attributes
    ----------
    status : str
        One of ``STATUSES``. ``optimal`` means proved within the requested
        relative gap; ``time_limit`` means stopped on time (``x`` is the best
        plan found, or ``None`` when none was found).
    x : ndarray or None
        Variable values, clipped to their bounds, integers rounded.
    objective : float
        Objective value of ``x`` (the weighted metrics plus their constant);
        ``nan`` without ``x``.
    bound : float
        Best proved lower bound (equal to ``objective`` for a solved LP);
        ``nan`` when the solver did not say.
    gap : float
        ``(objective - bound) / max(|objective|, 1e-9)``; ``nan`` when unknown.
    time_s : float
        Wall time in the solver (model hand-over included).
    solver : str
    message : str
        The solver's own words on how it ended.
    """

    status: str
    x: np.ndarray | None
    objective: float
    bound: float
    gap: float
    time_s: float
    solver: str
    message: str = ""

    @property
    def has_solution(self) -> bool:
        """Whether ``x`` holds a feasible plan."""
        return self.x is not None and self.status in ("optimal", "time_limit")


def relative_gap(objective: float, bound: float) -> float:
    """The relative MIP gap as HiGHS defines it, ``nan`` when either side is unknown."""
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return math.nan
    return max(0.0, objective - bound) / max(abs(objective), 1e-9)


def _clean(model: LinearModel, x: np.ndarray) -> np.ndarray:
    """Clip ``x`` to its bounds and round the integer variables."""
    x = np.clip(np.asarray(x, float), model.lb, model.ub)
    x[model.integrality] = np.round(x[model.integrality])
    return x


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
    unknown = set(weights) - set(model.metrics)
    if unknown:
        raise SolverError(f"unknown metrics {sorted(unknown)} in the objective; use {sorted(model.metrics)}.")
    if warm_start is not None and len(warm_start) != model.n_vars:
        raise SolverError(f"warm start has {len(warm_start)} values for {model.n_vars} variables.")
    c, k = model.objective(weights)
    name = solver.lower()
    if name == "highs":
        res = _solve_highs(model, c, k, time_limit, gap, warm_start, write_lp, write_mps, threads)
    else:
        res = _solve_pulp(model, c, k, solver, time_limit, gap, warm_start, write_lp, write_mps, threads)
    log.info("%s: %s, objective %.6g, bound %.6g, gap %.3g, %.2f s", res.solver, res.status,
             res.objective, res.bound, res.gap, res.time_s)
    return res


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
    if solver.lower() == "highs":
        h = new_highs()
        pass_highs(h, model, c, k, names=True)
        _highs_write(h, path)
    else:
        prob, _ = build_pulp(model, c, k)
        write = prob.writeLP if path.suffix.lower() == ".lp" else prob.writeMPS
        atomic_write(path, lambda p: write(str(p)), suffix=path.suffix)
    return path


# --------------------------------------------------------------------------- HiGHS


def _highs_lp(model: LinearModel, c: np.ndarray, k: float, names: bool):
    import highspy

    A = model.A.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_ = model.n_vars
    lp.num_row_ = model.n_rows
    lp.col_cost_ = c
    lp.offset_ = k
    lp.col_lower_ = model.lb
    lp.col_upper_ = model.ub
    lp.row_lower_ = model.row_lb
    lp.row_upper_ = model.row_ub
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = model.n_vars
    lp.a_matrix_.num_row_ = model.n_rows
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    if model.integrality.any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous
                           for b in model.integrality]
    if names:
        lp.col_names_ = file_names(model.var_names)
        lp.row_names_ = file_names(model.row_names)
    return lp


def file_names(names: list[str]) -> list[str]:
    """Names fit for LP and MPS files: ASCII letters, digits, ``_``, ``.`` and ``#``, unique.

    Other characters become ``_`` (``flow[H1>W1]`` is written ``flow_H1_W1_``); a
    name that then repeats gets its position appended.
    """
    clean = [re.sub(r"[^A-Za-z0-9_.#]", "_", n) for n in names]
    clean = [n if n and not (n[0].isdigit() or n[0] == ".") else f"n_{n}" for n in clean]
    if len(set(clean)) == len(clean):
        return clean
    seen: set[str] = set()
    out = []
    for i, n in enumerate(clean):
        out.append(n if n not in seen else f"{n}#{i}")
        seen.add(n)
    return out


def _highs_write(h, path: str | Path) -> None:
    path = Path(path)

    def _w(tmp: Path) -> None:
        if h.writeModel(str(tmp)) not in _highs_ok():
            raise SolverError(f"{path}: HiGHS could not write the model.")

    atomic_write(path, _w, suffix=path.suffix)
    log.info("wrote the model to %s", path)


def _highs_ok() -> tuple:
    import highspy

    return (highspy.HighsStatus.kOk, highspy.HighsStatus.kWarning)


@contextlib.contextmanager
def _stdout_silenced():
    """Send the process's C-level stdout to /dev/null for the duration (HiGHS banner)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real stdout (embedded, pytest capture): nothing to hide
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def new_highs(time_limit: float | None = None, gap: float | None = None, threads: int | None = None):
    """A silent ``highspy.Highs`` with the limits set (also used to explain infeasibility)."""
    try:
        import highspy
    except ImportError as exc:  # pragma: no cover - a dependency
        raise SolverError("highspy is not installed: pip install highspy, or use --solver cbc.") from exc
    with _stdout_silenced():  # highspy prints its banner while constructing, before options
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if gap is not None:
        h.setOptionValue("mip_rel_gap", float(gap))
    if threads:
        h.setOptionValue("threads", int(threads))
    return h


def pass_highs(h, model: LinearModel, c: np.ndarray, k: float, names: bool = False) -> None:
    """Hand ``model`` with objective ``c @ x + k`` to the ``highspy.Highs`` ``h``."""
    if h.passModel(_highs_lp(model, c, k, names)) not in _highs_ok():
        raise SolverError("HiGHS rejected the model (see the log with -v).")


def _solve_highs(model, c, k, time_limit, gap, warm_start, write_lp, write_mps, threads) -> SolveResult:
    import highspy

    t0 = time.perf_counter()
    h = new_highs(time_limit, gap, threads)
    pass_highs(h, model, c, k, names=bool(write_lp or write_mps))
    for path in (write_lp, write_mps):
        if path:
            _highs_write(h, path)
    is_mip = bool(model.integrality.any())
    if warm_start is not None and is_mip:
        sol = highspy.HighsSolution()
        sol.col_value = list(map(float, _clean(model, warm_start)))
        sol.value_valid = True
        if h.setSolution(sol) == highspy.HighsStatus.kError:
            log.warning("HiGHS did not accept the warm start")
    h.run()
    dt = time.perf_counter() - t0
    ms = h.getModelStatus()
    if ms == highspy.HighsModelStatus.kUnboundedOrInfeasible:
        # presolve could not tell which: ask again without it
        h.setOptionValue("presolve", "off")
        h.run()
        ms = h.getModelStatus()
        dt = time.perf_counter() - t0
    info = h.getInfo()
    message = h.modelStatusToString(ms)
    has_x = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    x = _clean(model, np.asarray(h.getSolution().col_value, float)) if has_x else None
    M = highspy.HighsModelStatus
    if ms == M.kOptimal:
        status = "optimal"
    # kHighsInterrupt (19) exists at run time but is missing from highspy's stub
    elif ms in (M.kTimeLimit, M.kIterationLimit, M.kSolutionLimit, M.kInterrupt,
                M.kHighsInterrupt):  # type: ignore[attr-defined]
        status = "time_limit"
    elif ms == M.kInfeasible:
        status, x = "infeasible", None
    elif ms in (M.kUnbounded, M.kUnboundedOrInfeasible):
        status, x = "unbounded", None
    elif ms == M.kModelEmpty:
        status, x = "optimal", np.zeros(0)
    else:
        status, x = "error", None
    if x is None:
        obj = bound = math.nan
    else:
        obj = float(c @ x + k)
        bound = float(info.mip_dual_bound) if is_mip else (obj if status == "optimal" else math.nan)
        if status == "optimal" and not math.isfinite(bound):
            bound = obj
    return SolveResult(status, x, obj, bound, relative_gap(obj, bound), dt, "highs", message)


# --------------------------------------------------------------------------- PuLP


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


def _solve_pulp(model, c, k, solver, time_limit, gap, warm_start, write_lp, write_mps,
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
        for v, val in zip(xs, _clean(model, warm_start), strict=True):
            v.setInitialValue(float(val))
    fd, log_path = tempfile.mkstemp(prefix="flowmatch-cbc-", suffix=".log")
    os.close(fd)
    try:
        cmd = _pulp_solver(solver, time_limit, gap, warm_start is not None and is_mip, threads, log_path)
        try:
            prob.solve(cmd)
        except pulp.PulpSolverError as exc:
            raise SolverError(f"{solver} failed: {exc}") from None
        log_text = Path(log_path).read_text(errors="replace")
    finally:
        Path(log_path).unlink(missing_ok=True)
    dt = time.perf_counter() - t0
    st, sol = prob.status, prob.sol_status
    message = f"{pulp.LpStatus.get(st, st)} / {pulp.LpSolution.get(sol, sol)}"
    values = [v.varValue for v in xs]
    has_x = all(v is not None for v in values)
    x = _clean(model, np.array(values, float)) if has_x and len(xs) else (np.zeros(0) if not xs else None)
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
    if x is None:
        obj = bound = math.nan
    else:
        obj = float(c @ x + k)
        bound = _cbc_bound(log_text, obj) if is_mip else (obj if status == "optimal" else math.nan)
        bound = min(bound, obj) if math.isfinite(bound) else bound
    name = "cbc" if solver.lower() in ("cbc", "pulp") else solver
    return SolveResult(status, x, obj, bound, relative_gap(obj, bound), dt, name, message)
