"""What a solve gives, in the same form from every solver adapter.

:class:`SolveResult` (status, solution, objective, bound, gap, time),
:func:`relative_gap` as HiGHS defines it, :func:`clean_solution` (a solver's
``x`` clipped to its bounds, integers rounded) and :func:`file_names` (names fit
for LP and MPS files) are shared by the adapters (:mod:`flowmatch.milp.highs`,
:mod:`flowmatch.milp.pulp_cbc`) and their callers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from flowmatch.milp.builder import LinearModel

__all__ = ["SolveResult", "STATUSES", "relative_gap", "clean_solution", "file_names", "solve_result"]

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


def clean_solution(model: LinearModel, x: np.ndarray) -> np.ndarray:
    """Clip ``x`` to its bounds and round the integer variables."""
    x = np.clip(np.asarray(x, float), model.lb, model.ub)
    x[model.integrality] = np.round(x[model.integrality])
    return x


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


def solve_result(status: str, x: np.ndarray | None, c: np.ndarray, k: float,
                 bound_of: Callable[[float], float], time_s: float, solver: str,
                 message: str) -> SolveResult:
    """An adapter's :class:`SolveResult`: objective ``c @ x + k`` of ``x`` and the
    adapter's own bound for it (``bound_of(objective)``); both ``nan`` without ``x``."""
    if x is None:
        obj = bound = math.nan
    else:
        obj = float(c @ x + k)
        bound = bound_of(obj)
    return SolveResult(status, x, obj, bound, relative_gap(obj, bound), time_s, solver, message)
