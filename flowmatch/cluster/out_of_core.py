"""``match --scheduler`` on a partitioned inventory without the client holding the resources table.

When the inventory's ``resources.parquet`` is a folder of part files
(``flowmatch synth --partitions K`` writes one), the client reads only the
columns that plan the tiles and check ids across tables (:data:`PLAN_COLUMNS`,
a pyarrow ``columns=`` projection of each part), validates those with the
ordinary checks (:func:`flowmatch.inputs.inventory._validate`: ids, sites,
keys, units and quantities) and plans the tasks
(:mod:`flowmatch.cluster.tiles`). Each task then reads all the columns of its
own rows (its wants and halo haves), given by their row numbers
(:func:`flowmatch.cluster.part_files.read_rows`), in inventory order, and runs
the same validation and normalisation on that slice: the rows are those the whole read gives, so the
candidates are the single-process ones. The rows in no task (haves out of every
halo, wants nothing can serve) are read and checked by tasks of their own, so a
bad cell anywhere is an error, as in a whole read; it is reported with its part
file and its row in that part.

:func:`write_parts_out_of_core` returns ``None`` (and logs why) when the slice
path does not apply: resources not a folder of parts, a ``rules`` table or
``--per-have`` (both need the whole inventory), parts whose columns differ. The
caller then reads the inventory whole (:func:`~flowmatch.inputs.inventory.read_inventory`),
which also reports what is wrong with such files. The ``properties`` table (a
Parquet file or folder of parts) is read the same way: the client reads its
``resource_id`` column only (:mod:`flowmatch.cluster.property_slices`), each
task its own resources' property rows; given as CSV, the inventory is read whole.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from flowmatch.cluster.part_files import (
    TableParts,
    part_columns,
    read_column,
    read_rows,
    table_parts,
)
from flowmatch.cluster.property_slices import PropertyIndex, property_files, read_property_index
from flowmatch.errors import InventoryError

if TYPE_CHECKING:
    from flowmatch.cluster.candidate_parts import PartsSummary
    from flowmatch.inputs.inventory import Inventory
    from flowmatch.inputs.problems import _Table

__all__ = ["PLAN_COLUMNS", "KEPT_COLUMNS", "WANTS_PER_TASK_OUT_OF_CORE", "lean_plan_columns", "ResourceParts",
           "PlanRead", "Slice", "read_plan_inventory", "read_slice",
           "slice_of", "check_slice", "write_parts_out_of_core"]

log = logging.getLogger(__name__)

#: The resources columns the client reads: ids, sites, roles, types and what the reach and
#: the checks across tables need (the required columns, so the ordinary checks run unchanged).
PLAN_COLUMNS = ("resource_id", "site_id", "role", "category", "type", "quantity", "unit", "max_distance_km")
#: Most wants in one out-of-core task (the in-memory path's default is
#: :data:`flowmatch.cluster.tiles.WANTS_PER_TASK`, 200,000). At 10^7 synthetic resources the
#: 200,000-want tasks held up to 2.8 million halo haves and ran a worker past 2.5 GiB; 50,000
#: gives 81 tasks of at most 2.0 million rows instead of 31 of at most 3.0 million.
WANTS_PER_TASK_OUT_OF_CORE = 50_000
#: The columns of the checked resources the client keeps for planning the tiles.
KEPT_COLUMNS = ("site_id", "role", "category", "type", "max_distance_km")


#: The older name of :class:`~flowmatch.cluster.part_files.TableParts` (resources' part files).
ResourceParts = TableParts


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
    names = part_columns(parts, "resources")
    if isinstance(names, str):
        return names
    raw = {str(n).strip().lower(): n for n in names}
    return parts, [raw[c] for c in PLAN_COLUMNS if c in raw], raw["resource_id"]


@dataclass(frozen=True)
class PlanRead:
    """What the client reads of a partitioned inventory (:func:`read_plan_inventory`)."""

    inventory: Inventory  # resources: the planning columns, checked; no properties
    where: TableParts  # where each resources row lives
    small: dict[str, _Table]  # the other tables as read (for the tasks' checks)
    props: PropertyIndex | None  # properties' rows by resource (None: no properties table)


@dataclass(frozen=True)
class Slice:
    """One task's rows: its resources' global rows (ascending), and its property rows' (``None``: no
    properties table). Row numbers only, 4 bytes a row (int32 below 2^31 rows)."""

    rows: np.ndarray
    prop_rows: np.ndarray | None = None


def read_plan_inventory(path: str | Path) -> PlanRead | None:
    """The inventory with only :data:`PLAN_COLUMNS` of resources and the ``resource_id`` of properties,
    checked; ``None`` when not partitioned (or properties not Parquet)."""
    from flowmatch.inputs.inventory import _validate
    from flowmatch.inputs.problems import _Problems
    from flowmatch.inputs.readers import _read_folder, _read_params

    p = Path(path)
    plan = _slice_plan(p)
    pfiles = property_files(p) if not isinstance(plan, str) else None
    why = plan if isinstance(plan, str) else pfiles if isinstance(pfiles, str) else None
    if why is not None:
        log.info("reading the inventory whole on the client (%s)", why)
        return None
    assert not isinstance(plan, str) and not isinstance(pfiles, str)
    parts, columns, id_column = plan
    problems = _Problems()
    tables = _read_folder(p, problems, skip=("resources", "properties"))
    if "sites" not in tables:
        log.info("reading the inventory whole on the client (the sites table is missing or unreadable)")
        return None
    toml = p / "params.toml"
    params = _read_params(toml if toml.exists() else None, None, problems)
    pieces = [read_column(str(part), columns) for part in parts]
    where = table_parts(str(p / "resources.parquet"), [str(x) for x in parts], pieces, id_column)
    tab = pa.concat_tables(pieces, promote_options="permissive")
    del pieces
    tables["resources"] = _table(tab, "resources", where.folder, problems)
    del tab
    try:
        inv = _validate(tables, params, str(p), problems)
    except InventoryError as exc:
        raise InventoryError(where.locate(exc.problems)) from None
    small = {k: t for k, t in tables.items() if k not in ("resources", "properties")}
    del tables
    props = None
    if pfiles is not None:
        props = read_property_index(pfiles[0], pfiles[1], pfiles[2], inv.resources["resource_id"], where.folder)
    inv = replace(inv, resources=lean_plan_columns(inv.resources))
    _give_back_freed_memory()
    log.info("out of core: read %d resources x %d columns of %d part files on the client%s",
             len(inv.resources), len(columns), len(parts),
             f", and the resource_id of {props.rows} property rows" if props is not None else "")
    # the tables as read are for a what-if's rebuild, which a cluster match never does: not kept
    return PlanRead(replace(inv, tables={}), where, small, props)


def lean_plan_columns(resources: pd.DataFrame) -> pd.DataFrame:
    """Of the checked resources, what the client keeps to plan the tiles (:data:`KEPT_COLUMNS`):
    ids, roles, categories and types as categoricals (an integer code a row), reach as read.

    The values are those of the checked table, so the tiles are those it gives
    (a test compares them); at 2 x 10^6 resources this holds 34 MiB instead of 432 MiB.
    """
    return pd.DataFrame({c: resources[c].astype("category") if c != "max_distance_km" else resources[c]
                         for c in KEPT_COLUMNS}, index=pd.RangeIndex(len(resources)))


def _give_back_freed_memory() -> None:
    """Return the reading's freed buffers to the system (Arrow's pool and glibc's heap keep them)."""
    import ctypes
    import ctypes.util

    pa.default_memory_pool().release_unused()
    libc = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(libc).malloc_trim(0)
    except (OSError, AttributeError, TypeError):  # not glibc: nothing to trim
        pass


