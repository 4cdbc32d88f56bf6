"""``flowmatch synth --partitions K`` above ``WHOLE_MAX`` resources generates and writes one part at
a time; up to it, the part files hold exactly the rows of one table (flowmatch.inputs.synth)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import flowmatch.inputs.synth as synth_mod
from flowmatch.inputs.synth import synth, synth_tables


def _parts(folder, name):
    return [pd.read_parquet(p) for p in sorted((folder / f"{name}.parquet").iterdir())]


def test_small_partitioned_output_is_the_whole_tables_rows(tmp_path):
    out = synth(3000, seed=4, out=tmp_path / "inv", partitions=3)
    whole = synth_tables(3000, seed=4)
    for name in ("resources", "properties"):
        parts = _parts(out, name)
        assert len(parts) == 3
        pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole[name])
    pd.testing.assert_frame_equal(pd.read_parquet(out / "sites.parquet"), whole["sites"])


@pytest.fixture
def by_part(tmp_path, monkeypatch):
    """A 3,000-resource inventory written part by part (WHOLE_MAX lowered to 1,000), and the sizes
    of the blocks generated."""
    sizes: list[int] = []
    real_block = synth_mod._block

    def block(rng, world, res_site, first):
        sizes.append(len(res_site))
        return real_block(rng, world, res_site, first)

    def no_whole(*a, **kw):
        raise AssertionError("the whole table was generated")

    monkeypatch.setattr(synth_mod, "WHOLE_MAX", 1000)
    monkeypatch.setattr(synth_mod, "_block", block)
    monkeypatch.setattr(synth_mod, "synth_tables", no_whole)
    out = synth(3000, seed=4, out=tmp_path / "inv", partitions=4)
    return out, sizes


def test_parts_are_generated_one_at_a_time(by_part):
    out, sizes = by_part
    assert len(sizes) == 4 and sum(sizes) == 3000 and max(sizes) < 1000  # never the whole table
    res = _parts(out, "resources")
    assert [len(p) for p in res] == sizes


def test_part_by_part_keeps_the_sites_and_each_sites_count(by_part):
    """Sites and resources per site are those of one table; ids run on through the parts."""
    out, _ = by_part
    whole = synth_tables(3000, seed=4)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "sites.parquet"), whole["sites"])
    res = pd.concat(_parts(out, "resources"), ignore_index=True)
    assert res["resource_id"].tolist() == whole["resources"]["resource_id"].tolist()
    assert res["site_id"].tolist() == whole["resources"]["site_id"].tolist()
    seen: set[str] = set()
    for part in _parts(out, "resources"):  # each site in one part
        here = set(part["site_id"])
        assert not here & seen
        seen |= here
    props = pd.concat(_parts(out, "properties"), ignore_index=True)
    assert set(props["resource_id"]) <= set(res["resource_id"]) and len(props) > 1000


def test_part_by_part_is_deterministic_and_an_inventory(by_part, tmp_path):
    from flowmatch.inputs.inventory import read_inventory
    from flowmatch.matching.candidates import match

    out, _ = by_part
    again = synth(3000, seed=4, out=tmp_path / "again", partitions=4)
    other = synth(3000, seed=5, out=tmp_path / "other", partitions=4)
    for name in ("resources", "properties"):
        for a, b in zip(_parts(out, name), _parts(again, name), strict=True):
            pd.testing.assert_frame_equal(a, b)
    assert not _parts(out, "resources")[0]["type"].equals(_parts(other, "resources")[0]["type"])
    inv = read_inventory(out)
    assert len(inv.resources) == 3000 and len(match(inv)) > 100


def test_part_sites_splits_resources_evenly():
    sizes = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3])
    b = synth_mod.part_sites(sizes, 3)
    assert b[0] == 0 and b[-1] == len(sizes) and (np.diff(b) >= 0).all()
    counts = [int(sizes[b[i]:b[i + 1]].sum()) for i in range(3)]
    assert sum(counts) == sizes.sum() and max(counts) - min(counts) <= sizes.max()
    assert list(synth_mod.part_sites(np.array([5]), 3)) == [0, 0, 0, 1]
