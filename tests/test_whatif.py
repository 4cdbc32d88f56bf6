"""What-if runs: grids, the example scenarios, and the comparison table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flowmatch.cli import main
from flowmatch.errors import ParamsError, ScenarioError
from flowmatch.inputs.inventory import read_inventory
from flowmatch.inputs.scenario import Scenario, apply_scenario, load_scenario
from flowmatch.studies.whatif import parse_vary, run_whatif, scenario_runs, write_comparison

ROOT = Path(__file__).resolve().parents[1]
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


def _dataset_for(scenario: Path, datasets: Path) -> Path:
    """The bundled dataset a scenario is written for: the one its name starts with, else mini."""
    parks = [d for d in datasets.iterdir() if (d / "sites.csv").exists()]
    return next((d for d in parks if scenario.stem.startswith(d.name)), datasets / "mini")


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_example_scenarios_apply_to_their_dataset(path, datasets_dir):
    inv = read_inventory(_dataset_for(path, datasets_dir))
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
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["comparison.csv", "comparison.parquet",
                                                                      "manifest.json"]


def test_jobs_must_be_positive(mini):
    with pytest.raises(ParamsError, match="jobs = 0"):
        run_whatif(mini, jobs=0)


# --------------------------------------------------------------------------- solving


def _write_toml(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_raising_landfill_tax_never_increases_landfill(trade_off):
    table = run_whatif(trade_off, vary=["landfill_tax=0,10,20,40,60,100"], jobs=1, gap=0.0)
    grid = table.iloc[1:]
    assert (grid["status"] == "optimal").all(), table["message"].tolist()
    landfill = grid["landfill_t"].to_numpy()
    assert np.all(np.diff(landfill) <= 1e-6), landfill
    assert landfill[0] == pytest.approx(2000.0) and landfill[-1] == pytest.approx(0.0)
    # the baseline (no synergies) pays the tax on every tonne: its cost grows by 4,000 t x the step
    assert np.allclose(np.diff(grid["baseline_cost"]), 4000.0 * np.diff(grid["landfill_tax"]))
    assert (grid["n_synergies"].to_numpy()[[0, -1]] == [2, 4]).all()


def test_scenario_files_change_the_plan(tmp_path, trade_off):
    files = [
        _write_toml(tmp_path, "byproduct.toml", 'byproducts = ["H0", "H1", "H2", "H3"]\n'),
        _write_toml(tmp_path, "belt.toml",
                    '[[infrastructure]]\nsites = ["HUB", "B2"]\ncategory = "material"\n'),
        _write_toml(tmp_path, "closure.toml", '[remove]\nsites = ["B0"]\n'),
    ]
    table = run_whatif(trade_off, scenarios=files, jobs=1, gap=0.0).set_index("scenario")
    assert list(table.index) == ["baseline", "byproduct", "belt", "closure"]
    assert table.at["belt", "file"] == str(files[1]) and table.at["baseline", "file"] == ""
    base = table.loc["baseline"]
    # by-products: fixed cost 5,000 instead of 20,000, so the 140 km buyer joins
    assert table.at["byproduct", "n_synergies"] == 3
    assert table.at["byproduct", "cost"] == pytest.approx(base["cost"] - 2 * 15000 - 2000, rel=1e-6)
    # a shared belt (default factors: half the freight, no fixed cost) brings in the 140 km buyer
    assert table.at["belt", "n_synergies"] == 3
    assert table.at["belt", "cost"] == pytest.approx(base["cost"] - 1000 * (70 - 0.225 * 140), rel=1e-6)
    # the nearest buyer closes: one synergy fewer, and its 1,000 t no longer in the baseline's virgin input
    assert table.at["closure", "n_synergies"] == 1
    assert table.at["closure", "baseline_cost"] == pytest.approx(base["baseline_cost"] - 30000.0)
    assert (table["status"] == "optimal").all()


@pytest.mark.slow
def test_grid_in_two_processes_matches_one(trade_off):
    grid = ["landfill_tax=0,60", "carbon_price=0,120"]
    serial = run_whatif(trade_off, vary=grid, jobs=1, gap=0.0)
    parallel = run_whatif(trade_off, vary=grid, jobs=2, gap=0.0)
    assert len(parallel) == 1 + 4
    assert list(parallel.columns[:4]) == ["scenario", "file", "landfill_tax", "carbon_price"]
    pd.testing.assert_frame_equal(serial.drop(columns=["solve_s", "total_s"]),
                                  parallel.drop(columns=["solve_s", "total_s"]), rtol=1e-6)
    assert set(zip(parallel["landfill_tax"][1:], parallel["carbon_price"][1:], strict=True)) == {
        (0.0, 0.0), (0.0, 120.0), (60.0, 0.0), (60.0, 120.0)}


def test_a_failing_solve_is_a_row_not_a_crash(trade_off):
    table = run_whatif(trade_off, vary=["landfill_tax=0,20"], jobs=1, solver="pulp:NO_SUCH_SOLVER")
    assert len(table) == 3 and (table["status"] == "error").all()
    assert table["message"].str.contains("NO_SUCH_SOLVER").all() and table["cost"].isna().all()


def test_a_bad_scenario_fails_before_any_solve(tmp_path, monkeypatch, trade_off):
    import flowmatch.milp.optimise

    def no_solve(*a, **k):  # pragma: no cover - reached only if the check comes too late
        raise AssertionError("solved before checking the scenarios")

    monkeypatch.setattr(flowmatch.milp.optimise, "optimise", no_solve)
    bad = _write_toml(tmp_path, "bad.toml", '[remove]\nsites = ["NOWHERE"]\n')
    with pytest.raises(ScenarioError, match="NOWHERE"):
        run_whatif(trade_off, scenarios=[bad], jobs=1)


def test_cli_whatif_writes_the_comparison(tmp_path, trade_off_dir, capsys):
    scen = _write_toml(tmp_path, "tax.toml", "[params]\nlandfill_tax = 60\n")
    out = tmp_path / "out"
    rc = main(["whatif", str(trade_off_dir), str(scen), "--vary", "carbon_price=0,120", "--jobs", "1", "-o", str(out)])
    assert rc == 0
    table = pd.read_parquet(out / "comparison.parquet")
    assert table["scenario"].tolist() == ["baseline", "carbon_price=0", "carbon_price=120",
                                          "tax carbon_price=0", "tax carbon_price=120"]
    assert table.loc[3, "landfill_t"] == pytest.approx(0.0) and table.loc[1, "landfill_t"] == pytest.approx(2000.0)
    assert "comparison.csv" in capsys.readouterr().out
    rc = main(["whatif", str(trade_off_dir), str(tmp_path / "missing.toml"), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "missing.toml" in err and "Traceback" not in err
