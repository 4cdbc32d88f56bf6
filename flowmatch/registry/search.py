"""Search the registry's resources: by type, role, quantity, distance from a site, park.

:func:`search` selects resources of the latest snapshot of each park (every
snapshot with ``all_snapshots=True``):

* ``type``: a code (``ewc:1001``: that type and every type below it in the
  taxonomy, :mod:`flowmatch.inputs.taxonomy`, so ``cnhw:`` codes mapped under an
  EWC code come with it) or a pattern with ``*`` (``ewc:10*``: every code
  starting with ``ewc:10``), several separated by commas;
* ``role`` (``have``/``want``), ``min_qty``/``max_qty`` (the stored quantity,
  in the resource's unit), ``park`` (its name);
* ``near`` a site id (a company of the registry; with ``park`` when two parks
  share the id) ``within`` km, great-circle (:func:`flowmatch.geo.great_circle_km`).
  The database first keeps the rows in a latitude/longitude box around the
  site (indexable, cheap), then the exact distance filters them.

The work is done in SQL (the filters and the box) and NumPy (the distance),
so a search over a million registered resources stays a single indexed query.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from flowmatch.registry.errors import RegistryError
from flowmatch.registry.models import Company, Park, Resource, Snapshot

__all__ = ["SearchQuery", "search", "SEARCH_COLUMNS", "format_results", "type_codes"]

#: Columns of the table :func:`search` returns.
SEARCH_COLUMNS = ["park", "year", "version", "site_id", "company", "sector", "resource_id", "role", "type",
                  "quantity", "unit", "lat", "lon", "distance_km"]

_KM_PER_DEG = 6371.0088 * math.pi / 180.0


class SearchError(RegistryError):
    """A search the registry cannot answer as asked (an unknown site or park, a bad range)."""


@dataclass(frozen=True)
class SearchQuery:
    """What to look for; every field is optional (None: no filter)."""

    type: str | None = None
    role: str | None = None
    min_qty: float | None = None
    max_qty: float | None = None
    park: str | None = None
    near: str | None = None
    within_km: float | None = None
    all_snapshots: bool = False
    limit: int | None = None


@lru_cache(maxsize=1)
def _children() -> dict[str, list[str]]:
    from flowmatch.inputs.taxonomy import builtin_taxonomy

    table = builtin_taxonomy().table
    out: dict[str, list[str]] = {}
    for t, p in zip(table.index.tolist(), table["parent"].tolist(), strict=True):
        if p:
            out.setdefault(str(p), []).append(str(t))
    return out


def type_codes(code: str) -> list[str]:
    """``code`` and every type below it in the built-in taxonomy (``code`` alone when unknown)."""
    kids = _children()
    out, todo = [], [code]
    while todo:
        t = todo.pop()
        out.append(t)
        todo.extend(kids.get(t, ()))
    return sorted(set(out))


def _type_filter(spec: str) -> Any:
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        raise SearchError("--type is empty. Give a type code (ewc:1001) or a pattern (ewc:10*).")
    conds = []
    for p in parts:
        if "*" in p or "?" in p:
            like = p.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%").replace("?", "_")
            conds.append(Resource.type.like(like, escape="\\"))
        else:
            conds.append(Resource.type.in_(type_codes(p)))
    return or_(*conds)


def _latest_snapshots(conn: Session, park_id: int | None) -> list[int]:
    """Id of the latest snapshot (highest year, then version) of each park."""
    q = select(Snapshot.id, Snapshot.park_id, Snapshot.year, Snapshot.version)
    if park_id is not None:
        q = q.where(Snapshot.park_id == park_id)
    best: dict[int, tuple[int, int, int]] = {}
    for sid, pid, year, version in conn.execute(q):
        if pid not in best or (year, version) > best[pid][:2]:
            best[pid] = (year, version, sid)
    return sorted(v[2] for v in best.values())


def _park_id(conn: Session, name: str) -> int:
    """The id of park ``name``; an unknown one is :func:`~flowmatch.registry.snapshots.find_park`'s
    :class:`UnknownIdError`, the same message as every other action's."""
    from flowmatch.registry.snapshots import find_park

    return int(find_park(conn, name).id)


def _site(conn: Session, site: str, park_id: int | None) -> tuple[float, float]:
    q = select(Company.lat, Company.lon, Company.park_id).where(Company.site_id == site)
    if park_id is not None:
        q = q.where(Company.park_id == park_id)
    rows = [(float(r[0]), float(r[1])) for r in conn.execute(q) if r[0] is not None and r[1] is not None]
    if not rows:
        raise SearchError(f"--near: site '{site}' is not a company of the registry"
                          + (" in that park" if park_id is not None else "")
                          + " with coordinates. Give a site_id of an imported inventory.")
    if len(set(rows)) > 1:
        raise SearchError(f"--near: site '{site}' is in {len(rows)} parks at different places. "
                          "Name the park with --park.")
    return rows[0]


