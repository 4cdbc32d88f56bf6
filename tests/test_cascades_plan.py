"""Cascades planned the way a user plans them: ``flowmatch optimise`` and
``flowmatch.milp.optimise.optimise`` on the published inventories, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from cascade_helpers import inventory

from flowmatch.cli import main
from flowmatch.errors import InventoryError, ModelError
from flowmatch.inputs.inventory import read_inventory
from flowmatch.milp.optimise import optimise
from flowmatch.milp.targets import heat_targets, water_targets

HOURS = 8000.0


def _run_cli(inv_dir: Path, out: Path) -> tuple[dict, pd.DataFrame]:
    assert main(["optimise", str(inv_dir), "-o", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    flows = pd.read_csv(out / "flows.csv", keep_default_na=False)
    return summary, flows


def test_wang_smith_1994_plan_through_the_cli(tmp_path, data_dir):
    summary, flows = _run_cli(data_dir / "wang_smith_1994", tmp_path)
    water = summary["by_category"]["water"]
    assert summary["status"] == "optimal"
    assert water["virgin"] / HOURS == pytest.approx(90.0, rel=1e-6)  # fresh water, t/h
    assert water["disposed"] / HOURS == pytest.approx(90.0, rel=1e-6)  # wastewater
    assert water["reused"] / HOURS == pytest.approx(80.0, rel=1e-6)
    assert set(flows.loc[(flows["have_id"] != "VIRGIN") & (flows["want_id"] != "DISPOSAL"), "mode"]) \
        == {"cascade"}
    # every sink's mix stays within its limit
    inv = read_inventory(data_dir / "wang_smith_1994")
    conc = inv.properties.set_index("resource_id")["value"].dropna()
    limit = inv.properties.set_index("resource_id")["max"].dropna()
    fed = flows[flows["want_id"].isin(limit.index)]
    load = (fed["quantity"] * fed["have_id"].map(conc).fillna(0.0)).groupby(fed["want_id"]).sum()
    volume = fed.groupby("want_id")["quantity"].sum()
    assert ((load / volume) <= limit.reindex(load.index) + 1e-6).all()


def test_kemp_plan_through_the_cli(tmp_path, data_dir):
    summary, flows = _run_cli(data_dir / "kemp_4stream", tmp_path)
    energy = summary["by_category"]["energy"]
    kw = 1000.0 / HOURS
    assert energy["virgin"] * kw == pytest.approx(20.0, rel=1e-6)  # hot utility
    assert energy["disposed"] * kw == pytest.approx(60.0, rel=1e-6)  # cold utility
    assert (flows["unit"] == "MWh").all()


@pytest.mark.parametrize("case,solver", [("wang_smith_1994", "highs"), ("kemp_4stream", "highs"),
                                         ("smith_4stream", "highs"), ("wang_smith_1994", "cbc"),
                                         ("kemp_4stream", "cbc")])
def test_library_plan_meets_the_targets(data_dir, case, solver):
    inv = read_inventory(data_dir / case)
    plan = optimise(inv, solver=solver)
    cat = plan.summary["by_category"]
    wt, ht = water_targets(inv), heat_targets(inv)
    if wt is not None:
        assert cat["water"]["virgin"] == pytest.approx(wt.fresh_water, rel=1e-6)
        assert cat["water"]["disposed"] == pytest.approx(wt.wastewater, rel=1e-6)
    if ht is not None:
        assert cat["energy"]["virgin"] == pytest.approx(ht.hot_utility, rel=1e-6)
        assert cat["energy"]["disposed"] == pytest.approx(ht.cold_utility, rel=1e-6)
    # the flows' costs add up to the plan's cost
    assert plan.flows["cost"].sum() == pytest.approx(plan.summary["objective"]["cost"], rel=1e-6)


def test_cascades_and_materials_in_one_plan(tmp_path, data_dir):
    # the published water and heat cases plus a material synergy, one inventory
    tables = {}
    for case in ("wang_smith_1994", "kemp_4stream"):
        for t in ("sites", "resources", "properties"):
            df = pd.read_csv(data_dir / case / f"{t}.csv", dtype=str, keep_default_na=False)
            tables[t] = pd.concat([tables.get(t, pd.DataFrame()), df], ignore_index=True)
    tables["sites"] = pd.concat([tables["sites"], pd.DataFrame(
        [{"site_id": "PP", "lat": "30.0", "lon": "120.0"}, {"site_id": "PB", "lat": "30.0", "lon": "120.1"}])])
    tables["resources"] = pd.concat([tables["resources"], pd.DataFrame([
        {"resource_id": "fgd", "site_id": "PP", "role": "have", "category": "material",
         "type": "ewc:100105", "quantity": "50000", "unit": "t"},
        {"resource_id": "gyp", "site_id": "PB", "role": "want", "category": "material",
         "type": "raw:gypsum", "quantity": "40000", "unit": "t", "cost": "120"}])])
    for name, df in tables.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    inv = read_inventory(tmp_path)
    plan = optimise(inv)
    cat = plan.summary["by_category"]
    assert cat["water"]["virgin"] / HOURS == pytest.approx(90.0, rel=1e-6)
    assert cat["energy"]["virgin"] * 1000.0 / HOURS == pytest.approx(20.0, rel=1e-6)
    assert cat["material"]["reused"] == pytest.approx(40000.0)
    modes = plan.flows.groupby("mode")["quantity"].sum()
    assert modes["direct"] == pytest.approx(40000.0) and modes["cascade"] > 0


# --------------------------------------------------------------------------- bad input


def _one(role, category, type_, props, unit="m3", quantity=100):
    sites = [{"site_id": "A", "lat": 30.0, "lon": 120.0}]
    res = [{"resource_id": "R1", "site_id": "A", "role": role, "category": category, "type": type_,
            "quantity": quantity, "unit": unit}]
    return inventory(sites, res, [{"resource_id": "R1", **p} for p in props])


@pytest.mark.parametrize("role,props,needle", [
    ("have", [], "water source 'R1' (site A) has no contaminant concentration"),
    ("have", [{"property": "cod_mg_l", "max": 50}], "water source 'R1'"),
    ("want", [{"property": "cod_mg_l", "value": 5}], "water sink 'R1' (site A) has no maximum"),
])
def test_water_without_concentration_is_named(role, props, needle):
    inv = _one(role, "water", "water", props)
    with pytest.raises(InventoryError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        optimise(inv)


@pytest.mark.parametrize("role,props,needle", [
    ("have", [], "hot stream 'R1' (site A) has no temperatures"),
    ("want", [{"property": "target_temperature_c", "value": 80}], "cold stream 'R1' (site A) has no temp"),
    ("want", [{"property": "temperature_c", "value": 90}, {"property": "target_temperature_c", "value": 40}],
     "cold stream 'R1' (site A) is hotter than its target"),
    ("have", [{"property": "temperature_c", "value": 40}, {"property": "target_temperature_c", "value": 90}],
     "hot stream 'R1' (site A) is colder than its target"),
])
def test_bad_heat_stream_is_named(role, props, needle):
    inv = _one(role, "energy", "energy:heat", props, unit="MWh")
    with pytest.raises(InventoryError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        optimise(inv)


def test_infeasible_sink_is_named_not_a_solver_status(tmp_path, capsys):
    sites = [{"site_id": "A", "lat": 30.0, "lon": 120.0}]
    res = [
        {"resource_id": "S", "site_id": "A", "role": "have", "category": "water", "type": "water",
         "quantity": 100, "unit": "m3"},
        {"resource_id": "BOILER", "site_id": "A", "role": "want", "category": "water", "type": "water",
         "quantity": 100, "unit": "m3"},
    ]
    # the sink's own fresh water (value) is dirtier than it accepts, the source too
    props = [{"resource_id": "S", "property": "tds_ppm", "value": 300},
             {"resource_id": "BOILER", "property": "tds_ppm", "value": 200, "max": 50}]
    inv = inventory(sites, res, props)
    with pytest.raises(ModelError, match="water sink BOILER cannot be met"):
        optimise(inv)
    for name, rows in (("sites", sites), ("resources", res), ("properties", props)):
        pd.DataFrame(rows).to_csv(tmp_path / f"{name}.csv", index=False)
    assert main(["optimise", str(tmp_path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "BOILER" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "flows.csv").exists()
    assert main(["targets", str(tmp_path)]) == 2
    assert "BOILER" in capsys.readouterr().err
    # validate runs the same check: an inventory that validates does not fail here in optimise
    assert main(["validate", str(tmp_path)]) == 2
    assert "water sink BOILER cannot be met" in capsys.readouterr().err


def test_cli_names_a_bad_heat_stream(tmp_path, capsys):
    pd.DataFrame([{"site_id": "A", "lat": 30.0, "lon": 120.0}]).to_csv(tmp_path / "sites.csv", index=False)
    pd.DataFrame([{"resource_id": "oven_exhaust", "site_id": "A", "role": "have", "category": "energy",
                   "type": "energy:flue-gas", "quantity": 5, "unit": "MW"}]).to_csv(
        tmp_path / "resources.csv", index=False)
    assert main(["targets", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "hot stream 'oven_exhaust'" in err and "temperature_c" in err
