"""Expert rules: the rules table read and checked, obeyed by matching and the optimiser,
and reported in the plan."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from optimise_cases import brute_force_cost, make_candidates, make_inventory, random_case

from flowmatch.cli import main
from flowmatch.errors import InventoryError, ModelError
from flowmatch.inputs.inventory import build_inventory, read_inventory
from flowmatch.matching.candidates import match
from flowmatch.milp.optimise import optimise

RULE_COLS = ["rule_id", "action", "have", "want", "value", "reason"]


def with_rules(inv, rows):
    """``inv`` rebuilt with a rules table of ``rows`` (tuples in ``RULE_COLS`` order)."""
    rules = pd.DataFrame([dict(zip(RULE_COLS, r, strict=False)) for r in rows], columns=RULE_COLS)
    return build_inventory({**inv.tables, "rules": rules}, params=inv.params)


def mini(tmp_path, rules_csv: str | None):
    """A copy of datasets/mini, with ``rules.csv`` when given."""
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "datasets" / "mini"
    dst = tmp_path / "mini"
    shutil.copytree(src, dst)
    if rules_csv is not None:
        (dst / "rules.csv").write_text(rules_csv)
    return dst


def _problems(exc) -> list:
    return list(exc.value.problems)


# --------------------------------------------------------------------------- reading and checking


def test_rules_resolve_ids_types_sites_and_any(tmp_path):
    inv = read_inventory(mini(tmp_path, "rule_id,action,have,want,value,reason\n"
                                        "R1,cap,H1,W1,50000,contract\n"
                                        "R2,forbid,ewc:10,site:CM1,,cement kiln refuses\n"
                                        "R3,min_size,*,raw:gypsum,1000,\n"))
    r = inv.rules.set_index("rule_id")
    assert r.at["R1", "have_ids"] == ("H1",) and r.at["R1", "want_ids"] == ("W1",)
    assert r.at["R2", "have_ids"] == ("H1", "H2") and r.at["R2", "want_ids"] == ("W2",)
    assert r.at["R3", "have_ids"] == ("H1", "H2") and r.at["R3", "want_ids"] == ("W1",)
    assert r.at["R1", "unit"] == "t" and np.isnan(r.at["R2", "value"])
    assert r.at["R2", "row"] == 2 and r.at["R1", "reason"] == "contract"


@pytest.mark.parametrize("row,column,needle", [
    ("R1,cap,H9,W1,5,", "have", "'H9' is neither"),
    ("R1,cap,W1,W1,5,", "have", "'W1' is a want, not a have"),
    ("R1,cap,H1,site:NOPE,5,", "want", "site 'NOPE' is not in the sites table"),
    ("R1,cap,H1,W1,,", "value", "a cap rule needs a value"),
    ("R1,min_size,H1,W1,,", "value", "a min_size rule needs a value"),
    ("R1,forbid,H1,W1,10,", "value", "a forbid rule takes no value"),
    ("R1,prefer,H1,W1,10,", "action", "'prefer' is not allowed"),
    ("R1,cap,H1,W1,-3,", "value", "negative"),
])
def test_bad_rules_name_file_row_and_column(tmp_path, row, column, needle):
    path = mini(tmp_path, "rule_id,action,have,want,value,reason\nR0,cap,H2,W2,1,\n" + row + "\n")
    with pytest.raises(InventoryError) as exc:
        read_inventory(path)
    hits = [p for p in _problems(exc) if needle in p.message]
    assert hits, [p.message for p in _problems(exc)]
    assert hits[0].file.endswith("rules.csv") and hits[0].row == 2 and hits[0].column == column
    assert hits[0].line == 3


def test_contradictory_rules_name_both_rows(tmp_path):
    path = mini(tmp_path, "rule_id,action,have,want,value,reason\n"
                          "F1,forbid,H1,*,,\n"
                          "X1,force,H1,W1,,\n"
                          "C1,cap,H2,W2,100,\n"
                          "X2,force,H2,W2,500,\n"
                          "M1,min_size,H2,W2,200,\n")
    with pytest.raises(InventoryError) as exc:
        read_inventory(path)
    msgs = {(p.row, p.message) for p in _problems(exc)}
    assert any(r == 2 and "rule X1 contradicts rule F1 (row 1)" in m for r, m in msgs)
    assert any(r == 4 and "rule X2 contradicts rule C1 (row 3)" in m for r, m in msgs)
    assert any(r == 5 and "rule M1 contradicts rule C1 (row 3)" in m for r, m in msgs)
    assert len(msgs) == 3


def test_value_needs_one_unit_and_force_needs_a_pair(tmp_path):
    res = [{"id": "H", "role": "have", "quantity": 10.0}, {"id": "K", "role": "want", "quantity": 10.0},
           {"id": "HW", "role": "have", "quantity": 10.0, "category": "water", "site": "SH"},
           {"id": "KW", "role": "want", "quantity": 10.0, "category": "water", "site": "SK"}]
    inv = make_inventory(res)
    sites = pd.DataFrame({"site_id": ["SH", "SK"]})
    tables = dict(inv.tables)
    tables["resources"] = tables["resources"].assign(site_id=["SH", "SK", "SH", "SK"])
    tables["sites"] = tables["sites"][tables["sites"]["site_id"].isin(sites["site_id"])]
    rules = pd.DataFrame([("R1", "cap", "site:SH", "site:SK", 5, ""), ("R2", "force", "H", "KW", None, "")],
                         columns=RULE_COLS)
    with pytest.raises(InventoryError) as exc:
        build_inventory({**tables, "rules": rules}, params=inv.params)
    msgs = [p.message for p in _problems(exc)]
    assert any("several units (m3, t)" in m for m in msgs)
    assert any("force rule can never hold" in m and "different categories" in m for m in msgs)


def test_rules_sheet_of_a_workbook(tmp_path):
    src = mini(tmp_path, None)
    book = tmp_path / "mini.xlsx"
    with pd.ExcelWriter(book) as xl:
        for name in ("sites", "resources"):
            pd.read_csv(src / f"{name}.csv").to_excel(xl, sheet_name=name, index=False)
        pd.DataFrame([("R1", "forbid", "H1", "W9", None, "")], columns=RULE_COLS).to_excel(
            xl, sheet_name="rules", index=False)
    with pytest.raises(InventoryError) as exc:
        read_inventory(book)
    (p,) = _problems(exc)
    assert p.file.endswith("[rules]") and p.row == 1 and p.column == "want" and p.line == 2


def test_cli_validate_counts_the_rules_and_warns_of_one_that_matches_nothing(tmp_path, capsys):
    path = mini(tmp_path, "rule_id,action,have,want,value,reason\nR1,cap,H1,W1,5,\nR2,cap,H2,site:PB1,5,\n")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "valid (3 sites, 4 resources, 2 rules)" in out
    assert "warning:" not in out
    path = mini(tmp_path / "b", "rule_id,action,have,want,value,reason\nR1,forbid,H1,site:CM1,,\n")
    assert main(["validate", str(path)]) == 0
    assert "rule R1 matches no pair" not in capsys.readouterr().out  # H1 and W2 are both material
    path = mini(tmp_path / "c", "rule_id,action,have,want,value,reason\nR1,forbid,site:CM1,*,,\n")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "rules.csv row 1: rule R1 matches no pair" in out and "one side names no resource" in out
    assert "(3 sites, 4 resources, 1 rule)" in out


def test_describe_counts_the_rules_by_action(tmp_path, capsys):
    path = mini(tmp_path, "rule_id,action,have,want,value,reason\nR1,cap,H1,W1,5,\nR2,forbid,H2,*,,\n"
                          "R3,cap,H2,W2,7,\n")
    assert main(["describe", str(path)]) == 0
    assert "expert rules: 3 (cap 2, forbid 1)" in capsys.readouterr().out


def test_cli_validate_exits_2_on_a_bad_rule(tmp_path, capsys):
    path = mini(tmp_path, "rule_id,action,have,want,value,reason\nR1,cap,H1,W1,,\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "rules.csv" in err and "needs a value" in err and "Traceback" not in err


# --------------------------------------------------------------------------- matching


def test_forbid_removes_candidates_and_force_adds_a_pair(tmp_path):
    base = read_inventory(mini(tmp_path, None))
    before = match(base)
    assert {("H1", "W1"), ("H2", "W2")} <= set(zip(before["have_id"], before["want_id"], strict=True))
    inv = with_rules(base, [("F1", "forbid", "H1", "W1", None, "")])
    cands = match(inv)
    assert ("H1", "W1") not in set(zip(cands["have_id"], cands["want_id"], strict=True))
    assert cands.attrs["rules_removed"] == {"F1": 1}
    # a pair the search leaves out (W1 takes nothing from beyond 1 km; H1 is 3.5 km away) comes back
    # when forced, measured and ranked last of its want
    res = base.tables["resources"].assign(max_distance_km=["", "", "1", ""])
    near = build_inventory({**base.tables, "resources": res}, params=base.params)
    kept = match(near)
    assert ("H1", "W1") not in set(zip(kept["have_id"], kept["want_id"], strict=True))
    forced = match(with_rules(near, [("X1", "force", "H1", "W1", None, "")]))
    row = forced[(forced["have_id"] == "H1") & (forced["want_id"] == "W1")]
    assert len(row) == 1 and row["distance_km"].iloc[0] == pytest.approx(3.49, abs=0.01)
    assert row["rank"].iloc[0] == int(kept.loc[kept["want_id"] == "W1", "rank"].max() if (kept["want_id"] == "W1").any() else 0) + 1
    plan = optimise(with_rules(near, [("X1", "force", "H1", "W1", 1000.0, "")]))
    assert plan.flows.loc[(plan.flows["have_id"] == "H1") & (plan.flows["want_id"] == "W1"),
                          "quantity"].sum() >= 1000.0 - 1e-6


def test_force_of_incompatible_types_is_named(tmp_path):
    path = mini(tmp_path, "rule_id,action,have,want,value,reason\nX1,force,H1,W2,,\n")
    inv = read_inventory(path)  # a type mismatch needs the knowledge base: found in matching
    with pytest.raises(InventoryError) as exc:
        match(inv)
    (p,) = _problems(exc)
    assert p.row == 1 and "rules.csv" in p.file and "cannot serve" in p.message


# --------------------------------------------------------------------------- the optimiser


def _random_rules(inv, cands, rng) -> list[tuple]:
    pairs = list(zip(cands["have_id"], cands["want_id"], strict=True))
    res = inv.resources.set_index("resource_id")["quantity"]
    out = []
    for k in range(int(rng.integers(1, 4))):
        action = str(rng.choice(["forbid", "cap", "force", "min_size"]))
        if rng.random() < 0.7 and pairs:
            h, w = pairs[int(rng.integers(len(pairs)))]
        else:
            h, w = str(rng.choice(cands["have_id"].unique())), "*"
        most = res[h] if w == "*" else min(res[h], res[w])
        value = None if action == "forbid" else float(np.round(rng.uniform(0.2, 1.1) * most, 1))
        if action == "force" and rng.random() < 0.3:
            value = None
        out.append((f"R{k}", action, h, w, value, ""))
    return out


@pytest.mark.parametrize("seed", range(8))
def test_rules_match_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    inv, cands = random_case(3, 2, 0.8, seed=seed, min_synergy_flow=float(rng.choice([0.0, 5.0])))
    try:
        inv = with_rules(inv, _random_rules(inv, cands, rng))
    except InventoryError:  # random rules that contradict each other: checked elsewhere
        pytest.skip("contradictory random rules")
    expected = brute_force_cost(inv, cands, inv.rules)
    if not np.isfinite(expected):
        with pytest.raises(ModelError, match=r"rule R\d"):
            optimise(inv, candidates=cands, gap=1e-9)
        return
    plan = optimise(inv, candidates=cands, gap=1e-9)
    assert plan.summary["objective"]["cost"] == pytest.approx(expected, rel=1e-6, abs=1e-3)
    _check_obeyed(plan, inv)


def _check_obeyed(plan, inv) -> None:
    """Every rule holds on the plan's flows, and the summary's rule flows are sums of flow rows."""
    f = plan.flows[~plan.flows["mode"].isin(["disposal", "virgin"])]
    rep = {r["rule_id"]: r for r in plan.summary["rules"]}
    for r in inv.rules.itertuples(index=False):
        under = f[f["have_id"].isin(r.have_ids) & f["want_id"].isin(r.want_ids)]
        q = float(under["quantity"].sum())
        assert rep[r.rule_id]["flow"] == pytest.approx(q, abs=1e-6)
        assert rep[r.rule_id]["flow_in_plan"] == pytest.approx(q, abs=1e-6) and rep[r.rule_id]["held"]
        if r.action == "forbid":
            assert under.empty
        elif r.action == "cap":
            assert q <= r.value + 1e-6
        elif r.action == "force":
            assert q >= (r.value if r.value == r.value else 1.0) - 1e-6
        elif r.action == "min_size":
            per = under.groupby(["have_id", "want_id"])["quantity"].sum()
            assert (per >= r.value - 1e-6).all()


def _pair_case(**params):
    """H1 (100 t) and H2 (60 t) can both serve W1 (120 t); disposal is dear, H1 is nearer."""
    res = [{"id": "H1", "role": "have", "quantity": 100.0, "cost": 200.0},
           {"id": "H2", "role": "have", "quantity": 60.0, "cost": 200.0},
           {"id": "W1", "role": "want", "quantity": 120.0, "cost": 100.0}]
    return make_inventory(res, **params), make_candidates([("H1", "W1", 2.0), ("H2", "W1", 5.0)])


def test_each_action_bends_the_plan_and_says_so():
    inv, cands = _pair_case(fixed_cost_synergy=0.0)
    free = optimise(inv, candidates=cands, gap=1e-9).flows.set_index(["have_id", "want_id"])["quantity"]
    assert free[("H1", "W1")] == pytest.approx(100.0) and free[("H2", "W1")] == pytest.approx(20.0)
    cases = {
        ("F", "forbid", "H1", "W1", None): {("H2", "W1"): 60.0},
        ("C", "cap", "*", "W1", 90.0): {("H1", "W1"): 90.0},
        ("X", "force", "H2", "W1", 50.0): {("H1", "W1"): 70.0, ("H2", "W1"): 50.0},
        # H2 at 30 t saves more disposal than its 20 t free share: it runs at exactly its minimum
        ("M", "min_size", "H2", "W1", 30.0): {("H1", "W1"): 90.0, ("H2", "W1"): 30.0},
    }
    for (rid, action, h, w, v), want in cases.items():
        plan = optimise(with_rules(inv, [(rid, action, h, w, v, "test")]), candidates=cands, gap=1e-9)
        got = plan.flows[plan.flows["mode"] == "direct"].set_index(["have_id", "want_id"])["quantity"]
        assert got.to_dict() == pytest.approx(want), action
        (rep,) = plan.summary["rules"]
        assert rep["binding"], action
        assert rep["links"] == (2 if h == "*" else 1)
        assert "rules: 1, 1 binding (" + rid + ")" in plan.text_summary()
    # a minimum H2 cannot reach at a saving switches its link off
    plan = optimise(with_rules(inv, [("M", "min_size", "H2", "W1", 70.0, "")]), candidates=cands, gap=1e-9)
    got = plan.flows[plan.flows["mode"] == "direct"].set_index(["have_id", "want_id"])["quantity"]
    assert got.to_dict() == pytest.approx({("H1", "W1"): 100.0})


@pytest.mark.parametrize("rule", [("C", "cap", "*", "W1", 90.0), ("X", "force", "H2", "W1", 50.0)])
def test_marginal_is_what_one_more_unit_is_worth(rule):
    inv, cands = _pair_case(fixed_cost_synergy=0.0)
    rid, action, h, w, v = rule
    plans = [optimise(with_rules(inv, [(rid, action, h, w, v + dv, "")]), candidates=cands, gap=1e-9)
             for dv in (0.0, 1.0)]
    cost = [p.summary["objective"]["cost"] for p in plans]
    (rep,) = plans[0].summary["rules"]
    assert rep["marginal"] == pytest.approx(cost[1] - cost[0], rel=1e-6)
    assert (rep["marginal"] < 0) == (action == "cap")


def test_a_loose_rule_is_not_binding():
    inv, cands = _pair_case(fixed_cost_synergy=0.0)
    plan = optimise(with_rules(inv, [("C", "cap", "H1", "W1", 150.0, ""), ("M", "min_size", "H2", "W1", 5.0, "")]),
                    candidates=cands, gap=1e-9)
    rep = {r["rule_id"]: r for r in plan.summary["rules"]}
    assert not rep["C"]["binding"] and rep["C"]["slack"] == pytest.approx(50.0)
    assert rep["C"]["marginal"] == pytest.approx(0.0, abs=1e-9) and rep["M"]["marginal"] is None
    assert not rep["M"]["binding"] and rep["M"]["slack"] == pytest.approx(15.0)


def test_force_that_cannot_be_met_explains_itself():
    inv, cands = _pair_case()
    with pytest.raises(ModelError) as exc:
        optimise(with_rules(inv, [("R3", "force", "H2", "W1", 80.0, "contract")]), candidates=cands)
    assert "rule R3 (force H2 -> W1, at least 80 t a year: contract)" in str(exc.value)


def test_force_without_a_link_is_named():
    inv, cands = _pair_case()
    with pytest.raises(ModelError, match=r"rule R4 \(force H2 -> W1.*no link from H2 to W1"):
        optimise(with_rules(inv, [("R4", "force", "H2", "W1", None, "")]), candidates=cands.iloc[:1])


@pytest.mark.parametrize("seed", range(4))
def test_forbidden_pairs_never_flow(seed):
    rng = np.random.default_rng(seed)
    inv, cands = random_case(5, 4, 0.7, seed=seed, fixed_cost_synergy=0.0)
    pairs = list(zip(cands["have_id"], cands["want_id"], strict=True))
    picked = [pairs[i] for i in rng.choice(len(pairs), size=min(4, len(pairs)), replace=False)]
    inv = with_rules(inv, [(f"F{k}", "forbid", h, w, None, "") for k, (h, w) in enumerate(picked)])
    plan = optimise(inv, candidates=cands)
    moved = set(zip(plan.flows["have_id"], plan.flows["want_id"], strict=True))
    assert not moved & set(picked)
    _check_obeyed(plan, inv)


def test_rules_reach_milk_rounds():
    from test_milkrounds import cluster_inventory

    inv, cands = cluster_inventory()
    plan = optimise(inv, candidates=cands, gap=1e-6)
    assert (plan.flows["mode"] == "milk_round").sum() == 5
    ruled = with_rules(inv, [("F", "forbid", "C3_waste", "W", None, ""), ("C", "cap", "C1_waste", "*", 10.0, "")])
    plan = optimise(ruled, candidates=cands, gap=1e-6)
    f = plan.flows
    assert f.loc[f["have_id"].isin(["C1_waste", "C3_waste"]), "mode"].eq("disposal").all()
    assert (f["mode"] == "milk_round").sum() == 3
    _check_obeyed(plan, ruled)


def test_rules_reach_the_water_cascade(data_dir):
    inv = read_inventory(data_dir / "wang_smith_1994")
    free = optimise(inv).flows
    assert ((free["have_id"] == "S2") & (free["want_id"] == "D3")).any()
    ruled = with_rules(inv, [("F", "forbid", "S2", "D3", None, "pipe corridor blocked"),
                             ("C", "cap", "S2", "site:SK2", 100000.0, "")])
    plan = optimise(ruled)
    _check_obeyed(plan, ruled)
    assert plan.summary["by_category"]["water"]["virgin"] > free[free["mode"] == "virgin"]["quantity"].sum()
    assert {r["rule_id"]: r["binding"] for r in plan.summary["rules"]} == {"F": True, "C": True}


def test_plan_folder_and_report_show_the_rules(tmp_path):
    path = mini(tmp_path, "rule_id,action,have,want,value,reason\n"
                          "R1,cap,H1,W1,50000,contract limit\nR2,forbid,H2,W2,,\n")
    out = tmp_path / "plan"
    assert main(["optimise", str(path), "-o", str(out), "--report"]) == 0
    rules = {r["rule_id"]: r for r in json.loads((out / "summary.json").read_text())["rules"]}
    flows = pd.read_csv(out / "flows.csv")
    h1w1 = flows[(flows["have_id"] == "H1") & (flows["want_id"] == "W1")]["quantity"].sum()
    assert rules["R1"]["flow"] == pytest.approx(h1w1) == pytest.approx(50000.0)
    assert rules["R1"]["binding"] and rules["R1"]["reason"] == "contract limit"
    assert rules["R2"]["candidates_removed"] == 1 and rules["R2"]["links"] == 0
    html = (out / "report.html").read_text()
    assert 'id="t-rules"' in html and "contract limit" in html
    sheet = pd.read_excel(out / "plan.xlsx", sheet_name="rules")
    assert sheet.set_index("rule_id").at["R1", "flow"] == pytest.approx(50000.0)
    summary = pd.read_excel(out / "plan.xlsx", sheet_name="summary").set_index("key")["value"]
    assert summary["rules"] == "2 rules: see the rules sheet"


def test_rules_reach_steam_let_down_and_say_what_they_cannot():
    from test_cascades_parts import _steam

    # since issue 11, let-down keeps dt_min_k like an exchanger, so steam hot enough to be let
    # down can also pass through the heat cascade, which rules do not reach: the cap holds on
    # the let-down variable and the rule's note says the heat cascade is not bound
    inv = _steam("energy:steam:mp", 195, "energy:steam:mp", 180)
    assert optimise(inv).flows.query("mode == 'cascade'")["quantity"].sum() == pytest.approx(100.0)
    ruled = with_rules(inv, [("C", "cap", "G", "N", 30.0, "valve rating")])
    plan = optimise(ruled)
    (rep,) = plan.summary["rules"]
    assert rep["links"] == 1 and rep["flow"] <= 30.0 + 1e-6
    assert "heat cascade is not bound" in rep["note"]
    # ... and the plan says plainly that its rows do not keep the cap
    assert rep["flow_in_plan"] == pytest.approx(100.0) and rep["held"] is False
    assert "rules NOT held by the plan's rows: C" in plan.text_summary()
    # a rule from any have to a material want touches no heat pair: no note
    inv2 = build_inventory({**inv.tables, "resources": pd.concat([inv.tables["resources"], pd.DataFrame([
        {"resource_id": "M", "site_id": "A", "role": "want", "category": "material", "type": "raw:gypsum",
         "quantity": 5, "unit": "t"}])], ignore_index=True), "rules": pd.DataFrame(
        [("C", "cap", "*", "M", 1.0, "")], columns=RULE_COLS)}, params=inv.params)
    assert optimise(inv2).summary["rules"][0]["note"] == "no link of the model matches it"


def test_rules_that_only_the_yes_no_choices_break_are_named():
    # the link runs at 50 t or not at all, the cap allows 30 and the force wants 20: the
    # relaxation is feasible (a part-built link), the plan is not
    inv, cands = _pair_case(min_synergy_flow=50.0)
    rules = [("C", "cap", "H2", "W1", 30.0, "permit"), ("X", "force", "H2", "W1", 20.0, "contract")]
    with pytest.raises(ModelError) as exc:
        optimise(with_rules(inv, rules), candidates=cands)
    msg = str(exc.value)
    assert "yes/no choices" in msg
    assert "rule C (cap H2 -> W1, at most 30 t a year: permit)" in msg
    assert "rule X (force H2 -> W1, at least 20 t a year: contract)" in msg