def _box(lat: float, lon: float, km: float) -> Any:
    """Rows inside a latitude/longitude box holding every point within ``km`` of (lat, lon)."""
    dlat = km / _KM_PER_DEG
    conds = [Resource.lat >= lat - dlat, Resource.lat <= lat + dlat]
    far = max(abs(lat - dlat), abs(lat + dlat))
    if far < 89.0:
        dlon = dlat / math.cos(math.radians(far))
        if dlon < 180.0:
            lo, hi = lon - dlon, lon + dlon
            if lo < -180.0:  # across the antimeridian: two ranges
                conds.append(or_(Resource.lon >= lo + 360.0, Resource.lon <= hi))
            elif hi > 180.0:
                conds.append(or_(Resource.lon >= lo, Resource.lon <= hi - 360.0))
            else:
                conds += [Resource.lon >= lo, Resource.lon <= hi]
    return and_(*conds)


def search(conn: Session, query: SearchQuery) -> pd.DataFrame:
    """The registered resources matching ``query``, nearest first with ``near``, else by park and id.

    Raises
    ------
    SearchError
        An unknown park or site, ``within_km`` without ``near`` (or the reverse),
        a negative distance, a minimum above the maximum, a role not have/want.
    """
    q = query
    if (q.near is None) != (q.within_km is None):
        raise SearchError("--near SITE and --within KM go together. Give both, or neither.")
    if q.within_km is not None and not q.within_km >= 0:
        raise SearchError(f"--within {q.within_km}: give a distance in km, 0 or more.")
    if q.min_qty is not None and q.max_qty is not None and q.min_qty > q.max_qty:
        raise SearchError(f"--min-qty {q.min_qty:g} is above --max-qty {q.max_qty:g}. Swap them.")
    if q.limit is not None and q.limit < 1:
        raise SearchError(f"--limit {q.limit}: give how many results to show, 1 or more (or leave it out).")
    if q.role is not None and q.role not in ("have", "want"):
        raise SearchError(f"--role {q.role}: give have or want.")
    park_id = _park_id(conn, q.park) if q.park else None
    conds: list[Any] = []
    if q.all_snapshots:
        if park_id is not None:
            conds.append(Snapshot.park_id == park_id)
    else:
        latest = _latest_snapshots(conn, park_id)
        if not latest:
            return pd.DataFrame({c: [] for c in SEARCH_COLUMNS})
        conds.append(Resource.snapshot_id.in_(latest))
    if q.type:
        conds.append(_type_filter(q.type))
    if q.role:
        conds.append(Resource.role == q.role)
    if q.min_qty is not None:
        conds.append(Resource.quantity >= q.min_qty)
    if q.max_qty is not None:
        conds.append(Resource.quantity <= q.max_qty)
    centre = None
    if q.near is not None and q.within_km is not None:
        centre = _site(conn, q.near, park_id)
        conds.append(_box(centre[0], centre[1], float(q.within_km)))
    stmt = (select(Park.name, Snapshot.year, Snapshot.version, Company.site_id, Company.name, Company.sector,
                   Resource.resource_id, Resource.role, Resource.type, Resource.quantity, Resource.unit,
                   Resource.lat, Resource.lon)
            .select_from(Resource)
            .join(Snapshot, Resource.snapshot_id == Snapshot.id)
            .join(Park, Snapshot.park_id == Park.id)
            .join(Company, Resource.company_id == Company.id)
            .where(*conds))
    rows = conn.execute(stmt).all()
    df = pd.DataFrame(rows, columns=SEARCH_COLUMNS[:-1])
    df["distance_km"] = np.nan
    if centre is not None and len(df):
        from flowmatch.geo import great_circle_km

        km = great_circle_km(centre[0], centre[1], df["lat"].to_numpy(float), df["lon"].to_numpy(float))
        df["distance_km"] = km
        df = df[km <= float(q.within_km or 0.0)].sort_values(["distance_km", "park", "resource_id"],
                                                              kind="stable")
    else:
        df = df.sort_values(["park", "year", "version", "resource_id"], kind="stable")
    matched = len(df)
    if q.limit is not None:
        df = df.head(q.limit)
    out = df.reset_index(drop=True)[SEARCH_COLUMNS]
    out.attrs["matched"] = matched  # format_results says when --limit cut the list
    return out


def format_results(df: pd.DataFrame, fmt: str = "table") -> str:
    """The results as an aligned text table, CSV or JSON (records)."""
    if fmt == "csv":
        return df.to_csv(index=False)
    if fmt == "json":
        return df.to_json(orient="records", indent=1, force_ascii=False) or "[]"
    if df.empty:
        return "no resource matches."
    shown = df.copy()
    shown["distance_km"] = shown["distance_km"].map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    shown["quantity"] = shown["quantity"].map(lambda v: f"{v:,.6g}")
    cols = ["park", "year", "site_id", "resource_id", "role", "type", "quantity", "unit", "distance_km"]
    matched = int(df.attrs.get("matched", len(df)))
    count = f"{len(df)} resource(s)" if matched <= len(df) else \
        f"the first {len(df)} of {matched} resources (--limit {len(df)})"
    return shown[cols].to_string(index=False) + "\n" + count
