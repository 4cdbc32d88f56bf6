"""The registry's loop on SQLite and PostgreSQL: export -> optimise -> propose -> advance -> outcomes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from registry_helpers import cli, db_url, pg_server  # noqa: F401

from flowmatch.registry.errors import WrongStateError
from flowmatch.registry.states import ABANDONED, FINAL, PATH, STATES, check_step, next_states


@pytest.fixture(scope="module")
def mini_plan(tmp_path_factory: pytest.TempPathFactory, mini_dir: Path) -> Path:
    """A plan of the mini inventory exported from a registry (optimise reads the export)."""
    tmp = tmp_path_factory.mktemp("plan")
    db = f"sqlite:///{tmp / 'r.db'}"
    assert cli("init", db=db)[0] == 0
    assert cli("import", str(mini_dir), "--park", "Demo", "--year", "2024", db=db)[0] == 0
    assert cli("export", "Demo", "-o", str(tmp / "inv"), db=db)[0] == 0
    from flowmatch.cli import main

    assert main(["optimise", str(tmp / "inv"), "-o", str(tmp / "plan")]) == 0
    return tmp / "plan"


@pytest.fixture
def proposed(db_url: str, mini_dir: Path, mini_plan: Path) -> str:  # noqa: F811
    assert cli("init", db=db_url)[0] == 0
    assert cli("import", str(mini_dir), "--park", "Demo", "--year", "2024", db=db_url)[0] == 0
    code, out, err = cli("propose", str(mini_plan), "--date", "2025-01-10", db=db_url)
    assert code == 0, err
    assert "2 synergies" in out and "identified (ids 1-2)" in out
    return db_url


def _synergies(db: str, *args: str) -> list[dict]:
    code, out, err = cli("synergies", "--format", "json", *args, db=db)
    assert code == 0, err
    return json.loads(out)


def test_state_machine_steps() -> None:
    assert STATES == ("identified", "contacted", "in_discussion", "agreed", "implemented", "completed",
                      "abandoned")
    for a, b in zip(PATH, PATH[1:], strict=False):
        assert next_states(a) == (b, ABANDONED)
        check_step(1, a, b, None)
    for final in FINAL:
        assert next_states(final) == ()
    with pytest.raises(WrongStateError, match="it is identified; from there it may go to contacted or abandoned"):
        check_step(7, "identified", "agreed", None)
    with pytest.raises(WrongStateError, match="completed, a final state"):
        check_step(7, "completed", "abandoned", "late")
    with pytest.raises(WrongStateError, match="needs a reason"):
        check_step(7, "agreed", "abandoned", "  ")
    with pytest.raises(WrongStateError, match="not a lifecycle state"):
        check_step(7, "agreed", "signed", None)


def test_propose_is_idempotent_and_links_the_plan(proposed: str, mini_plan: Path) -> None:
    code, out, _ = cli("propose", str(mini_plan), db=proposed)
    assert code == 0 and "0 synergies" in out and "2 were proposed before" in out
    rows = _synergies(proposed)
    assert len(rows) == 2
    plan_rows = {r["synergy_id"]: r for r in json.loads(json.dumps(_plan_synergies(mini_plan)))}
    for r in rows:
        assert r["status"] == "identified" and r["status_date"] == "2025-01-10"
        assert r["plan_source"] == str(mini_plan.resolve())
        src = plan_rows[r["plan_synergy_id"]]
        assert (r["have_ref"], r["want_ref"]) == (src["have_id"], src["want_id"])
        assert r["quantity"] == pytest.approx(src["quantity"])
        assert r["have_type"].startswith("ewc:")


def _plan_synergies(plan: Path) -> list[dict]:
    import pandas as pd

    return pd.read_csv(plan / "synergies.csv").to_dict("records")


def test_advance_to_completed_with_outcomes(proposed: str) -> None:
    steps = ["contacted", "in_discussion", "agreed", "implemented"]
    for i, s in enumerate(steps):
        code, out, err = cli("advance", "1", s, "--date", f"2025-0{i + 2}-01", "--note", f"step {s}", db=proposed)
        assert code == 0, err
        assert f"-> {s}" in out
    code, out, err = cli("outcome", "1", "--year", "2025", "--landfill-diverted", "90000", "--co2-saved",
                         "1200.5", "--cost-saved", "3.1e6", "--jobs", "4", "--investment", "2e6",
                         "--currency", "CNY", db=proposed)
    assert code == 0, err
    assert "recorded 2025" in out
    code, out, err = cli("outcome", "1", "--year", "2025", "--landfill-diverted", "95000", db=proposed)
    assert code == 0 and "replaced the record of 2025" in out
    assert cli("advance", "1", "completed", "--date", "2026-01-01", db=proposed)[0] == 0
    assert cli("outcome", "1", "--year", "2026", "--water-saved", "10", db=proposed)[0] == 0
    from sqlalchemy import select

    from flowmatch.registry import open_registry
    from flowmatch.registry.models import Event, Outcome

    def load(s):
        ev = s.execute(select(Event.from_status, Event.to_status, Event.date, Event.note)
                       .where(Event.synergy_id == 1).order_by(Event.id)).all()
        oc = s.scalars(select(Outcome).where(Outcome.synergy_id == 1).order_by(Outcome.year)).all()
        return ev, oc

    events, outcomes = open_registry(proposed).read(load)
    assert [(e[0], e[1]) for e in events] == list(zip((None, *PATH[:-1]), PATH, strict=True))
    assert events[2][3] == "step in_discussion" and str(events[2][2]) == "2025-03-01"
    assert [o.year for o in outcomes] == [2025, 2026]
    assert outcomes[0].landfill_diverted_t == 95000 and outcomes[0].co2_saved_t is None  # replaced whole
    assert _synergies(proposed, "--status", "completed")[0]["id"] == 1
    assert [r["id"] for r in _synergies(proposed, "--status", "identified", "--park", "Demo")] == [2]


def test_wrong_steps_are_clear_errors_and_change_nothing(proposed: str) -> None:
    code, _, err = cli("advance", "1", "agreed", db=proposed)
    assert code == 2
    assert "synergy 1 cannot go to agreed: it is identified; from there it may go to contacted or abandoned" in err
    code, _, err = cli("advance", "2", "abandoned", db=proposed)
    assert code == 2 and "needs a reason" in err
    code, _, err = cli("outcome", "2", "--year", "2025", "--co2-saved", "5", db=proposed)
    assert code == 2 and "synergy 2 is identified: outcomes are recorded for implemented or completed" in err
    code, _, err = cli("advance", "99", "contacted", db=proposed)
    assert code == 2 and "no synergy with id 99" in err and "1 to 2" in err
    code, _, err = cli("outcome", "1", "--year", "2025", db=proposed)
    assert code == 2 and "no outcome given" in err
    assert cli("advance", "2", "contacted", "--date", "2025-02-01", db=proposed)[0] == 0
    code, _, err = cli("advance", "2", "in_discussion", "--date", "2025-01-01", db=proposed)
    assert code == 2 and "before its last step" in err
    code, out, err = cli("advance", "2", "abandoned", "--reason", "the plasterboard maker closed", db=proposed)
    assert code == 0, err
    code, _, err = cli("advance", "2", "contacted", db=proposed)
    assert code == 2 and "abandoned, a final state" in err
    rows = {r["id"]: r for r in _synergies(proposed)}
    assert rows[1]["status"] == "identified"
    assert rows[2]["status"] == "abandoned" and rows[2]["reason"] == "the plasterboard maker closed"
    for text in (err,):
        assert "Traceback" not in text


def test_listing_formats(proposed: str) -> None:
    code, out, _ = cli("synergies", db=proposed)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["id", "park", "status"] and len(lines) == 3
    code, out, _ = cli("synergies", "--format", "csv", "--status", "agreed", db=proposed)
    assert code == 0 and out.startswith("id,park,status,") and len(out.splitlines()) == 1
    code, _, err = cli("synergies", "--park", "Nowhere", db=proposed)
    assert code == 2 and "no park named 'Nowhere'" in err and "'Demo'" in err
