"""Building blocks of matching: type scores, geometry, top-K heaps, spatial windows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from flowmatch.kernels.geo import lon_halfwidth
from flowmatch.kernels.topk import heap_push, heap_sort
from hypothesis import given, settings
from hypothesis import strategies as st
from test_matching_reference import haversine_km

from flowmatch.inputs.knowledge import merge_exchanges
from flowmatch.inputs.params import Params
from flowmatch.inputs.taxonomy import builtin_taxonomy
from flowmatch.matching.frozen import type_score_matrix
from flowmatch.matching.search import great_circle_km

KB = [{"have_type": "ewc:100105", "want_type": "raw:gypsum", "score": 1.0},
      {"have_type": "ewc:100102", "want_type": "raw:cement-additive", "score": 0.95}]


def scores(haves, wants, kb=KB, **params):
    """Type scores with a given knowledge base (the built-in one grows; rules are tested here)."""
    m = type_score_matrix(haves, wants, builtin_taxonomy(), pd.DataFrame(kb), Params().replace(**params))
    return {(h, w): m[i, j] for i, h in enumerate(haves) for j, w in enumerate(wants)}


def test_type_scores_follow_the_documented_rules():
    s = scores(["ewc:100105", "ewc:100102", "energy:steam:lp", "water:effluent", "foo:x", "raw:gypsum"],
               ["ewc:100105", "raw:gypsum", "raw:cement-additive", "energy:heat", "energy:heat:low",
                "water:process", "foo:x", "raw:fuel", "energy:electricity", "ewc:100101"])
    assert s[("ewc:100105", "ewc:100105")] == 1.0  # same type
    assert s[("ewc:100105", "raw:gypsum")] == 1.0  # knowledge base
    assert s[("ewc:100102", "raw:cement-additive")] == 0.95
    assert s[("energy:steam:lp", "energy:heat")] == pytest.approx(0.9**2)  # is-a, two steps up
    # related: common ancestor energy:heat (depth 2); LP steam is at depth 4
    assert s[("energy:steam:lp", "energy:heat:low")] == pytest.approx(0.6 * 2 / 4)
    assert s[("water:effluent", "water:process")] == pytest.approx(0.6 * 1 / 2)  # the water root
    assert s[("ewc:100105", "ewc:100101")] == pytest.approx(0.6 * 3 / 4)  # same sub-chapter
    assert s[("foo:x", "foo:x")] == 1.0 and s[("foo:x", "raw:gypsum")] == 0.0  # unknown: only itself
    assert s[("raw:gypsum", "raw:fuel")] == 0.0  # only the root in common
    assert s[("energy:steam:lp", "energy:electricity")] == 0.0
    assert s[("ewc:100105", "energy:heat")] == 0.0


def test_knowledge_base_rows_are_inherited_with_a_discount_per_step():
    kb = [{"have_type": "ewc:1001", "want_type": "raw:cement", "score": 0.8},
          {"have_type": "ewc:100202", "want_type": "raw:cement-additive", "score": 0.95}]
    s = scores(["ewc:100105", "ewc:1001", "ewc:100202"], ["raw:cement", "raw:cement-additive"], kb,
               type_inherit_discount=0.5)
    assert s[("ewc:1001", "raw:cement")] == 0.8
    assert s[("ewc:100105", "raw:cement")] == pytest.approx(0.8 * 0.5)  # have one step below
    assert s[("ewc:100105", "raw:cement-additive")] == pytest.approx(0.8 * 0.5**2)  # and the want
    assert s[("ewc:100202", "raw:cement-additive")] == 0.95  # a direct row is not discounted
    assert s[("ewc:100202", "raw:cement")] == 0.0  # rows apply downwards only


def test_the_built_in_knowledge_base_is_used_by_default():
    kb = merge_exchanges(None)
    m = type_score_matrix(["ewc:100105"], ["raw:gypsum"], builtin_taxonomy(), kb, Params())
    assert m[0, 0] == kb.set_index(["have_type", "want_type"]).at[("ewc:100105", "raw:gypsum"), "score"]


@settings(max_examples=200, deadline=None)
@given(st.floats(-90, 90), st.floats(-180, 180), st.floats(-90, 90), st.floats(-180, 180))
def test_great_circle_matches_haversine(lat1, lon1, lat2, lon2):
    got = float(great_circle_km(lat1, lon1, lat2, lon2))
    assert got == pytest.approx(haversine_km(lat1, lon1, lat2, lon2), rel=1e-9, abs=1e-6)


def test_great_circle_extremes():
    assert great_circle_km(0, 0, 0, 180) == pytest.approx(math.pi * 6371.0088)
    assert great_circle_km(90, 0, -90, 0) == pytest.approx(math.pi * 6371.0088)
    assert great_circle_km(45, 10, 45, 10) == 0.0
    assert great_circle_km([0, 0], [0, 0], 0, [1, 2]).shape == (2,)


@settings(max_examples=300, deadline=None)
@given(st.floats(-89.9, 89.9), st.floats(1e-4, 1.5), st.floats(0, 1), st.floats(0, 2 * math.pi))
def test_lon_window_holds_every_point_of_the_cap(lat_deg, rho, frac, bearing):
    """A point at angle <= rho from the centre never differs in longitude by more than the half-width."""
    lat = math.radians(lat_deg)
    d = rho * frac
    lat2 = math.asin(math.sin(lat) * math.cos(d) + math.cos(lat) * math.sin(d) * math.cos(bearing))
    dlon = math.atan2(math.sin(bearing) * math.sin(d) * math.cos(lat),
                      math.cos(d) - math.sin(lat) * math.sin(lat2))
    half = lon_halfwidth(lat, rho)
    assert half >= math.pi or abs(dlon) <= half


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.1, 0.5, 0.5, 0.9, 1.0]), st.integers(0, 50)),
                max_size=40, unique_by=lambda t: t[1]), st.integers(1, 8))
def test_heap_keeps_the_best_k_with_ties_by_lower_index(entries, k):
    score = np.zeros(k)
    idx = np.full(k, -1, dtype=np.int64)
    n = 0
    for s, i in entries:
        n = heap_push(score, idx, n, s, i)
    heap_sort(score, idx, n)
    expect = sorted(entries, key=lambda e: (-e[0], e[1]))[:k]
    assert list(zip(score[:n].tolist(), idx[:n].tolist(), strict=True)) == expect
