"""Hand-built edge cases of matching: geometry, measured distances, ties, gates, K, per-have."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flowmatch.cli import main
from flowmatch.geo import great_circle_km
from flowmatch.inputs.inventory import build_inventory
from flowmatch.inputs.params import Params
from flowmatch.matching.candidates import match
from flowmatch.matching.frozen import freeze
from flowmatch.matching.search import search_top_k


def inv_of(sites, resources, **tables):
    """An inventory from site tuples ``(id, lat, lon)`` and resource dicts."""
    rows = []
    for i, r in enumerate(resources):
        row = {"resource_id": r.get("id", f"R{i}"), "site_id": "A", "role": "have", "category": "water",
               "type": "water:effluent", "quantity": 100.0, "unit": "m3"}
        row.update({k: v for k, v in r.items() if k != "id"})
        rows.append(row)
    return build_inventory({"sites": pd.DataFrame(sites, columns=["site_id", "lat", "lon"]),
                            "resources": pd.DataFrame(rows),
                            **{k: pd.DataFrame(v) for k, v in tables.items()}})


def both_paths(inv, **kw):
    """match() pruned and exhaustive, checked equal; returns the pruned frame."""
    pruned = match(inv, **kw)
    full = match(inv, exhaustive=True, **kw)
    pd.testing.assert_frame_equal(pruned, full)
    return pruned


def test_pairs_across_the_antimeridian_are_found():
    inv = inv_of([("E", 10.0, 179.95), ("W", 10.0, -179.95)],
                 [{"id": "H", "site_id": "E"}, {"id": "W", "site_id": "W", "role": "want"}])
    c = both_paths(inv)
    assert list(c["have_id"]) == ["H"]
    assert c["distance_km"].iloc[0] == pytest.approx(great_circle_km(10, 179.95, 10, -179.95))
    assert c["distance_km"].iloc[0] < 11


@pytest.mark.parametrize("lat2, lon2, km", [(90.0, 180.0, 0.0), (89.95, 137.0, 5.56)])
def test_pairs_at_the_pole_are_found(lat2, lon2, km):
    inv = inv_of([("N", 90.0, 0.0), ("M", lat2, lon2)],
                 [{"id": "H", "site_id": "N"}, {"id": "W", "site_id": "M", "role": "want"}])
    c = both_paths(inv)
    assert len(c) == 1
    assert c["distance_km"].iloc[0] == pytest.approx(km, abs=0.01)


def test_all_pairs_out_of_reach_give_no_candidates():
    inv = inv_of([("A", 0.0, 0.0), ("B", 1.0, 0.0)],
                 [{"site_id": "A"}, {"site_id": "B", "role": "want"}])  # 111 km, water reach 25
    assert len(both_paths(inv)) == 0


def test_measured_distances_replace_the_great_circle_both_ways():
    sites = [("A", 0.0, 0.0), ("B", 1.0, 0.0), ("C", 0.0, 0.1)]
    res = [{"id": "H", "site_id": "A"}, {"id": "WB", "site_id": "B", "role": "want"},
           {"id": "WC", "site_id": "C", "role": "want"}]
    # B is 111 km away as the crow flies but 12 km by the table (given the other way round);
    # C is 11 km away but 40 km by the table: out of the 25 km reach.
    dist = [{"from_site": "B", "to_site": "A", "km": 12.0}, {"from_site": "A", "to_site": "C", "km": 40.0}]
    c = both_paths(inv_of(sites, res, distances=dist))
    assert c.set_index("want_id")["distance_km"].to_dict() == {"WB": 12.0}


def test_ties_are_ranked_by_inventory_order_and_cut_at_k():
    res = [{"id": f"H{i}"} for i in range(4)] + [{"id": "W", "role": "want", "site_id": "B"}]
    inv = inv_of([("A", 0.0, 0.0), ("B", 0.0, 0.05)], res)
    c = both_paths(inv, top_k=2)
    assert list(c["have_id"]) == ["H0", "H1"]
    assert list(c["rank"]) == [1, 2]
    assert c["score"].nunique() == 1


def test_k_larger_than_the_haves_keeps_them_all():
    res = [{"id": "H0"}, {"id": "H1", "quantity": 10.0}, {"id": "W", "role": "want"}]
    c = both_paths(inv_of([("A", 0.0, 0.0)], res), top_k=50)
    assert list(c["have_id"]) == ["H0", "H1"]  # the better quantity match first
    idx, _ = search_top_k(freeze(inv_of([("A", 0.0, 0.0)], res)), Params(), top_k=50)
    assert idx.shape == (1, 2)


def test_missing_property_is_uncertain_not_failed():
    res = [{"id": "Hin"}, {"id": "Hnan"}, {"id": "Hout"}, {"id": "Hfar"}, {"id": "W", "role": "want"}]
    props = [{"resource_id": "Hin", "property": "cod_mg_l", "value": 50.0},
             {"resource_id": "Hnan", "property": "chloride_ppm", "value": 10.0},
             {"resource_id": "Hout", "property": "cod_mg_l", "value": 110.0},
             {"resource_id": "Hfar", "property": "cod_mg_l", "value": 200.0},
             {"resource_id": "W", "property": "cod_mg_l", "max": 100.0}]
    c = both_paths(inv_of([("A", 0.0, 0.0)], res, properties=props)).set_index("have_id")
    assert c.at["Hin", "s_quality"] == 1.0
    assert c.at["Hnan", "s_quality"] == pytest.approx(0.9)
    assert c.at["Hout", "s_quality"] == pytest.approx(1 - 10 / 50)
    assert "Hfar" not in c.index  # 100 over a 100 limit with tolerance 0.5: failed
    assert list(c.index) == ["Hin", "Hnan", "Hout"]


def test_hazardous_haves_go_only_to_licensed_wants():
    res = [{"id": "H", "hazardous": True}, {"id": "W", "role": "want"},
           {"id": "Wlic", "role": "want", "hazardous": True}]
    c = both_paths(inv_of([("A", 0.0, 0.0)], res))
    assert list(c["want_id"]) == ["Wlic"]


def test_months_and_rhythm():
    res = [{"id": "Hsummer", "months": "6-8"}, {"id": "Hbatch", "frequency": "batch"},
           {"id": "Hcont"}, {"id": "W", "role": "want", "months": "1-5"}]
    c = both_paths(inv_of([("A", 0.0, 0.0)], res)).set_index("have_id")
    assert "Hsummer" not in c.index
    assert c.at["Hcont", "s_frequency"] == pytest.approx(np.sqrt(5 / 12))
    assert c.at["Hbatch", "s_frequency"] == pytest.approx(np.sqrt(5 / 12) * 0.5)


def test_per_have_adds_each_haves_best_wants():
    # H1 is best for both wants, so with K=1 H0 appears only through its own list.
    res = [{"id": "H0", "site_id": "B"}, {"id": "H1"}, {"id": "W0", "role": "want"},
           {"id": "W1", "role": "want"}]
    inv = inv_of([("A", 0.0, 0.0), ("B", 0.0, 0.1)], res)
    plain = both_paths(inv, top_k=1)
    assert set(plain["have_id"]) == {"H1"}
    both = both_paths(inv, top_k=1, per_have=True)
    assert set(both["have_id"]) == {"H0", "H1"}
    h0 = both[both["have_id"] == "H0"]
    assert len(h0) == 1 and (h0["have_rank"] == 1).all() and (h0["rank"] == 2).all()


def test_cli_match_writes_candidates(tmp_path, capsys, mini_dir):
    out = tmp_path / "out"
    assert main(["match", str(mini_dir), "-o", str(out), "--threads", "1", "-q", "--csv", "--top-k", "3"]) == 0
    parquet = pd.read_parquet(out / "candidates.parquet")
    csv = pd.read_csv(out / "candidates.csv")
    assert len(parquet) == len(csv) == 2
    assert "2 candidates" in capsys.readouterr().out
    assert main(["match", str(mini_dir), "-o", str(out), "--min-score", "2"]) == 2
    assert "min_score" in capsys.readouterr().err

