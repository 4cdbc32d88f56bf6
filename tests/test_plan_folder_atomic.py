"""A plan folder is one thing: staged, sealed with manifest.json, swapped in under a lock.

Readers see the old plan or the new one, never a mix (docs/plan-folder.md);
the summary is the sum of the flows on every plan, time-limited ones included.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
import shutil
import signal
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from filelock import FileLock
from plan_fixture import seal

from flowmatch.cli import main
from flowmatch.errors import PlanFolderError
from flowmatch.plans.folder import read_plan_folder
from flowmatch.plans.manifest import MANIFEST, read_verified
from flowmatch.plans.staging import lock_path, stage


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir()
                  if p.name.startswith(f".{out.name}.") and not p.name.endswith(".lock"))


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def mini_plan(tmp_path_factory, mini_dir) -> Path:
    out = tmp_path_factory.mktemp("atomic") / "plan"
    assert main(["optimise", str(mini_dir), "-o", str(out), "--report"]) == 0
    return out


def _copy(src: Path, tmp_path: Path) -> Path:
    d = tmp_path / "plan"
    shutil.copytree(src, d)
    return d


# --------------------------------------------------------------------------- the manifest


def test_manifest_lists_every_file_and_the_run(mini_plan):
    m = json.loads((mini_plan / MANIFEST).read_text())
    names = sorted(p.name for p in mini_plan.iterdir() if p.name != MANIFEST)
    assert sorted(m["files"]) == names
    assert {"summary.json", "flows.csv", "report.html", "plan.xlsx"} <= set(names)
    for n, e in m["files"].items():
        data = (mini_plan / n).read_bytes()
        assert e == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    run = m["run"]
    assert run["command"][:2] == ["flowmatch", "optimise"] and "--report" in run["command"]
    assert run["pid"] == os.getpid() and run["host"] and run["started"] <= run["finished"]
    assert m["kind"] == "plan" and _leftovers(mini_plan) == []


def test_report_rewrites_the_folder_as_one_and_keeps_the_plan_run(mini_plan, tmp_path):
    d = _copy(mini_plan, tmp_path)
    before = json.loads((d / MANIFEST).read_text())
    flows = (d / "flows.csv").read_bytes()
    assert main(["report", str(d)]) == 0
    after = json.loads((d / MANIFEST).read_text())
    assert after["run"]["command"][:2] == ["flowmatch", "report"]
    assert after["history"] == [before["run"]]
    assert (d / "flows.csv").read_bytes() == flows and after["files"]["flows.csv"] == before["files"]["flows.csv"]
    read_verified(d)
    assert _leftovers(d) == []


@pytest.mark.parametrize("how, says", [
    ("replace", "flows.csv: has changed since flowmatch wrote the folder"),
    ("extra", "holds comparison.csv, which its manifest.json does not list"),
    ("missing", "summary.json: is missing, but manifest.json lists it"),
    ("no manifest", "has no manifest.json"),
    ("truncate", "bytes where manifest.json says"),
])
def test_report_refuses_a_mixed_folder(mini_plan, tmp_path, capsys, how, says):
    d = _copy(mini_plan, tmp_path)
    if how == "replace":  # another run's flows.csv beside this run's summary
        flows = pd.read_csv(d / "flows.csv")
        flows.loc[0, "quantity"] *= 2
        flows.to_csv(d / "flows.csv", index=False)
    elif how == "extra":
        (d / "comparison.csv").write_text("scenario,cost\nbase,1\n")
    elif how == "missing":
        (d / "summary.json").unlink()
    elif how == "no manifest":  # as a flowmatch without manifests wrote it
        (d / MANIFEST).unlink()
    else:
        data = (d / "report.html").read_bytes()
        (d / "report.html").write_bytes(data[: len(data) // 2])
    before = _digest(d)
    assert main(["report", str(d)]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert "flowmatch optimise" in err  # says how to put it right
    assert _digest(d) == before and _leftovers(d) == []


@pytest.mark.parametrize("file, column, value", [
    ("flows.csv", "cost", "inf"), ("flows.csv", "co2_kg", "nan"), ("flows.csv", "quantity", "-inf"),
    ("routes.csv", "km", "far"), ("resources.csv", "quantity", "1e999"), ("sites.csv", "lat", "NaN"),
    ("flows.csv", "distance_km", ""),
])
def test_report_refuses_non_finite_numbers(mini_plan, tmp_path, capsys, file, column, value):
    d = _copy(mini_plan, tmp_path)
    df = pd.read_csv(d / file, dtype=str, keep_default_na=False)
    if not len(df):  # routes.csv of the mini plan is empty: give it one route
        df = pd.DataFrame({c: ["1"] for c in df.columns})
    row = len(df)
    df.loc[row - 1, column] = value
    df.to_csv(d / file, index=False)
    seal(d)  # as if flowmatch had written it so: the content check, not the manifest, must catch it
    assert main(["report", str(d)]) == 2
    err = capsys.readouterr().err
    assert f"{file}, row {row}, column '{column}'" in err and "Traceback" not in err
    with pytest.raises(PlanFolderError, match="not a (finite )?number|is empty"):
        read_plan_folder(d)


# --------------------------------------------------------------------------- one run at a time


def test_a_second_run_is_refused_by_the_lock(mini_plan, mini_dir, tmp_path, capsys):
    d = _copy(mini_plan, tmp_path)
    before = _digest(d)
    other = d.parent / f".{d.name}.tmp-4242-abcd1234"  # the other run's staging folder names it
    other.mkdir()
    with FileLock(str(lock_path(d)), timeout=0):
        for argv in (["optimise", str(mini_dir), "-o", str(d)], ["report", str(d)]):
            assert main(argv) == 2
            err = capsys.readouterr().err
            assert "another flowmatch run (pid 4242) is writing this folder" in err
            assert "Traceback" not in err
    assert _digest(d) == before and other.exists()  # nothing touched while the lock is held
    assert main(["report", str(d)]) == 0  # once free, the next run clears what the dead run left
    assert _leftovers(d) == [] and not other.exists()


def test_a_run_killed_mid_swap_is_rolled_forward(mini_plan, mini_dir, tmp_path, capsys):
    d = _copy(mini_plan, tmp_path)
    new = d.parent / f".{d.name}.new-99999-feedbeef"  # sealed: past the commit point
    shutil.copytree(d, new)
    d.rename(d.parent / f".{d.name}.old-99999-feedbeef")
    assert not d.exists()
    assert main(["optimise", str(tmp_path / "nope"), "-o", str(d)]) == 2  # fails, but first tidies
    assert "nope" in capsys.readouterr().err
    read_verified(d)
    assert _leftovers(d) == []


def test_a_failed_run_leaves_the_old_plan_whole(mini_plan, tmp_path):
    d = _copy(mini_plan, tmp_path)
    before = _digest(d)
    with pytest.raises(RuntimeError):
        with stage(d, "plan") as st:
            (st.path / "flows.csv").write_text("half a plan")
            raise RuntimeError("killed")
    assert _digest(d) == before and _leftovers(d) == []


# --------------------------------------------------------------------------- killed runs


def _child(argv: list[str]) -> None:
    os._exit(main(argv))


def _run(argv: list[str]):
    """``flowmatch ARGV`` in a forked process: as a separate run, without a fresh interpreter's start-up."""
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=_child, args=(argv,))
    p.start()
    return p


