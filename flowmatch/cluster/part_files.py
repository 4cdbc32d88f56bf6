"""Where each row of a partitioned Parquet table lives, and reading some of its rows by id.

An out-of-core ``match --scheduler`` (:mod:`flowmatch.cluster.out_of_core`)
numbers a table's rows through its part files in name order, as the whole read
does (:func:`flowmatch.inputs.readers._read_parquet_parts`). :class:`TableParts`
turns a problem found at such a global row into one naming the part file and
its row there; :func:`read_rows` is a task's read of its own rows by global
position: each part holding some of them, in name order, and those rows taken,
so the rows come back in the table's order. A task's arguments are then its
row numbers only (4 bytes a row), not its ids.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from flowmatch.errors import FlowmatchError, InputProblem

__all__ = ["TableParts", "table_parts", "read_rows", "read_column", "part_columns"]


@dataclass(frozen=True)
class TableParts:
    """Where each row of a table lives: the part files, their row counts, and the raw id column's name."""

    folder: str  # the table's label in messages (the folder, or the single file)
    parts: tuple[str, ...]
    starts: np.ndarray  # global position of each part's first row (len(parts) + 1 entries)
    id_column: str  # the id column as written in the files

    def locate(self, problems: list[InputProblem]) -> list[InputProblem]:
        """Problems of the whole table (global rows) as problems of a part file and its row."""
        out = []
        for p in problems:
            if p.file == self.folder and p.row is not None:
                k = int(np.searchsorted(self.starts, p.row - 1, side="right")) - 1
                p = replace(p, file=self.parts[k], row=int(p.row - self.starts[k]))
            out.append(p)
        return out


def part_columns(parts: list, table: str) -> list[str] | str:
    """The columns (as written) every one of ``parts`` has, with a ``resource_id`` among them;
    or why the parts cannot be read in slices (the whole read then says what is wrong)."""
    try:
        names = [pq.read_schema(x).names for x in parts]
    except Exception:  # noqa: BLE001 - the whole read reports an unreadable part
        return f"a {table} part file cannot be read"
    if not parts or any(n != names[0] for n in names):
        return f"the {table} part files differ in columns"
    norm = [str(n).strip().lower() for n in names[0]]
    if len(set(norm)) != len(norm) or "resource_id" not in norm:
        return f"the {table} columns repeat or lack resource_id"
    return list(names[0])


def read_column(part: str, columns: list[str] | None) -> pa.Table:
    """One part file's ``columns`` (the client's only read of a partitioned table)."""
    return pq.read_table(part, columns=columns)


def table_parts(folder: str, parts: list[str], pieces: list[pa.Table], id_column: str) -> TableParts:
    """The :class:`TableParts` of ``parts``, given what the client read of each (``pieces``)."""
    starts = np.concatenate([[0], np.cumsum([t.num_rows for t in pieces])]).astype(np.int64)
    return TableParts(folder, tuple(parts), starts, id_column)


def read_rows(where: TableParts, rows: np.ndarray) -> pa.Table:
    """All columns of the rows at global positions ``rows`` (ascending), in the table's order: each
    part holding some of them read and those rows taken. Only those parts are read."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return pq.read_schema(where.parts[0]).empty_table()
    bounds = np.searchsorted(rows, where.starts)  # rows[bounds[k]:bounds[k + 1]] lie in part k
    pieces = []
    for k in range(len(where.parts)):
        a, b = int(bounds[k]), int(bounds[k + 1])
        if a == b:
            continue
        tab = pq.read_table(where.parts[k])
        if tab.num_rows != int(where.starts[k + 1] - where.starts[k]):
            raise FlowmatchError(f"{where.parts[k]}: {tab.num_rows} rows where the plan read "
                                 f"{int(where.starts[k + 1] - where.starts[k])}; the files changed while "
                                 "matching. Run the command again.")
        pieces.append(tab.take(pa.array(rows[a:b] - where.starts[k])))
        del tab
    return pa.concat_tables(pieces, promote_options="permissive")
