"""``match --scheduler`` on a partitioned inventory out of core: the client reads only the planning
columns of resources, each task reads and checks its own rows, and the candidates are the
single-process ones (flowmatch.cluster.out_of_core)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

pytest.importorskip("distributed")

from flowmatch.cli import main  # noqa: E402
from flowmatch.errors import InventoryError  # noqa: E402

TILE_DEG = 2.0
WANTS_PER_TASK = 100


@pytest.fixture(scope="module")
def parted(tmp_path_factory) -> Path:
    """A synthetic country of 2,500 resources, resources and properties in 3 part files each."""
    from flowmatch.inputs.synth import synth

    return synth(2500, seed=3, out=tmp_path_factory.mktemp("ooc") / "inv", partitions=3)


@pytest.fixture(scope="module")
def whole(parted):
    from flowmatch.inputs.inventory import read_inventory

    return read_inventory(parted)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["want_id", "rank", "have_id"]).reset_index(drop=True)


def _broken_copy(src: Path, dst: Path, part: int, row: int, column: str, value,
                 table: str = "resources") -> Path:
    """``src`` copied to ``dst`` with one cell of ``table``'s part ``part`` (0-based ``row``) changed."""
    import shutil

    shutil.copytree(src, dst)
    path = dst / f"{table}.parquet" / f"part-{part:05d}.parquet"
    df = pd.read_parquet(path)
    df.loc[row, column] = value
    df.to_parquet(path, index=False)
    return path


