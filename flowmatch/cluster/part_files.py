"""Where each row of a partitioned Parquet table lives, and reading some of its rows by id.

An out-of-core ``match --scheduler`` (:mod:`flowmatch.cluster.out_of_core`)
numbers a table's rows through its part files in name order, as the whole read
does (:func:`flowmatch.inputs.readers._read_parquet_parts`). :class:`TableParts`
turns a problem found at such a global row into one naming the part file and
its row there; :func:`read_rows_by_id` is a task's read of its own rows: a
pyarrow filter on the id column, part by part in name order, so the rows come
back in the table's order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from flowmatch.errors import FlowmatchError, InputProblem

__all__ = ["TableParts", "table_parts", "read_rows_by_id", "read_column"]


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


def read_column(part: str, columns: list[str] | None) -> pa.Table:
    """One part file's ``columns`` (the client's only read of a partitioned table)."""
    return pq.read_table(part, columns=columns)


def table_parts(folder: str, parts: list[str], pieces: list[pa.Table], id_column: str) -> TableParts:
    """The :class:`TableParts` of ``parts``, given what the client read of each (``pieces``)."""
    starts = np.concatenate([[0], np.cumsum([t.num_rows for t in pieces])]).astype(np.int64)
    return TableParts(folder, tuple(parts), starts, id_column)


def read_rows_by_id(where: TableParts, ids: pa.Array, rows: np.ndarray) -> pa.Table:
    """All columns of the rows whose raw id is one of ``ids``: the rows at global positions ``rows``
    (ascending), in the table's order. Only the parts holding some of ``rows`` are read."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    rows = np.asarray(rows, dtype=np.int64)
    k = np.unique(np.searchsorted(where.starts, rows, side="right") - 1)
    schema = pq.read_schema(where.parts[0])
    if len(k) == 0:
        return schema.empty_table()
    wanted = pc.field(where.id_column).isin(ids)
    pieces = [ds.dataset(where.parts[i], format="parquet").to_table(filter=wanted) for i in k]
    tab = pa.concat_tables(pieces, promote_options="permissive")
    if tab.num_rows != len(rows):
        raise FlowmatchError(f"{where.folder}: {tab.num_rows} rows read where the plan found {len(rows)}; "
                             "the files changed while matching. Run the command again.")
    return tab
