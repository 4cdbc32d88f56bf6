"""Water and heat targets: published answers and cross-checks against the LP."""

from __future__ import annotations

import numpy as np
import pytest
from cascade_helpers import inventory, solve_part, totals

from flowmatch.cli import main
from flowmatch.inputs.inventory import read_inventory
from flowmatch.milp.heat import HeatPart
from flowmatch.milp.targets import heat_targets, targets_text, water_cascade_target, water_targets
from flowmatch.milp.water import WaterPart

HOURS = 8000.0  # the default hours_per_year the test inventories use


# --------------------------------------------------------------------------- published cases


def test_wang_smith_1994_water_targets(data_dir):
    wt = water_targets(read_inventory(data_dir / "wang_smith_1994"))
    assert wt.fresh_water / HOURS == pytest.approx(90.0, rel=1e-6)
    assert wt.wastewater / HOURS == pytest.approx(90.0, rel=1e-6)
    assert wt.pinch_ppm == pytest.approx(100.0)
    # the water cascade alone gives the same answer as the network LP
    row = wt.by_contaminant.iloc[0]
    assert row["fresh_water"] / HOURS == pytest.approx(90.0, rel=1e-9)
    assert row["wastewater"] / HOURS == pytest.approx(90.0, rel=1e-9)
    assert row["pinch_ppm"] == pytest.approx(100.0)


def test_kemp_four_stream_heat_targets(data_dir):
    ht = heat_targets(read_inventory(data_dir / "kemp_4stream"))
    kw = 1000.0 / HOURS  # MWh a year -> kW
    assert ht.hot_utility * kw == pytest.approx(20.0, rel=1e-9)
    assert ht.cold_utility * kw == pytest.approx(60.0, rel=1e-9)
    assert ht.pinch_hot_c == pytest.approx(90.0)
    assert ht.pinch_cold_c == pytest.approx(80.0)


def test_smith_four_stream_heat_targets(data_dir):
    ht = heat_targets(read_inventory(data_dir / "smith_4stream"))
    mw = 1.0 / HOURS
    assert ht.hot_utility * mw == pytest.approx(7.5, rel=1e-9)
    assert ht.cold_utility * mw == pytest.approx(10.0, rel=1e-9)
    assert (ht.pinch_hot_c, ht.pinch_cold_c) == (pytest.approx(150.0), pytest.approx(140.0))


def test_targets_cli_prints_the_published_targets(capsys, data_dir):
    assert main(["targets", str(data_dir / "wang_smith_1994")]) == 0
    out = capsys.readouterr().out
    assert "90 m3/h" in out and "pinch                100 ppm" in out
    assert main(["targets", str(data_dir / "kemp_4stream")]) == 0
    out = capsys.readouterr().out
    assert "(20 kW at 8000 h/yr)" in out and "(60 kW at 8000 h/yr)" in out
    assert "90 C hot / 80 C cold" in out


# --------------------------------------------------------------------------- by hand


def test_single_source_diluted_with_fresh_water():
    # 100 m3 of sink at <= 100 ppm from a 200 ppm source: half source, half fresh
    fresh, waste, pinch = water_cascade_target(np.array([100.0]), np.array([200.0]),
                                               np.array([100.0]), np.array([100.0]))
    assert fresh == pytest.approx(50.0)
    assert waste == pytest.approx(50.0)
    assert pinch == pytest.approx(200.0)


def test_fresh_water_set_by_flow_balance_has_no_pinch():
    # sources clean but too small: fresh water makes up the flow, nothing binds on load
    fresh, waste, pinch = water_cascade_target(np.array([30.0]), np.array([0.0]),
                                               np.array([100.0]), np.array([50.0]))
    assert (fresh, waste, pinch) == (pytest.approx(70.0), pytest.approx(0.0), None)


def _two_contaminant_inventory():
    sites = [{"site_id": s, "lat": 30.0, "lon": 120.0} for s in ("A", "B", "C")]
    res = [
        {"resource_id": "S1", "site_id": "A", "role": "have", "category": "water", "type": "water",
         "quantity": 100, "unit": "m3"},
        {"resource_id": "S2", "site_id": "B", "role": "have", "category": "water", "type": "water",
         "quantity": 100, "unit": "m3"},
        {"resource_id": "K", "site_id": "C", "role": "want", "category": "water", "type": "water",
         "quantity": 100, "unit": "m3"},
    ]
    props = [
        {"resource_id": "S1", "property": "a_ppm", "value": 100},
        {"resource_id": "S1", "property": "b_mg_l", "value": 0},
        {"resource_id": "S2", "property": "a_ppm", "value": 50},
        {"resource_id": "S2", "property": "b_mg_l", "value": 100},
        {"resource_id": "K", "property": "a_ppm", "max": 50},
        {"resource_id": "K", "property": "b_ppm", "max": 50},
    ]
    return inventory(sites, res, props)


def test_two_contaminants_lp_target_beats_single_contaminant_bounds():
    # alone, a needs no fresh water (S2 is at the limit) nor does b (S1 is clean);
    # together at most 50 of S2 (b) and then 25 of S1 (a): fresh water 25
    wt = water_targets(_two_contaminant_inventory())
    assert wt.fresh_water == pytest.approx(25.0, rel=1e-7)
    assert wt.wastewater == pytest.approx(125.0, rel=1e-7)
    assert wt.pinch_ppm is None
    by_c = wt.by_contaminant.set_index("contaminant")
    assert sorted(by_c.index) == ["a", "b"]  # cod_ppm and cod_mg_l are one contaminant
    assert by_c.loc["a", "fresh_water"] == pytest.approx(0.0, abs=1e-9)
    assert by_c.loc["b", "fresh_water"] == pytest.approx(0.0, abs=1e-9)


