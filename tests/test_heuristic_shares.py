"""The heuristics take time from the search in proportion to the binaries of the blocks they
work for (flowmatch.milp.fix_and_optimise.search_fraction), not a fixed share: many small blocks,
which the search proves quickly, keep their search time."""

from __future__ import annotations

import pytest
from optimise_cases import random_case

from flowmatch.milp.blocks import split_blocks
from flowmatch.milp.fix_and_optimise import search_fraction
from flowmatch.milp.optimise import (
    HEURISTIC_MIN_FRACTION,
    HEURISTIC_SHARE,
    build_model,
    build_parts,
    optimise,
)
from flowmatch.milp.options import SolveOptions

CASE = dict(fixed_cost_synergy=1500.0, min_synergy_flow=8.0)


def _model(seed=4):
    inv, cands = random_case(6, 6, 0.3, seed, **CASE)
    return inv, cands, build_model(build_parts(inv, cands))


def test_search_fraction_is_the_share_of_binaries_in_big_blocks():
    _, _, model = _model()
    sizes = sorted(int(model.integrality[b.cols].sum()) for b in split_blocks(model)[0])
    total = int(model.integrality.sum())
    assert search_fraction(model) == 0.0  # every block far under MIN_INTEGERS
    assert search_fraction(model, min_integers=1) == pytest.approx(sum(n for n in sizes if n) / total)
    cut = max(sizes)
    expect = sum(n for n in sizes if n >= cut) / total
    assert search_fraction(model, min_integers=cut) == pytest.approx(expect)
    if len([n for n in sizes if n]) > 1:
        assert 0 < expect < 1


def test_small_blocks_give_the_start_only_its_least_share():
    inv, cands, _ = _model()
    plan = optimise(inv, candidates=cands, options=SolveOptions(gap=0.0))
    assert plan.summary["heuristics"]["time_share"] == pytest.approx(HEURISTIC_SHARE * HEURISTIC_MIN_FRACTION)
    assert "search" not in plan.summary["heuristics"]  # no block big enough for local search