def test_a_slice_is_the_whole_reads_rows(parted, whole):
    """Each tile's rows, read and normalised alone, are the whole read's rows, every column."""
    from dataclasses import replace

    from flowmatch.cluster.out_of_core import read_plan_inventory, read_slice, slice_of
    from flowmatch.cluster.tiles import plan_tiles

    got = read_plan_inventory(parted)
    assert got is not None and got.props is not None
    inv, where, small = got.inventory, got.where, got.small
    assert len(where.parts) == 3 and inv.tables == {} and len(got.props.where.parts) == 3
    assert len(inv.properties) == 0 and got.props.rows == len(whole.properties)
    tiles = plan_tiles(inv, tile_deg=TILE_DEG, wants_per_task=WANTS_PER_TASK)
    assert len(tiles) > 10
    base = replace(inv, tables={})
    whole_prop_ids = whole.properties["resource_id"].astype(str)
    for t in [tiles[0], tiles[len(tiles) // 2], tiles[-1]]:
        rows = t.rows
        got_rows, got_props = read_slice(where, got.props.where, slice_of(got, rows), small, base)
        pd.testing.assert_frame_equal(got_rows, whole.resources.iloc[rows].reset_index(drop=True))
        mine = whole.properties[whole_prop_ids.isin(whole.resources["resource_id"].iloc[rows].astype(str))]
        assert len(mine) > 0
        pd.testing.assert_frame_equal(got_props, mine.reset_index(drop=True))
    # the client keeps the whole read's sites, roles, types and reach, compactly (categoricals) ...
    assert list(inv.resources.columns) == ["site_id", "role", "category", "type", "max_distance_km"]
    for c in inv.resources.columns:
        kept = inv.resources[c]
        if c != "max_distance_km":
            assert isinstance(kept.dtype, pd.CategoricalDtype)
            kept = kept.astype(whole.resources[c].dtype)
        pd.testing.assert_series_equal(kept, whole.resources[c])
    assert inv.resources.memory_usage(deep=True).sum() < whole.resources.memory_usage(deep=True).sum() / 5
    # ... and plans the same tiles from them
    for deg in (TILE_DEG, 8.0):
        lean = plan_tiles(inv, tile_deg=deg, wants_per_task=WANTS_PER_TASK)
        full = plan_tiles(whole, tile_deg=deg, wants_per_task=WANTS_PER_TASK)
        assert [t.rows.tolist() for t in lean] == [t.rows.tolist() for t in full]
        assert [t.want_types for t in lean] == [t.want_types for t in full]


def test_out_of_core_candidates_are_the_single_process_ones(client, parted, whole, tmp_path, monkeypatch):
    """Same candidates as one process; the client never reads every column of resources."""
    import flowmatch.inputs.inventory as inventory
    from flowmatch.cluster.out_of_core import PLAN_COLUMNS, write_parts_out_of_core
    from flowmatch.matching.candidates import match, read_candidates

    reads: list[tuple[str, object]] = []
    real_read_table, real_file_read, real_dataset = pq.read_table, pq.ParquetFile.read, ds.dataset

    def read_table(source, *a, columns=None, **kw):
        reads.append((str(source), columns))
        return real_read_table(source, *a, columns=columns, **kw)

    def file_read(self, columns=None, *a, **kw):
        reads.append((str(getattr(self, "_source", "?")), columns))
        return real_file_read(self, columns, *a, **kw)

    def dataset(source, *a, **kw):
        reads.append((str(source), "dataset"))
        return real_dataset(source, *a, **kw)

    def no_whole_read(*a, **kw):
        raise AssertionError("the client read the inventory whole")

    monkeypatch.setattr(pq, "read_table", read_table)
    monkeypatch.setattr(pq.ParquetFile, "read", file_read)
    monkeypatch.setattr(ds, "dataset", dataset)
    monkeypatch.setattr(inventory, "read_inventory", no_whole_read)
    parts = write_parts_out_of_core(client, parted, tmp_path / "candidates.parquet", tile_deg=TILE_DEG,
                                    wants_per_task=WANTS_PER_TASK)
    monkeypatch.undo()
    assert parts is not None and parts.parts > 10
    full = set(pq.read_schema(parted / "resources.parquet" / "part-00000.parquet").names)
    on_resources = [(s, c) for s, c in reads if "resources.parquet" in s]
    assert len(on_resources) == 3  # each part once, projected
    for _source, columns in on_resources:
        assert columns is not None and columns != "dataset" and set(columns) < full
        assert set(columns) == set(PLAN_COLUMNS) & full
        assert {"months", "cost", "co2", "route"}.isdisjoint(columns)
    on_properties = [(s, c) for s, c in reads if "properties.parquet" in s]
    assert len(on_properties) == 3  # each part once, its resource_id only
    assert all(columns == ["resource_id"] for _source, columns in on_properties)
    assert not any(c == "dataset" for _s, c in reads)  # no scan of a whole table on the client
    single = match(whole)
    out = read_candidates(tmp_path / "candidates.parquet")
    assert len(single) > 1000 and parts.rows == len(single)
    pd.testing.assert_frame_equal(_sorted(out), _sorted(single))
    assert np.array_equal(_sorted(out)["score"], _sorted(single)["score"])


def test_a_bad_cell_a_task_reads_names_its_part_and_row(client, parted, tmp_path):
    """A column only the tasks read (months): the error names the part file and the row in it."""
    from flowmatch.cluster.out_of_core import write_parts_out_of_core

    part = _broken_copy(parted, tmp_path / "inv", 1, 6, "months", "13-15")
    with pytest.raises(InventoryError) as err:
        write_parts_out_of_core(client, tmp_path / "inv", tmp_path / "c", tile_deg=TILE_DEG,
                                wants_per_task=WANTS_PER_TASK)
    bad = [p for p in err.value.problems if p.column == "months"]
    assert [(p.file, p.row) for p in bad] == [(str(part), 7)]


def test_a_bad_cell_the_client_reads_names_its_part_and_row(parted, tmp_path, capsys):
    """A planning column (quantity) is checked on the client, before any task; the CLI exits 2."""
    from flowmatch.cluster.out_of_core import read_plan_inventory
    from flowmatch.inputs.inventory import read_inventory

    part = _broken_copy(parted, tmp_path / "inv", 2, 0, "quantity", -5.0)
    with pytest.raises(InventoryError) as err:
        read_plan_inventory(tmp_path / "inv")
    bad = [p for p in err.value.problems if p.column == "quantity"]
    assert [(p.file, p.row) for p in bad] == [(str(part), 1)]
    with pytest.raises(InventoryError) as whole_err:  # the same problem as the whole read finds
        read_inventory(tmp_path / "inv")
    assert [p.message for p in whole_err.value.problems if p.column == "quantity"] == [bad[0].message]
    assert main(["match", str(tmp_path / "inv"), "-o", str(tmp_path / "c"), "-q", "--scheduler",
                 "local:1", "--memory-limit", "1GiB"]) == 2
    captured = capsys.readouterr().err
    assert "part-00002.parquet, row 1, column 'quantity'" in captured and "Traceback" not in captured
    assert not (tmp_path / "c").exists()


def test_rules_or_a_single_file_fall_back_to_the_whole_read(parted, tmp_path, caplog):
    import logging
    import shutil

    from flowmatch.cluster.out_of_core import read_plan_inventory

    shutil.copytree(parted, tmp_path / "inv")
    (tmp_path / "inv" / "Rules.CSV").write_text("rule_id,action,have,want\nr1,forbid,*,*\n")
    with caplog.at_level(logging.INFO, logger="flowmatch.cluster.out_of_core"):
        assert read_plan_inventory(tmp_path / "inv") is None
        assert read_plan_inventory(tmp_path / "nowhere") is None
    assert "rules table needs the whole inventory" in caplog.text
    assert "not a folder of Parquet part files" in caplog.text


def test_a_bad_cell_in_a_row_of_no_task_is_still_found(client, parted, tmp_path):
    """A row no matching task holds (a have out of every halo, a want nothing serves) is checked too."""
    from flowmatch.cluster.out_of_core import read_plan_inventory, write_parts_out_of_core
    from flowmatch.cluster.tiles import plan_tiles

    got = read_plan_inventory(parted)
    assert got is not None
    inv, where = got.inventory, got.where
    seen = np.zeros(len(inv.resources), dtype=bool)
    for t in plan_tiles(inv, tile_deg=TILE_DEG, wants_per_task=WANTS_PER_TASK):
        seen[t.rows] = True
    lone = int(np.flatnonzero(~seen)[-1])
    k = int(np.searchsorted(where.starts, lone, side="right")) - 1
    part = _broken_copy(parted, tmp_path / "inv", k, lone - int(where.starts[k]), "months", "13-15")
    with pytest.raises(InventoryError) as err:
        write_parts_out_of_core(client, tmp_path / "inv", tmp_path / "c", tile_deg=TILE_DEG,
                                wants_per_task=WANTS_PER_TASK)
    bad = [p for p in err.value.problems if p.column == "months"]
    assert [(p.file, p.row) for p in bad] == [(str(part), lone - int(where.starts[k]) + 1)]


def test_a_property_of_an_unknown_resource_names_its_part_and_row(parted, tmp_path):
    """The client checks properties' resource_id (all it reads of properties) as the whole read does."""
    from flowmatch.cluster.out_of_core import read_plan_inventory
    from flowmatch.inputs.inventory import read_inventory

    part = _broken_copy(parted, tmp_path / "inv", 1, 4, "resource_id", "R-NOWHERE", table="properties")
    with pytest.raises(InventoryError) as err:
        read_plan_inventory(tmp_path / "inv")
    bad = [p for p in err.value.problems if p.column == "resource_id"]
    assert [(p.file, p.row) for p in bad] == [(str(part), 5)]
    with pytest.raises(InventoryError) as whole_err:
        read_inventory(tmp_path / "inv")
    assert [p.message for p in whole_err.value.problems if p.column == "resource_id"] == [bad[0].message]
    assert "R-NOWHERE" in bad[0].message


def test_a_bad_property_a_task_reads_names_its_part_and_row(client, parted, tmp_path):
    """A property row's other columns are checked by the task holding its resource (min above max)."""
    from flowmatch.cluster.out_of_core import write_parts_out_of_core

    df = pd.read_parquet(parted / "properties.parquet" / "part-00002.parquet")
    row = int(np.flatnonzero(df["max"].notna().to_numpy())[3])
    part = _broken_copy(parted, tmp_path / "inv", 2, row, "min", float(df["max"].iloc[row]) + 1.0,
                        table="properties")
    with pytest.raises(InventoryError) as err:
        write_parts_out_of_core(client, tmp_path / "inv", tmp_path / "c", tile_deg=TILE_DEG,
                                wants_per_task=WANTS_PER_TASK)
    bad = [p for p in err.value.problems if p.column == "min"]
    assert [(p.file, p.row) for p in bad] == [(str(part), row + 1)]
    assert "greater than max" in bad[0].message
