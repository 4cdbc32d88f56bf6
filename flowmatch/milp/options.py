"""One solve budget for a run: :class:`SolveOptions` and the clock it starts.

Every optimisation of a run (``optimise``, each what-if run, each Pareto point)
takes one :class:`SolveOptions`: what to minimise, how long, how close, with
which solver, on how many processes and threads. It is validated here and only
here (:class:`~flowmatch.errors.SolveOptionsError`, which is both a
``ParamsError`` and a ``SolverError``), so the CLI, the library and the studies
reject the same values with the same words.

:meth:`SolveOptions.start` starts a :class:`SolveBudget`: the time limit counts
from then (after matching) for everything the run does, building the model
parts (route generation, the water part's pre-checks), solving every block,
their bounds, the polish, explaining an infeasible model and writing the plan,
so ``--time-limit T`` bounds the whole run. A phase that later phases must
leave time for runs on :meth:`SolveBudget.until`, the same clock ending that
much earlier, so what they need is kept back *before* it starts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flowmatch.errors import SolveOptionsError
from flowmatch.metrics import MODEL_METRICS, OBJECTIVES

__all__ = ["SolveOptions", "SolveBudget", "SOLVERS", "DEFAULT_WEIGHTS", "MIN_SOLVE_S", "HEURISTICS"]

#: Solvers by name: ``highs`` (highspy), ``cbc`` (CBC through PuLP); ``pulp:NAME``
#: is any solver PuLP knows.
SOLVERS = ("highs", "cbc", "pulp")
#: Levels of ``SolveOptions.heuristics``: none, the slope-scaling start, or that and then
#: local search and fix-and-optimise.
HEURISTICS = ("off", "start", "auto")
#: Weights of ``objective="weighted"``: cost (carbon price included) plus a
#: shadow price of 0.1 per kg CO2e (100 per t, on top of the carbon price) and
#: of 100 per t landfilled, in the inventory's currency.
DEFAULT_WEIGHTS = {"cost": 1.0, "co2": 0.1, "landfill": 100.0}
#: The least time one solve is given, even when the budget is spent.
MIN_SOLVE_S = 0.1


def _positive_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def _count(v: Any) -> bool:
    return v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1)


@dataclass(frozen=True)
class SolveOptions:
    """How to optimise: one value for every solve of a run.

    Parameters
    ----------
    objective : {"cost", "co2", "landfill", "weighted"}
        What to minimise. ``cost`` includes the carbon price times CO2;
        ``co2`` and ``landfill`` break ties by cost; ``weighted`` minimises
        ``weights``.
    time_limit : float
        Seconds for the whole run after matching (model parts, solves and any
        explanation of infeasibility share them).
    gap : float
        Relative MIP gap at which a solve stops (0.01 is 1%).
    solver : str
        ``highs`` (default), ``cbc``, or ``pulp:NAME``.
    jobs : int, optional
        Processes for solving independent blocks at once (default: every
        core; 1 for none, as a caller running its own pool passes).
    threads : int, optional
        Solver threads per solve in this process (default: the solver's choice).
    weights : mapping, optional
        For ``weighted``: ``cost``, ``co2`` (per kg) and ``landfill`` (per t),
        finite and >= 0, not all 0; default :data:`DEFAULT_WEIGHTS`.
    polish : bool
        After the search, fix the binaries, re-solve the LP, close idle links
        and try dropping links (:mod:`flowmatch.milp.polish`); default on.
    heuristics : bool or {"auto", "start", "off"}
        Before the search, look for a better start than the greedy one.
        ``"start"``: dynamic slope scaling (:mod:`flowmatch.milp.heuristics`);
        ``"auto"`` (the default; ``True`` is the same): slope scaling, then
        local search and fix-and-optimise on blocks of at least
        ``MIN_INTEGERS`` binaries (:mod:`flowmatch.milp.fix_and_optimise`);
        ``"off"`` (or ``False``): the greedy start only.

    Raises
    ------
    SolveOptionsError
        Any value out of range, naming it and what it may be.
    """

    objective: str = "cost"
    time_limit: float = 60.0
    gap: float = 0.01
    solver: str = "highs"
    jobs: int | None = None
    threads: int | None = None
    weights: Mapping[str, float] | None = field(default=None)
    polish: bool = True
    heuristics: bool | str = "auto"

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise SolveOptionsError(f"unknown objective '{self.objective}'; use one of "
                                    f"{', '.join(OBJECTIVES)}.")
        if not _positive_number(self.time_limit):
            raise SolveOptionsError(f"time_limit must be a positive number of seconds, not "
                                    f"{self.time_limit!r}.")
        if not (isinstance(self.gap, int | float) and not isinstance(self.gap, bool)
                and 0 <= self.gap < math.inf):
            raise SolveOptionsError(f"gap must be a relative gap >= 0 (0.01 is 1%), not {self.gap!r}.")
        name = self.solver.lower() if isinstance(self.solver, str) else ""
        if name not in SOLVERS and not (name.startswith("pulp:") and len(name) > 5):
            raise SolveOptionsError(f"unknown solver '{self.solver}'; use highs, cbc, or pulp:NAME "
                                    "for a PuLP solver.")
        if not _count(self.jobs):
            raise SolveOptionsError(f"jobs = {self.jobs!r} is not a number of processes. Give 1 or more.")
        if not _count(self.threads):
            raise SolveOptionsError(f"threads = {self.threads!r} is not a number of threads. "
                                    "Give 1 or more.")
        if self.heuristics not in HEURISTICS and not isinstance(self.heuristics, bool):
            raise SolveOptionsError(f"heuristics = {self.heuristics!r} is not a level; use one of "
                                    f"{', '.join(HEURISTICS)} (or True for auto, False for off).")
        if self.weights is not None:
            w = dict(self.weights)
            bad = {k: v for k, v in w.items() if k not in MODEL_METRICS
                   or not isinstance(v, int | float) or not math.isfinite(v) or v < 0}
            if bad or not any(w.values()):
                raise SolveOptionsError(f"weights must be finite numbers >= 0 for cost, co2 (per kg) and "
                                        f"landfill (per t), not all zero; got {w}.")
            object.__setattr__(self, "weights", w)

    @property
    def heuristic_level(self) -> str:
        """``heuristics`` as one of :data:`HEURISTICS` (``True`` is ``auto``, ``False`` is ``off``)."""
        if isinstance(self.heuristics, bool):
            return "auto" if self.heuristics else "off"
        return self.heuristics

    def replace(self, **changes: Any) -> SolveOptions:
        """A copy with ``changes``, validated again."""
        return replace(self, **changes)

    def overridden(self, **given: Any) -> SolveOptions:
        """A copy with the ``given`` values that are not ``None`` (a function's keywords
        that override single fields of an options object), validated again."""
        return self.replace(**{k: v for k, v in given.items() if v is not None})

    def start(self, at: float | None = None) -> SolveBudget:
        """Start the clock: a :class:`SolveBudget` of ``time_limit`` seconds from now (or from
        ``at``, a ``time.perf_counter()`` time)."""
        return SolveBudget(self.time_limit, started=at)


class SolveBudget:
    """The time left of one run's :attr:`SolveOptions.time_limit`.

    Every phase after matching draws on it: a phase that may stop early (route
    generation, a pre-check solve, a block's solve, an explanation) asks
    :meth:`share` for its part of what is left and stops within it.
    """

    def __init__(self, seconds: float, started: float | None = None):
        self.seconds = float(seconds)
        self.started = time.perf_counter() if started is None else float(started)
        self.deadline = self.started + self.seconds

    def until(self, reserve: float) -> SolveBudget:
        """The same clock, ending ``reserve`` seconds before this budget does (not before it
        started): what a phase may use while later phases keep ``reserve`` back for themselves.
        Time the phase does not use stays with them."""
        return SolveBudget(max(self.seconds - max(float(reserve), 0.0), 0.0), started=self.started)

    def left(self) -> float:
        """Seconds left (0 when spent)."""
        return max(0.0, self.deadline - time.perf_counter())

    def used(self) -> float:
        """Seconds since the clock started."""
        return time.perf_counter() - self.started

    def share(self, fraction: float = 1.0, at_least: float = MIN_SOLVE_S) -> float:
        """``fraction`` of the time left, but at least ``at_least`` seconds.

        The floor lets a solve return the plan it starts from (the warm start)
        even when the budget is spent, instead of failing.
        """
        return max(self.left() * fraction, at_least)

    def __repr__(self) -> str:
        return f"SolveBudget({self.seconds:g} s, {self.left():.2f} s left)"
