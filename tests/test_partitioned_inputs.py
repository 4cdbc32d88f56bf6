"""A partitioned inventory (``resources.parquet/`` a folder of part files) reads like one file;
``synth --partitions K`` writes one."""

from __future__ import annotations

import pandas as pd
import pytest

from flowmatch.cli import main
from flowmatch.errors import InventoryError, ParamsError
from flowmatch.inputs.inventory import read_inventory
from flowmatch.inputs.synth import synth


@pytest.fixture(scope="module")
def one_and_parts(tmp_path_factory):
    root = tmp_path_factory.mktemp("parts")
    assert main(["synth", "--resources", "600", "--seed", "2", "-o", str(root / "one")]) == 0
    assert main(["synth", "--resources", "600", "--seed", "2", "--partitions", "4", "-o", str(root / "parts")]) == 0
    return root / "one", root / "parts"


def test_synth_writes_part_files(one_and_parts):
    _, parts = one_and_parts
    for name in ("resources", "properties"):
        files = sorted((parts / f"{name}.parquet").iterdir())
        assert [f.name for f in files] == [f"part-{i:05d}.parquet" for i in range(4)]
        assert all(len(pd.read_parquet(f)) > 0 for f in files)
    assert (parts / "sites.parquet").is_file()
    assert not [p for p in parts.iterdir() if p.name.startswith(".")]  # no staging left


def test_a_partitioned_inventory_reads_as_one_file(one_and_parts):
    one, parts = one_and_parts
    a, b = read_inventory(one), read_inventory(parts)
    pd.testing.assert_frame_equal(a.resources, b.resources)
    pd.testing.assert_frame_equal(a.properties, b.properties)
    assert len(a.resources) == 600


def test_part_files_with_other_columns_are_named(one_and_parts, tmp_path):
    import shutil

    _, parts = one_and_parts
    bad = tmp_path / "bad"
    shutil.copytree(parts, bad)
    f = bad / "resources.parquet" / "part-00002.parquet"
    pd.read_parquet(f).drop(columns="unit").to_parquet(f, index=False)
    with pytest.raises(InventoryError, match="part-00002.parquet: has columns .* not those of part-00000.parquet"):
        read_inventory(bad)
    for p in (bad / "resources.parquet").iterdir():
        p.unlink()
    with pytest.raises(InventoryError, match="resources.parquet: is a folder with no .parquet part files"):
        read_inventory(bad)


def test_partitions_need_parquet(tmp_path):
    with pytest.raises(ParamsError, match="--partitions 3"):
        synth(100, out=tmp_path / "x", fmt="csv", partitions=3)
