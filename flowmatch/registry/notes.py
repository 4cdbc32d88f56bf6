"""Notes: free text kept on a park or a synergy, and listed with the notes of lifecycle steps.

:func:`add_note` stores one row of the ``notes`` table, on a park (by name)
or on a synergy (by id), never both. :func:`list_notes` lists a park's notes
(the park's own and those of its synergies) or one synergy's, oldest first,
together with the notes given to lifecycle steps (``flowmatch registry advance
ID STATUS --note TEXT``, kept in ``events``), so everything written about a
synergy is in one place. :func:`format_notes` writes the list as a table, CSV
or JSON. An unknown park or synergy is an
:class:`~flowmatch.registry.errors.UnknownIdError`; an empty note a
:class:`~flowmatch.registry.errors.RegistryError`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from flowmatch.registry.db import Registry
from flowmatch.registry.errors import RegistryError
from flowmatch.registry.lifecycle import get_synergy
from flowmatch.registry.listing import format_rows
from flowmatch.registry.models import Event, Note, Park, Synergy
from flowmatch.registry.snapshots import find_park

__all__ = ["NOTE_COLUMNS", "NoteResult", "add_note", "list_notes", "format_notes"]

NOTE_COLUMNS = ["id", "park", "synergy_id", "date", "step", "text", "created_at"]
"""Columns of a listed note: ``id`` is the note's (empty for a step's note), ``step`` the
state a lifecycle step moved to (empty for a note added with ``flowmatch registry note``),
``date`` the day it was written (a step's: the step's date), ``created_at`` when it was
stored (UTC)."""


@dataclass
class NoteResult:
    """A note just stored: its id, and what it is on."""

    id: int
    park: str
    synergy_id: int | None

    def text(self) -> str:
        on = f"synergy {self.synergy_id} (park {self.park!r})" if self.synergy_id is not None \
            else f"park {self.park!r}"
        return f"note {self.id} added to {on}"


def _clean(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise RegistryError("the note is empty; give its text, e.g. "
                            "`flowmatch registry note --synergy 1 \"the plant manager wants a trial load\"`.")
    return cleaned


def add_note(reg: Registry, text: str, *, park: str | None = None, synergy: int | None = None) -> NoteResult:
    """Store ``text`` as a note on park ``park`` (its name) or on synergy ``synergy`` (its id)."""
    if (park is None) == (synergy is None):
        raise RegistryError("a note is on a park or on a synergy: give --park NAME or --synergy ID, one of them.")
    body = _clean(text)

    def store(session: Session) -> NoteResult:
        if synergy is not None:
            syn = get_synergy(session, synergy)
            note = Note(synergy_id=syn.id, text=body)
            park_name = session.scalar(select(Park.name).where(Park.id == syn.park_id)) or ""
        else:
            assert park is not None
            p = find_park(session, park)
            note = Note(park_id=p.id, text=body)
            park_name = p.name
        session.add(note)
        session.flush()
        return NoteResult(note.id, park_name, synergy)

    return reg.write(store)


def _utc(stamp: dt.datetime) -> dt.datetime:
    """A stored timestamp in UTC (SQLite gives it back naive, in UTC; PostgreSQL with a time zone)."""
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)


def list_notes(reg: Registry, *, park: str | None = None, synergy: int | None = None) -> list[dict[str, Any]]:
    """The notes (of ``park`` and its synergies, of synergy ``synergy``), oldest first, as dicts of
    :data:`NOTE_COLUMNS`; with neither, all of them."""

    def load(session: Session) -> list[dict[str, Any]]:
        park_id = find_park(session, park).id if park is not None else None
        if synergy is not None:
            syn = get_synergy(session, synergy)
            if park_id is not None and syn.park_id != park_id:
                other = session.scalar(select(Park.name).where(Park.id == syn.park_id))
                raise RegistryError(f"synergy {synergy} is in park {other!r}, not {park!r}; "
                                    "give one of --park and --synergy, or the synergy's park.")
        names = {pid: name for pid, name in session.execute(select(Park.id, Park.name))}
        syn_park = {sid: pid for sid, pid in session.execute(select(Synergy.id, Synergy.park_id))}

        nq = select(Note)
        eq = select(Event).where(Event.note.is_not(None))
        if synergy is not None:
            nq = nq.where(Note.synergy_id == synergy)
            eq = eq.where(Event.synergy_id == synergy)
        elif park_id is not None:
            in_park = select(Synergy.id).where(Synergy.park_id == park_id)
            nq = nq.where(or_(Note.park_id == park_id, Note.synergy_id.in_(in_park)))
            eq = eq.where(Event.synergy_id.in_(in_park))
        rows: list[dict[str, Any]] = []
        for n in session.scalars(nq):
            pid = n.park_id if n.park_id is not None else syn_park.get(n.synergy_id or 0)
            created = _utc(n.created_at)
            rows.append({"id": n.id, "park": names.get(pid or 0), "synergy_id": n.synergy_id,
                         "date": created.date().isoformat(), "step": None, "text": n.text,
                         "created_at": created.isoformat(timespec="seconds")})
        for e in session.scalars(eq):
            created = _utc(e.created_at)
            rows.append({"id": None, "park": names.get(syn_park.get(e.synergy_id, 0)), "synergy_id": e.synergy_id,
                         "date": e.date.isoformat(), "step": e.to_status, "text": e.note,
                         "created_at": created.isoformat(timespec="seconds")})
        rows.sort(key=lambda r: (r["date"], r["created_at"], r["id"] is not None, r["id"] or 0))
        return rows

    return reg.read(load)


def format_notes(rows: list[dict[str, Any]], fmt: str = "table") -> str:
    """``rows`` as an aligned text table, CSV or JSON."""
    return format_rows(rows, fmt, NOTE_COLUMNS, ["id", "park", "synergy_id", "date", "step", "text"],
                       ["id", "park", "synergy", "date", "step", "text"],
                       lambda v: "" if v is None else " ".join(str(v).split()), "no notes")
