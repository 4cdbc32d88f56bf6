"""What-if runs: grids, the example scenarios, and the comparison table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flowmatch.errors import ParamsError, ScenarioError
from flowmatch.inventory import read_inventory
from flowmatch.scenario import Scenario, apply_scenario, load_scenario
from flowmatch.whatif import parse_vary, scenario_runs, write_comparison

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "datasets" / "mini"
SCENARIOS = sorted((ROOT / "datasets" / "scenarios").glob("*.toml"))


# --------------------------------------------------------------------------- grids


def test_parse_vary_converts_and_checks_values():
    axes = parse_vary(["landfill_price=40,100,200", " carbon_price = 0, 60.5 ", "max_suppliers_per_want=2"])
    assert axes == [("landfill_price", [40.0, 100.0, 200.0]), ("carbon_price", [0.0, 60.5]),
                    ("max_suppliers_per_want", [2])]
    assert isinstance(axes[2][1][0], int)


@pytest.mark.parametrize("spec, words", [
    ("landfill_price", "NAME=V1,V2"),
    ("landfill_price=", "NAME=V1,V2"),
    ("landfill_price=40,,100", "NAME=V1,V2"),
    ("=40", "NAME=V1,V2"),
    ("landfil_price=40", "not a parameter"),
    ("landfill_price=-1", "out of range"),
    ("landfill_price=cheap", "not a finite"),
])
def test_parse_vary_rejects_bad_axes(spec, words):
    with pytest.raises(ScenarioError) as ei:
        parse_vary([spec])
    assert ei.value.file == "--vary" and ei.value.keys == [spec] and words in str(ei.value)


def test_parse_vary_rejects_an_axis_given_twice():
    with pytest.raises(ScenarioError, match="varied twice"):
        parse_vary(["carbon_price=0", "carbon_price=60"])


def test_grid_is_the_cartesian_product_after_the_baseline():
    axes = parse_vary(["landfill_price=40,100,200", "carbon_price=0,60,120"])
    runs = scenario_runs([], axes)
    assert len(runs) == 1 + 9
    assert runs[0].name == "baseline" and not runs[0].params
    points = {(r.params["landfill_price"], r.params["carbon_price"]) for r in runs[1:]}
    assert points == {(lp, cp) for lp in (40.0, 100.0, 200.0) for cp in (0.0, 60.0, 120.0)}
    assert runs[1].name == "landfill_price=40 carbon_price=0"
    assert len({r.name for r in runs}) == len(runs)


def test_grid_over_scenario_files_and_grid_values_win():
    files = [Scenario(name="tax", source="tax.toml", params={"landfill_price": 999.0, "landfill_tax": 50.0}),
             Scenario(name="pipe", source="pipe.toml", byproducts=("H1",))]
    runs = scenario_runs(files, parse_vary(["landfill_price=40,100"]))
    assert len(runs) == 1 + 3 * 2
    tax = [r for r in runs if r.source == "tax.toml"]
    assert [r.params for r in tax] == [{"landfill_price": 40.0, "landfill_tax": 50.0},
                                       {"landfill_price": 100.0, "landfill_tax": 50.0}]
    assert [r.name for r in tax] == ["tax landfill_price=40", "tax landfill_price=100"]
    assert all(r.byproducts == ("H1",) for r in runs if r.source == "pipe.toml")


def test_without_axes_the_runs_are_the_baseline_and_each_file():
    files = [Scenario(name="a", source="a.toml"), Scenario(name="b", source="b.toml")]
    assert [r.name for r in scenario_runs(files, [])] == ["baseline", "a", "b"]


# --------------------------------------------------------------------------- example scenarios


def test_the_example_scenarios_exist():
    assert {p.name for p in SCENARIOS} >= {"landfill_tax.toml", "greywater_pipe.toml"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_example_scenarios_apply_to_the_mini_park(path):
    inv = read_inventory(MINI)
    s = load_scenario(path)
    new = apply_scenario(inv, s)
    for k, v in s.params.items():
        assert getattr(new.params, k) == v
    assert len(new.infrastructure) == sum(len(e["sites"]) * (len(e["sites"]) - 1) // 2 for e in s.infrastructure)
    assert set(s.byproducts) <= set(new.resources.loc[new.resources["byproduct"], "resource_id"])


# --------------------------------------------------------------------------- output


def test_write_comparison_writes_csv_and_parquet_atomically(tmp_path):
    table = pd.DataFrame({"scenario": ["baseline", "x"], "file": ["", "x.toml"], "status": ["optimal", "error"],
                          "cost": [1.5, float("nan")], "message": ["", "infeasible"]})
    paths = write_comparison(table, tmp_path / "out")
    assert [p.name for p in paths] == ["comparison.csv", "comparison.parquet"]
    pd.testing.assert_frame_equal(pd.read_parquet(paths[1]), table)
    back = pd.read_csv(paths[0], keep_default_na=False)
    assert back["scenario"].tolist() == ["baseline", "x"] and back["message"].tolist() == ["", "infeasible"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["comparison.csv", "comparison.parquet"]


def test_jobs_must_be_positive():
    from flowmatch.whatif import run_whatif

    with pytest.raises(ParamsError, match="jobs = 0"):
        run_whatif(read_inventory(MINI), jobs=0)
