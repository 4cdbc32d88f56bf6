"""Problems found in an inventory, in the user's terms: table, row, column, line.

:class:`_Table` is one table as read (its cells and where each row came from);
:class:`_Problems` collects every problem of every table, one per row at most
:data:`MAX_ROWS_PER_PROBLEM` times per kind, and :func:`_with_lines` adds the
CSV line or workbook sheet row of each problem before it is raised.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from flowmatch.errors import InputProblem
from flowmatch.inputs.cells import _np

#: at most this many rows are listed for one kind of problem in one column
MAX_ROWS_PER_PROBLEM = 200


@dataclass
class _Table:
    """One table as read: cells with normalised column names, and where each row came from."""

    name: str
    df: pd.DataFrame
    label: str
    rows: np.ndarray  # 1-based data row number of each df row
    kind: str = "frame"  # csv, parquet, xlsx or frame
    path: Path | None = None
    header_row: int = 1  # sheet row of the header (xlsx)


class _Problems:
    """Collects every problem, with row numbers in the user's terms."""

    def __init__(self, items: list[InputProblem] | None = None):
        self.items: list[InputProblem] = list(items or [])

    def whole(self, label: str, message: str, fix: str, column: str | None = None,
              line: int | None = None) -> None:
        self.items.append(InputProblem(label, None, column, message, fix, line))

    def rows(self, t: _Table, mask: np.ndarray | pa.Array, column: str | None, message: str,
             fix: str, values: Any = None) -> None:
        """One problem per row where ``mask`` is true; ``{value}`` in ``message`` is that row's value."""
        if isinstance(mask, pa.Array | pa.ChunkedArray):
            mask = _np(mask)
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            return
        shown = idx[:MAX_ROWS_PER_PROBLEM]
        texts = _pick(values, shown) if values is not None else None
        for k, i in enumerate(shown):
            msg = message.format(value=texts[k]) if texts is not None else message
            self.items.append(InputProblem(t.label, int(t.rows[i]), column, msg, fix))
        if len(idx) > len(shown):
            first = message.format(value="...") if values is not None else message
            self.items.append(InputProblem(
                t.label, None, column,
                f"{len(idx) - len(shown)} more rows have the same problem ({first})", fix))


def _pick(values: Any, idx: np.ndarray) -> list[str]:
    """The values at ``idx`` as display strings."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        vals = values.take(pa.array(idx)).to_pylist()
    else:
        vals = np.asarray(values, dtype=object)[idx].tolist()
    out = []
    for v in vals:
        if isinstance(v, float):
            out.append(f"{v:g}")
        else:
            s = str(v)
            if any(ord(c) < 32 or 127 <= ord(c) <= 159 or c in "\u2028\u2029" for c in s):
                s = s.encode("unicode_escape").decode("ascii")  # never a raw CR or ESC in a message
            out.append(s if len(s) <= 60 else s[:57] + "...")
    return out


def _csv_record_lines(path: Path) -> list[int]:
    """Line on which each non-blank CSV record starts (index 0 is the header)."""
    starts: list[int] = []
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.reader(fh)
        prev = 0
        for rec in reader:
            if rec and not (len(rec) == 1 and not rec[0].strip()):
                starts.append(prev + 1)
            prev = reader.line_num
    return starts


def _with_lines(problems: list[InputProblem], tables: dict[str, _Table]) -> list[InputProblem]:
    """Add the CSV line or sheet row of every problem that names a row."""
    by_label = {t.label: t for t in tables.values()}
    csv_lines: dict[str, list[int]] = {}
    out = []
    for p in problems:
        t = by_label.get(p.file)
        if p.row is None or p.line is not None or t is None:
            out.append(p)
            continue
        line = None
        if t.kind == "xlsx":
            line = t.header_row + p.row
        elif t.kind == "csv" and t.path is not None:
            if t.label not in csv_lines:
                try:
                    csv_lines[t.label] = _csv_record_lines(t.path)
                except (OSError, csv.Error):
                    csv_lines[t.label] = []
            starts = csv_lines[t.label]
            line = starts[p.row] if p.row < len(starts) else None
        out.append(replace(p, line=line))
    return out
