"""The ``properties`` table out of core: the client reads its ``resource_id`` column, each task its own rows.

In an out-of-core ``match --scheduler`` (:mod:`flowmatch.cluster.out_of_core`)
the client reads only the ``resource_id`` column of ``properties`` (a pyarrow
``columns=`` projection of the file or of each part file), checks it as the
whole read does (an empty id, or a resource not in the resources table, is an
error naming the part file, its row and the column) and learns which rows
belong to which resource (:class:`PropertyIndex`). A task then reads all the
columns of its resources' property rows (:func:`flowmatch.cluster.part_files.read_rows`)
and validates them with its resources, in the table's order: the whole read's
rows, so the candidates are the single-process ones. The checks the whole read
makes on properties are per row or per resource (values, min above max, a
property given twice), so a task's slice finds the same problems.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from flowmatch.cluster.part_files import TableParts, part_columns, read_column, table_parts
from flowmatch.errors import InventoryError

__all__ = ["PropertyIndex", "property_files", "read_property_index"]


@dataclass(frozen=True)
class PropertyIndex:
    """Which property rows belong to which resource."""

    where: TableParts
    rows: int  # property rows in all
    order: np.ndarray  # property rows sorted by their resource's position (stable)
    sorted_pos: np.ndarray  # the resource position of each row of ``order``

    def rows_of(self, resource_rows: np.ndarray) -> np.ndarray:
        """The global property rows (ascending) of the resources at ``resource_rows``."""
        r = np.asarray(resource_rows, dtype=self.sorted_pos.dtype)
        lo = np.searchsorted(self.sorted_pos, r, side="left")
        hi = np.searchsorted(self.sorted_pos, r, side="right")
        n = hi - lo
        if n.sum() == 0:
            return np.zeros(0, dtype=self.order.dtype)
        starts = np.repeat(lo - np.concatenate([[0], np.cumsum(n)[:-1]]), n)
        return np.sort(self.order[starts + np.arange(int(n.sum()))])


def property_files(path: Path) -> tuple[str, list[str], str] | str | None:
    """The properties table's label, its Parquet files and raw id column; ``None`` when there is no
    properties table; or why the out-of-core read does not apply to it."""
    found = [e for e in path.iterdir() if e.stem.strip().lower() == "properties"
             and e.suffix.lower() in (".csv", ".parquet")]
    if not found:
        return None
    if len(found) > 1:
        return "properties is given twice"
    p = found[0]
    if p.suffix.lower() != ".parquet":
        return "properties is not Parquet"
    if p.is_dir():
        parts = sorted(x for x in p.iterdir() if x.suffix.lower() == ".parquet" and not x.name.startswith("."))
    else:
        parts = [p]
    names = part_columns(parts, "properties")
    if isinstance(names, str):
        return names
    norm = [str(n).strip().lower() for n in names]
    return str(p), [str(x) for x in parts], names[norm.index("resource_id")]


def read_property_index(label: str, parts: list[str], id_column: str, resource_ids: pd.Series,
                        resources_label: str) -> PropertyIndex:
    """Read ``properties``' ``resource_id`` column, check it against the (checked) ``resource_ids``
    as the whole read does, and index the rows by resource; :class:`InventoryError` names part and row."""
    from flowmatch.inputs.cells import _in
    from flowmatch.inputs.columns import _check_columns
    from flowmatch.inputs.problems import _Problems
    from flowmatch.inputs.readers import _frame
    from flowmatch.inputs.schema import TABLES

    pieces = [read_column(part, [id_column]) for part in parts]
    where = table_parts(label, parts, pieces, id_column)
    raw = pa.concat_tables(pieces, promote_options="permissive").column(0).combine_chunks()
    del pieces
    problems = _Problems()
    t = _frame(pd.DataFrame({0: raw.to_pandas()}), "properties", label, "parquet", problems, path=Path(label),
               header=[id_column])
    spec = TABLES["properties"]
    only_id = replace(spec, columns=tuple(c for c in spec.columns if c.name == "resource_id"), key=())
    ids = _check_columns(t, only_id, problems)["resource_id"]
    known = pa.array(resource_ids.astype(str).to_numpy(), type=pa.string())
    empty = np.asarray(pc.equal(ids, "").to_numpy(zero_copy_only=False))
    problems.rows(t, ~empty & ~_in(ids, known), "resource_id", "resource '{value}' is not in the resources table.",
                  f"Correct the id or add the resource to {resources_label}.", ids)
    if problems.items:
        raise InventoryError(where.locate(problems.items))
    pos = pc.fill_null(pc.index_in(ids, value_set=known), -1).to_numpy(zero_copy_only=False)
    pos = np.asarray(pos, dtype=np.int32 if len(known) < 2**31 - 1 else np.int64)
    order = np.argsort(pos, kind="stable").astype(np.int32 if len(pos) < 2**31 - 1 else np.int64)
    return PropertyIndex(where, len(pos), order, pos[order])
