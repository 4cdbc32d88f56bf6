"""Outcomes: what an implemented synergy achieved, one record a year.

Only a synergy that is ``implemented`` or ``completed`` has outcomes (anything
else is a :class:`~flowmatch.registry.errors.WrongStateError`). Recording a
year again replaces that year's record (the result says so). Amounts that
cannot be below zero (tonnes diverted, virgin material and water saved, jobs,
investment) are checked; CO2 and cost saved may be negative (a synergy that
costs more than it saves).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from flowmatch.registry.db import Registry
from flowmatch.registry.errors import RegistryError, WrongStateError
from flowmatch.registry.lifecycle import get_synergy
from flowmatch.registry.models import Outcome

__all__ = ["MEASURES", "NON_NEGATIVE", "OutcomeResult", "record_outcome"]

MEASURES = ("landfill_diverted_t", "co2_saved_t", "cost_saved", "virgin_saved_t", "water_saved_m3",
            "jobs_created", "investment")
"""The measures of an outcome (columns of the ``outcomes`` table)."""
NON_NEGATIVE = frozenset({"landfill_diverted_t", "virgin_saved_t", "water_saved_m3", "jobs_created",
                          "investment"})
_HAS_OUTCOMES = ("implemented", "completed")


@dataclass
class OutcomeResult:
    synergy_id: int
    year: int
    replaced: bool

    def text(self) -> str:
        verb = "replaced the record of" if self.replaced else "recorded"
        return f"synergy {self.synergy_id}: {verb} {self.year}'s outcomes"


def _flag(name: str) -> str:
    return "--" + name.removesuffix("_t").removesuffix("_m3").removesuffix("_created").replace("_", "-")


def record_outcome(reg: Registry, synergy_id: int, year: int, *, currency: str | None = None,
                   **measures: float | None) -> OutcomeResult:
    """Record synergy ``synergy_id``'s outcomes for ``year`` (``measures``: names from :data:`MEASURES`)."""
    unknown = set(measures) - set(MEASURES)
    if unknown:
        raise RegistryError(f"unknown outcome measure(s) {', '.join(sorted(unknown))}; "
                            f"give {', '.join(MEASURES)}.")
    given = {k: v for k, v in measures.items() if v is not None}
    if not given:
        raise RegistryError(f"synergy {synergy_id}: no outcome given for {year}; give at least one of "
                            + ", ".join(_flag(m) for m in MEASURES) + ".")
    for k, v in given.items():
        if not math.isfinite(v):
            raise RegistryError(f"{_flag(k)} {v}: not a number; give a finite amount.")
        if k in NON_NEGATIVE and v < 0:
            raise RegistryError(f"{_flag(k)} {v:g}: cannot be below zero; give the amount saved or created.")

    def store(session: Session) -> OutcomeResult:
        syn = get_synergy(session, synergy_id, lock=True)
        if syn.status not in _HAS_OUTCOMES:
            raise WrongStateError(f"synergy {synergy_id} is {syn.status}: outcomes are recorded for "
                                  "implemented or completed synergies only. Advance it first "
                                  f"(`flowmatch registry advance {synergy_id} implemented`).")
        row = session.scalar(select(Outcome).where(Outcome.synergy_id == synergy_id, Outcome.year == year)
                             .with_for_update())
        replaced = row is not None
        if row is None:
            row = Outcome(synergy_id=synergy_id, year=year)
            session.add(row)
        for k in MEASURES:
            setattr(row, k, given.get(k))
        row.currency = currency
        return OutcomeResult(synergy_id, year, replaced)

    return reg.write(store)
