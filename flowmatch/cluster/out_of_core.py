"""``match --scheduler`` on a partitioned inventory without the client holding the resources table.

When the inventory's ``resources.parquet`` is a folder of part files
(``flowmatch synth --partitions K`` writes one), the client reads only the
columns that plan the tiles and check ids across tables (:data:`PLAN_COLUMNS`,
a pyarrow ``columns=`` projection of each part), validates those with the
ordinary checks (:func:`flowmatch.inputs.inventory._validate`: ids, sites,
keys, units and quantities) and plans the tasks
(:mod:`flowmatch.cluster.tiles`). Each task then reads all the columns of its
own rows (its wants and halo haves) with a pyarrow dataset filter on
``resource_id``, in inventory order, and runs the same validation and
normalisation on that slice: the rows are those the whole read gives, so the
candidates are the single-process ones. The rows in no task (haves out of every
halo, wants nothing can serve) are read and checked by tasks of their own, so a
bad cell anywhere is an error, as in a whole read; it is reported with its part
file and its row in that part.

:func:`write_parts_out_of_core` returns ``None`` (and logs why) when the slice
path does not apply: resources not a folder of parts, a ``rules`` table or
``--per-have`` (both need the whole inventory), parts whose columns differ. The
caller then reads the inventory whole (:func:`~flowmatch.inputs.inventory.read_inventory`),
which also reports what is wrong with such files. The ``properties`` table is
still read whole on the client (it is sliced to each task as before).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from flowmatch.errors import InputProblem, InventoryError

if TYPE_CHECKING:
    from flowmatch.cluster.candidate_parts import PartsSummary
    from flowmatch.inputs.inventory import Inventory
    from flowmatch.inputs.problems import _Table

__all__ = ["PLAN_COLUMNS", "ResourceParts", "read_plan_inventory", "read_resource_slice", "check_slice",
           "write_parts_out_of_core"]

log = logging.getLogger(__name__)

#: The resources columns the client reads: ids, sites, roles, types and what the reach and
#: the checks across tables need (the required columns, so the ordinary checks run unchanged).
PLAN_COLUMNS = ("resource_id", "site_id", "role", "category", "type", "quantity", "unit", "max_distance_km")


@dataclass(frozen=True)
class ResourceParts:
    """Where each resources row lives: the part files, their row counts, and the raw column names."""

    folder: str
    parts: tuple[str, ...]
    starts: np.ndarray  # global position of each part's first row (len(parts) + 1 entries)
    id_column: str  # resource_id as written in the files

    def locate(self, problems: list[InputProblem]) -> list[InputProblem]:
        """Problems of the whole table (global rows) as problems of a part file and its row."""
        out = []
        for p in problems:
            if p.file == self.folder and p.row is not None:
                k = int(np.searchsorted(self.starts, p.row - 1, side="right")) - 1
                p = replace(p, file=self.parts[k], row=int(p.row - self.starts[k]))
            out.append(p)
        return out


def _read_columns(part: str, columns: list[str] | None) -> pa.Table:
    """One part file's ``columns`` (the client's only read of resources)."""
    return pq.read_table(part, columns=columns)


def _slice_plan(path: Path) -> tuple[list[Path], list[str], str] | str:
    """The part files, the raw columns to read and the raw id column; or why the slice path does not apply."""
    folder = path / "resources.parquet"
    if not path.is_dir() or not folder.is_dir():
        return "resources is not a folder of Parquet part files"
    stems = [e.stem.strip().lower() for e in path.iterdir() if e.suffix.lower() in (".csv", ".parquet")]
    if "rules" in stems:
        return "the rules table needs the whole inventory"
    if stems.count("resources") > 1:
        return "resources is given twice"
    parts = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".parquet" and not p.name.startswith("."))
    try:
        names = [pq.read_schema(p).names for p in parts]
    except Exception:  # noqa: BLE001 - the whole read reports an unreadable part
        return "a part file cannot be read"
    if not parts or any(n != names[0] for n in names):
        return "the part files differ in columns"
    norm = [str(n).strip().lower() for n in names[0]]
    if len(set(norm)) != len(norm) or "resource_id" not in norm:
        return "the resources columns repeat or lack resource_id"
    raw = {nm: r for nm, r in zip(norm, names[0], strict=True)}
    return parts, [raw[c] for c in PLAN_COLUMNS if c in raw], raw["resource_id"]


def read_plan_inventory(path: str | Path) -> tuple[Inventory, ResourceParts, dict[str, _Table], pa.Array] | None:
    """The inventory with only :data:`PLAN_COLUMNS` of resources, checked; ``None`` when not partitioned.

    Returns the inventory, where its resources rows live, the other tables as
    read (for the tasks' checks) and the raw ``resource_id`` of every row.
    """
    from flowmatch.inputs.inventory import _validate
    from flowmatch.inputs.problems import _Problems
    from flowmatch.inputs.readers import _frame, _read_folder, _read_params

    p = Path(path)
    plan = _slice_plan(p)
    if isinstance(plan, str):
        log.info("reading the inventory whole on the client (%s)", plan)
        return None
    parts, columns, id_column = plan
    problems = _Problems()
    tables = _read_folder(p, problems, skip=("resources",))
    if "sites" not in tables:
        log.info("reading the inventory whole on the client (the sites table is missing or unreadable)")
        return None
    toml = p / "params.toml"
    params = _read_params(toml if toml.exists() else None, None, problems)
    pieces = [_read_columns(str(part), columns) for part in parts]
    starts = np.concatenate([[0], np.cumsum([t.num_rows for t in pieces])]).astype(np.int64)
    tab = pa.concat_tables(pieces, promote_options="permissive")
    del pieces
    where = ResourceParts(str(p / "resources.parquet"), tuple(str(x) for x in parts), starts, id_column)
    df = pd.DataFrame({j: tab.column(j).to_pandas() for j in range(tab.num_columns)},
                      index=pd.RangeIndex(tab.num_rows))
    tables["resources"] = _frame(df, "resources", where.folder, "parquet", problems,
                                 path=Path(where.folder), header=tab.column_names)
    try:
        inv = _validate(tables, params, str(p), problems)
    except InventoryError as exc:
        raise InventoryError(where.locate(exc.problems)) from None
    small = {k: t for k, t in tables.items() if k not in ("resources", "properties")}
    log.info("out of core: read %d resources x %d columns of %d part files on the client",
             tab.num_rows, len(columns), len(parts))
    # the tables as read are for a what-if's rebuild, which a cluster match never does: not kept
    return replace(inv, tables={}), where, small, tab.column(id_column).combine_chunks()


def read_resource_slice(where: ResourceParts, ids: pa.Array, rows: np.ndarray, small: dict[str, _Table],
                        base: Inventory) -> pd.DataFrame:
    """All columns of the resources ``ids`` (global positions ``rows``, ascending), checked and normalised
    as the whole read does; a bad cell raises :class:`InventoryError` naming its part file and row."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from flowmatch.inputs.inventory import _validate
    from flowmatch.inputs.problems import _Problems
    from flowmatch.inputs.readers import _frame

    tab = ds.dataset(list(where.parts), format="parquet").to_table(filter=pc.field(where.id_column).isin(ids))
    tab = tab.take(pc.index_in(ids, tab.column(where.id_column)))  # inventory order (ids are unique)
    problems = _Problems()
    df = pd.DataFrame({j: tab.column(j).to_pandas() for j in range(tab.num_columns)},
                      index=pd.RangeIndex(tab.num_rows))
    t = _frame(df, "resources", where.folder, "parquet", problems, path=Path(where.folder),
               header=tab.column_names)
    t.rows = np.asarray(rows, dtype=np.int64) + 1
    try:
        inv = _validate({**small, "resources": t}, base.params, base.source, problems)
    except InventoryError as exc:
        raise InventoryError(where.locate(exc.problems)) from None
    return inv.resources


def match_files_to_part(base: Inventory, where: ResourceParts, ids: pa.Array, rows: np.ndarray,
                        small: dict[str, _Table], properties: pd.DataFrame, top_k: int | None,
                        min_score: float | None, path: str) -> dict[str, Any]:
    """The task: read and check its own rows, match them, write its part of the candidates."""
    from flowmatch.cluster.candidate_parts import match_to_part

    resources = read_resource_slice(where, ids, rows, small, base)
    return match_to_part(base, resources, properties, top_k, min_score, False, path)


def check_slice(base: Inventory, where: ResourceParts, ids: pa.Array, rows: np.ndarray,
                small: dict[str, _Table]) -> int:
    """The task for rows in no matching task: read and check them all the same (a bad cell is an error
    wherever it is, as in a whole read); the number of rows checked."""
    return len(read_resource_slice(where, ids, rows, small, base))


def _unmatched(n: int, tiles_rows: list[np.ndarray], most: int) -> list[np.ndarray]:
    """The rows of no task, in runs of at most ``most``."""
    seen = np.zeros(n, dtype=bool)
    for rows in tiles_rows:
        seen[rows] = True
    rest = np.flatnonzero(~seen)
    return [rest[i:i + most] for i in range(0, len(rest), most)]


def write_parts_out_of_core(client: Any, path: str | Path, folder: str | Path, top_k: int | None = None,
                            min_score: float | None = None, per_have: bool = False, progress: bool = False,
                            tile_deg: float | None = None,
                            wants_per_task: int | None = None) -> PartsSummary | None:
    """:func:`~flowmatch.cluster.candidate_parts.write_parts_on_cluster` for the inventory at ``path``,
    the client holding only :data:`PLAN_COLUMNS` of resources; ``None`` when that does not apply."""
    from flowmatch.cluster.candidate_parts import _done, part_name
    from flowmatch.cluster.match_tasks import _same, plan_cluster_tiles
    from flowmatch.cluster.scheduler import run_tasks
    from flowmatch.cluster.tiles import WANTS_PER_TASK
    from flowmatch.errors import FlowmatchError
    from flowmatch.matching.search import check_match_params

    if per_have:
        log.info("reading the inventory whole on the client (--per-have needs the whole inventory)")
        return None
    got = read_plan_inventory(path)
    if got is None:
        return None
    inv, where, small, ids = got
    check_match_params(inv.params, top_k, min_score)
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FlowmatchError(f"{out}: cannot create the candidates folder ({exc.strerror}); "
                             "write to a folder you can write to (`-o`).") from None
    tiles = plan_cluster_tiles(client, inv, tile_deg, wants_per_task or WANTS_PER_TASK)
    if not tiles:  # nothing can pair: one task on no rows writes the empty table
        tiles_rows = [np.zeros(0, dtype=np.int64)]
    else:
        tiles_rows = [t.rows for t in tiles]
    base = replace(inv, resources=inv.resources.iloc[:0], properties=inv.properties.iloc[:0], tables={})
    shared = client.submit(_same, base, pure=False)  # a task: recomputed if its worker dies
    props = inv.properties
    prop_ids = props["resource_id"].astype(str)
    res_ids = inv.resources["resource_id"].astype(str)
    args = []
    for i, rows in enumerate(tiles_rows):
        mine = props[prop_ids.isin(res_ids.iloc[rows])]
        args.append((shared, where, ids.take(pa.array(rows, type=pa.int64())), rows, small, mine, top_k,
                     min_score, str(out / part_name(i))))
    rest = _unmatched(len(inv.resources), tiles_rows, wants_per_task or WANTS_PER_TASK)
    if rest:
        checks = [(shared, where, ids.take(pa.array(r, type=pa.int64())), r, small) for r in rest]
        n = sum(run_tasks(client, check_slice, checks, progress=progress, desc="checking other rows"))
        log.info("checked the %d resources in no matching task", n)
    summaries = run_tasks(client, match_files_to_part, args, progress=progress, desc="matching tiles")
    shared.release()
    return _done(summaries, out)
