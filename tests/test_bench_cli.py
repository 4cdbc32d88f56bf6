"""``flowmatch bench``: the record has every phase and positive throughputs, a baseline is
compared phase by phase (exit 1 naming the slower phase), and a bad baseline is exit 2.

No assertion here depends on how fast anything runs: the CLI runs compare against
baselines made far faster or far slower than any run, and the exact comparisons
are made between records whose numbers the test sets.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def record(tmp_path_factory, mini_dir) -> tuple[Path, dict]:
    """One ``flowmatch bench datasets/mini --json`` run (2 repeats), its file and its record."""
    from flowmatch.cli import main

    path = tmp_path_factory.mktemp("bench") / "bench.json"
    assert main(["bench", str(mini_dir), "--json", str(path), "--repeat", "2", "-q"]) == 0
    return path, json.loads(path.read_text(encoding="utf-8"))


def _doctored(rec: dict, factor: float) -> dict:
    """``rec`` as if every phase took ``factor`` times as long (throughputs divided by it)."""
    out = copy.deepcopy(rec)
    for ph in out["phases"].values():
        ph["median_s"] *= factor
        ph["runs_s"] = [s * factor for s in ph["runs_s"]]
    out["throughput"] = {k: v / factor for k, v in out["throughput"].items()}
    return out


def _write(tmp_path: Path, rec: dict, name: str = "baseline.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(rec), encoding="utf-8")
    return p


def test_record_has_every_phase_and_positive_throughputs(record, mini_dir):
    from flowmatch.bench.phases import FORMAT, PHASES

    _, rec = record
    assert rec["format"] == FORMAT
    assert list(rec["phases"]) == list(PHASES)
    for name, ph in rec["phases"].items():
        assert len(ph["runs_s"]) == 2, name
        assert all(s > 0 for s in ph["runs_s"]), name
        assert sorted(ph["runs_s"])[0] <= ph["median_s"] <= sorted(ph["runs_s"])[-1], name
    # mini: H1 (FGD gypsum) -> W1 and H2 (fly ash) -> W2 are the only pairs within reach
    assert rec["counts"] == {"pairs_in_reach": 2, "candidates": 2}
    assert rec["throughput"]["pairs_per_s"] == pytest.approx(2 / rec["phases"]["search"]["median_s"])
    match_s = sum(rec["phases"][p]["median_s"] for p in ("freeze", "search", "candidates"))
    assert rec["throughput"]["candidates_per_s"] == pytest.approx(2 / match_s)
    assert rec["inventory"]["resources"] == 4 and rec["inventory"]["haves"] == 2
    assert len(rec["inventory"]["checksum"]) == 64
    assert rec["settings"]["warmup_s"] > 0
    assert {"flowmatch", "numba", "numpy"} <= set(rec["versions"])
    assert rec["machine"]["cpu_count"] >= 1


def test_compare_with_itself_passes(record, capsys):
    from flowmatch.bench.compare import compare, read_record
    from flowmatch.cli import main

    path, rec = record
    verdicts = compare(read_record(path), rec, noise_floor=0.0)
    assert [v.slowdown for v in verdicts] == [0.0] * len(verdicts)
    assert not any(v.failed for v in verdicts)
    # the CLI path, against a baseline ten times slower than this run: no run is that slow
    slow = _write(path.parent, _doctored(rec, 10.0), "slow.json")
    code = main(["bench", rec["inventory"]["path"], "--compare", str(slow), "--repeat", "1", "-q"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "as fast as" in out.out and "SLOWER" not in out.out


def test_compare_fails_against_a_baseline_twice_as_fast(record, tmp_path, capsys):
    from flowmatch.bench.compare import compare
    from flowmatch.cli import main

    _, rec = record
    fast = _doctored(rec, 0.5)
    verdicts = {v.name: v for v in compare(rec, fast, max_slowdown=0.2, noise_floor=0.0)}
    assert verdicts["search"].failed and verdicts["search"].slowdown == pytest.approx(1.0)
    assert verdicts["pairs_per_s"].failed and verdicts["pairs_per_s"].slowdown == pytest.approx(1.0)
    assert "search" in verdicts["search"].text(0.2) and "100% slower" in verdicts["search"].text(0.2)
    # a 1.5x slower phase is within --max-slowdown 0.6, and under the noise floor it never fails
    assert not any(v.failed for v in compare(rec, _doctored(rec, 1 / 1.5), max_slowdown=0.6, noise_floor=0.0))
    assert not any(v.failed for v in compare(rec, fast, max_slowdown=0.2, noise_floor=1e9))
    # the CLI: a baseline a hundred times faster than the recorded run fails every timed phase
    base = _write(tmp_path, _doctored(rec, 0.01))
    code = main(["bench", rec["inventory"]["path"], "--compare", str(base), "--max-slowdown", "0.2",
                 "--noise-floor", "0", "--repeat", "1", "-q"])
    out = capsys.readouterr()
    assert code == 1
    assert "slower than" in out.err and "flowmatch bench: slower than" in out.err
    assert any(f"{p}: " in out.err for p in ("read", "freeze", "search", "candidates", "model", "solve"))
    assert "SLOWER" in out.out


@pytest.mark.parametrize("content,words", [
    (None, "no such file"),
    ("{not json", "not JSON (line 1"),
    ('{"format": "something else"}', "not a flowmatch bench record"),
    ("[1, 2]", "not a flowmatch bench record"),
])
def test_bad_baseline_is_exit_2(record, tmp_path, capsys, content, words):
    from flowmatch.cli import main

    _, rec = record
    base = tmp_path / "baseline.json"
    if content is not None:
        base.write_text(content, encoding="utf-8")
    code = main(["bench", rec["inventory"]["path"], "--compare", str(base), "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert str(base) in err and words in err and "flowmatch bench INVENTORY --json" in err
    assert "Traceback" not in err


def test_damaged_baseline_names_the_missing_phase(record, tmp_path, capsys):
    from flowmatch.cli import main

    _, rec = record
    broken = copy.deepcopy(rec)
    del broken["phases"]["search"]
    code = main(["bench", rec["inventory"]["path"], "--compare", str(_write(tmp_path, broken)), "-q"])
    assert code == 2
    assert "phases.search.median_s" in capsys.readouterr().err


def test_baseline_of_another_inventory_is_exit_2_unless_allowed(record, tmp_path, capsys, mini_dir):
    from flowmatch.cli import main

    _, rec = record
    other = tmp_path / "mini2"
    shutil.copytree(mini_dir, other)
    res = other / "resources.csv"
    res.write_text(res.read_text(encoding="utf-8").replace("120000", "120001"), encoding="utf-8")
    base = _write(tmp_path, _doctored(rec, 10.0))
    code = main(["bench", str(other), "--compare", str(base), "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert "another inventory" in err and "checksum" in err and "--allow-different-inventory" in err
    code = main(["bench", str(other), "--compare", str(base), "--allow-different-inventory",
                 "--repeat", "1", "-q"])
    assert code == 0, capsys.readouterr().err


@pytest.mark.parametrize("flag,value", [("--max-slowdown", "-0.1"), ("--noise-floor", "nan"),
                                        ("--repeat", "0")])
def test_bad_options_are_exit_2(record, capsys, flag, value):
    from flowmatch.cli import main

    path, rec = record
    code = main(["bench", rec["inventory"]["path"], "--compare", str(path), flag, value, "-q"])
    err = capsys.readouterr().err
    assert code == 2 and flag in err and "Traceback" not in err


def test_missing_inventory_is_exit_2(tmp_path, capsys):
    from flowmatch.cli import main

    assert main(["bench", str(tmp_path / "nowhere"), "-q"]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_matching_only_times_matching_and_compares_what_both_timed(record, tmp_path, capsys):
    from flowmatch.bench.compare import compare, read_record
    from flowmatch.cli import main

    _, rec = record
    out = tmp_path / "matching.json"
    base = _write(tmp_path, _doctored(rec, 10.0))
    code = main(["bench", rec["inventory"]["path"], "--matching-only", "--json", str(out),
                 "--compare", str(base), "--repeat", "1", "-q"])
    text = capsys.readouterr().out
    assert code == 0
    mine = read_record(out)  # a matching-only record is a valid baseline too
    assert list(mine["phases"]) == ["read", "freeze", "search", "candidates"]
    assert mine["settings"]["matching_only"] is True and mine["solve"] == {}
    assert mine["throughput"]["pairs_per_s"] > 0 and mine["throughput"]["candidates_per_s"] > 0
    text = text.replace(rec["inventory"]["path"], "").replace(str(tmp_path), "")  # paths may say "model"
    assert "model" not in text and "solve" not in text
    names = [v.name for v in compare(mine, rec, noise_floor=0.0)]
    assert names == ["read", "freeze", "search", "candidates", "pairs_per_s", "candidates_per_s"]


def test_a_solve_without_a_bound_is_recorded_as_json(tmp_path):
    """A solve stopped at the time limit with no bound has gap NaN; the record must still be JSON."""
    from types import SimpleNamespace

    from flowmatch.bench.phases import solve_info
    from flowmatch.bench.table import record_table
    from flowmatch.files import write_json

    info = solve_info(SimpleNamespace(status="time_limit", gap=float("nan"), summary={"n_synergies": 3}))
    assert info == {"status": "time_limit", "gap": None, "synergies": 3}
    write_json({"solve": info}, tmp_path / "r.json")  # raised on NaN before
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["solve"]["gap"] is None
    rec = {"inventory": {"path": "p", "resources": 1, "haves": 1, "wants": 0, "sites": 1},
           "settings": {"repeat": 1, "warmup_s": 1.0}, "phases": {"read": {"median_s": 1.0, "runs_s": [1.0]}},
           "counts": {"pairs_in_reach": 0, "candidates": 0},
           "throughput": {"pairs_per_s": 0.0, "candidates_per_s": 0.0}, "solve": info}
    assert "no bound" in record_table(rec)