def _writing(out: Path, proc, timeout: float = 60.0) -> bool:
    """Wait until the run has begun writing its staging folder (or has ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.is_alive():
        for p in out.parent.glob(f".{out.name}.tmp-{proc.pid}-*"):
            if any(p.iterdir()):
                return True
        time.sleep(0.005)
    return False


@pytest.mark.skipif(sys.platform == "win32", reason="needs fork and SIGKILL")
def test_killed_runs_leave_the_old_plan_or_the_new_one(mini_plan, mini_dir, tmp_path):
    """SIGKILL ``optimise --report`` over an existing plan while it writes: never a mix.

    Each run is killed a random moment after it starts writing (flows.csv, the
    report, the workbook, the manifest, the swap); the folder must then verify
    as the complete old plan or the complete new one, and the next run clears
    what the killed ones left.
    """
    out = _copy(mini_plan, tmp_path)
    argv = ["optimise", str(mini_dir), "-o", str(out), "--report"]
    writers = {json.loads((out / MANIFEST).read_text())["run"]["pid"]}
    rng = random.Random(17)
    delays = rng.sample([0.0, 0.01, 0.05, 0.15, 0.4, 0.8, 1.5], 5)
    killed = 0
    for delay in delays:
        p = _run(argv)
        assert _writing(out, p)
        time.sleep(delay)
        p.kill()
        p.join(timeout=10)
        killed += p.exitcode == -signal.SIGKILL
        # complete, one run's files only: the manifest verifies, the tables agree
        manifest, files = read_verified(out)
        assert manifest["run"]["pid"] in writers | {p.pid}
        writers.add(manifest["run"]["pid"])
        pf = read_plan_folder(out)
        assert pf.summary["objective"]["cost"] == pytest.approx(pf.flows["cost"].sum(), rel=1e-9)
        assert {"report.html", "plan.xlsx"} <= set(files)
    assert killed >= 3  # most runs were killed while writing, not finished
    assert main(["report", str(out)]) == 0  # the next run clears what the killed ones left
    assert _leftovers(out) == []
    read_verified(out)


# --------------------------------------------------------------------------- summary = sum of the flows


@pytest.mark.parametrize("seed", [1, 2])
def test_summary_is_the_sum_of_the_flows_on_time_limited_plans(tmp_path, seed):
    park = tmp_path / "park"
    out = tmp_path / "plan"
    assert main(["synth", "--resources", "400", "--seed", str(seed), "--format", "csv", "-o", str(park)]) == 0
    assert main(["optimise", str(park), "-o", str(out), "--time-limit", "1", "--gap", "0"]) == 0
    s = json.loads((out / "summary.json").read_text())
    flows = pd.read_csv(out / "flows.csv", keep_default_na=False, dtype={"route_id": str})
    assert s["status"] in ("time_limit", "optimal")
    assert s["objective"]["cost"] == pytest.approx(flows["cost"].sum(), rel=1e-12, abs=1e-6)
    assert s["objective"]["co2_t"] == pytest.approx(flows["co2_kg"].sum() / 1000, rel=1e-12, abs=1e-9)
    read_plan_folder(out)


def test_readers_never_see_a_mix_while_folders_are_swapped(tmp_path):
    """A reader reading while a writer replaces the folder again and again gets one whole version."""
    import threading

    from flowmatch.studies.whatif import write_comparison

    out = tmp_path / "grid"
    tables = [pd.DataFrame({"scenario": [f"v{i}"] * (i + 1), "cost": [float(i)] * (i + 1)}) for i in range(12)]
    write_comparison(tables[0], out)
    errors: list[Exception] = []
    seen: set[str] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                c = read_plan_folder(out).comparison
            except Exception as exc:  # noqa: BLE001 - any failure is the test's finding
                errors.append(exc)
                return
            assert c is not None
            (label,) = set(c["scenario"])
            assert len(c) == int(label[1:]) + 1  # rows of one version only
            seen.add(label)

    t = threading.Thread(target=read)
    t.start()
    for table in tables[1:]:
        write_comparison(table, out)
        time.sleep(0.01)
    done.set()
    t.join(timeout=30)
    assert errors == [] and len(seen) >= 2 and _leftovers(out) == []
