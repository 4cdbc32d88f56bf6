"""Random inventories (hypothesis): pruned == exhaustive, and both == the plain-Python reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_matching_reference import assert_same_top_k, reference_top_k

from flowmatch.inputs.inventory import build_inventory
from flowmatch.inputs.schema import FREQUENCIES
from flowmatch.matching.candidates import match
from flowmatch.matching.frozen import freeze
from flowmatch.matching.search import pair_scores, search_top_k

# (category, type, unit): related, knowledge-base, is-a, unknown and hazardous types
TYPES = [
    ("material", "ewc:100105", "t"), ("material", "ewc:100102", "t"), ("material", "ewc:100104", "t"),
    ("material", "raw:gypsum", "t"), ("material", "raw:cement-additive", "t"), ("material", "raw:cement", "t"),
    ("material", "raw:fuel", "t"), ("material", "ewc:1001", "t"), ("material", "foo:unknown", "kg"),
    ("water", "water:effluent", "m3"), ("water", "water:process", "m3"), ("water", "water", "m3"),
    ("energy", "energy:heat", "MWh"), ("energy", "energy:steam:lp", "MWh"), ("energy", "energy:heat:low", "GJ"),
]
MONTHS = ["", "", "1-12", "4-9", "11-2", "6", "1,3,5-7"]

coord_lat = st.one_of(st.sampled_from([90.0, -90.0, 0.0, 89.99]), st.floats(-90, 90))
coord_lon = st.one_of(st.sampled_from([180.0, -180.0, 179.99, -179.99, 0.0]), st.floats(-180, 180))


@st.composite
def sites(draw):
    n = draw(st.integers(1, 6))
    lat0, lon0 = draw(coord_lat), draw(coord_lon)
    rows = []
    for i in range(n):
        if draw(st.integers(0, 3)) > 0:  # near the first: pairs in reach
            spread = draw(st.sampled_from([0.0, 0.03, 0.3]))
            lat = float(np.clip(lat0 + draw(st.floats(-spread, spread)), -90, 90))
            lon = (lon0 + draw(st.floats(-spread, spread)) + 180.0) % 360.0 - 180.0
        else:
            lat, lon = draw(coord_lat), draw(coord_lon)
        rows.append({"site_id": f"S{i}", "lat": lat, "lon": lon})
    return rows


@st.composite
def inventories(draw):
    site_rows = draw(sites())
    ids = [s["site_id"] for s in site_rows]
    res, props = [], []
    theme = draw(st.sampled_from(["material", "water", "energy"]))
    themed = [t for t in TYPES if t[0] == theme]
    for role in ("have", "want"):
        for i in range(draw(st.integers(0, 8))):
            cat, typ, unit = draw(st.sampled_from(themed if draw(st.integers(0, 4)) else TYPES))
            rid = f"{role[0].upper()}{i}"
            res.append({
                "resource_id": rid, "site_id": draw(st.sampled_from(ids)), "role": role,
                "category": cat, "type": typ, "unit": unit,
                "quantity": draw(st.floats(0.001, 1e4)) if draw(st.integers(0, 9)) else 0.0,
                "months": draw(st.sampled_from(MONTHS)),
                "frequency": draw(st.sampled_from(FREQUENCIES)),
                "max_distance_km": draw(st.one_of(st.none(), st.floats(0, 400), st.just(30000.0))),
                "hazardous": draw(st.sampled_from([None, None, None, True, False])),
            })
            for prop in draw(st.lists(st.sampled_from(["cod_mg_l", "temperature_c", "target_temperature_c"]),
                                      max_size=3, unique=True)):
                if role == "have" or prop == "target_temperature_c" or draw(st.integers(0, 4)) == 0:
                    # a have without a value has no row: missing, not failed; a want's value is
                    # the cold end of a heat stream
                    props.append({"resource_id": rid, "property": prop, "value": draw(st.floats(0, 300))})
                else:
                    lo = draw(st.one_of(st.none(), st.floats(0, 200)))
                    hi = draw(st.one_of(st.none() if lo is not None else st.nothing(), st.floats(0, 300)))
                    if lo is not None and hi is not None and lo > hi:
                        lo, hi = hi, lo
                    props.append({"resource_id": rid, "property": prop, "min": lo, "max": hi,
                                  "limit": draw(st.sampled_from([None, None, "hard", "soft"]))})
    tables = {"sites": pd.DataFrame(site_rows),
              "resources": pd.DataFrame(res, columns=["resource_id", "site_id", "role", "category",
                                                      "type", "unit", "quantity", "months",
                                                      "frequency", "max_distance_km", "hazardous"])}
    if props:
        tables["properties"] = pd.DataFrame(props).reindex(columns=["resource_id", "property", "value", "min", "max",
                                                                         "limit"])
    dist = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids), st.floats(0, 500)),
                         max_size=4, unique_by=lambda t: (t[0], t[1])))
    if dist:
        tables["distances"] = pd.DataFrame(dist, columns=["from_site", "to_site", "km"])
    if draw(st.booleans()):
        tables["compatibility"] = pd.DataFrame(
            [{"have_type": "ewc:1001", "want_type": "raw:fuel", "score": 0.7, "source": "test"}])
    inv = build_inventory(tables)
    weights = draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=5, max_size=5).filter(any))
    keys = ["weight_type", "weight_quality", "weight_quantity", "weight_distance", "weight_frequency"]
    return inv.with_params(**dict(zip(keys, weights, strict=True)))


SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(inventories(), st.integers(1, 4), st.sampled_from([0.0, 0.05, 0.3]))
def test_kernels_agree_with_the_reference(inv, k, min_score):
    arrays = freeze(inv)
    for by in ("want", "have"):
        pruned = search_top_k(arrays, inv.params, top_k=k, min_score=min_score, by=by)
        full = search_top_k(arrays, inv.params, top_k=k, min_score=min_score, by=by, exhaustive=True)
        np.testing.assert_array_equal(pruned[0], full[0])
        np.testing.assert_array_equal(pruned[1], full[1])
        assert_same_top_k(pruned[0], pruned[1], reference_top_k(inv, k, min_score, by=by))
    # every pair's details, candidates or not
    h, w = np.meshgrid(np.arange(arrays.n_haves), np.arange(arrays.n_wants), indexing="ij")
    got = pair_scores(arrays, inv.params, h.ravel(), w.ravel())
    expect = np.zeros(len(got))
    for j, rows in reference_top_k(inv, max(1, arrays.n_haves), 0.0).items():
        for i, score, detail in rows:
            expect[i * arrays.n_wants + j] = score
            row = got.iloc[i * arrays.n_wants + j]
            for col, val in detail.items():
                np.testing.assert_allclose(row[col], val, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got["score"], expect, rtol=1e-9, atol=1e-12)
    assert got.loc[expect == 0, "s_type"].isna().all()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inventories(), st.integers(1, 3))
def test_match_frame_is_consistent(inv, k):
    cands = match(inv, top_k=k, min_score=0.0, per_have=True)
    assert not cands.duplicated(["have_id", "want_id"]).any()
    assert (cands.groupby("want_id")["rank"].apply(lambda r: sorted(r) == list(range(1, len(r) + 1)))).all()
    by_want = cands.groupby("want_id")["score"].apply(lambda s: (np.diff(s.to_numpy()) <= 0).all())
    assert by_want.all()
    assert ((cands["score"] > 0) & (cands["score"] <= 1 + 1e-12)).all()
    wants_only = match(inv, top_k=k, min_score=0.0)
    assert (wants_only.groupby("want_id").size() <= k).all()
    merged = wants_only.merge(cands, on=["have_id", "want_id"], suffixes=("", "_u"))
    assert len(merged) == len(wants_only)  # the per-want rows are all in the union
