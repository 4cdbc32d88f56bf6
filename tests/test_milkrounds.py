"""Milk rounds in the plan: hand-checked cases and the CVRPLIB P-n16-k8 test of record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flowmatch.cli import main
from flowmatch.inputs.inventory import build_inventory
from flowmatch.inputs.params import Params
from flowmatch.milp.milkrounds import collections_per_year, milk_round_pairs
from flowmatch.milp.optimise import optimise
from flowmatch.milp.routing import site_distance_matrix

KM_PER_DEG = 111.195  # great-circle km per degree of latitude


def cluster_inventory(capacity: float = 10.0, **params) -> tuple:
    """A processor P; a big have B 3 km east of it; five small haves C1..C5 about 20 km north.

    By hand, with the default prices: B (5000 t/yr, 417 t a month) is too big for a
    milk round; direct it costs about 20000 fixed + 0.45 * 5000 * 3 = 26750 a year,
    disposed 500000: it goes direct. Each C (24 t/yr, 2 t a month) disposed costs
    7200, direct 20000+, alone on a vehicle 12 * (6 * 40 + 30) = 3240, all five on one
    round about 12 * (6 * 46 + 5 * 30) = 5100: they are pooled.
    """
    lat0, lon0 = 30.0, 120.0
    dlon = 1 / (KM_PER_DEG * np.cos(np.radians(lat0)))
    sites = pd.DataFrame({
        "site_id": ["P", "B", "C1", "C2", "C3", "C4", "C5"],
        "lat": [lat0, lat0] + [lat0 + 20 / KM_PER_DEG + dy / KM_PER_DEG for dy in (0, 1, 2, 1, 0)],
        "lon": [lon0, lon0 + 3 * dlon] + [lon0 + dx * dlon for dx in (-2, -1, 0, 1, 2)],
    })
    res = pd.DataFrame({
        "resource_id": ["W", "B_waste"] + [f"C{i}_waste" for i in range(1, 6)],
        "site_id": ["P", "B", "C1", "C2", "C3", "C4", "C5"],
        "role": ["want"] + ["have"] * 6,
        "category": "material",
        "type": "ewc:150102",
        "quantity": [10000.0, 5000.0] + [24.0] * 5,
        "unit": "t",
        "frequency": ["continuous", "continuous"] + ["monthly"] * 5,
        "cost": [0.0, 100.0] + [300.0] * 5,
    })
    inv = build_inventory({"sites": sites, "resources": res},
                          params=Params(vehicle_capacity_t=capacity, **params))
    haves = res[res["role"] == "have"]
    d = site_distance_matrix(inv, ["P", *haves["site_id"]])[0, 1:]
    cands = pd.DataFrame({"have_id": haves["resource_id"], "want_id": "W", "distance_km": d})
    return inv, cands


def check_balance(plan, inv) -> None:
    """Every have's flows sum to its supply, every want's to its demand."""
    f = plan.flows
    res = inv.resources.set_index("resource_id")
    out = f[f["have_id"] != "VIRGIN"].groupby("have_id")["quantity"].sum()
    into = f[f["want_id"] != "DISPOSAL"].groupby("want_id")["quantity"].sum()
    for rid, r in res.iterrows():
        got = out.get(rid, 0.0) if r["role"] == "have" else into.get(rid, 0.0)
        assert got == pytest.approx(r["quantity"], rel=1e-6), rid


def check_capacity(plan, inv, capacity: float) -> None:
    """Every route's load per collection, summed from its haves, fits the vehicle."""
    res = inv.resources.set_index("resource_id")
    for r in plan.routes.itertuples(index=False):
        load = sum(res.at[h, "quantity"] / r.collections_per_year for h in r.haves.split(";"))
        assert load == pytest.approx(r.load_per_collection)
        assert load <= capacity + 1e-9


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_big_have_goes_direct_and_the_cluster_is_pooled(solver):
    inv, cands = cluster_inventory()
    plan = optimise(inv, candidates=cands, gap=1e-6, solver=solver)
    f = plan.flows.set_index("have_id")
    assert f.loc["B_waste", "mode"] == "direct"
    assert f.loc["B_waste", "quantity"] == pytest.approx(5000.0)
    small = plan.flows[plan.flows["have_id"].str.startswith("C")]
    assert (small["mode"] == "milk_round").all() and len(small) == 5
    assert small["route_id"].nunique() == 1
    (route,) = plan.routes.itertuples(index=False)
    visit = route.sites.split(";")
    assert visit[0] == visit[-1] == "P" and sorted(visit[1:-1]) == ["C1", "C2", "C3", "C4", "C5"]
    assert route.collections_per_year == 12
    assert route.load_per_collection == pytest.approx(10.0)
    # out 20 km, along the cluster (4 km), back about 20 km
    assert 42.0 < route.km < 46.0
    check_balance(plan, inv)
    check_capacity(plan, inv, 10.0)


