"""Error types of flowmatch.

Every mistake a user can make in their input ends in a :class:`FlowmatchError`
(or a subclass). The CLI turns these into a clear message and exit code 2, never
a traceback. :class:`InventoryError` carries *all* problems found in an
inventory, each naming the file, row and column and saying how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FlowmatchError",
    "ClusterError",
    "InventoryError",
    "InputProblem",
    "ParamsError",
    "ModelError",
    "SolverError",
    "SolveOptionsError",
    "ScenarioError",
    "PlanFolderError",
    "BenchError",
]


class FlowmatchError(Exception):
    """Base class of every error flowmatch raises for a user's mistake."""


@dataclass(frozen=True)
class InputProblem:
    """One problem in the user's input.

    Parameters
    ----------
    file : str
        The file (or workbook sheet, as ``book.xlsx[sheet]``) the problem is in.
    row : int or None
        1-based data row: row 1 is the first row *below* the header, blank lines
        not counted; ``None`` for a whole-file or whole-column problem.
    column : str or None
        The column the problem is in; ``None`` for a whole-row problem.
    message : str
        What is wrong.
    fix : str
        How to put it right.
    line : int or None
        Where the row is in the file as an editor shows it: the line of a CSV
        (or TOML) file, or the sheet row of a workbook (the header is usually
        sheet row 1, so data row 1 is sheet row 2); ``None`` when unknown
        (Parquet, DataFrames).
    """

    file: str
    row: int | None
    column: str | None
    message: str
    fix: str = ""
    line: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        line_word = "sheet row" if self.file.endswith("]") else "line"
        if self.row is not None:
            parts.append(f"row {self.row}" + (f" ({line_word} {self.line})" if self.line else ""))
        elif self.line is not None:
            parts.append(f"{line_word} {self.line}")
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        text = f"{', '.join(parts)}: {self.message}"
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


class InventoryError(FlowmatchError):
    """An inventory failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: list[InputProblem]):
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the inventory:"
        shown = [f"  - {p}" for p in self.problems[:50]]
        if n > 50:
            shown.append(f"  ... and {n - 50} more")
        super().__init__("\n".join([head, *shown]))


class ParamsError(FlowmatchError):
    """A parameter (from ``params.toml``, a scenario or an argument) is out of range."""


class ModelError(FlowmatchError):
    """The optimisation model cannot be built or is infeasible for a stated reason."""


class SolverError(FlowmatchError):
    """A solver failed, or is not available."""


class SolveOptionsError(ParamsError, SolverError):
    """A solve option (objective, time limit, gap, solver, jobs, threads, weights) out of range."""


class ScenarioError(FlowmatchError):
    """A what-if scenario (a TOML file or a ``--vary`` axis) is wrong.

    Parameters
    ----------
    file : str
        The scenario file (or ``--vary``).
    problems : list of (key, message, fix)
        Each problem: the key it is at (``params.landfill_tax``,
        ``add.resources (entry 2), quantity``, ...), what is wrong and how to fix it.
    """

    def __init__(self, file: str, problems: list[tuple[str, str, str]]):
        self.file = file
        self.problems = list(problems)
        self.keys = [k for k, _, _ in self.problems]
        lines = [f"{file}: {k}: {m}" + (f" Fix: {f}" if f else "") for k, m, f in self.problems]
        if len(lines) == 1:
            super().__init__(lines[0])
        else:
            super().__init__("\n".join([f"{len(lines)} problems in scenario {file}:",
                                         *(f"  - {ln}" for ln in lines)]))

    def __reduce__(self):
        # rebuild from (file, problems), so the error crosses process boundaries whole
        return (type(self), (self.file, self.problems))


class PlanFolderError(FlowmatchError):
    """A plan folder (to report on) is missing a file, is damaged or has another format version."""


class ClusterError(FlowmatchError):
    """A ``--scheduler`` or ``--memory-limit`` is wrong, or the Dask scheduler cannot be reached."""


class BenchError(FlowmatchError):
    """``flowmatch bench``: a baseline that is missing, damaged or of another inventory, or a bad option."""
