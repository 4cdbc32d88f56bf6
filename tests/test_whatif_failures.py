"""What-if runs that fail, and grids too big to start without asking.

A run that fails is a row with status ``error`` and the reason; the runs that
succeeded are written all the same, and ``flowmatch whatif`` then exits 1 and
names each failed run and why. A grid of over ``MAX_RUNS`` runs is refused
(exit 2) unless ``--yes`` is given, before anything is solved.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pandas as pd
import pytest

from flowmatch.cli import main
from flowmatch.errors import ScenarioError, SolverError
from flowmatch.studies.whatif import (
    MAX_RUNS,
    WORKER_DIED,
    count_runs,
    failures_text,
    parse_vary,
    run_whatif,
    scenario_runs,
)


@pytest.fixture
def failing_tax(monkeypatch):
    """optimise fails (a user's kind of error) at landfill_tax 20 and crashes (a bug) at 40."""
    import flowmatch.milp.optimise as opt

    real = opt.optimise

    def flaky(inventory, *a, **k):
        if inventory.params.landfill_tax == 20:
            raise SolverError("highs found no plan within the time limit of 1 s; give a longer --time-limit.")
        if inventory.params.landfill_tax == 40:
            raise ZeroDivisionError("division by zero")
        return real(inventory, *a, **k)

    monkeypatch.setattr(opt, "optimise", flaky)


def test_failed_runs_are_rows_and_the_others_stand(trade_off, failing_tax):
    table = run_whatif(trade_off, vary=["landfill_tax=0,20,40,60"], jobs=1, gap=0.0).set_index("scenario")
    assert table.loc[["landfill_tax=20", "landfill_tax=40"], "status"].tolist() == ["error", "error"]
    assert "no plan within the time limit" in table.at["landfill_tax=20", "message"]
    assert table.at["landfill_tax=40", "message"] == "crashed: ZeroDivisionError: division by zero"
    ok = table.loc[["baseline", "landfill_tax=0", "landfill_tax=60"]]
    assert (ok["status"] == "optimal").all() and ok["cost"].notna().all()
    text = failures_text(table.reset_index())
    assert text.startswith("2 of 5 runs failed") and "landfill_tax=20: highs found no plan" in text
    assert failures_text(table.reset_index().drop(index=[2, 3])) == ""


def test_cli_whatif_exits_1_after_writing_what_succeeded(tmp_path, trade_off_dir, failing_tax, capsys):
    out = tmp_path / "out"
    rc = main(["whatif", str(trade_off_dir), "--vary", "landfill_tax=0,20,40", "--jobs", "1", "-o", str(out)])
    captured = capsys.readouterr()
    assert rc == 1
    table = pd.read_csv(out / "comparison.csv", keep_default_na=False)
    assert table["status"].tolist() == ["optimal", "optimal", "error", "error"]
    assert table.loc[:1, "cost"].astype(float).notna().all() and (table.loc[2:, "cost"] == "").all()
    err = captured.err
    assert "2 of 4 runs failed" in err and "Traceback" not in err
    assert "  - landfill_tax=20: highs found no plan" in err
    assert "  - landfill_tax=40: crashed: ZeroDivisionError" in err


def test_cli_whatif_exits_0_when_every_run_solves(tmp_path, trade_off_dir, capsys):
    rc = main(["whatif", str(trade_off_dir), "--vary", "landfill_tax=0,20", "--jobs", "1", "-o", str(tmp_path / "o")])
    assert rc == 0 and "failed" not in capsys.readouterr().err


def test_a_killed_worker_fails_its_runs_not_the_study(tmp_path):
    """A worker killed mid-run (the OOM killer, say): the runs done are written, the others say why, exit 1."""
    from test_workers import FLOWMATCH, _started_workers

    park = tmp_path / "park"
    subprocess.run([*FLOWMATCH, "synth", "--resources", "400", "--seed", "1", "-o", str(park)],
                   check=True, capture_output=True, timeout=120)
    out = tmp_path / "grid"
    proc = subprocess.Popen([*FLOWMATCH, "whatif", str(park), "--vary", "landfill_price=40,100,200",
                             "--jobs", "2", "-o", str(out)], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not (workers := _started_workers(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert workers, "no worker started"
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    table = pd.read_csv(out / "comparison.csv", keep_default_na=False)
    assert len(table) == 4 and (table["status"] == "error").any()
    assert (table.loc[table["status"] == "error", "message"] == WORKER_DIED).all()
    assert "runs failed" in err and "worker process of the what-if pool died" in err and "Traceback" not in err


# --------------------------------------------------------------------------- grid size


def test_count_runs_is_the_number_scenario_runs_makes(trade_off):
    from flowmatch.inputs.scenario import Scenario

    scen = [Scenario(name="a", source="a.toml"), Scenario(name="b", source="b.toml")]
    for vary in ([], ["landfill_tax=0,20"], ["landfill_tax=0,20,40", "carbon_price=0,60"]):
        axes = parse_vary(vary)
        for s in ([], scen):
            assert count_runs(len(s), axes) == len(scenario_runs(s, axes))


def test_a_big_grid_is_refused_before_any_solve(trade_off, monkeypatch):
    import flowmatch.milp.optimise

    def no_solve(*a, **k):  # pragma: no cover - reached only if the check comes too late
        raise AssertionError("solved a grid that should have been refused")

    monkeypatch.setattr(flowmatch.milp.optimise, "optimise", no_solve)
    values = ",".join(str(v) for v in range(1000))
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError) as e:
        run_whatif(trade_off, vary=[f"landfill_tax={values}", f"carbon_price={values}"], jobs=1)
    assert time.perf_counter() - t0 < 30  # not a million scenarios made first
    assert "1,000,001 runs" in str(e.value) and "1,000 x 1,000 grid points" in str(e.value)
    assert "--yes" in str(e.value) and f"over the {MAX_RUNS}" in str(e.value)


def test_grid_limit_edge(trade_off, monkeypatch):
    import flowmatch.studies.whatif as wi

    monkeypatch.setattr(wi, "_solve_all", lambda invs, opts, jobs: [{"status": "optimal"} for _ in invs])
    n = MAX_RUNS - 1  # the baseline plus MAX_RUNS - 1 grid points: exactly MAX_RUNS runs
    vals = ",".join(str(v) for v in range(n))
    assert len(run_whatif(trade_off, vary=[f"landfill_tax={vals}"], jobs=1)) == MAX_RUNS
    more = ",".join(str(v) for v in range(n + 1))
    with pytest.raises(ScenarioError, match=f"{MAX_RUNS + 1} runs"):
        run_whatif(trade_off, vary=[f"landfill_tax={more}"], jobs=1)
    assert len(run_whatif(trade_off, vary=[f"landfill_tax={more}"], jobs=1, max_runs=None)) == MAX_RUNS + 1


def test_cli_refuses_a_big_grid_without_yes(tmp_path, trade_off_dir, capsys, monkeypatch):
    import flowmatch.studies.whatif as wi

    vals = ",".join(str(v) for v in range(MAX_RUNS))
    out = tmp_path / "o"
    rc = main(["whatif", str(trade_off_dir), "--vary", f"landfill_tax={vals}", "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and f"{MAX_RUNS + 1} runs to solve" in err and "Pass --yes" in err
    assert not out.exists()
    monkeypatch.setattr(wi, "_solve_all", lambda invs, opts, jobs: [
        {"status": "optimal", "message": ""} for _ in invs])
    rc = main(["whatif", str(trade_off_dir), "--vary", f"landfill_tax={vals}", "--yes", "-o", str(out)])
    assert rc == 0 and len(pd.read_csv(out / "comparison.csv")) == MAX_RUNS + 1