def test_capacity_splits_the_cluster():
    inv, cands = cluster_inventory(capacity=5.0)  # two 2 t loads per run at most
    plan = optimise(inv, candidates=cands, gap=1e-6)
    small = plan.flows[plan.flows["have_id"].str.startswith("C")]
    assert (small["mode"] == "milk_round").all()
    assert small["route_id"].nunique() >= 3
    check_capacity(plan, inv, 5.0)
    check_balance(plan, inv)
    # the rounds' cost in flows.csv adds up to the routes'
    assert small["cost"].sum() == pytest.approx(plan.routes["cost"].sum())


def test_route_generation_stops_on_its_budget_share(monkeypatch):
    # route generation gets no time: no route is generated, yet the plan is whole
    # (the small haves are disposed of or shipped direct) and every balance holds
    from flowmatch.milp.milkrounds import MilkRoundPart

    inv, cands = cluster_inventory()
    monkeypatch.setattr(MilkRoundPart, "BUDGET_SHARE", 0.0)
    plan = optimise(inv, candidates=cands, gap=1e-6)
    assert plan.routes.empty
    assert not (plan.flows["mode"] == "milk_round").any()
    check_balance(plan, inv)
    monkeypatch.undo()  # with its share it pools them again
    assert not optimise(inv, candidates=cands, gap=1e-6).routes.empty


def test_cheap_disposal_leaves_the_cluster_alone():
    inv, cands = cluster_inventory()
    res = inv.tables["resources"].copy()
    res.loc[res["resource_id"].str.startswith("C"), "cost"] = 10.0  # 240 a year each
    inv = build_inventory({"sites": inv.tables["sites"], "resources": res}, params=inv.params)
    plan = optimise(inv, candidates=cands, gap=1e-6)
    small = plan.flows[plan.flows["have_id"].str.startswith("C")]
    assert (small["mode"] == "disposal").all()
    assert len(plan.routes) == 0
    check_balance(plan, inv)


def test_pairs_need_small_loads_compatible_types_reach_and_licence():
    inv, _ = cluster_inventory()
    pairs = milk_round_pairs(inv, None)
    assert pairs["have_id"].tolist() == [f"C{i}_waste" for i in range(1, 6)]  # B is too big
    assert (pairs["want_id"] == "W").all()
    expected = [np.hypot(2, 20), np.hypot(1, 21), 22.0, np.hypot(1, 21), np.hypot(2, 20)]
    assert pairs["distance_km"].tolist() == pytest.approx(expected, rel=2e-3)
    inv, _ = cluster_inventory(milk_round_max_km=10.0)
    assert milk_round_pairs(inv, None).empty  # the cluster lies 20 km away
    inv, _ = cluster_inventory(milk_round_max_stops=0)
    assert milk_round_pairs(inv, None).empty  # milk rounds off
    inv, _ = cluster_inventory()
    res = inv.tables["resources"].copy()
    res.loc[res["resource_id"] == "C1_waste", "type"] = "ewc:020103"  # plant tissue: no match
    res.loc[res["resource_id"] == "C2_waste", "hazardous"] = "true"  # W is not licensed
    res.loc[res["resource_id"] == "C3_waste", "months"] = "1-3"  # W wants only 4-12
    res.loc[res["resource_id"] == "W", "months"] = "4-12"
    inv = build_inventory({"sites": inv.tables["sites"], "resources": res}, params=Params())
    assert set(milk_round_pairs(inv, None)["have_id"]) == {"C4_waste", "C5_waste"}
    # a candidate from matching counts whatever the types
    cands = pd.DataFrame({"have_id": ["C1_waste"], "want_id": ["W"], "distance_km": [20.0]})
    assert "C1_waste" in set(milk_round_pairs(inv, cands)["have_id"])


