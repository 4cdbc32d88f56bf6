"""Text cells that would break what is written from them: control characters, formulas.

A control character (a carriage return, a line feed, a tab, a NUL, ...) inside
an id would end up in the plan's CSV files and reports, where it splits a row or
a line. Ids, allowed values and month ranges holding one are refused, naming
file, row and column; in free text (names, labels, sources) line breaks and
tabs become one space and other control characters are refused. An id starting
with ``=``, ``+`` or ``@`` is refused too: a spreadsheet opening the plan's CSV
files would run it as a formula. Formula cells of a workbook that hold no
computed value are reported here as well (they read as empty otherwise).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from flowmatch.errors import InputProblem
from flowmatch.inputs.problems import _pick, _Problems, _Table

__all__ = ["check_text", "formula_problems", "escaped"]

#: C0 controls, DEL, C1 controls and the Unicode line and paragraph separators (RE2 syntax)
_CONTROL = r"[\x00-\x1f\x7f-\x{9f}\x{2028}\x{2029}]"
#: the ones that are only a line break or a tab, made one space in free text
_SPACE_LIKE = r"[\t\n\r\x0b\x0c\x{85}\x{2028}\x{2029}]+"
_FORMULA_START = r"^[=+@]"


def escaped(v: Any) -> str:
    """A cell for a message: control characters shown as escapes (``\\r``, ``\\x00``)."""
    return _pick([v], np.array([0]))[0] if not isinstance(v, float) else f"{v:g}"


def _shown(txt: pa.Array, mask: np.ndarray) -> np.ndarray:
    vals = np.full(len(mask), "", dtype=object)
    idx = np.flatnonzero(mask)
    if len(idx):
        vals[idx] = [escaped(v) for v in txt.take(pa.array(idx)).to_pylist()]
    return vals


def check_text(t: _Table, column: str, kind: str, txt: pa.Array, P: _Problems) -> pa.Array:
    """Report control characters (and formula-like ids) in one text column; free text gets its breaks as spaces."""
    if kind == "str":
        txt = pc.replace_substring_regex(txt, _SPACE_LIKE, " ")
    bad = np.asarray(pc.match_substring_regex(txt, _CONTROL).to_numpy(zero_copy_only=False), dtype=bool)
    if bad.any():
        shown = _shown(txt, bad)
        P.rows(t, bad, column, "'{value}' holds a control character (a line break, tab or the like).",
               "Delete the invisible character: retype the cell, or in Excel use =CLEAN() on it.", shown)
        # later messages about these cells show them escaped too (the inventory is refused anyway)
        txt = pc.if_else(pa.array(bad), pa.array(shown.tolist(), type=pa.string()), txt)
    if kind == "id":
        formula = np.asarray(pc.match_substring_regex(txt, _FORMULA_START).to_numpy(zero_copy_only=False),
                             dtype=bool)
        if formula.any():
            P.rows(t, formula, column, "'{value}' starts like a spreadsheet formula (=, + or @).",
                   "Start the id with a letter or digit: a spreadsheet opening the plan's files would run "
                   "it as a formula.", _shown(txt, formula))
    return txt


def formula_problems(cells: pd.DataFrame, header_at: int, formulas: list[tuple[int, int, str]], label: str,
                     problems: _Problems) -> pd.DataFrame:
    """Report formula cells with no computed value (sheet cells, 0-based) and put their formula in the cell."""
    if not formulas:
        return cells
    cells = cells.copy()
    for i, j, f in formulas:
        if i >= len(cells) or j >= cells.shape[1]:
            continue
        cells.iat[i, j] = f
        if i < header_at:
            continue
        head = cells.iat[header_at, j] if i > header_at else None
        column = str(head).strip().lower() if head is not None and not pd.isna(head) else f"column {j + 1}"
        problems.items.append(InputProblem(
            label, i - header_at if i > header_at else None, column,
            f"the cell holds the formula '{f[:60]}' with no computed value (the workbook was written "
            "by a program and never recalculated), so it reads as empty.",
            "Open the workbook in Excel or LibreOffice and save it (that computes every formula), "
            "or write the value instead of the formula.", i + 1))
    return cells
