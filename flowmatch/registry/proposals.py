"""Proposing a plan's synergies: each row of its ``synergies.csv`` becomes a synergy in state ``identified``.

The plan folder is read (and checked against its manifest) with
:func:`flowmatch.plans.folder.read_plan_folder`. Each synergy is linked to the
plan by the folder's absolute path and its ``synergy_id``; proposing the same
plan again adds only the synergies not proposed yet, never a duplicate. The
park is ``--park``, else the one registry park the plan's sites name (their
``park`` column), else the registry's only park.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flowmatch.registry.db import Registry
from flowmatch.registry.errors import RegistryError, UnknownIdError
from flowmatch.registry.models import Event, Park, Synergy
from flowmatch.registry.snapshots import find_park
from flowmatch.registry.states import PATH

__all__ = ["ProposeResult", "propose_plan"]


@dataclass
class ProposeResult:
    park: str
    plan: str
    added: list[int]
    already: int

    def text(self) -> str:
        ids = f" (ids {self.added[0]}-{self.added[-1]})" if self.added else ""
        more = f"; {self.already} were proposed before and left as they are" if self.already else ""
        return f"park {self.park!r}: {len(self.added)} synergies of {self.plan} identified{ids}{more}"


def _num(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _park_for(session: Session, park: str | None, plan_parks: set[str], plan: Path) -> Park:
    if park:
        return find_park(session, park)
    names = set(session.scalars(select(Park.name)).all())
    named = plan_parks & names
    if len(named) == 1:
        return find_park(session, named.pop())
    if len(names) == 1 and not named:
        return find_park(session, next(iter(names)))
    listed = ", ".join(repr(n) for n in sorted(names)) or "none yet: import an inventory first"
    raise UnknownIdError(f"{plan}: which park's plan is this? Give --park NAME (parks: {listed}).")


def propose_plan(reg: Registry, plan_dir: str | Path, *, park: str | None = None,
                 date: dt.date | None = None) -> ProposeResult:
    """Insert the synergies of the plan folder ``plan_dir`` as ``identified`` (see the module docstring)."""
    from flowmatch.plans.folder import read_plan_folder

    path = Path(plan_dir)
    if (path / "resources.csv").is_file() and not (path / "summary.json").exists():
        raise RegistryError(f"{path}: is an inventory folder, not a plan. Optimise it first "
                            f"(`flowmatch optimise {path} -o PLAN_DIR`), then `flowmatch registry propose "
                            "PLAN_DIR`.")
    folder = read_plan_folder(path)
    syn = folder.synergies
    if syn is None:
        raise RegistryError(f"{path}: has no synergies.csv (a plan written by an older flowmatch, or a "
                            "what-if grid). Optimise again: `flowmatch optimise INVENTORY -o PLAN`.")
    source = str(path.resolve())
    types = dict(zip(folder.resources["resource_id"].astype(str), folder.resources["type"].astype(str),
                     strict=True)) if len(folder.resources) else {}
    plan_parks = set()
    if "park" in folder.sites.columns:
        plan_parks = {str(p) for p in folder.sites["park"] if str(p).strip()}
    when = date or dt.date.today()
    rows = syn.to_dict("records")

    def store(session: Session) -> ProposeResult:
        p = _park_for(session, park, plan_parks, path)
        have = set(session.scalars(select(Synergy.plan_synergy_id).where(
            Synergy.park_id == p.id, Synergy.plan_source == source)).all())
        added: list[Synergy] = []
        for r in rows:
            sid = str(r["synergy_id"])
            if sid in have:
                continue
            h, w = str(r["have_id"]), str(r["want_id"])
            s = Synergy(park_id=p.id, plan_source=source, plan_synergy_id=sid, have_ref=h, want_ref=w,
                        have_type=types.get(h), want_type=types.get(w), mode=str(r.get("mode") or "") or None,
                        quantity=_num(r.get("quantity")), unit=str(r.get("unit") or "") or None,
                        net_cash=_num(r.get("net_cash")), net_total=_num(r.get("net_total")),
                        co2_saved=_num(r.get("co2_saved_t")), status=PATH[0], status_date=when)
            session.add(s)
            added.append(s)
        session.flush()
        for s in added:
            session.add(Event(synergy_id=s.id, from_status=None, to_status=PATH[0], date=when,
                              note=f"proposed by plan {source} ({s.plan_synergy_id})"))
        return ProposeResult(p.name, source, [s.id for s in added], len(rows) - len(added))

    return reg.write(store)