def test_threshold_heat_problem_has_no_pinch():
    sites = [{"site_id": "A", "lat": 30.0, "lon": 120.0}]
    res = [{"resource_id": "H", "site_id": "A", "role": "have", "category": "energy",
            "type": "energy:heat", "quantity": 100, "unit": "MWh"}]
    props = [{"resource_id": "H", "property": "temperature_c", "value": 150},
             {"resource_id": "H", "property": "target_temperature_c", "value": 50}]
    ht = heat_targets(inventory(sites, res, props))
    assert ht.hot_utility == 0.0
    assert ht.cold_utility == pytest.approx(100.0)
    assert ht.pinch_hot_c is None
    assert "none (threshold problem)" in targets_text(inventory(sites, res, props))


# --------------------------------------------------------------------------- cross-checks


def _random_water(rng, n_src, n_snk):
    sites = [{"site_id": "P", "lat": 30.0, "lon": 120.0}]
    res, props = [], []
    for k in range(n_src):
        res.append({"resource_id": f"S{k}", "site_id": "P", "role": "have", "category": "water",
                    "type": "water", "quantity": float(rng.integers(5, 100)), "unit": "m3"})
        props.append({"resource_id": f"S{k}", "property": "x_ppm",
                      "value": float(rng.choice([0, 20, 50, 100, 200, 400, 800]))})
    for k in range(n_snk):
        res.append({"resource_id": f"K{k}", "site_id": "P", "role": "want", "category": "water",
                    "type": "water", "quantity": float(rng.integers(5, 100)), "unit": "m3"})
        props.append({"resource_id": f"K{k}", "property": "x_ppm",
                      "max": float(rng.choice([0, 10, 50, 100, 150, 300, 1000]))})
    return inventory(sites, res, props)


@pytest.mark.parametrize("seed", range(8))
def test_water_cascade_equals_network_lp_for_one_contaminant(seed):
    inv = _random_water(np.random.default_rng(seed), 5, 6)
    wt = water_targets(inv)
    cascade = wt.by_contaminant.iloc[0]
    assert cascade["fresh_water"] == pytest.approx(wt.fresh_water, rel=1e-7, abs=1e-6)
    assert cascade["wastewater"] == pytest.approx(wt.wastewater, rel=1e-7, abs=1e-6)
    # and the plan (fresh and waste priced, no distances) reaches the same fresh water
    part = WaterPart(inv)
    x, _, _ = solve_part(part)
    assert totals(part.flows(x)).get("virgin", 0.0) == pytest.approx(wt.fresh_water, rel=1e-7, abs=1e-6)


def _random_heat(rng, n):
    sites = [{"site_id": f"P{k}", "lat": 30.0, "lon": 120.0} for k in range(n)]
    res, props = [], []
    for k in range(n):
        hot = bool(rng.integers(0, 2))
        a, b = sorted(rng.choice(np.arange(20, 300, 5), size=2, replace=False).tolist())
        level = rng.random() < 0.2
        res.append({"resource_id": f"R{k}", "site_id": f"P{k}", "role": "have" if hot else "want",
                    "category": "energy", "type": "energy:heat",
                    "quantity": float(rng.integers(10, 500)), "unit": "MWh"})
        if level:
            props.append({"resource_id": f"R{k}", "property": "temperature_c",
                          **({"value": b} if hot else {"min": a})})
        else:
            supply, target = (b, a) if hot else (a, b)
            props += [{"resource_id": f"R{k}", "property": "temperature_c", "value": supply},
                      {"resource_id": f"R{k}", "property": "target_temperature_c", "value": target}]
    return inventory(sites, res, props, hot_utility_price=1.0, cold_utility_price=1.0)


@pytest.mark.parametrize("seed", range(8))
def test_problem_table_equals_transshipment_plan(seed):
    inv = _random_heat(np.random.default_rng(seed), 9)
    ht = heat_targets(inv)
    part = HeatPart(inv)
    x, model, obj = solve_part(part)
    flows = part.flows(x)
    t = totals(flows)
    assert t.get("virgin", 0.0) == pytest.approx(ht.hot_utility, rel=1e-7, abs=1e-6)
    assert t.get("disposal", 0.0) == pytest.approx(ht.cold_utility, rel=1e-7, abs=1e-6)
    assert flows["cost"].sum() == pytest.approx(obj, rel=1e-7, abs=1e-6)
    # every stream balances exactly, and heat goes only from hotter to colder
    hs = part.streams
    duty = dict(zip(hs.ids, hs.duty, strict=True))
    given = flows[flows["have_id"] != "VIRGIN"].groupby("have_id")["quantity"].sum()
    taken = flows[flows["want_id"] != "DISPOSAL"].groupby("want_id")["quantity"].sum()
    for rid, q in [*given.items(), *taken.items()]:
        assert q == pytest.approx(duty[rid], rel=1e-9)
    hot_top = dict(zip(hs.ids, np.maximum(hs.t_supply, hs.t_target), strict=True))
    cold_low = dict(zip(hs.ids, np.minimum(hs.t_supply, hs.t_target), strict=True))
    pairs = flows[flows["mode"] == "cascade"]
    for h, c in zip(pairs["have_id"], pairs["want_id"], strict=True):
        assert hot_top[h] >= cold_low[c] + hs.dt_min - 1e-9