def test_each_have_keeps_its_nearest_processors():
    inv, _ = cluster_inventory()
    sites = pd.concat([inv.tables["sites"], pd.DataFrame(
        {"site_id": ["Q"], "lat": [30.0 + 25 / KM_PER_DEG], "lon": [120.0]})], ignore_index=True)
    res = pd.concat([inv.tables["resources"], pd.DataFrame(
        {"resource_id": ["W2"], "site_id": ["Q"], "role": ["want"], "category": ["material"],
         "type": ["ewc:150102"], "quantity": [500.0], "unit": ["t"]})], ignore_index=True)
    both = build_inventory({"sites": sites, "resources": res}, params=Params())
    assert len(milk_round_pairs(both, None)) == 10
    one = build_inventory({"sites": sites, "resources": res}, params=Params(milk_round_processors_per_have=1))
    pairs = milk_round_pairs(one, None)
    assert len(pairs) == 5 and (pairs["want_id"] == "W2").all()  # Q is 5 km from the cluster, P 20


def test_collections_per_year_follow_frequency_and_months():
    r = pd.DataFrame({"frequency": ["weekly", "monthly", "continuous", "yearly", "monthly"],
                      "month_mask": [4095, 4095, 4095, 4095, 0b111111]})  # the last: 6 months
    assert collections_per_year(r, continuous=12).tolist() == [52, 12, 12, 1, 6]


# --------------------------------------------------------------------------- test of record


def test_p_n16_k8_through_the_cli(tmp_path, data_dir):
    """CVRPLIB P-n16-k8: the plan's routes total at most 1% above the optimum 450."""
    out = tmp_path / "plan"
    assert main(["optimise", str(data_dir / "p_n16_k8"), "-o", str(out)]) == 0
    routes = pd.read_csv(out / "routes.csv")
    flows = pd.read_csv(out / "flows.csv")
    total = float((routes["km"] * routes["collections_per_year"]).sum())
    assert total <= 1.01 * 450
    assert total >= 450 - 1e-6  # nothing shorter exists: the routes are real
    # every customer collected once, every route within the capacity of 35
    res = pd.read_csv(data_dir / "p_n16_k8" / "resources.csv")
    demand = res.set_index("resource_id")["quantity"]
    collected = flows[flows["mode"] == "milk_round"]
    assert sorted(collected["have_id"]) == sorted(demand.index.drop("processor"))
    for r in routes.itertuples(index=False):
        haves = r.haves.split(";")
        assert demand[haves].sum() == pytest.approx(r.load_per_collection) and r.load_per_collection <= 35
        assert r.sites.split(";")[0] == r.sites.split(";")[-1] == "n1"
    # the km in routes.csv are the distances table's along the visit order
    dist = pd.read_csv(data_dir / "p_n16_k8" / "distances.csv")
    d = {**{(a, b): k for a, b, k in dist.itertuples(index=False)},
         **{(b, a): k for a, b, k in dist.itertuples(index=False)}}
    for r in routes.itertuples(index=False):
        s = r.sites.split(";")
        assert sum(d[a, b] for a, b in zip(s[:-1], s[1:], strict=True)) == pytest.approx(r.km)
    # mass balance
    assert collected["quantity"].sum() == pytest.approx(demand.drop("processor").sum())
    assert (flows[flows["want_id"] == "DISPOSAL"]["quantity"].sum() if len(flows) else 0) == pytest.approx(0)
