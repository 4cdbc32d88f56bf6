"""The issue's whole loop on SQLite and PostgreSQL: import, export, optimise, propose, advance to
completed, record an outcome, learn, match again (the pair's score raised, "done 1 time"), report."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from registry_helpers import cli, db_url, pg_server  # noqa: F401

from flowmatch.cli import main
from flowmatch.inputs.inventory import read_inventory
from flowmatch.matching.candidates import match

ROOT = Path(__file__).resolve().parents[1]
STEPS = ["contacted", "in_discussion", "agreed", "implemented", "completed"]


def _ok(*args: str, db: str) -> str:
    code, out, err = cli(*args, db=db)
    assert code == 0, f"flowmatch registry {' '.join(args)}: {err}"
    return out


def _pair(cands: pd.DataFrame, h: str, w: str) -> pd.Series:
    return cands[(cands["have_id"] == h) & (cands["want_id"] == w)].iloc[0]


def test_the_whole_loop(db_url, tmp_path, capsys):  # noqa: F811
    db = db_url
    _ok("init", db=db)
    _ok("import", str(ROOT / "datasets" / "mini"), "--park", "Demo", "--year", "2025", db=db)
    first = tmp_path / "export-1"
    _ok("export", "Demo", "-o", str(first), db=db)
    assert not (first / "evidence.csv").exists()  # nothing learned yet
    plan = tmp_path / "plan"
    assert main(["optimise", str(first), "-o", str(plan)]) == 0
    capsys.readouterr()
    _ok("propose", str(plan), "--park", "Demo", "--date", "2025-01-15", db=db)
    rows = json.loads(_ok("synergies", "--format", "json", db=db))
    syn = next(r for r in rows if r["have_ref"] == "H2" and r["want_ref"] == "W2")  # fly ash -> cement
    before = _pair(match(read_inventory(first)), "H2", "W2")
    assert before["s_type"] < 1 and before["programme_done"] == 0
    for month, step in enumerate(STEPS, start=2):
        _ok("advance", str(syn["id"]), step, "--date", f"2025-{month:02d}-01", db=db)
    _ok("outcome", str(syn["id"]), "--year", "2025", "--landfill-diverted", "1000", "--co2-saved", "150",
        "--cost-saved", "20000", "--currency", "CNY", db=db)
    assert "learned 1 exchange pair(s) from 1 completed" in _ok("learn", db=db)

    again = tmp_path / "export-2"
    _ok("export", "Demo", "-o", str(again), db=db)
    ev = pd.read_csv(again / "evidence.csv")
    assert ev[["have_type", "want_type", "completed", "programme"]].values.tolist() == [
        ["ewc:100102", "raw:cement-additive", 1, "Demo"]]
    after = _pair(match(read_inventory(again)), "H2", "W2")
    assert after["s_type"] == pytest.approx((before["s_type"] + 1) / 2)
    assert after["score"] > before["score"] and after["programme_done"] == 1
    assert main(["match", str(again), "-o", str(tmp_path / "m")]) == 0
    assert "H2 -> W2" in capsys.readouterr().out.split("done before:")[1].split("\n")[1]

    out = _ok("report", "-o", str(tmp_path / "programme.xlsx"), db=db)
    assert "1,000 t diverted from landfill" in out
    wb = openpyxl.load_workbook(tmp_path / "programme.xlsx")
    by_state = {r[0].value: r for r in wb["by_state"].iter_rows(min_row=2)}
    head = [c.value for c in wb["by_state"][1]]
    assert by_state["completed"][head.index("landfill_diverted_t")].value == 1000
    assert by_state["Total"][head.index("synergies")].value == len(rows)
