"""flowmatch.milp.optimise on hand-built inventories and candidates."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from optimise_cases import (
    brute_force_cost,
    make_candidates,
    make_inventory,
    random_case,
    unit_terms,
)
from scipy.optimize import linprog

from flowmatch.errors import ModelError, ParamsError
from flowmatch.milp.optimise import optimise
from flowmatch.plans.folder import write_plan
from flowmatch.plans.plan import DISPOSAL, FLOW_COLUMNS, VIRGIN
from flowmatch.plans.summary import check_balance

SOLVERS = ["highs", "cbc"]


@pytest.fixture(scope="module")
def mini_cands():
    # distances as a matcher would give them (great-circle between the sites, km)
    return make_candidates([("H1", "W1", 3.6), ("H2", "W2", 9.0), ("H1", "W2", 9.0)])


def _balance_ok(plan, inv):
    check_balance(plan.flows, inv)
    f = plan.flows
    for rid, q in inv.resources.set_index("resource_id")["quantity"].items():
        got = f.loc[(f["have_id"] == rid) | (f["want_id"] == rid), "quantity"].sum()
        assert got == pytest.approx(q, rel=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
def test_mini_plan_by_hand(mini, mini_cands, solver):
    plan = optimise(mini, candidates=mini_cands, solver=solver, gap=0.0)
    assert plan.status == "optimal"
    direct = plan.flows[plan.flows["mode"] == "direct"].set_index(["have_id", "want_id"])["quantity"]
    # W1 takes all it wants from H1, W2 all it wants from H2 (cheaper than from H1: same distance,
    # one synergy fewer); the rest of each have is landfilled
    assert direct.to_dict() == pytest.approx({("H1", "W1"): 100000.0, ("H2", "W2"): 250000.0})
    p = mini.params
    cp = p.carbon_price / 1000
    unit = lambda d: d * (p.transport_cost_t_km + cp * p.co2_kg_t_km)  # noqa: E731
    disposal = 40 + cp * 20
    cost = (1e5 * unit(3.6) + 2.5e5 * unit(9.0) + 2 * p.fixed_cost_synergy
            + (20000 + 50000) * disposal)
    assert plan.summary["objective"]["cost"] == pytest.approx(cost, rel=1e-9)
    assert plan.summary["objective"]["landfill_t"] == pytest.approx(70000.0)
    assert plan.flows["cost"].sum() == pytest.approx(cost, rel=1e-9)
    base = 420000 * disposal + 1e5 * (120 + cp * 50) + 2.5e5 * (200 + cp * 600)
    assert plan.summary["baseline"]["cost"] == pytest.approx(base, rel=1e-9)
    assert plan.summary["baseline"]["landfill_t"] == pytest.approx(420000.0)
    _balance_ok(plan, mini)


def test_summary_matches_spec(mini, mini_cands):
    plan = optimise(mini, candidates=mini_cands)
    s = plan.summary
    assert list(s)[:5] == ["status", "gap", "objective", "baseline", "by_category"]
    for key in ("objective", "baseline"):
        assert set(s[key]) == {"cost", "co2_t", "landfill_t", "cash", "carbon_cost"}  # issue 13: cash and carbon apart
        assert s[key]["cash"] + s[key]["carbon_cost"] == pytest.approx(s[key]["cost"])
    assert set(s["by_category"]) == {"material", "water", "energy"}
    m = s["by_category"]["material"]
    assert set(m) == {"supply", "demand", "reused", "disposed", "virgin"}
    assert m["supply"] == pytest.approx(420000.0) and m["demand"] == pytest.approx(350000.0)
    assert m["reused"] + m["disposed"] == pytest.approx(m["supply"])
    assert m["reused"] + m["virgin"] == pytest.approx(m["demand"])
    assert s["n_synergies"] == 2 and s["format"] == 1 and s["solver"] == "highs"
    assert {"build", "solve", "total"} <= set(s["timings"])
    assert s["objective"]["cost"] <= s["baseline"]["cost"]
    text = plan.text_summary()
    assert "landfill t" in text and "CO2 t" in text and "420,000.0" in text


def test_write_plan_folder(tmp_path, mini, mini_cands):
    plan = optimise(mini, candidates=mini_cands)
    out = tmp_path / "plan"
    write_plan(plan, out, inventory=mini)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["candidates.parquet", "flows.csv", "manifest.json", "resources.csv", "routes.csv", "sites.csv",
                     "summary.json", "synergies.csv"]
    flows = pd.read_csv(out / "flows.csv")
    assert list(flows.columns) == FLOW_COLUMNS
    assert set(flows["mode"]) == {"direct", "disposal"}
    assert (flows.loc[flows["mode"] == "disposal", "want_id"] == DISPOSAL).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["objective"] == plan.summary["objective"]
    assert pd.read_parquet(out / "candidates.parquet").shape[0] == 3


def test_write_plan_refuses_unbalanced(tmp_path, mini, mini_cands):
    plan = optimise(mini, candidates=mini_cands)
    plan.flows.loc[plan.flows["mode"] == "direct", "quantity"] *= 1.01
    with pytest.raises(ModelError, match="does not balance"):
        write_plan(plan, tmp_path / "bad", inventory=mini)
    assert not (tmp_path / "bad" / "summary.json").exists()


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_brute_force_optimum(solver, seed):
    """Tests of record: the optimum found by enumerating every set of open synergies."""
    inv, cands = random_case(3, 3, 0.7, seed, fixed_cost_synergy=1500.0, min_synergy_flow=8.0)
    assert 3 <= len(cands) <= 9
    plan = optimise(inv, candidates=cands, solver=solver, gap=0.0)
    assert plan.status == "optimal"
    assert plan.summary["objective"]["cost"] == pytest.approx(brute_force_cost(inv, cands), rel=1e-7)
    _balance_ok(plan, inv)


@pytest.mark.parametrize("solver", SOLVERS)
def test_transportation_lp_matches_linprog(solver):
    """Test of record: without fixed costs the model is the transportation LP."""
    inv, cands = random_case(6, 5, 0.8, 7, fixed_cost_synergy=0.0, min_synergy_flow=0.0)
    hv, wt, disp, virg, trans = unit_terms(inv, cands)
    H, W, n = len(hv), len(wt), len(cands)
    hi = pd.Index(hv.index).get_indexer(cands["have_id"])
    wi = pd.Index(wt.index).get_indexer(cands["want_id"])
    A = np.zeros((H + W, n + H + W))
    A[hi, np.arange(n)] = 1
    A[H + wi, np.arange(n)] = 1
    A[np.arange(H), n + np.arange(H)] = 1
    A[H + np.arange(W), n + H + np.arange(W)] = 1
    ref = linprog(np.concatenate([trans, disp, virg]), A_eq=A,
                  b_eq=np.concatenate([hv["quantity"], wt["quantity"]]), bounds=(0, None), method="highs")
    assert ref.status == 0
    plan = optimise(inv, candidates=cands, solver=solver, gap=0.0)
    assert plan.summary["objective"]["cost"] == pytest.approx(ref.fun, rel=1e-7)
    assert plan.summary["gap"] == pytest.approx(0.0, abs=1e-9)


def test_blending_keeps_mix_within_range():
    res = [{"id": "H1", "role": "have", "quantity": 100, "cost": 50},
           {"id": "H2", "role": "have", "quantity": 100, "cost": 50},
           {"id": "W1", "role": "want", "quantity": 150, "cost": 100}]
    props = [{"resource_id": "H1", "property": "moisture_pct", "value": 5},
             {"resource_id": "H2", "property": "moisture_pct", "value": 20},
             {"resource_id": "W1", "property": "moisture_pct", "max": 10}]
    inv = make_inventory(res, props, fixed_cost_synergy=0.0)
    plan = optimise(inv, candidates=make_candidates([("H1", "W1", 1.0), ("H2", "W1", 1.0)]), gap=0.0)
    d = plan.flows[plan.flows["mode"] == "direct"].set_index("have_id")["quantity"]
    # (5 * a + 20 * b) / (a + b) <= 10  ->  b <= a / 2, with a <= 100: a = 100, b = 50
    assert d["H1"] == pytest.approx(100.0)
    assert d["H2"] == pytest.approx(50.0)
    _balance_ok(plan, inv)


def test_max_suppliers_per_want():
    res = [{"id": f"H{i}", "role": "have", "quantity": 10, "cost": 50} for i in range(4)]
    res.append({"id": "W1", "role": "want", "quantity": 40, "cost": 100})
    cands = make_candidates([(f"H{i}", "W1", 1.0 + i) for i in range(4)])
    free = optimise(make_inventory(res, fixed_cost_synergy=0.0), candidates=cands, gap=0.0)
    assert free.summary["n_synergies"] == 4
    capped = optimise(make_inventory(res, fixed_cost_synergy=0.0, max_suppliers_per_want=2),
                      candidates=cands, gap=0.0)
    used = capped.flows.loc[capped.flows["mode"] == "direct", "have_id"]
    assert sorted(used) == ["H0", "H1"]  # the two nearest
    assert capped.flows.loc[capped.flows["have_id"] == VIRGIN, "quantity"].sum() == pytest.approx(20.0)


def test_min_flow_and_fixed_cost_decide():
    res = [{"id": "H1", "role": "have", "quantity": 3, "cost": 50},
           {"id": "H2", "role": "have", "quantity": 300, "cost": 50},
           {"id": "W1", "role": "want", "quantity": 10, "cost": 100},
           {"id": "W2", "role": "want", "quantity": 300, "cost": 100}]
    cands = make_candidates([("H1", "W1", 1.0), ("H2", "W2", 1.0)])
    plan = optimise(make_inventory(res, min_synergy_flow=5.0, fixed_cost_synergy=1000.0),
                    candidates=cands, gap=0.0)
    used = set(plan.flows.loc[plan.flows["mode"] == "direct", "have_id"])
    # H1 carries less than the minimum flow (and could not pay the fixed cost); H2 pays it easily
    assert used == {"H2"}


def test_byproduct_lowers_fixed_cost():
    res = [{"id": "H1", "role": "have", "quantity": 100, "cost": 10},
           {"id": "W1", "role": "want", "quantity": 100, "cost": 100}]
    cands = make_candidates([("H1", "W1", 1.0)])
    # saving 100 * (10 + 100 - transport) ~ 10,950 a year: less than a synergy's fixed cost,
    # more than a by-product's
    waste = optimise(make_inventory(res, fixed_cost_synergy=20000.0, byproduct_fixed_cost=5000.0),
                     candidates=cands)
    assert waste.summary["n_synergies"] == 0
    res[0]["byproduct"] = "true"
    byp = optimise(make_inventory(res, fixed_cost_synergy=20000.0, byproduct_fixed_cost=5000.0),
                   candidates=cands)
    assert byp.summary["n_synergies"] == 1


def test_objectives_differ():
    # H1 is closer (cheaper) but W2's virgin input emits far more CO2
    res = [{"id": "H1", "role": "have", "quantity": 100, "cost": 50, "co2": 0},
           {"id": "W1", "role": "want", "quantity": 100, "cost": 100, "co2": 0},
           {"id": "W2", "role": "want", "quantity": 100, "cost": 60, "co2": 900}]
    inv = make_inventory(res, fixed_cost_synergy=0.0, carbon_price=0.0)
    cands = make_candidates([("H1", "W1", 1.0), ("H1", "W2", 50.0)])
    by_cost = optimise(inv, candidates=cands, objective="cost", gap=0.0)
    by_co2 = optimise(inv, candidates=cands, objective="co2", gap=0.0)
    to = lambda p: set(p.flows.loc[p.flows["mode"] == "direct", "want_id"])  # noqa: E731
    assert to(by_cost) == {"W1"} and to(by_co2) == {"W2"}
    assert by_co2.summary["objective"]["co2_t"] < by_cost.summary["objective"]["co2_t"]
    assert by_co2.summary["objective"]["cost"] > by_cost.summary["objective"]["cost"]
    weighted = optimise(inv, candidates=cands, objective="weighted",
                        weights={"cost": 1.0, "co2": 1.0, "landfill": 0.0}, gap=0.0)
    assert to(weighted) == {"W2"}
    with pytest.raises(ParamsError):
        optimise(inv, candidates=cands, objective="speed")


def test_infeasible_cap_names_constraints(mini, mini_cands):
    with pytest.raises(ModelError, match=r"infeasible.*have H1 .*your cap on landfill_t"):
        optimise(mini, candidates=mini_cands, metric_caps={"landfill_t": 1000.0})


def test_metric_cap_moves_the_plan():
    inv, cands = random_case(5, 4, 0.6, 11, fixed_cost_synergy=1500.0)
    cheap = optimise(inv, candidates=cands, gap=0.0)
    least = optimise(inv, candidates=cands, objective="landfill", gap=0.0)
    lo, hi = least.summary["objective"]["landfill_t"], cheap.summary["objective"]["landfill_t"]
    assert lo < hi
    cap = (lo + hi) / 2
    capped = optimise(inv, candidates=cands, gap=0.0, metric_caps={"landfill_t": cap})
    assert capped.summary["objective"]["landfill_t"] <= cap + 1e-6
    assert capped.summary["objective"]["cost"] >= cheap.summary["objective"]["cost"] - 1e-6
    assert least.summary["objective"]["cost"] >= capped.summary["objective"]["cost"] - 1e-6
    _balance_ok(capped, inv)


def test_bad_candidates_are_named(mini):
    with pytest.raises(ModelError, match="'W1' is not a have"):
        optimise(mini, candidates=make_candidates([("W1", "W2", 1.0)]))
    with pytest.raises(ModelError, match="distance_km"):
        optimise(mini, candidates=pd.DataFrame({"have_id": ["H1"], "want_id": ["W1"]}))


def _two_parks(seed: int):
    """Two random groups of haves and wants that share no candidate pair."""
    a_inv, a = random_case(4, 4, 0.7, seed, fixed_cost_synergy=1500.0)
    b_inv, b = random_case(4, 4, 0.7, seed + 1, fixed_cost_synergy=1500.0)
    rename = lambda s: "B" + s  # noqa: E731
    res_b = b_inv.resources.assign(resource_id=lambda d: d["resource_id"].map(rename),
                                   site_id=lambda d: d["site_id"].map(rename))
    sites_b = b_inv.sites.assign(site_id=lambda d: d["site_id"].map(rename))
    from flowmatch.inputs.inventory import build_inventory

    cols = ["resource_id", "site_id", "role", "category", "type", "quantity", "unit", "cost", "co2", "route"]
    inv = build_inventory({"sites": pd.concat([a_inv.sites, sites_b])[["site_id", "lat", "lon"]],
                           "resources": pd.concat([a_inv.resources[cols], res_b[cols]])},
                          params=a_inv.params)
    cands = pd.concat([a, b.assign(have_id=b["have_id"].map(rename), want_id=b["want_id"].map(rename))],
                      ignore_index=True)
    return inv, cands


def test_components_solve_apart_as_together(tmp_path, monkeypatch, caplog):
    inv, cands = _two_parks(21)
    import flowmatch.milp.blocks as opt

    with monkeypatch.context() as m:
        m.setattr(opt, "BUNDLE_MAX_INT", 10**9)  # every component in one bundle: one block
        whole = optimise(inv, candidates=cands, gap=0.0)
    assert whole.summary["n_solves"] == 1

    monkeypatch.setattr(opt, "BUNDLE_MAX_INT", -1)  # every component its own solve...
    split = optimise(inv, candidates=cands, gap=0.0, jobs=1)
    assert split.summary["n_components"] >= 2 and split.summary["n_solves"] == split.summary["n_components"]
    assert split.summary["objective"]["cost"] == pytest.approx(whole.summary["objective"]["cost"], rel=1e-7)
    monkeypatch.setattr(opt, "POOL_MIN_INT", 1)  # ...and in a process pool
    with caplog.at_level(logging.INFO, logger="flowmatch.milp.blocks"):
        pooled = optimise(inv, candidates=cands, gap=0.0, jobs=2)
    assert "in 2 processes" in caplog.text
    assert pooled.summary["objective"]["cost"] == pytest.approx(whole.summary["objective"]["cost"], rel=1e-7)
    _balance_ok(pooled, inv)


def test_time_limit_gives_best_plan_and_gap():
    # 60 x 60: on the scaled model (milp/scaling.py) HiGHS closed the 40 x 40 case's gap within
    # 0.5 s in about half the runs; this one stays open at about 3%
    inv, cands = random_case(60, 60, 0.5, 3, fixed_cost_synergy=3000.0)
    plan = optimise(inv, candidates=cands, time_limit=0.5, gap=0.0)
    assert plan.status == "time_limit" and plan.summary["status"] == "time_limit"
    assert plan.gap > 0 and plan.summary["gap"] == pytest.approx(plan.gap)
    assert plan.summary["objective"]["cost"] < plan.summary["baseline"]["cost"]
    _balance_ok(plan, inv)
    assert f"stopped at the time limit with a gap of {100 * plan.gap:.2f}%, requested 0%" in plan.text_summary()
    blocks = plan.summary["blocks"]
    assert any(b["status"] == "time_limit" for b in blocks)
    assert all(b["objective"] >= b["bound"] - 1e-6 * abs(b["objective"]) for b in blocks)


def test_infrastructure_cuts_transport_and_fixed_cost():
    from dataclasses import replace

    res = [{"id": "H1", "role": "have", "quantity": 100, "cost": 50, "site": "A"},
           {"id": "W1", "role": "want", "quantity": 100, "cost": 100, "site": "B"},
           {"id": "W2", "role": "want", "quantity": 100, "cost": 100, "site": "C"}]
    inv = make_inventory(res, fixed_cost_synergy=5000.0)
    cands = make_candidates([("H1", "W1", 20.0), ("H1", "W2", 30.0)])
    to = lambda p: set(p.flows.loc[p.flows["mode"] == "direct", "want_id"])  # noqa: E731
    assert to(optimise(inv, candidates=cands, gap=0.0)) == {"W1"}
    net = pd.DataFrame({"from_site": ["C"], "to_site": ["A"], "category": ["material"],
                        "transport_cost_factor": [0.1], "fixed_cost_factor": [0.5]})
    plan = optimise(replace(inv, infrastructure=net), candidates=cands, gap=0.0)
    assert to(plan) == {"W2"}
    row = plan.flows[plan.flows["mode"] == "direct"].iloc[0]
    p = inv.params
    expected = 100 * 30 * (0.1 * p.transport_cost_t_km + p.co2_kg_t_km * p.carbon_price / 1000) + 2500.0
    assert row["cost"] == pytest.approx(expected)


def test_infeasibility_found_by_elimination():
    """When the LP relaxation is feasible, the groups of rows to blame are named."""
    from flowmatch.milp.builder import ModelBuilder
    from flowmatch.milp.optimise import explain_infeasible

    mb = ModelBuilder()
    x = mb.add_vars(1, 0.0, 10.0, name="flow[H1>W1]")
    y = mb.add_vars(1, 0.0, 1.0, integer=True, name="use[H1>W1]")
    mb.add_rows(np.zeros(2, int), np.r_[x, y], np.array([1.0, -8.0]), 0.0, np.inf, name="link_min[H1>W1]")
    mb.add_rows(np.zeros(1, int), x, np.ones(1), 3.0, 5.0, name="want[W1]")
    text = explain_infeasible(mb.build())
    # 3 <= x <= 5 and x >= 8 y: y = 0.5 would do, y in {0, 1} cannot
    assert "link_min" in text and "want" in text


def test_synergy_part_declares_balances_for_other_parts(mini, mini_cands):
    """Milk rounds join the have balances the synergy part declares on the builder; the
    declared indices must point at them."""
    from flowmatch.milp.builder import ModelBuilder
    from flowmatch.milp.synergies import SynergyPart

    part = SynergyPart(mini, mini_cands)
    mb = ModelBuilder()
    mb.add_vars(2, name="before")  # another part's variables come first
    part.add_to(mb)
    extra = mb.add_vars(1, 0.0, 5000.0, name="collect[H1]")
    mb.add_entries(np.array([mb.balances["H1"].row]), extra, np.ones(1))
    model = mb.build()
    assert model.row_names[mb.balances["H1"].row] == "have[H1]"
    assert model.row_names[mb.balances["W2"].row] == "want[W2]"
    assert model.var_names[mb.balances["H2"].slack] == "disposal[H2]"
    assert model.var_names[mb.balances["W1"].slack] == "virgin[W1]"
    x = np.zeros(model.n_vars)
    part.warm_start(x)
    x[extra] = 3000.0  # the other part collects 3,000 t of H1, taken off its disposal
    x[mb.balances["H1"].slack] -= 3000.0
    ax = model.A @ x
    assert ax[mb.balances["H1"].row] == pytest.approx(120000.0)
    assert np.all(ax >= model.row_lb - 1e-6) and np.all(ax <= model.row_ub + 1e-6)


def test_cli_optimise_writes_plan_and_prints_summary(tmp_path, monkeypatch, capsys, mini_dir, mini_cands):
    """The command a user runs, with the matcher replaced by fixed candidates."""
    import sys
    import types

    from flowmatch.cli import main

    fake = types.ModuleType("flowmatch.matching.candidates")
    fake.match = lambda inv, **kw: mini_cands
    monkeypatch.setitem(sys.modules, "flowmatch.matching.candidates", fake)
    out = tmp_path / "out"
    rc = main(["optimise", str(mini_dir), "-o", str(out), "--solver", "cbc", "--objective", "landfill",
               "--write-lp", str(tmp_path / "m.lp")])
    assert rc == 0
    text = capsys.readouterr().out
    assert "landfill t" in text and "baseline" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["minimised"] == "landfill" and summary["solver"] == "cbc"
    assert summary["objective"]["landfill_t"] == pytest.approx(70000.0)
    assert "flow_H1_W1_" in (tmp_path / "m.lp").read_text()
    rc = main(["optimise", str(mini_dir), "-o", str(out), "--time-limit", "0"])
    assert rc == 2 and "time_limit must be a positive" in capsys.readouterr().err


def test_baseline_prices_defaults_by_category():
    from flowmatch.plans.summary import baseline

    res = [{"id": "HL", "role": "have", "quantity": 10, "cost": 30, "route": "landfill"},  # given + tax
           {"id": "HN", "role": "have", "quantity": 10},  # route empty: landfilled at default price
           {"id": "HI", "role": "have", "quantity": 10, "route": "incineration"},  # no default price
           {"id": "HW", "role": "have", "quantity": 100, "category": "water"},
           {"id": "WE", "role": "want", "quantity": 5, "category": "energy"},
           {"id": "WM", "role": "want", "quantity": 10}]
    # the water and heat resources carry what the cascades need: a concentration, a temperature
    props = [{"resource_id": "HW", "property": "cod_mg_l", "value": 50.0},
             {"resource_id": "WE", "property": "temperature_c", "min": 120.0}]
    inv = make_inventory(res, props, landfill_tax=7.0, carbon_price=0.0, virgin_price_t=11.0)
    p = inv.params
    b = baseline(inv)
    cost = (10 * (30 + 7) + 10 * (p.landfill_price + 7) + 0 + 100 * p.wastewater_price
            + 5 * p.hot_utility_price + 10 * 11.0)
    co2 = (20 * p.landfill_co2_kg_t + 100 * p.wastewater_co2_kg_m3 + 5 * p.hot_utility_co2_kg_mwh)
    assert b["cost"] == pytest.approx(cost)
    assert b["co2_t"] == pytest.approx(co2 / 1000)
    assert b["landfill_t"] == pytest.approx(20.0)
    plan = optimise(inv, candidates=make_candidates([]))
    assert plan.summary["objective"] == pytest.approx(b)
    cats = plan.summary["by_category"]
    assert cats["water"]["disposed"] == pytest.approx(100.0) and cats["energy"]["virgin"] == pytest.approx(5.0)
