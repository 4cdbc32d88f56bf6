"""Notes on parks and synergies (``flowmatch registry note | notes``) on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from registry_helpers import cli, db_url, pg_server  # noqa: F401
from sqlalchemy.orm import Session

from flowmatch.registry.errors import RegistryError, UnknownIdError


def _synergy(db: str, park: str) -> int:
    """A synergy of ``park`` stored directly (the loop test covers propose; a plan is slow to make)."""
    from flowmatch.registry import open_registry
    from flowmatch.registry.models import Park, Synergy
    from flowmatch.registry.snapshots import find_park

    def store(session: Session) -> int:
        p: Park = find_park(session, park)
        n = session.query(Synergy).count() + 1
        s = Synergy(park_id=p.id, plan_source="/plans/p", plan_synergy_id=f"S{n:03d}", have_ref="H1",
                    want_ref="W1", status="identified", status_date=dt.date(2025, 1, 10))
        session.add(s)
        session.flush()
        return s.id

    return open_registry(db).write(store)


@pytest.fixture
def registry(db_url: str, mini_dir: Path) -> str:  # noqa: F811
    assert cli("init", db=db_url)[0] == 0
    for park in ("Demo", "Other"):
        code, _, err = cli("import", str(mini_dir), "--park", park, "--year", "2024", db=db_url)
        assert code == 0, err
    assert _synergy(db_url, "Demo") == 1
    assert _synergy(db_url, "Other") == 2
    return db_url


def _notes(db: str, *args: str) -> list[dict]:
    code, out, err = cli("notes", "--format", "json", *args, db=db)
    assert code == 0, err
    return json.loads(out)


def test_notes_on_parks_and_synergies(registry: str) -> None:
    db = registry
    code, out, err = cli("note", "--park", "Demo", "kick-off with the park office", db=db)
    assert (code, out.strip()) == (0, "note 1 added to park 'Demo'"), err
    code, out, _ = cli("note", "--synergy", "1", "  wants a trial load first ", db=db)
    assert out.strip() == "note 2 added to synergy 1 (park 'Demo')"
    assert cli("note", "--synergy", "2", "the other park's", db=db)[0] == 0
    code, _, err = cli("advance", "1", "contacted", "--date", "2025-02-01", "--note", "met the plant manager",
                       db=db)
    assert code == 0, err

    demo = _notes(db, "--park", "Demo")
    assert [(n["id"], n["synergy_id"], n["step"], n["text"]) for n in demo] == [
        (None, 1, "contacted", "met the plant manager"),  # the step's date, 2025, comes first
        (1, None, None, "kick-off with the park office"),
        (2, 1, None, "wants a trial load first"),          # stored stripped
    ]
    assert {n["park"] for n in demo} == {"Demo"}
    assert demo[0]["date"] == "2025-02-01"
    today = dt.datetime.now(dt.UTC).date()
    assert dt.date.fromisoformat(demo[1]["date"]) in (today, today - dt.timedelta(days=1))
    assert demo[1]["created_at"].endswith("+00:00")  # UTC on both backends

    assert [n["text"] for n in _notes(db, "--synergy", "2")] == ["the other park's"]
    assert [n["park"] for n in _notes(db, "--synergy", "2")] == ["Other"]
    assert len(_notes(db)) == 4
    assert [n["text"] for n in _notes(db, "--park", "Demo", "--synergy", "1")] == [
        "met the plant manager", "wants a trial load first"]

    code, out, _ = cli("notes", "--synergy", "1", "--format", "csv", db=db)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["text"] for r in rows] == ["met the plant manager", "wants a trial load first"]
    assert list(rows[0]) == ["id", "park", "synergy_id", "date", "step", "text", "created_at"]
    code, out, _ = cli("notes", "--park", "Other", db=db)
    lines = out.splitlines()
    assert lines[0].split() == ["id", "park", "synergy", "date", "step", "text"]
    assert len(lines) == 2 and lines[1].startswith("3 ") and lines[1].endswith("the other park's")


def test_notes_table_empty(registry: str) -> None:
    code, out, _ = cli("notes", "--park", "Demo", db=registry)
    assert (code, out.strip()) == (0, "no notes")


@pytest.mark.parametrize("args, message", [
    (["note", "--park", "Nope", "x"], "no park named 'Nope' in the registry (parks: 'Demo', 'Other')"),
    (["note", "--synergy", "9", "x"], "no synergy with id 9 in the registry (ids run from 1 to 2)"),
    (["note", "--park", "Demo", " \n "], "the note is empty; give its text"),
    (["notes", "--park", "Nope"], "no park named 'Nope'"),
    (["notes", "--synergy", "9"], "no synergy with id 9"),
    (["notes", "--park", "Demo", "--synergy", "2"], "synergy 2 is in park 'Other', not 'Demo'"),
])
def test_note_errors_exit_2_and_store_nothing(registry: str, args: list[str], message: str) -> None:
    code, out, err = cli(*args, db=registry)
    assert code == 2 and message in err and "Traceback" not in err
    assert _notes(registry) == []


@pytest.mark.parametrize("args", [["note", "x"], ["note", "--park", "Demo", "--synergy", "1", "x"]])
def test_note_needs_one_of_park_and_synergy(registry: str, args: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli(*args, db=registry)
    assert exc.value.code == 2


def test_library_api(registry: str) -> None:
    from flowmatch import registry as api

    reg = api.open_registry(registry)
    with pytest.raises(RegistryError, match="one of them"):
        api.add_note(reg, "x")
    with pytest.raises(RegistryError, match="one of them"):
        api.add_note(reg, "x", park="Demo", synergy=1)
    with pytest.raises(UnknownIdError):
        api.add_note(reg, "x", synergy=5)
    result = api.add_note(reg, "line one\nline two", synergy=2)
    assert (result.id, result.park, result.synergy_id) == (1, "Other", 2)
    rows = api.list_notes(reg, park="Other")
    assert [r["text"] for r in rows] == ["line one\nline two"]
    assert api.format_notes(rows).splitlines()[1].endswith("line one line two")  # one line a note
