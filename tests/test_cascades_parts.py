"""The water and heat model parts on small cases whose answer is known by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cascade_helpers import inventory, solve_part, totals

from flowmatch.inputs.inventory import build_inventory
from flowmatch.milp.builder import ModelBuilder
from flowmatch.milp.heat import HeatPart, heat_parts, heat_resource_ids
from flowmatch.milp.water import WaterPart

KM_PER_DEG = 6371.0088 * np.pi / 180.0  # km per degree of latitude


def _sites(km_apart: float):
    return [{"site_id": "A", "lat": 30.0, "lon": 120.0},
            {"site_id": "B", "lat": 30.0 + km_apart / KM_PER_DEG, "lon": 120.0}]


def _water(volume: float, km: float, **params):
    res = [{"resource_id": "S", "site_id": "A", "role": "have", "category": "water", "type": "water",
            "quantity": volume, "unit": "m3"},
           {"resource_id": "K", "site_id": "B", "role": "want", "category": "water", "type": "water",
            "quantity": volume, "unit": "m3"}]
    props = [{"resource_id": "S", "property": "cod_mg_l", "value": 0},
             {"resource_id": "K", "property": "cod_mg_l", "max": 10}]
    return inventory(_sites(km), res, props, **params)


def _feasible(model, x):
    ax = model.A @ x
    tol = 1e-6 * np.maximum(1.0, np.abs(ax))
    return (np.all(x >= model.lb - 1e-9) and np.all(x <= model.ub + 1e-9)
            and np.all(ax >= model.row_lb - tol) and np.all(ax <= model.row_ub + tol))


# --------------------------------------------------------------------------- water


@pytest.mark.parametrize("volume,piped", [(1000.0, False), (500000.0, True)])
def test_water_pipe_is_built_only_when_it_pays(volume, piped):
    # a 10 km pipe costs 30000 + 15000 * 10 a year; reuse saves fresh and waste (7.048 per m3
    # with carbon) less pumping: 1000 m3 cannot pay for it, 500000 m3 can
    part = WaterPart(_water(volume, 10.0))
    x, model, obj = solve_part(part)
    flows = part.flows(x)
    t = totals(flows)
    assert t.get("cascade", 0.0) == pytest.approx(volume if piped else 0.0)
    assert t.get("virgin", 0.0) == pytest.approx(0.0 if piped else volume)
    assert flows["cost"].sum() == pytest.approx(obj, rel=1e-9)
    if piped:
        row = flows[flows["mode"] == "cascade"].iloc[0]
        assert row["distance_km"] == pytest.approx(10.0, rel=1e-6)
        assert row["cost"] == pytest.approx(30000 + 15000 * 10.0 + volume * 10.0 * (0.02 + 0.0005 * 0.06),
                                            rel=1e-6)


def test_water_beyond_reach_is_not_piped():
    part = WaterPart(_water(500000.0, 10.0, max_distance_water_km=5.0))
    assert len(part.pairs.src) == 0
    x, _, _ = solve_part(part)
    assert totals(part.flows(x)).get("cascade", 0.0) == 0.0


def test_same_coordinates_need_no_pipe():
    part = WaterPart(_water(1000.0, 0.0))
    assert len(part.link_km) == 0
    x, _, _ = solve_part(part)
    assert totals(part.flows(x))["cascade"] == pytest.approx(1000.0)


@pytest.mark.parametrize("regen_cost,fresh", [(0.0, 80.0), (0.5, 0.0)])
def test_regeneration_unit(regen_cost, fresh):
    # 100 m3 at 100 ppm into a sink at most 20 ppm: diluted, 20 of it and 80 fresh; with a
    # 90 % regeneration unit at 0.5 per m3 all of it (10 ppm) and no fresh water
    sites = _sites(0.0)
    res = [{"resource_id": "S", "site_id": "A", "role": "have", "category": "water", "type": "water",
            "quantity": 100, "unit": "m3"},
           {"resource_id": "K", "site_id": "B", "role": "want", "category": "water", "type": "water",
            "quantity": 100, "unit": "m3"}]
    props = [{"resource_id": "S", "property": "x_ppm", "value": 100},
             {"resource_id": "K", "property": "x_ppm", "max": 20}]
    part = WaterPart(inventory(sites, res, props, regeneration_cost_m3=regen_cost,
                               regeneration_removal=0.9))
    x, _, obj = solve_part(part)
    flows = part.flows(x)
    assert totals(flows).get("virgin", 0.0) == pytest.approx(fresh, abs=1e-6)
    assert flows["cost"].sum() == pytest.approx(obj, rel=1e-9)


# --------------------------------------------------------------------------- heat


def _heat(duty: float, km: float, **params):
    res = [{"resource_id": "HOT", "site_id": "A", "role": "have", "category": "energy",
            "type": "energy:heat", "quantity": duty, "unit": "MWh"},
           {"resource_id": "COLD", "site_id": "B", "role": "want", "category": "energy",
            "type": "energy:heat", "quantity": duty, "unit": "MWh"}]
    props = [{"resource_id": "HOT", "property": "temperature_c", "value": 150},
             {"resource_id": "HOT", "property": "target_temperature_c", "value": 50},
             {"resource_id": "COLD", "property": "temperature_c", "value": 40},
             {"resource_id": "COLD", "property": "target_temperature_c", "value": 140}]
    return inventory(_sites(km), res, props, **params)


@pytest.mark.parametrize("local_cold", [False, True])
def test_heat_link_is_built_only_when_it_pays(local_cold):
    # HOT at A can heat COLD at B over a 2 km link (50000 + 40000 * 2 a year; 10000 MWh
    # recovered save far more). With a cold stream of its own at A the heat is recovered
    # there for free: the link is on offer but not worth building.
    inv = _heat(10000.0, 2.0)
    if local_cold:
        tables = {k: v.copy() for k, v in inv.tables.items()}
        tables["resources"] = pd.concat([tables["resources"], pd.DataFrame([{
            "resource_id": "COLD_A", "site_id": "A", "role": "want", "category": "energy",
            "type": "energy:heat", "quantity": 10000.0, "unit": "MWh"}])], ignore_index=True)
        tables["properties"] = pd.concat([tables["properties"], pd.DataFrame([
            {"resource_id": "COLD_A", "property": "temperature_c", "value": 40},
            {"resource_id": "COLD_A", "property": "target_temperature_c", "value": 140}])],
            ignore_index=True)
        inv = build_inventory(tables, params=inv.params)
    part = HeatPart(inv)
    assert len(part.link_a) == 1
    x, model, obj = solve_part(part)
    flows = part.flows(x)
    reuse = flows[flows["mode"] == "cascade"].set_index("want_id")["quantity"]
    assert reuse.sum() == pytest.approx(10000.0, rel=1e-9)
    assert list(reuse.index) == (["COLD_A"] if local_cold else ["COLD"])
    assert x[part._idx["link"]][0] == pytest.approx(0.0 if local_cold else 1.0)
    assert flows["cost"].sum() == pytest.approx(obj, rel=1e-9)


def test_heat_link_that_cannot_pay_is_not_offered():
    # 100 MWh a year can never pay for a 130000 a year link
    part = HeatPart(_heat(100.0, 2.0))
    assert len(part.link_a) == 0
    x, _, _ = solve_part(part)
    assert totals(part.flows(x))["virgin"] == pytest.approx(100.0)


def test_heat_beyond_reach_gets_no_link():
    part = HeatPart(_heat(10000.0, 2.0, max_distance_energy_km=1.0))
    assert len(part.link_a) == 0
    x, _, _ = solve_part(part)
    assert totals(part.flows(x)).get("cascade", 0.0) == 0.0


def _steam(have_type, have_t, want_type, want_min):
    sites = _sites(0.0)
    res = [{"resource_id": "G", "site_id": "A", "role": "have", "category": "energy", "type": have_type,
            "quantity": 100, "unit": "MWh"},
           {"resource_id": "N", "site_id": "B", "role": "want", "category": "energy", "type": want_type,
            "quantity": 100, "unit": "MWh"}]
    props = [{"resource_id": "G", "property": "temperature_c", "value": have_t},
             {"resource_id": "N", "property": "temperature_c", "min": want_min, "max": want_min + 40}]
    return inventory(sites, res, props)


def test_steam_let_down_keeps_dt_min():
    # issue 11: heat flows downhill by dt_min_k in every flow, let-down included, so mp steam
    # at 185 C does not serve an mp need at 180 C (it would need 190 C) ...
    part = HeatPart(_steam("energy:steam:mp", 185, "energy:steam:mp", 180))
    assert len(part.steam_i) == 0
    x, _, _ = solve_part(part)
    assert totals(part.flows(x)).get("cascade", 0.0) == 0.0
    # ... and steam at 195 C is let down to it directly
    part = HeatPart(_steam("energy:steam:mp", 195, "energy:steam:mp", 180))
    assert len(part.steam_i) == 1
    x, _, _ = solve_part(part)
    t = totals(part.flows(x))
    assert t["cascade"] == pytest.approx(100.0)
    assert t.get("virgin", 0.0) == pytest.approx(0.0, abs=1e-9)


def test_steam_is_let_down_from_hp_to_lp():
    part = HeatPart(_steam("energy:steam:hp", 250, "energy:steam:lp", 140))
    x, _, _ = solve_part(part)
    assert totals(part.flows(x))["cascade"] == pytest.approx(100.0)


def test_steam_is_never_raised():
    # lp steam at 150 C cannot serve an hp need at 240 C, by let-down or exchange
    part = HeatPart(_steam("energy:steam:lp", 150, "energy:steam:hp", 240))
    assert len(part.steam_i) == 0
    x, _, _ = solve_part(part)
    t = totals(part.flows(x))
    assert t.get("cascade", 0.0) == 0.0
    assert t["virgin"] == pytest.approx(100.0) and t["disposal"] == pytest.approx(100.0)


def test_electricity_stays_a_direct_synergy():
    sites = _sites(0.0)
    res = [{"resource_id": "E", "site_id": "A", "role": "have", "category": "energy",
            "type": "energy:electricity", "quantity": 10, "unit": "MWh"},
           {"resource_id": "L", "site_id": "A", "role": "have", "category": "energy",
            "type": "energy:steam:lp", "quantity": 10, "unit": "MWh"}]
    props = [{"resource_id": "L", "property": "temperature_c", "value": 150}]
    assert heat_resource_ids(inventory(sites, res, props)) == ["L"]


@pytest.mark.parametrize("seed", range(4))
def test_multi_site_heat_plan_balances_and_starts_feasible(seed):
    rng = np.random.default_rng(seed)
    sites = [{"site_id": f"P{k}", "lat": 30.0 + rng.integers(0, 4) * 0.01, "lon": 120.0} for k in range(10)]
    res, props = [], []
    for k in range(10):
        hot = k % 2 == 0
        a, b = sorted(rng.choice(np.arange(30, 260, 10), size=2, replace=False).tolist())
        level = rng.random() < 0.3  # steam at a pressure level
        res.append({"resource_id": f"R{k}", "site_id": f"P{k}", "role": "have" if hot else "want",
                    "category": "energy",
                    "type": ["energy:steam:lp", "energy:steam:mp", "energy:steam:hp"][rng.integers(3)]
                    if level else "energy:heat",
                    "quantity": float(rng.integers(1000, 20000)), "unit": "MWh"})
        supply, target = (b, a) if hot else (a, b)
        if level:
            props.append({"resource_id": f"R{k}", "property": "temperature_c",
                          **({"value": b} if hot else {"min": a})})
        else:
            props += [{"resource_id": f"R{k}", "property": "temperature_c", "value": supply},
                      {"resource_id": f"R{k}", "property": "target_temperature_c", "value": target}]
    part = HeatPart(inventory(sites, res, props))
    mb = ModelBuilder()
    part.add_to(mb)
    model = mb.build()
    x0 = np.zeros(model.n_vars)
    part.warm_start(x0)
    assert _feasible(model, x0)
    c, k = model.objective({"cost": 1.0})
    x, _, obj = solve_part(part)
    assert obj <= c @ x0 + k + 1e-6
    flows = part.flows(x)
    assert flows["cost"].sum() == pytest.approx(obj, rel=1e-7)
    hs = part.streams
    duty = dict(zip(hs.ids, hs.duty, strict=True))
    for col, skip in (("have_id", "VIRGIN"), ("want_id", "DISPOSAL")):
        got = flows[flows[col] != skip].groupby(col)["quantity"].sum()
        for rid, q in got.items():
            assert q == pytest.approx(duty[rid], rel=1e-9)


def _with_distance(inv, km):
    tables = {k: v.copy() for k, v in inv.tables.items()}
    tables["distances"] = pd.DataFrame([{"from_site": "B", "to_site": "A", "km": km}])
    return build_inventory(tables, params=inv.params)


def test_measured_distance_prices_the_pipe():
    # 10 km apart on the map, but the distances table says the pipe is 0.5 km
    part = WaterPart(_with_distance(_water(500000.0, 10.0), 0.5))
    assert part.link_km.tolist() == [0.5]
    x, _, _ = solve_part(part)
    assert part.flows(x).query("mode == 'cascade'")["distance_km"].tolist() == [0.5]


def test_measured_zero_distance_makes_one_heat_zone():
    # 10 km apart on the map, one plant by the distances table: no link needed
    part = HeatPart(_with_distance(_heat(10000.0, 10.0), 0.0))
    assert part.n_zone == 1 and len(part.link_a) == 0
    x, _, _ = solve_part(part)
    assert part.flows(x).query("mode == 'cascade'")["quantity"].sum() == pytest.approx(10000.0)


def test_heat_parts_split_zones_that_can_never_link():
    # two plants 50 km apart (beyond the 10 km reach of heat) each with a hot and a cold
    # stream: two parts, each on its own temperature grid, same plan as one part
    sites = [{"site_id": s, "lat": lat, "lon": 120.0} for s, lat in (("A", 30.0), ("B", 30.45))]
    res, props = [], []
    for site, (th, tc) in (("A", (150, 40)), ("B", (230, 120))):
        res += [{"resource_id": f"H{site}", "site_id": site, "role": "have", "category": "energy",
                 "type": "energy:heat", "quantity": 1000, "unit": "MWh"},
                {"resource_id": f"C{site}", "site_id": site, "role": "want", "category": "energy",
                 "type": "energy:heat", "quantity": 800, "unit": "MWh"}]
        props += [{"resource_id": f"H{site}", "property": "temperature_c", "value": th},
                  {"resource_id": f"H{site}", "property": "target_temperature_c", "value": th - 100},
                  {"resource_id": f"C{site}", "property": "temperature_c", "value": tc - 100},
                  {"resource_id": f"C{site}", "property": "target_temperature_c", "value": tc}]
    inv = inventory(sites, res, props)
    parts = heat_parts(inv)
    assert sorted(sorted(p.resource_ids()) for p in parts) == [["CA", "HA"], ["CB", "HB"]]
    whole = HeatPart(inv)
    x, _, obj = solve_part(whole)
    split = [solve_part(p)[2] for p in parts]
    assert sum(split) == pytest.approx(obj, rel=1e-9)
    assert all(len(p.slots) < len(whole.slots) for p in parts)