def _table(tab: pa.Table, name: str, label: str, problems: Any) -> _Table:
    """An Arrow table as read, as the readers' :class:`~flowmatch.inputs.problems._Table`."""
    from flowmatch.inputs.readers import _frame

    df = pd.DataFrame({j: tab.column(j).to_pandas() for j in range(tab.num_columns)},
                      index=pd.RangeIndex(tab.num_rows))
    return _frame(df, name, label, "parquet", problems, path=Path(label), header=tab.column_names)


def read_slice(where: TableParts, props_where: TableParts | None, part: Slice, small: dict[str, _Table],
               base: Inventory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All columns of a task's resources and of their properties, checked and normalised as the whole
    read does; a bad cell raises :class:`InventoryError` naming its part file and row."""
    from flowmatch.inputs.inventory import _validate
    from flowmatch.inputs.problems import _Problems

    problems = _Problems()
    tables = dict(small)
    t = _table(read_rows(where, part.rows), "resources", where.folder, problems)
    t.rows = np.asarray(part.rows, dtype=np.int64) + 1
    tables["resources"] = t
    if props_where is not None and part.prop_rows is not None:
        pt = _table(read_rows(props_where, part.prop_rows), "properties", props_where.folder, problems)
        pt.rows = np.asarray(part.prop_rows, dtype=np.int64) + 1
        tables["properties"] = pt
    try:
        inv = _validate(tables, base.params, base.source, problems)
    except InventoryError as exc:
        found = where.locate(exc.problems)
        raise InventoryError(props_where.locate(found) if props_where is not None else found) from None
    return inv.resources, inv.properties


def match_files_to_part(base: Inventory, where: TableParts, props_where: TableParts | None, part: Slice,
                        small: dict[str, _Table], top_k: int | None, min_score: float | None,
                        path: str) -> dict[str, Any]:
    """The task: read and check its own rows, match them, write its part of the candidates."""
    from flowmatch.cluster.candidate_parts import match_to_part

    resources, properties = read_slice(where, props_where, part, small, base)
    return match_to_part(base, resources, properties, top_k, min_score, False, path)


def check_slice(base: Inventory, where: TableParts, props_where: TableParts | None, part: Slice,
                small: dict[str, _Table]) -> int:
    """The task for rows in no matching task: read and check them all the same (a bad cell is an error
    wherever it is, as in a whole read); the number of rows checked."""
    return len(read_slice(where, props_where, part, small, base)[0])


def slice_of(plan: PlanRead, rows: np.ndarray) -> Slice:
    """The :class:`Slice` of the resources at ``rows`` (global positions, ascending)."""
    rows = _compact(rows)
    if plan.props is None:
        return Slice(rows)
    return Slice(rows, _compact(plan.props.rows_of(rows)))


def _compact(rows: np.ndarray) -> np.ndarray:
    """Row numbers as int32 where they fit (half the bytes sent with each task)."""
    return rows.astype(np.int32) if len(rows) == 0 or int(rows[-1]) < 2**31 - 1 else rows.astype(np.int64)


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
    from flowmatch.cluster.candidate_parts import _done, candidates_folder, part_name
    from flowmatch.cluster.match_tasks import _same, plan_cluster_tiles
    from flowmatch.cluster.scheduler import run_tasks
    from flowmatch.matching.search import check_match_params

    if per_have:
        log.info("reading the inventory whole on the client (--per-have needs the whole inventory)")
        return None
    plan = read_plan_inventory(path)
    if plan is None:
        return None
    inv, where, small = plan.inventory, plan.where, plan.small
    props_where = plan.props.where if plan.props is not None else None
    check_match_params(inv.params, top_k, min_score)
    out = candidates_folder(folder)
    tiles = plan_cluster_tiles(client, inv, tile_deg, wants_per_task or WANTS_PER_TASK_OUT_OF_CORE)
    if not tiles:  # nothing can pair: one task on no rows writes the empty table
        tiles_rows = [np.zeros(0, dtype=np.int64)]
    else:
        tiles_rows = [_compact(t.rows) for t in tiles]
    del tiles
    base = replace(inv, resources=inv.resources.iloc[:0], properties=inv.properties.iloc[:0], tables={})
    shared = client.submit(_same, base, pure=False)  # a task: recomputed if its worker dies
    # the small tables (sites: 1.25 million rows at 10^7 resources) go to each worker once, not per task
    tables = client.submit(_same, small, pure=False)
    rest = _unmatched(len(inv.resources), tiles_rows, wants_per_task or WANTS_PER_TASK_OUT_OF_CORE)
    # each task's arguments (its ids, rows and property rows) are built as it is submitted, a few
    # tasks ahead of the workers (run_tasks), so the client never holds them all
    if rest:
        checks = ((shared, where, props_where, slice_of(plan, r), tables) for r in rest)
        n = sum(run_tasks(client, check_slice, checks, progress=progress, desc="checking other rows",
                          total=len(rest)))
        log.info("checked the %d resources in no matching task", n)
    args = ((shared, where, props_where, slice_of(plan, rows), tables, top_k, min_score, str(out / part_name(i)))
            for i, rows in enumerate(tiles_rows))
    summaries = run_tasks(client, match_files_to_part, args, progress=progress, desc="matching tiles",
                          total=len(tiles_rows))
    shared.release()
    tables.release()
    return _done(summaries, out)
