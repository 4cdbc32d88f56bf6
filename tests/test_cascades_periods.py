"""The water and heat cascades over the periods of the year, on cases solved by hand.

Conventions (docs/cascades.md, "Periods and storage"): a stream's yearly
quantity is spread evenly over its own months; links are built once a year;
a batch source needs a matching rhythm or a tank; a tank's level at the end
of December is its level at the start of January.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cascade_helpers import inventory, solve_part, totals

from flowmatch.errors import InventoryError, ModelError
from flowmatch.inputs.inventory import build_inventory, read_inventory
from flowmatch.inputs.requirements import check_requirements
from flowmatch.milp.heat import HeatPart, heat_parts
from flowmatch.milp.heat.flows import period_stream_flows
from flowmatch.milp.periods import build_periods, mask_text
from flowmatch.milp.polish import polish
from flowmatch.milp.water import WaterPart
from flowmatch.milp.water_periods import period_pair_flows

KM_PER_DEG = 6371.0088 * np.pi / 180.0
DATA = Path(__file__).parent / "data" / "all_year_cascades"
SIMPLE = dict(carbon_price=0.0, pipe_fixed_cost=100.0, pipe_cost_km=0.0, transport_cost_m3_km=0.0,
              heat_link_fixed_cost=1000.0, heat_link_cost_km=0.0, transport_cost_mwh_km=0.0)
SUMMER = (1 << 9) - 1 - ((1 << 3) - 1)  # April to September


def _sites(*names: str, km: float = 2.0):
    return [{"site_id": s, "lat": 30.0 + k * km / KM_PER_DEG, "lon": 120.0} for k, s in enumerate(names)]


def _w(rid, site, role, q, months="1-12", cost=1.0, **extra):
    return {"resource_id": rid, "site_id": site, "role": role, "category": "water", "type": "water",
            "quantity": q, "unit": "m3", "months": months, "cost": cost, "co2": 0.0, **extra}


def _cod(*rows):
    return [{"resource_id": r, "property": "cod_mg_l", **({"value": 10} if r.startswith("S") else {"max": 50})}
            for r in rows]


def _x_of(model, x, name):
    return float(x[model.var_names.index(name)])


# --------------------------------------------------------------------------- periods


def test_periods_are_the_coarsest_partition():
    full = (1 << 12) - 1
    winter = sum(1 << m for m in (10, 11, 0, 1))  # 11-2
    p = build_periods(np.array([full, SUMMER]))
    assert [p.label(k) for k in range(len(p))] == ["10-3", "4-9"]
    assert p.share.tolist() == [[0.5, 0.5], [0.0, 1.0]]
    p = build_periods(np.array([full, winter, SUMMER]))
    assert [p.label(k) for k in range(len(p))] == ["11-2", "3,10", "4-9"]
    np.testing.assert_allclose(p.share.sum(axis=1), 1.0)
    # chronological (storage): contiguous runs, in calendar order, the last wrapping to the first
    p = build_periods(np.array([full, winter, SUMMER]), chronological=True)
    assert [p.label(k) for k in range(len(p))] == ["11-2", "3", "4-9", "10"]
    # all year, or all in the same months: one period holding everything
    for masks in ([full, full], [SUMMER, SUMMER]):
        p = build_periods(np.array(masks))
        assert len(p) == 1 and p.share.tolist() == [[1.0], [1.0]] and p.suffix(0) == ""
    assert mask_text(0b100000000001) == "12-1"


# --------------------------------------------------------------------------- water


def test_summer_sink_and_all_year_source():
    # S gives 1200 m3 over 12 months (100 a month), K takes 900 over April-September (150 a
    # month). In summer S has 600 for K, the other 300 are fresh water (3 a m3); in winter S's
    # 600 go to wastewater (1 a m3). Cost = pipe 100 + 300 * 3 + 600 * 1 = 1600 (a steady
    # year would have piped 900 for 400).
    inv = inventory(_sites("A", "B"), [_w("S", "A", "have", 1200.0), _w("K", "B", "want", 900.0, "4-9", 3.0)],
                    _cod("S", "K"), **SIMPLE)
    part = WaterPart(inv)
    assert [part.periods.label(k) for k in range(len(part.periods))] == ["10-3", "4-9"]
    x, model, obj = solve_part(part)
    assert obj == pytest.approx(1600.0)
    per = period_pair_flows(part, x)
    assert per[0].tolist() == pytest.approx([0.0, 600.0])  # the pipe carries water in summer only
    assert "water_flow[S,K]@m10-3" not in model.var_names  # K takes nothing in winter
    assert _x_of(model, x, "water_waste[S]@m10-3") == pytest.approx(600.0)
    assert _x_of(model, x, "water_fresh[K]@m4-9") == pytest.approx(300.0)
    flows = part.flows(x)
    assert totals(flows) == pytest.approx({"cascade": 600.0, "disposal": 600.0, "virgin": 300.0})
    assert flows["cost"].sum() == pytest.approx(obj)


def test_two_seasonal_sinks_share_one_source_and_one_pipe():
    # S 1200 all year; K1 600 in April-September (fresh 3), K2 1200 in October-March (fresh 5),
    # both at B. Summer: S's 600 all to K1. Winter: S's 600 to K2, 600 fresh at 5.
    # Cost = one pipe 100 + 600 * 5 = 3100 (a steady year would send all 1200 to K2: 1900).
    inv = inventory(_sites("A", "B"), [_w("S", "A", "have", 1200.0), _w("K1", "B", "want", 600.0, "4-9", 3.0),
                                       _w("K2", "B", "want", 1200.0, "10-3", 5.0)],
                    _cod("S", "K1", "K2"), **SIMPLE)
    part = WaterPart(inv)
    x, model, obj = solve_part(part)
    assert obj == pytest.approx(3100.0)
    assert len(part.link_km) == 1 and x[part._idx["pipe"]][0] == pytest.approx(1.0)
    flows = part.flows(x).set_index(["have_id", "want_id"])["quantity"]
    assert flows[("S", "K1")] == pytest.approx(600.0)
    assert flows[("S", "K2")] == pytest.approx(600.0)
    assert flows[("VIRGIN", "K2")] == pytest.approx(600.0)
    assert ("S", "DISPOSAL") not in flows.index


def _balanced_per_period(part, x, model):
    """Every source and sink balances in every period (tank levels included) and over the year."""
    ws, per = part.streams, part.periods
    q = period_pair_flows(part, x)
    ix = part._idx
    val = lambda cols: np.where(cols >= 0, x[np.maximum(cols, 0)], 0.0)  # noqa: E731
    level = val(ix["level"])
    for p in range(len(per)):
        out = np.bincount(part.pairs.src, weights=q[:, p], minlength=ws.n_src) + val(ix["waste"][:, p])
        np.testing.assert_allclose(out + level[:, p] - level[:, p - 1], ws.src_flow * per.share[:ws.n_src, p],
                                   atol=1e-6)
        into = np.bincount(part.pairs.snk, weights=q[:, p], minlength=ws.n_snk) + val(ix["fresh"][:, p])
        np.testing.assert_allclose(into, ws.snk_flow * per.share[ws.n_src:, p], atol=1e-6)


@pytest.mark.parametrize("storage,cost", [(None, 4800.0), (50.0, 2500.0), (200.0, 100.0)])
def test_batch_source_with_and_without_a_tank(storage, cost):
    # S releases 1200 m3 a year in 12 monthly batches of 100; K takes water continuously.
    # No tank: S cannot feed K (1200 wasted at 1, 1200 fresh at 3: 4800). A 50 m3 tank holds
    # half of each batch for K: 600 reused (100 + 600 * 1 + 600 * 3 = 2500). A tank bigger
    # than a batch lets all of it through (100).
    extra = {} if storage is None else {"storage_m3": storage}
    inv = inventory(_sites("A", "B"), [_w("S", "A", "have", 1200.0, frequency="monthly", **extra),
                                       _w("K", "B", "want", 1200.0, cost=3.0)], _cod("S", "K"), **SIMPLE)
    part = WaterPart(inv)
    assert len(part.pairs.src) == (0 if storage is None else 1)
    x, model, obj = solve_part(part)
    assert obj == pytest.approx(cost)
    assert part.flows(x)["cost"].sum() == pytest.approx(obj)
    _balanced_per_period(part, x, model)


def test_batch_source_feeds_a_sink_of_its_own_rhythm_without_a_tank():
    inv = inventory(_sites("A", "B"), [_w("S", "A", "have", 1200.0, frequency="weekly"),
                                       _w("K", "B", "want", 1200.0, cost=3.0, frequency="weekly")],
                    _cod("S", "K"), **SIMPLE)
    x, _, obj = solve_part(WaterPart(inv))
    assert obj == pytest.approx(100.0)


@pytest.mark.parametrize("storage,cost", [(None, 2200.0), (300.0, 1000.0)])
def test_tank_carries_summer_water_into_winter(storage, cost):
    # S gives 600 m3 in April-September; K1 takes 300 then, K2 600 in October-March.
    # No tank: 300 to K1, 300 wasted, K2 all fresh (100 + 300 + 1800 = 2200). A 300 m3 tank
    # keeps the other 300 for K2 (100 + 300 * 3 = 1000), full at the end of September and
    # empty at the end of March, the cycle closing on itself.
    extra = {} if storage is None else {"storage_m3": storage}
    inv = inventory(_sites("A", "B"), [_w("S", "A", "have", 600.0, "4-9", **extra),
                                       _w("K1", "B", "want", 300.0, "4-9", 3.0),
                                       _w("K2", "B", "want", 600.0, "10-3", 3.0)], _cod("S", "K1", "K2"), **SIMPLE)
    part = WaterPart(inv)
    x, model, obj = solve_part(part)
    assert obj == pytest.approx(cost)
    _balanced_per_period(part, x, model)
    flows = part.flows(x)
    assert totals(flows)["cascade"] == pytest.approx(300.0 if storage is None else 600.0)
    if storage:
        assert _x_of(model, x, "water_level[S]@m4-9") == pytest.approx(300.0)
        assert _x_of(model, x, "water_level[S]@m10-3") == pytest.approx(0.0)


def test_storage_is_a_number_at_least_zero():
    with pytest.raises(InventoryError, match="storage_m3"):
        inventory(_sites("A", "B"), [_w("S", "A", "have", 1.0, storage_m3=-5.0), _w("K", "B", "want", 1.0)],
                  _cod("S", "K"))


# --------------------------------------------------------------------------- heat


def _heat(cold_months: str, cold_duty: float):
    res = [{"resource_id": "HOT", "site_id": "A", "role": "have", "category": "energy", "type": "energy:heat",
            "quantity": 1200.0, "unit": "MWh", "cost": 10.0, "co2": 0.0},
           {"resource_id": "COLD", "site_id": "B", "role": "want", "category": "energy", "type": "energy:heat",
            "quantity": cold_duty, "unit": "MWh", "months": cold_months, "cost": 200.0, "co2": 0.0}]
    props = [{"resource_id": "HOT", "property": "temperature_c", "value": 150},
             {"resource_id": "HOT", "property": "target_temperature_c", "value": 50},
             {"resource_id": "COLD", "property": "temperature_c", "value": 40},
             {"resource_id": "COLD", "property": "target_temperature_c", "value": 140}]
    return inventory(_sites("A", "B"), res, props, **SIMPLE)


def test_summer_heat_sink_and_all_year_source():
    # HOT gives 1200 MWh a year (600 in summer), COLD takes 1200 in April-September; their
    # heat per degree matches, so all summer heat is recovered over the link: 600 recovered,
    # 600 bought (200 a MWh), 600 rejected in winter (10 a MWh). Cost = 1000 + 120000 + 6000
    # = 127000 (a steady year would recover all 1200 for 1000).
    part = HeatPart(_heat("4-9", 1200.0))
    x, model, obj = solve_part(part)
    assert obj == pytest.approx(127000.0)
    flows = part.flows(x).set_index(["have_id", "want_id"])["quantity"]
    assert flows[("HOT", "COLD")] == pytest.approx(600.0)
    assert flows[("VIRGIN", "COLD")] == pytest.approx(600.0)
    assert flows[("HOT", "DISPOSAL")] == pytest.approx(600.0)
    by_period = period_stream_flows(part, x)
    winter, summer = (f.set_index(["have_id", "want_id"])["quantity"] for f in by_period)
    assert ("HOT", "COLD") not in winter.index and winter[("HOT", "DISPOSAL")] == pytest.approx(600.0)
    assert summer[("HOT", "COLD")] == pytest.approx(600.0)
    assert part.flows(x)["cost"].sum() == pytest.approx(obj)


def test_heat_cascade_of_one_season_is_the_year_model():
    # every stream in April-September: one period, the same plan as every stream all year
    year = HeatPart(_heat("1-12", 1200.0))
    inv = _heat("4-9", 1200.0)
    tables = {k: v.copy() for k, v in inv.tables.items()}
    tables["resources"]["months"] = "4-9"
    season = HeatPart(build_inventory(tables, params=inv.params))
    assert len(year.periods) == 1 and len(season.periods) == 1
    xa, _, oa = solve_part(year)
    xc, _, oc = solve_part(season)
    assert oa == pytest.approx(oc) == pytest.approx(1000.0)
    pd.testing.assert_frame_equal(year.flows(xa), season.flows(xc))


# --------------------------------------------------------------------------- all year: unchanged


@pytest.mark.parametrize("dataset", ["power_cement_brewery", "caofeidian"])
def test_all_year_cascades_plan_as_before(datasets_dir, dataset):
    inv = read_inventory(datasets_dir / dataset)
    want = pd.read_csv(DATA / "flows.csv", keep_default_na=False)
    want = want[want["dataset"] == dataset]
    got = []
    for part in [WaterPart(inv), *heat_parts(inv)]:
        assert len(part.periods) == 1
        x, model, _ = solve_part(part)
        assert not any("@m" in n for n in model.var_names)
        c, k = model.objective({"cost": 1.0})
        x = polish(model, c, k, x).x  # of equally cheap plans the same one (the tie-break), as optimise does
        got.append(part.flows(x).assign(dataset=dataset, part=part.name))
    got_df = pd.concat(got, ignore_index=True)
    assert len(got_df) == len(want)
    for col in ("have_id", "want_id", "mode", "unit"):
        assert got_df[col].astype(str).tolist() == want[col].astype(str).tolist()
    for col in ("quantity", "cost", "co2_kg", "distance_km"):
        np.testing.assert_allclose(got_df[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-9, atol=1e-9)


def test_storage_on_a_sink_is_named():
    inv = inventory(_sites("A", "B"), [_w("S", "A", "have", 1.0), _w("K", "B", "want", 1.0, storage_m3=5.0)],
                    _cod("S", "K"))
    with pytest.raises(InventoryError, match=r"storage_m3 of K \(water want\).*Give the tank to the water source"):
        check_requirements(inv)


def test_plan_folder_has_the_flows_of_each_period(tmp_path):
    # the summer sink of test_summer_sink_and_all_year_source, through optimise and the plan folder
    from flowmatch.milp.optimise import optimise
    from flowmatch.plans.folder import write_plan
    from flowmatch.plans.manifest import read_manifest

    inv = inventory(_sites("A", "B"), [_w("S", "A", "have", 1200.0), _w("K", "B", "want", 900.0, "4-9", 3.0)],
                    _cod("S", "K"), **SIMPLE)
    plan = optimise(inv, gap=0.0)
    by = plan.flows_by_period
    assert by is not None
    got = {(r.period, r.have_id, r.want_id): r.quantity for r in by.itertuples()}
    assert got == pytest.approx({("10-3", "S", "DISPOSAL"): 600.0, ("4-9", "S", "K"): 600.0,
                                 ("4-9", "VIRGIN", "K"): 300.0})
    # every period's rows add up to the year's
    year = plan.flows.astype({"quantity": float}).groupby(["have_id", "want_id"])["quantity"].sum()
    pd.testing.assert_series_equal(by.groupby(["have_id", "want_id"])["quantity"].sum(), year,
                                   check_exact=False, rtol=1e-9)
    write_plan(plan, tmp_path / "plan", inventory=inv)
    on_disk = pd.read_csv(tmp_path / "plan" / "flows_by_period.csv")
    assert len(on_disk) == 3 and "flows_by_period.csv" in read_manifest(tmp_path / "plan")["files"]
    # an all-year plan writes no such file
    flat = inventory(_sites("A", "B"), [_w("S", "A", "have", 1200.0), _w("K", "B", "want", 900.0, cost=3.0)],
                     _cod("S", "K"), **SIMPLE)
    write_plan(optimise(flat), tmp_path / "flat", inventory=flat)
    assert not (tmp_path / "flat" / "flows_by_period.csv").exists()


def test_sink_that_no_period_can_meet_is_named():
    # K's own fresh water (100 mg/l) is dirtier than it accepts (50): it needs S's clean water,
    # which runs in summer only, so K cannot be met in winter (it could over a steady year)
    props = [{"resource_id": "S", "property": "cod_mg_l", "value": 10},
             {"resource_id": "K", "property": "cod_mg_l", "value": 100, "max": 50}]
    inv = inventory(_sites("A", "B"), [_w("S", "A", "have", 1200.0, "4-9"), _w("K", "B", "want", 600.0)],
                    props, **SIMPLE)
    with pytest.raises(ModelError, match="water sink K cannot be met"):
        WaterPart(inv)
    # a tank big enough to carry the summer's spare water into winter makes it possible
    inv = inventory(_sites("A", "B"), [_w("S", "A", "have", 1200.0, "4-9", storage_m3=600.0),
                                       _w("K", "B", "want", 600.0)], props, **SIMPLE)
    part = WaterPart(inv)
    x, model, _ = solve_part(part)
    assert totals(part.flows(x))["cascade"] == pytest.approx(600.0)  # 300 in summer, 300 from the tank
    assert [part.periods.label(k) for k in range(len(part.periods))] == ["10-3", "4-9"]
    assert period_pair_flows(part, x)[0].tolist() == pytest.approx([300.0, 300.0])
    # the tank holds at least the winter's 300 at the end of September
    carried = _x_of(model, x, "water_level[S]@m4-9") - _x_of(model, x, "water_level[S]@m10-3")
    assert carried >= 300.0 - 1e-6
