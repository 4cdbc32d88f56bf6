"""Tests of record on the bundled real-case datasets: documented synergies rank in the top 3
of their want; decoys (hazardous without a licensed taker, no taker, out of reach) match nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flowmatch.inputs.inventory import read_inventory
from flowmatch.matching.candidates import match

DATASETS = sorted(p.parent for p in (Path(__file__).resolve().parents[1] / "datasets").glob("*/expected_synergies.csv"))


@pytest.fixture(scope="module", params=DATASETS, ids=lambda p: p.name)
def case(request):
    return request.param, match(read_inventory(request.param))


def test_there_are_real_cases():
    assert len(DATASETS) >= 3


def test_documented_synergies_are_in_the_top_3_of_their_want(case):
    path, cands = case
    expected = pd.read_csv(path / "expected_synergies.csv")
    found = expected.merge(cands, on=["have_id", "want_id"], how="left")
    missing = found[~(found["rank"] <= 3)]
    assert missing.empty, f"{path.name}: not in the top 3 of their want:\n{missing[['have_id', 'want_id', 'rank']]}"


def test_decoys_match_nothing(case):
    path, cands = case
    decoys = pd.read_csv(path / "decoys.csv")
    hit = cands[cands["have_id"].isin(decoys["resource_id"]) | cands["want_id"].isin(decoys["resource_id"])]
    assert hit.empty, f"{path.name}: decoys matched:\n{hit[['have_id', 'want_id', 'score']]}"
