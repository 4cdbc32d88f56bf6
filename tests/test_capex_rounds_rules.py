"""Capital costs on milk rounds and on expert rules, against optima worked out by hand.

A have's ``capex`` is paid once when a milk round collects it (the round's
binary carries it); a rule's ``capex`` is paid once when any flow it covers
runs (its own binary), and in ``synergies.csv`` it is shared among the
synergies the rule covers in proportion to quantity, so the rows still add up
to the headline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from optimise_cases import brute_force_cost, random_case
from test_milkrounds import cluster_inventory
from test_synergies_money import _assert_adds_up

from flowmatch.errors import InventoryError
from flowmatch.inputs.inventory import build_inventory, read_inventory
from flowmatch.milp.capex import capital_recovery_factor
from flowmatch.milp.optimise import optimise

CRF_10 = 0.08 * 1.08 ** 10 / (1.08 ** 10 - 1)  # discount_rate 0.08 over 10 years, by hand
RULE_COLS = ["rule_id", "action", "have", "want", "value", "reason", "capex", "lifetime_years"]


def _with_have_capex(inv, capex: dict[str, float], life: float = 10.0):
    res = inv.tables["resources"].copy()
    res["capex"] = [capex.get(r, np.nan) for r in res["resource_id"]]
    res["lifetime_years"] = life
    return build_inventory({**inv.tables, "resources": res}, params=inv.params)


def _with_rules(inv, rows):
    rules = pd.DataFrame([dict(zip(RULE_COLS, r, strict=False)) for r in rows], columns=RULE_COLS)
    return build_inventory({**inv.tables, "rules": rules}, params=inv.params)


# --------------------------------------------------------------------------- milk rounds


def test_a_collected_haves_capital_is_paid_once_on_its_round():
    inv, cands = cluster_inventory()
    base = optimise(inv, candidates=cands, gap=1e-9)
    # each small have needs a 500-a-year dryer to be pooled: the round still pays (7200 disposal each)
    caps = {f"C{i}_waste": 500.0 / CRF_10 for i in range(1, 6)}
    plan = optimise(_with_have_capex(inv, caps), candidates=cands, gap=1e-9)
    s = _assert_adds_up(plan, plan_inv := _with_have_capex(inv, caps))
    milk = s[s["mode"] == "milk_round"].set_index("have_id")
    assert sorted(milk.index) == sorted(caps)
    np.testing.assert_allclose(milk["capex_annual"], 500.0, rtol=1e-9)
    # the route's transport is its vehicle cost alone (routes.csv), the capital apart
    r = plan.routes.iloc[0]
    cash = float(r["cost"]) - float(r["co2_kg"]) / 1000 * plan_inv.params.carbon_price
    assert milk["transport"].sum() == pytest.approx(cash, rel=1e-9)
    np.testing.assert_allclose(milk["payback_years"], (500.0 / CRF_10) / (milk["net_cash"] + 500.0), rtol=1e-9)
    # same routes as without capital, 5 x 500 a year dearer
    assert plan.summary["objective"]["cost"] == pytest.approx(base.summary["objective"]["cost"] + 2500.0,
                                                               rel=1e-9)


def test_a_capital_that_does_not_pay_keeps_that_have_off_the_round():
    inv, cands = cluster_inventory()
    # C1's dryer costs 8000 a year, more than its disposal (24 t x 300 = 7200): C1 is disposed of
    plan = optimise(_with_have_capex(inv, {"C1_waste": 8000.0 / CRF_10}), candidates=cands, gap=1e-9)
    f = plan.flows
    c1 = f[f["have_id"] == "C1_waste"]
    assert list(c1["want_id"]) == ["DISPOSAL"]
    assert set(f.loc[f["mode"] == "milk_round", "have_id"]) == {f"C{i}_waste" for i in range(2, 6)}
    assert (plan.synergies["capex_annual"] == 0).all()


# --------------------------------------------------------------------------- rules


def test_a_rules_capital_is_paid_once_and_shared_by_quantity(mini_dir):
    inv = read_inventory(mini_dir)
    base = optimise(inv)
    got = base.synergies.set_index("have_id")
    assert set(got.index) == {"H1", "H2"}
    # one treatment unit serving both haves' synergies: paid once, split by quantity
    ruled = _with_rules(inv, [("T1", "cap", "*", "*", 1e9, "treatment unit", 1_000_000.0, 10.0)])
    plan = optimise(ruled)
    s = _assert_adds_up(plan, ruled)
    ann = 1_000_000.0 * CRF_10
    assert s["capex_annual"].sum() == pytest.approx(ann, rel=1e-9)
    np.testing.assert_allclose(s["capex_annual"], ann * s["quantity"] / s["quantity"].sum(), rtol=1e-9)
    assert plan.summary["objective"]["cost"] == pytest.approx(base.summary["objective"]["cost"] + ann, rel=1e-9)
    # payback: each synergy's share of the capital over its yearly cash before capital
    share = 1_000_000.0 * s["quantity"] / s["quantity"].sum()
    np.testing.assert_allclose(s["payback_years"], share / (s["net_cash"] + s["capex_annual"]), rtol=1e-9)


def test_a_rules_capital_that_does_not_pay_drops_the_synergies_it_covers(mini_dir):
    inv = read_inventory(mini_dir)
    gain = float(optimise(inv).synergies.set_index("have_id").loc["H1", "net_total"])
    ruled = _with_rules(inv, [("T1", "cap", "H1", "*", 1e9, "dryer", 1.5 * gain / CRF_10, 10.0),
                              ("T2", "cap", "H2", "W2", 1e9, "conveyor", 100_000.0, 10.0),
                              ("C1", "cap", "H2", "*", 1e9, "", None, None)])
    plan = optimise(ruled)
    s = _assert_adds_up(plan, ruled)
    assert set(s["have_id"]) == {"H2"}
    np.testing.assert_allclose(s["capex_annual"], 100_000.0 * CRF_10, rtol=1e-9)
    # the plan's rules section says which capital it pays
    rules = {r["rule_id"]: r for r in plan.summary["rules"]}
    assert rules["T1"]["built"] is False and rules["T1"]["capex_annual"] == pytest.approx(1.5 * gain)
    assert rules["T2"]["built"] is True and rules["T2"]["capex_annual"] == pytest.approx(100_000.0 * CRF_10)
    assert rules["C1"]["built"] is None and rules["C1"]["capex_annual"] is None


@pytest.mark.parametrize("seed", range(6))
def test_rule_capital_matches_brute_force(seed):
    rng = np.random.default_rng(700 + seed)
    inv, cands = random_case(3, 2, 0.9, seed=seed, fixed_cost_synergy=500.0)
    pairs = list(zip(cands["have_id"], cands["want_id"], strict=True))
    rows = []
    for k in range(int(rng.integers(1, 3))):
        h, w = pairs[int(rng.integers(len(pairs)))]
        action = str(rng.choice(["cap", "min_size"]))
        value = 1e6 if action == "cap" else 3.0
        rows.append((f"R{k}", action, h, str(rng.choice([w, "*"])), value, "",
                     float(rng.uniform(0.0, 6000.0)) / CRF_10, 10.0))
    inv = _with_rules(inv, rows)
    expected = brute_force_cost(inv, cands, inv.rules)
    plan = optimise(inv, candidates=cands, gap=1e-9)
    assert plan.summary["objective"]["cost"] == pytest.approx(expected, rel=1e-6, abs=1e-3)
    _assert_adds_up(plan, inv)


def test_a_rules_capital_uses_the_default_lifetime(mini_dir):
    inv = read_inventory(mini_dir)
    ruled = _with_rules(inv, [("T1", "cap", "H2", "W2", 1e9, "", 300_000.0, None)])
    plan = optimise(ruled)
    s = _assert_adds_up(plan, ruled).set_index("have_id")
    ann = 300_000.0 * float(capital_recovery_factor(0.08, inv.params.capex_lifetime_years))
    assert s.loc["H2", "capex_annual"] == pytest.approx(ann, rel=1e-9)


def test_capital_on_a_forbid_rule_is_refused_naming_the_column(mini_dir):
    inv = read_inventory(mini_dir)
    with pytest.raises(InventoryError) as exc:
        _with_rules(inv, [("F1", "forbid", "H1", "W1", None, "", 1000.0, 10.0)])
    (p,) = list(exc.value.problems)
    assert p.column == "capex" and "forbid" in p.message and "cap" in p.fix


def test_the_reports_rules_table_shows_each_rules_capital(mini_dir, tmp_path):
    from test_report_worth import _col, _table

    from flowmatch.plans.folder import write_plan
    from flowmatch.report.page import write_report

    inv = read_inventory(mini_dir)
    ruled = _with_rules(inv, [("T2", "cap", "H2", "W2", 1e9, "conveyor", 100_000.0, 10.0),
                              ("C1", "cap", "H1", "*", 1e9, "", None, None)])
    plan = optimise(ruled)
    write_plan(plan, tmp_path / "p", ruled)
    write_report(tmp_path / "p")
    heads, rows = _table((tmp_path / "p" / "report.html").read_text(encoding="utf-8"), "t-rules")
    assert dict(zip(_col(heads, rows, "rule"), _col(heads, rows, "built"), strict=True)) == {"T2": "yes", "C1": ""}
    cap = dict(zip(_col(heads, rows, "rule"), _col(heads, rows, "capital CNY /yr"), strict=True))
    assert float(cap["T2"]) == pytest.approx(100_000.0 * CRF_10)
