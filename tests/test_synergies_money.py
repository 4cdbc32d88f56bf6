"""What each synergy is worth (``synergies.csv``): the rows add up to the headline.

Every bundled dataset and random synthetic parks (direct synergies, milk
rounds, water and heat): the synergies' ``net_total`` adds up to baseline cost
minus plan cost and their ``co2_saved_t`` to the CO2 saved; capital costs are
annualised with the capital recovery factor and can make a synergy not pay.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from flowmatch import optimise, read_inventory
from flowmatch.milp.capex import capital_recovery_factor
from flowmatch.plans.folder import read_plan_folder, write_plan
from flowmatch.plans.synergies import SYNERGY_COLUMNS, check_synergy_sums

DATASETS = ("mini", "guigang", "power_cement_brewery", "caofeidian")


def _assert_adds_up(plan, inv) -> pd.DataFrame:
    s = plan.synergies
    assert list(s.columns) == SYNERGY_COLUMNS
    b, o = plan.summary["baseline"], plan.summary["objective"]
    scale = max(abs(b["cost"]), 1.0)
    assert s["net_total"].sum() == pytest.approx(b["cost"] - o["cost"], abs=1e-7 * scale)
    assert s["net_cash"].sum() == pytest.approx(b["cash"] - o["cash"], abs=1e-7 * scale)
    assert s["co2_saved_t"].sum() == pytest.approx(b["co2_t"] - o["co2_t"], abs=1e-7 * max(b["co2_t"], 1.0))
    # each row: its parts make its totals; carbon at the carbon price
    parts = (s["avoided_disposal"] + s["avoided_virgin"] - s["transport"] - s["operating"] - s["fixed"]
             - s["capex_annual"])
    np.testing.assert_allclose(s["net_cash"], parts, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(s["net_total"], s["net_cash"] + s["carbon_value"], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(s["carbon_value"], s["co2_saved_t"] * inv.params.carbon_price, rtol=1e-9,
                               atol=1e-6)
    # one row per flow that is not disposal or virgin; costs are not negative
    f = plan.flows
    assert len(s) == int(((f["want_id"] != "DISPOSAL") & (f["have_id"] != "VIRGIN")).sum())
    for c in ("transport", "operating", "capex_annual"):
        assert (s[c] >= -1e-6).all(), c
    assert (s["fixed"] >= -1e-6 * scale).all()
    # the cash/carbon split of the summary
    for d in (b, o):
        assert d["cash"] + d["carbon_cost"] == pytest.approx(d["cost"])
        assert d["carbon_cost"] == pytest.approx(d["co2_t"] * inv.params.carbon_price)
    return s


@pytest.mark.parametrize("name", DATASETS)
def test_every_bundled_dataset_adds_up(name, datasets_dir, tmp_path):
    inv = read_inventory(datasets_dir / name)
    plan = optimise(inv)
    s = _assert_adds_up(plan, inv)
    assert len(s) and s["net_total"].is_monotonic_decreasing
    write_plan(plan, tmp_path / "p", inv)
    pf = read_plan_folder(tmp_path / "p")
    assert pf.synergies is not None and len(pf.synergies) == len(s)
    assert pf.synergies["net_total"].sum() == pytest.approx(s["net_total"].sum())
    assert "synergies.csv" in (tmp_path / "p" / "manifest.json").read_text()


@pytest.mark.parametrize(("n", "seed", "params"), [
    (150, 2, {}),
    (150, 3, {"regeneration_cost_m3": 0.5, "pipe_capex_km": 200000.0, "heat_link_capex_km": 300000.0}),
    (300, 1, {"landfill_tax": 30.0, "carbon_price": 200.0}),
])
def test_random_synthetic_parks_add_up(n, seed, params, tmp_path):
    from flowmatch.inputs.synth import synth

    inv = read_inventory(synth(n, seed=seed, out=tmp_path / "park", fmt="csv"))
    if params:
        inv = inv.with_params(**params)
    plan = optimise(inv, time_limit=30)
    s = _assert_adds_up(plan, inv)
    modes = set(s["mode"])
    assert {"direct", "cascade", "milk_round"} <= modes, modes
    if params.get("pipe_capex_km"):
        piped = s[s["mode"].isin(["cascade", "regenerated"]) & (s["fixed"] + s["capex_annual"] > 0)]
        assert (piped["capex_annual"] > 0).any()
    if "regenerated" in modes:
        reg = s[s["mode"] == "regenerated"]
        np.testing.assert_allclose(reg["operating"], reg["quantity"] * 0.5, rtol=1e-9)


def test_milk_round_rows_share_their_route_cost(tmp_path):
    from flowmatch.inputs.synth import synth

    inv = read_inventory(synth(150, seed=2, out=tmp_path / "park", fmt="csv"))
    plan = optimise(inv, time_limit=30)
    s = plan.synergies
    milk = s[s["mode"] == "milk_round"]
    assert len(milk)
    routes = plan.routes.set_index("route_id")
    p = inv.params
    for rid, g in milk.groupby("route_id"):
        r = routes.loc[rid]
        cash = float(r["cost"]) - float(r["co2_kg"]) / 1000 * p.carbon_price
        assert g["transport"].sum() == pytest.approx(cash, rel=1e-9)  # the route's cash cost, all of it
        assert (g["fixed"] == 0).all()
        share = g["transport"] / g["transport"].sum()
        np.testing.assert_allclose(share, g["quantity"] / g["quantity"].sum(), rtol=1e-6)  # by load


def test_capital_recovery_factor_by_hand():
    # 8 % over 10 years: 0.08 * 1.08**10 / (1.08**10 - 1) = 0.149029...
    assert float(capital_recovery_factor(0.08, 10)) == pytest.approx(0.1490294887, rel=1e-9)
    assert float(capital_recovery_factor(0.0, 20)) == pytest.approx(0.05)
    # 1 year: pay it back with a year's interest
    assert float(capital_recovery_factor(0.05, 1)) == pytest.approx(1.05)


def _mini_with_capex(mini_dir, tmp_path, capex: float, life: float = 10.0):
    import shutil

    d = tmp_path / f"mini-{capex:g}"
    shutil.copytree(mini_dir, d)
    res = pd.read_csv(d / "resources.csv", dtype=str, keep_default_na=False)
    res["capex"] = ""
    res["lifetime_years"] = ""
    res.loc[res["resource_id"] == "H1", ["capex", "lifetime_years"]] = [f"{capex:g}", f"{life:g}"]
    res.to_csv(d / "resources.csv", index=False)
    return read_inventory(d)


def test_capex_is_annualised_and_charged(mini_dir, tmp_path):
    inv = _mini_with_capex(mini_dir, tmp_path, 2_000_000.0)
    plan = optimise(inv)
    s = _assert_adds_up(plan, inv).set_index("have_id")
    ann = 2_000_000.0 * 0.08 * 1.08 ** 10 / (1.08 ** 10 - 1)  # discount_rate 0.08, 10 years
    assert s.loc["H1", "capex_annual"] == pytest.approx(ann, rel=1e-9)
    assert s.loc["H2", "capex_annual"] == 0
    assert math.isnan(s.loc["H2", "payback_years"])
    before = s.loc["H1", "net_cash"] + ann
    assert s.loc["H1", "payback_years"] == pytest.approx(2_000_000.0 / before)
    base = optimise(read_inventory(mini_dir))
    assert plan.summary["objective"]["cost"] == pytest.approx(base.summary["objective"]["cost"] + ann, rel=1e-6)


def test_capex_that_does_not_pay_drops_the_synergy(mini_dir, tmp_path):
    base = optimise(read_inventory(mini_dir)).synergies
    gain = float(base.set_index("have_id").loc["H1", "net_total"])
    # a capital whose yearly charge is more than the synergy earns: the plan lands H1 as today
    inv = _mini_with_capex(mini_dir, tmp_path, gain * 1.5 / 0.149029, life=10)
    plan = optimise(inv)
    s = _assert_adds_up(plan, inv)
    assert "H1" not in set(s["have_id"]) and "H2" in set(s["have_id"])


def test_synergies_that_do_not_add_up_are_never_written(mini, tmp_path, caplog):
    import logging

    from flowmatch.errors import ModelError

    plan = optimise(mini)
    assert check_synergy_sums(plan.synergies, plan.summary) == []
    good = plan.synergies
    bad = good.copy()
    bad.loc[0, "net_total"] += 1000.0
    plan.synergies = bad
    with pytest.raises(ModelError, match="synergies do not add up"):
        write_plan(plan, tmp_path / "q", mini)
    assert not (tmp_path / "q").exists()
    # a folder changed by hand is read, and the reader says it does not add up
    plan.synergies = good
    write_plan(plan, tmp_path / "p", mini)
    bad.to_csv(tmp_path / "p" / "synergies.csv", index=False)
    from plan_fixture import seal

    seal(tmp_path / "p")
    with caplog.at_level(logging.WARNING, logger="flowmatch.plans.folder"):
        read_plan_folder(tmp_path / "p")
    assert any("net_total add up" in r.getMessage() for r in caplog.records)


def test_text_summary_shows_cash_and_carbon(mini):
    text = optimise(mini).text_summary()
    assert "cash CNY" in text and "carbon CNY" in text


def test_disposal_priced_otherwise_goes_to_that_haves_synergies(mini):
    from flowmatch.plans.synergies import synergy_table

    plan = optimise(mini)
    flows = plan.flows.copy()
    disp = (flows["have_id"] == "H1") & (flows["want_id"] == "DISPOSAL")
    assert disp.sum() == 1
    flows.loc[disp, "cost"] += 1000.0  # as if another cooler or price had served it
    flows.loc[disp, "co2_kg"] += 500.0
    before = synergy_table(plan.flows, mini).set_index("have_id")
    after = synergy_table(flows, mini).set_index("have_id")
    carbon = 500.0 / 1000 * mini.params.carbon_price
    assert after.loc["H1", "avoided_disposal"] == pytest.approx(before.loc["H1", "avoided_disposal"] - (1000 - carbon))
    assert after.loc["H1", "co2_saved_t"] == pytest.approx(before.loc["H1", "co2_saved_t"] - 0.5)
    assert after.loc["H2", "net_total"] == pytest.approx(before.loc["H2", "net_total"])
    assert after["net_total"].sum() == pytest.approx(before["net_total"].sum() - 1000.0)
