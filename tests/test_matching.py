"""match(): the candidates table end to end, parameters and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flowmatch.errors import ParamsError
from flowmatch.geo import great_circle_km
from flowmatch.inputs.inventory import build_inventory
from flowmatch.matching.candidates import CANDIDATE_COLUMNS, EXTRA_COLUMNS, match


def inventory(resources, sites=None, **tables):
    """An inventory from resource rows (dicts) with sensible defaults."""
    if sites is None:
        sites = [{"site_id": "A", "lat": 36.0, "lon": 117.0}, {"site_id": "B", "lat": 36.1, "lon": 117.1}]
    rows = []
    for i, r in enumerate(resources):
        row = {"resource_id": f"R{i}", "site_id": "A", "role": "have", "category": "material",
               "type": "raw:gypsum", "quantity": 100.0, "unit": "t"}
        row.update(r)
        rows.append(row)
    return build_inventory({"sites": pd.DataFrame(sites), "resources": pd.DataFrame(rows),
                            **{k: pd.DataFrame(v) for k, v in tables.items()}})


def test_mini_dataset_finds_the_documented_synergies(mini):
    cands = match(mini)
    assert list(cands.columns) == CANDIDATE_COLUMNS + EXTRA_COLUMNS
    best = cands[cands["rank"] == 1].set_index("want_id")["have_id"].to_dict()
    assert best == {"W1": "H1", "W2": "H2"}  # FGD gypsum -> plasterboard, fly ash -> cement
    row = cands.set_index(["have_id", "want_id"]).loc[("H2", "W2")]
    assert row["s_type"] == pytest.approx(0.95)  # the knowledge-base score
    assert row["distance_km"] == pytest.approx(
        great_circle_km(36.10, 117.00, 36.05, 117.10), rel=1e-12)
    assert ((cands["score"] > 0) & (cands["score"] <= 1)).all()


def test_combined_score_is_the_weighted_geometric_mean(mini):
    cands = match(mini)
    sub = cands[["s_type", "s_quality", "s_quantity", "s_distance", "s_frequency"]].to_numpy()
    w = np.array([1.0, 1.0, 1.0, 1.0, 0.5])
    expect = np.exp((np.log(sub) * w).sum(axis=1) / w.sum())
    np.testing.assert_allclose(cands["score"], expect, rtol=1e-12)


def test_no_possible_pair_gives_an_empty_well_formed_frame(mini):
    inv = inventory([{"role": "have", "type": "raw:gypsum"},
                     {"role": "want", "type": "raw:fuel", "site_id": "B"}])
    cands = match(inv)
    full = match(mini)
    assert len(cands) == 0
    assert list(cands.columns) == list(full.columns)
    assert (cands.dtypes == full.dtypes).all()


def test_no_wants_and_no_haves():
    assert len(match(inventory([{"role": "have"}]))) == 0
    assert len(match(inventory([{"role": "want"}]))) == 0


@pytest.mark.parametrize("kw", [dict(top_k=0), dict(top_k=2.5), dict(min_score=1.5),
                                dict(min_score=-0.1), dict(threads=0), dict(threads=10_000)])
def test_out_of_range_arguments_raise_params_error(mini, kw):
    with pytest.raises(ParamsError):
        match(mini, **kw)


def test_all_weights_zero_is_refused(mini):
    inv = mini.with_params(weight_type=0, weight_quality=0, weight_quantity=0, weight_distance=0,
                          weight_frequency=0)
    with pytest.raises(ParamsError, match="weights"):
        match(inv)
