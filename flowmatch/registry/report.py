"""The programme's record as tables: outcomes by year, park, sector and lifecycle state.

:func:`programme_tables` reads the registry (one read transaction) and
returns the tables :mod:`flowmatch.report.programme` writes to
``programme.xlsx`` or ``programme.html``. Each table ends with a ``Total`` row
that is the sum of the rows above it (:data:`TOTAL`), so a reader can check it.

* ``by_year``: the outcomes recorded for each year;
* ``by_park``: each park's synergies (all, completed, abandoned) and outcomes;
* ``by_sector``: outcomes by the sector of the company that gives the
  resource (the have's site in the park's snapshots; ``unknown`` when its
  sector was not recorded);
* ``by_state``: synergies in each lifecycle state, and the outcomes of those.

Amounts are summed as recorded; when outcomes were recorded in more than one
currency, ``notes`` says so (money of different currencies is not converted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from flowmatch.registry.models import Company, Outcome, Park, Resource, Snapshot, Synergy

__all__ = ["MEASURES", "STATES", "TOTAL", "ProgrammeTables", "programme_tables"]

#: Outcome columns, in the order the tables show them.
MEASURES = ["landfill_diverted_t", "co2_saved_t", "cost_saved", "virgin_saved_t", "water_saved_m3",
            "jobs_created", "investment"]
#: Lifecycle states in their order (:mod:`flowmatch.registry.lifecycle`).
STATES = ["identified", "contacted", "in_discussion", "agreed", "implemented", "completed", "abandoned"]
#: The label of each table's last row, the sum of the rows above it.
TOTAL = "Total"


@dataclass
class ProgrammeTables:
    """The tables of the programme report (see the module docstring)."""

    park: str | None
    by_year: pd.DataFrame
    by_park: pd.DataFrame
    by_sector: pd.DataFrame
    by_state: pd.DataFrame
    synergies: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The summary tables by name, in the report's order."""
        return {"by_year": self.by_year, "by_park": self.by_park, "by_sector": self.by_sector,
                "by_state": self.by_state}


def _with_total(df: pd.DataFrame, key: str) -> pd.DataFrame:
    """``df`` with a last row ``Total`` summing every numeric column."""
    df = df.reset_index(drop=True)
    body = {c: pd.to_numeric(df[c]) for c in df.columns if c != key}  # every column but the key is a number
    rows = {key: [*df[key].astype(str).tolist(), TOTAL]}
    for c, v in body.items():
        rows[c] = [*v.tolist(), v.sum()]
    return pd.DataFrame({c: pd.Series(rows[c], dtype=object if c == key else float) for c in df.columns})


def _sectors(session: Session, syn: pd.DataFrame) -> pd.Series:
    """The sector of each synergy's have company (its site in any snapshot of the park)."""
    if syn.empty:
        return pd.Series([], dtype=str)
    refs = sorted(set(syn["have_ref"].astype(str)))
    rows: list[Any] = []
    for i in range(0, len(refs), 500):
        rows += session.execute(
            select(Snapshot.park_id, Resource.resource_id, Company.sector)
            .join(Resource, Resource.snapshot_id == Snapshot.id)
            .join(Company, Resource.company_id == Company.id)
            .where(Resource.resource_id.in_(refs[i:i + 500]))).all()
    sector = {(int(p), str(r)): (s or "") for p, r, s in rows}
    out = [sector.get((int(p), str(r)), "") for p, r in zip(syn["park_id"], syn["have_ref"], strict=True)]
    return pd.Series([s if s else "unknown" for s in out], index=syn.index, dtype=str)


def programme_tables(session: Session, park: str | None = None) -> ProgrammeTables:
    """Read the synergies and outcomes (of one park, or all) into :class:`ProgrammeTables`.

    Raises
    ------
    UnknownIdError
        ``park`` is not in the registry.
    """
    park_id = None
    if park is not None:
        from flowmatch.registry.snapshots import find_park

        park_id = find_park(session, park).id  # UnknownIdError, worded as for every action
    q = (select(Synergy.id, Synergy.park_id, Park.name, Synergy.have_ref, Synergy.want_ref, Synergy.have_type,
                Synergy.want_type, Synergy.status, Synergy.status_date, Synergy.reason)
         .join(Park, Synergy.park_id == Park.id).order_by(Synergy.id))
    if park_id is not None:
        q = q.where(Synergy.park_id == park_id)
    syn = pd.DataFrame(session.execute(q).all(),
                       columns=["synergy_id", "park_id", "park", "have_ref", "want_ref", "have_type", "want_type",
                                "status", "status_date", "reason"])
    syn["sector"] = _sectors(session, syn)
    oq = select(Outcome.synergy_id, Outcome.year, Outcome.currency, *[getattr(Outcome, m) for m in MEASURES])
    if park_id is not None:
        oq = oq.join(Synergy, Outcome.synergy_id == Synergy.id).where(Synergy.park_id == park_id)
    out = pd.DataFrame(session.execute(oq).all(), columns=["synergy_id", "year", "currency", *MEASURES])
    for m in MEASURES:
        out[m] = pd.to_numeric(out[m]).fillna(0.0).astype(float)
    out = out.merge(syn[["synergy_id", "park", "sector", "status"]], on="synergy_id", how="left")
    notes = []
    currencies = sorted({str(c) for c in out["currency"].dropna() if str(c)})
    if len(currencies) > 1:
        notes.append(f"Outcomes were recorded in {len(currencies)} currencies ({', '.join(currencies)}); "
                     "cost saved and investment add them as recorded, not converted.")

    def measures_by(key: str) -> pd.DataFrame:
        g = out.groupby(key, sort=True)
        t = g[MEASURES].sum()
        t.insert(0, "synergies_with_outcomes", g["synergy_id"].nunique())
        t = t.reset_index()
        t[key] = t[key].astype(object)  # an empty registry: the key stays text, not float
        return t

    by_year = _with_total(measures_by("year").astype({"year": str}), "year")
    counts = syn.groupby("park").agg(synergies=("synergy_id", "size"),
                                     completed=("status", lambda s: int((s == "completed").sum())),
                                     abandoned=("status", lambda s: int((s == "abandoned").sum())))
    by_park = counts.join(measures_by("park").set_index("park"), how="left").fillna(0).reset_index()
    by_park = _with_total(by_park, "park")
    by_sector = _with_total(measures_by("sector"), "sector")
    state_n = syn.groupby("status").size().rename("synergies")
    state = pd.DataFrame({"status": pd.Series([s for s in STATES if s in state_n.index]
                                              + sorted(set(state_n.index) - set(STATES)), dtype=object)})
    state["synergies"] = state["status"].map(state_n).astype(int)
    state = state.merge(measures_by("status"), on="status", how="left").fillna(0)
    by_state = _with_total(state, "status")
    for t in (by_year, by_park, by_sector, by_state):
        for c in ("synergies", "completed", "abandoned", "synergies_with_outcomes"):
            if c in t:
                t[c] = t[c].astype(int)
    return ProgrammeTables(park=park, by_year=by_year, by_park=by_park, by_sector=by_sector,
                           by_state=by_state, synergies=syn.drop(columns=["park_id"]), notes=notes)
