"""The synergy lifecycle: a state machine, each step an event.

``identified -> contacted -> in_discussion -> agreed -> implemented -> completed``,
one step at a time; ``abandoned`` from any state but ``completed`` and
``abandoned``, with a required reason (the states and steps are
:mod:`flowmatch.registry.states`). A wrong step is a :class:`~flowmatch.registry.errors.WrongStateError`
naming the synergy's current state and the states it may go to.

:func:`advance` locks the synergy's row for the transaction (``FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so two processes advancing the same
synergy at once are applied one after the other, the second checked against
the state the first left.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flowmatch.registry.db import Registry
from flowmatch.registry.errors import UnknownIdError, WrongStateError
from flowmatch.registry.models import Event, Synergy
from flowmatch.registry.states import ABANDONED, FINAL, PATH, STATES, check_step, next_states

__all__ = ["STATES", "PATH", "FINAL", "ABANDONED", "next_states", "check_step", "advance", "get_synergy"]


def get_synergy(session: Session, synergy_id: int, *, lock: bool = False) -> Synergy:
    """The synergy with id ``synergy_id``, or :class:`UnknownIdError`."""
    q = select(Synergy).where(Synergy.id == synergy_id)
    if lock:
        q = q.with_for_update()
    syn = session.scalar(q)
    if syn is None:
        top = session.scalar(select(func.max(Synergy.id)))
        known = f"ids run from 1 to {top}" if top else "there are none yet (flowmatch registry propose PLAN)"
        raise UnknownIdError(f"no synergy with id {synergy_id} in the registry ({known}); "
                             "list them with `flowmatch registry synergies`.")
    return syn


def advance(reg: Registry, synergy_id: int, to: str, *, date: dt.date | None = None,
            note: str | None = None, reason: str | None = None) -> tuple[str, str]:
    """Move synergy ``synergy_id`` to state ``to`` on ``date`` (default today); returns (from, to)."""
    when = date or dt.date.today()
    to = to.strip().lower().replace("-", "_").replace(" ", "_")

    def step(session: Session) -> tuple[str, str]:
        syn = get_synergy(session, synergy_id, lock=True)
        before = syn.status
        check_step(synergy_id, before, to, reason)
        if when < syn.status_date:
            raise WrongStateError(f"synergy {synergy_id}: --date {when} is before its last step "
                                  f"({before} on {syn.status_date}); give {syn.status_date} or later.")
        syn.status, syn.status_date = to, when
        if to == ABANDONED:
            syn.reason = reason
        syn.updated_at = dt.datetime.now(dt.UTC)
        session.add(Event(synergy_id=syn.id, from_status=before, to_status=to, date=when,
                          note=note or (reason if to == ABANDONED else None)))
        return before, to

    return reg.write(step)
