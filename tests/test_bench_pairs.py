"""The pairs in reach that ``flowmatch bench`` counts for pairs scored per second equal a
brute-force count over every (have, want) pair: type score above 0, one category, and a
great-circle distance within both reaches."""

from __future__ import annotations

import numpy as np
import pytest

R_KM = 6371.0088


def _brute_force(a) -> int:
    ok = a.type_score[a.h_type][:, a.w_type] > 0
    ok &= a.h_cat[:, None] == a.w_cat[None, :]
    chord = np.linalg.norm(a.h_xyz[:, None, :] - a.w_xyz[None, :, :], axis=2)
    km = 2 * R_KM * np.arcsin(np.clip(chord / 2, 0, 1))
    ok &= km <= np.minimum(a.h_max_km[:, None], a.w_max_km[None, :]) + 1e-6
    return int(ok.sum())


@pytest.mark.parametrize("name", ["caofeidian", "guigang", "power_cement_brewery"])
def test_pairs_in_reach_of_the_datasets(datasets_dir, name):
    from flowmatch.bench.pairs import pairs_in_reach
    from flowmatch.inputs.inventory import read_inventory
    from flowmatch.matching.frozen import freeze

    a = freeze(read_inventory(datasets_dir / name))
    n = pairs_in_reach(a)
    assert n == _brute_force(a)
    assert 0 < n < a.n_haves * a.n_wants  # reach and types rule pairs out


def test_pairs_in_reach_of_a_synthetic_park_in_slices(monkeypatch):
    from flowmatch.bench import pairs
    from flowmatch.inputs.inventory import build_inventory
    from flowmatch.inputs.synth import synth_tables
    from flowmatch.matching.frozen import freeze

    a = freeze(build_inventory(synth_tables(1500, seed=3)))
    expected = _brute_force(a)
    assert pairs.pairs_in_reach(a) == expected > 0
    monkeypatch.setattr(pairs, "SLICE", 7)  # wants in many slices: the same count
    assert pairs.pairs_in_reach(a) == expected
