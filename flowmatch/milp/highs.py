"""The HiGHS adapter: a :class:`~flowmatch.milp.builder.LinearModel` to ``highspy`` and back.

The CSC matrix, bounds and objective go in as arrays in one call (no
per-variable Python objects), so building is as fast as the arrays are. The
default solver. Also writes models as LP or MPS files, and gives a configured
``highspy.Highs`` to the explanation of infeasibility (its IIS).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from flowmatch.errors import SolverError
from flowmatch.files import atomic_write
from flowmatch.milp.builder import LinearModel
from flowmatch.milp.scaling import largest_numbers
from flowmatch.milp.solution import SolveResult, clean_solution, file_names, solve_result

__all__ = ["new_highs", "pass_highs", "solve_highs", "write_highs"]

log = logging.getLogger(__name__)


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


def write_highs(h, path: str | Path) -> None:
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
        value, what, where = largest_numbers(model, c)[0] if model.n_vars else (0.0, "", "")
        raise SolverError(f"HiGHS rejected the model; its largest number is a {what} of {value:.4g} "
                          f"({where}). Fix: check the quantity, unit and prices of the resources named "
                          "there (see the log with -v).")


def solve_highs(model, c, k, time_limit, gap, warm_start, write_lp, write_mps, threads) -> SolveResult:
    import highspy

    t0 = time.perf_counter()
    h = new_highs(time_limit, gap, threads)
    pass_highs(h, model, c, k, names=bool(write_lp or write_mps))
    for path in (write_lp, write_mps):
        if path:
            write_highs(h, path)
    is_mip = bool(model.integrality.any())
    if warm_start is not None and is_mip:
        sol = highspy.HighsSolution()
        sol.col_value = list(map(float, clean_solution(model, warm_start)))
        sol.value_valid = True
        if h.setSolution(sol) == highspy.HighsStatus.kError:
            log.warning("HiGHS did not accept the warm start")
    # the limit counts from the call: passing the model and the start used some of it
    h.setOptionValue("time_limit", float(min(time_limit, max(time_limit - (time.perf_counter() - t0), 0.1))))
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
    x = clean_solution(model, np.asarray(h.getSolution().col_value, float)) if has_x else None
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
    def bound_of(obj: float) -> float:
        if not is_mip:
            return obj if status == "optimal" else math.nan
        bound, own = float(info.mip_dual_bound), float(info.objective_function_value)
        if math.isfinite(bound) and math.isfinite(own):
            # HiGHS's own primal-dual difference, which no objective offset changes: when
            # presolve takes a warm start as optimal, HiGHS reports its objective and dual
            # bound both without the offset presolve moved out (seen with highspy 1.x)
            bound = obj - max(0.0, own - bound)
        return obj if status == "optimal" and not math.isfinite(bound) else bound

    return solve_result(status, x, c, k, bound_of, dt, "highs", message)
