"""Learn: the programme's completed and abandoned synergies become exchange evidence.

:func:`learn` counts, per park and ``(have_type, want_type)``, the synergies
that reached ``completed`` and those ``abandoned`` (with their reasons), and
stores the counts in the ``learned_exchanges`` table
(:class:`~flowmatch.registry.models_programme.LearnedExchange`, Alembic
revision ``0101``), replacing what an earlier ``learn`` stored, in one
transaction. It is a recount, not an increment: running it twice gives the same
table, and a synergy advanced since is counted in its new state.

:func:`evidence_table` reads the table back as the inventory's ``evidence``
table (:mod:`flowmatch.inputs.evidence`, one row per park and pair, the park's
name as ``programme``); ``flowmatch registry export`` writes it as
``evidence.csv`` into the exported folder, so matching and ``flowmatch
optimise`` of an export use the whole programme's record: every park's
completed exchanges count for the next park.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from flowmatch.inputs.evidence import EVIDENCE_COLUMNS, empty_evidence
from flowmatch.registry.models import Park, Synergy
from flowmatch.registry.models_programme import LearnedExchange

__all__ = ["LearnedExchange", "LearnResult", "learn", "evidence_table", "export_evidence"]

#: The lifecycle states that are evidence: a success and a failure.
COMPLETED, ABANDONED = "completed", "abandoned"


@dataclass(frozen=True)
class LearnResult:
    """What :func:`learn` stored."""

    pairs: int
    completed: int
    abandoned: int
    untyped: int
    """Completed or abandoned synergies without both types (a plan without types): not counted."""

    def __str__(self) -> str:
        text = (f"learned {self.pairs} exchange pair(s) from {self.completed} completed and "
                f"{self.abandoned} abandoned synerg{'y' if self.completed + self.abandoned == 1 else 'ies'}")
        if self.untyped:
            text += f"; {self.untyped} without have/want types were left out"
        return text


def _join(reasons: list[str]) -> str:
    seen: list[str] = []
    for r in reasons:
        r = " ".join(str(r or "").replace(";", ",").split())
        if r and r not in seen:
            seen.append(r)
    return "; ".join(seen)


def learn(session: Session) -> LearnResult:
    """Recount the completed and abandoned synergies into ``learned_exchanges`` (one transaction)."""
    rows = session.execute(
        select(Synergy.park_id, Synergy.have_type, Synergy.want_type, Synergy.status, Synergy.reason)
        .where(Synergy.status.in_([COMPLETED, ABANDONED]))
        .order_by(Synergy.id)).all()
    counts: dict[tuple[int, str, str], list] = {}
    untyped = done = lost = 0
    for park_id, have_type, want_type, status, reason in rows:
        if not have_type or not want_type:
            untyped += 1
            continue
        c = counts.setdefault((int(park_id), str(have_type), str(want_type)), [0, 0, []])
        if status == COMPLETED:
            c[0] += 1
            done += 1
        else:
            c[1] += 1
            c[2].append(reason or "")
            lost += 1
    session.execute(delete(LearnedExchange))
    if counts:
        session.execute(insert(LearnedExchange), [
            {"park_id": k[0], "have_type": k[1], "want_type": k[2], "completed": v[0], "abandoned": v[1],
             "abandon_reasons": _join(v[2])} for k, v in sorted(counts.items())])
    return LearnResult(pairs=len(counts), completed=done, abandoned=lost, untyped=untyped)


def evidence_table(session: Session) -> pd.DataFrame:
    """The learned exchanges as an inventory ``evidence`` table (every park; ``programme`` is its name)."""
    rows = session.execute(
        select(LearnedExchange.have_type, LearnedExchange.want_type, LearnedExchange.completed,
               LearnedExchange.abandoned, LearnedExchange.abandon_reasons, Park.name)
        .join(Park, LearnedExchange.park_id == Park.id)
        .order_by(Park.name, LearnedExchange.have_type, LearnedExchange.want_type)).all()
    if not rows:
        return empty_evidence()
    return pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)


def export_evidence(session: Session, imported: dict | None = None) -> pd.DataFrame | None:
    """The ``evidence`` table an export writes: the learned exchanges, and the imported rows of other programmes.

    ``imported`` is the snapshot's own ``evidence`` table as stored (``{"columns": [...],
    "rows": [...]}``), if the inventory imported had one: its rows whose
    ``programme`` is a park of this registry are dropped (the registry's record
    replaces them, so a re-imported export does not count twice); the rest (another
    programme's record) are kept. ``None`` when there is nothing to write.
    """
    learned = evidence_table(session)
    parts = [learned] if len(learned) else []
    if imported and imported.get("rows"):
        own = pd.DataFrame(imported["rows"], columns=imported["columns"], dtype=object)
        parks = {n for (n,) in session.execute(select(Park.name))}
        if "programme" in own:
            own = own[~own["programme"].fillna("").astype(str).isin(parks)]
        if len(own):
            parts.insert(0, own)
    if not parts:
        return None
    return pd.concat(parts, ignore_index=True)
