"""Inventory snapshots: import an inventory into the registry, export one as an inventory folder.

``import_inventory`` reads the inventory with :func:`flowmatch.read_inventory`
(every check ``flowmatch validate`` makes applies) and stores it as a snapshot
of its park and year. A snapshot is never overwritten: importing the same park
and year again stores version N+1 and reports what changed against version N
(resources added, removed, with a changed quantity, otherwise changed). An
inventory identical to the latest version (same checksum of its tables and
``params.toml``) is refused with :class:`~flowmatch.registry.errors.DuplicateImportError`
(exit 2): nothing is stored twice.

Every table is kept row by row as read (``resources.row_json``,
``snapshots.tables_json``), so ``export_snapshot`` writes back the inventory
that was imported: ``sites.csv``, ``resources.csv``, the optional tables the
inventory had, and ``params.toml``; ``flowmatch optimise`` reads that folder.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from flowmatch.registry.db import Registry
from flowmatch.registry.errors import DuplicateImportError, RegistryError, UnknownIdError
from flowmatch.registry.models import Company, Park, Resource, Snapshot

__all__ = ["ImportResult", "import_inventory", "export_snapshot", "find_snapshot", "get_or_create_park",
           "find_park"]


@dataclass
class ImportResult:
    """What an import stored: the snapshot and what changed against the version before it."""

    park: str
    year: int
    version: int
    snapshot_id: int
    n_sites: int
    n_resources: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    quantity_changed: list[tuple[str, float, float]] = field(default_factory=list)
    other_changed: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The lines ``flowmatch registry import`` prints."""
        lines = [f"park {self.park!r} {self.year}: stored version {self.version} (snapshot {self.snapshot_id}: "
                 f"{self.n_sites} sites, {self.n_resources} resources)"]
        if self.version > 1:
            if not (self.added or self.removed or self.quantity_changed or self.other_changed):
                lines.append(f"resources unchanged since version {self.version - 1} (other tables or "
                             "params.toml changed)")
            else:
                lines.append(f"changes since version {self.version - 1}: {len(self.added)} added, "
                             f"{len(self.removed)} removed, {len(self.quantity_changed)} quantities changed, "
                             f"{len(self.other_changed)} otherwise changed")
            lines += _some([f"  + {r}" for r in self.added])
            lines += _some([f"  - {r}" for r in self.removed])
            lines += _some([f"  ~ {r}: quantity {a:g} -> {b:g}" for r, a, b in self.quantity_changed])
            lines += _some([f"  ~ {r}: other columns" for r in self.other_changed])
        return "\n".join(lines)


SHOWN = 20
"""Changes listed by id, of each kind; the rest are counted."""


def _some(lines: list[str]) -> list[str]:
    if len(lines) <= SHOWN:
        return lines
    return [*lines[:SHOWN], f"    ... and {len(lines) - SHOWN} more"]


def _cell(v: Any) -> Any:
    """A cell as stored: ``None`` for missing, else the value as read (a string)."""
    if type(v) is str:  # the common case, first
        return v
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    try:
        import pandas as pd

        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v if isinstance(v, (str, int, float, bool)) else str(v)


def _rows(df: Any) -> dict[str, Any]:
    """A table as ``{"columns": [...], "rows": [[cell, ...], ...]}``, missing cells ``None``."""
    cols = [str(c) for c in df.columns]
    values = df.astype(object).where(df.notna(), None).to_numpy().tolist()
    return {"columns": cols,
            "rows": [[v if v is None or type(v) is str else _cell(v) for v in row] for row in values]}


def _params_text(inv: Any, path: Path) -> str | None:
    """``params.toml`` as the inventory had it; for a workbook's params sheet, its values as TOML."""
    toml = path / "params.toml" if path.is_dir() else path.with_name("params.toml")
    if toml.is_file():
        return toml.read_text(encoding="utf-8")
    if path.is_dir():
        return None
    from flowmatch.inputs.params import Params

    given, default = inv.params.as_dict(), Params().as_dict()
    changed = {k: v for k, v in given.items() if v != default.get(k)}
    if not changed:
        return None
    return "".join(f"{k} = {json.dumps(v)}\n" for k, v in sorted(changed.items()))


def _checksum(tables: dict[str, Any], params: str | None) -> str:
    blob = json.dumps({"tables": tables, "params": params}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def find_park(session: Session, name: str) -> Park:
    """The park called ``name``, or :class:`UnknownIdError` listing the parks there are."""
    park = session.scalar(select(Park).where(Park.name == name))
    if park is None:
        names = session.scalars(select(Park.name).order_by(Park.name)).all()
        known = ", ".join(repr(n) for n in names[:20]) if names else "none yet"
        raise UnknownIdError(f"no park named {name!r} in the registry (parks: {known}). Give one of them, "
                             "or import an inventory with --park NAME first.")
    return park


def get_or_create_park(session: Session, name: str, country: str | None = None,
                       region: str | None = None) -> Park:
    park = session.scalar(select(Park).where(Park.name == name))
    if park is None:
        park = Park(name=name, country=country, region=region)
        session.add(park)
        session.flush()
    else:
        if country:
            park.country = country
        if region:
            park.region = region
    return park


def import_inventory(reg: Registry, inventory: str | Path, park: str, year: int, *,
                     country: str | None = None, region: str | None = None) -> ImportResult:
    """Store ``inventory`` as a new snapshot of ``park`` for ``year`` (see the module docstring)."""
    from flowmatch.inputs.inventory import read_inventory

    path = Path(inventory)
    if not park.strip():
        raise UnknownIdError("--park is empty; give the park's name, e.g. --park Caofeidian.")
    inv = read_inventory(path)
    raw = inv.tables
    tables = {name: _rows(df) for name, df in sorted(raw.items()) if name != "resources"}
    resources_raw = raw["resources"]
    res_rows = _rows(resources_raw)
    params = _params_text(inv, path)
    checksum = _checksum({**tables, "resources": res_rows}, params)
    cols = res_rows["columns"]
    at = cols.index("resource_id")
    rids = [str(r[at]).strip() for r in res_rows["rows"]]
    norm = inv.resources.set_index("resource_id").loc[rids]  # normalised, in the rows' order
    norm_cols = {c: norm[c].astype(str).tolist() for c in ("site_id", "role", "type", "unit")}
    quantities = norm["quantity"].astype(float).tolist()
    sites = inv.sites.set_index("site_id")
    site_lat = {str(k): float(v) for k, v in sites["lat"].items()}
    site_lon = {str(k): float(v) for k, v in sites["lon"].items()}

    def store(session: Session) -> ImportResult:
        p = get_or_create_park(session, park, country, region)
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            # one import of a park at a time; FOR NO KEY UPDATE leaves rows that only refer to it free
            session.execute(select(Park.id).where(Park.id == p.id).with_for_update(key_share=True))
        latest = session.scalar(select(Snapshot).where(Snapshot.park_id == p.id, Snapshot.year == year)
                                .order_by(Snapshot.version.desc()).limit(1))
        if latest is not None and latest.checksum == checksum:
            raise DuplicateImportError(
                f"{path}: is identical to park {park!r} {year} version {latest.version} (snapshot "
                f"{latest.id}, imported from {latest.source}); nothing was stored. Change the inventory, "
                "or import it under another --year.")
        companies = {c.site_id: c for c in session.scalars(select(Company).where(Company.park_id == p.id))}
        blank = [None] * len(sites)
        for site_id, name, sector, lat_, lon_ in zip(
                sites.index, *(sites[c].tolist() if c in sites else blank for c in ("name", "sector")),
                sites["lat"].tolist(), sites["lon"].tolist(), strict=True):
            c = companies.get(str(site_id))
            if c is None:
                c = Company(park_id=p.id, site_id=str(site_id))
                session.add(c)
                companies[str(site_id)] = c
            c.name = _cell(name)
            c.sector = _cell(sector)
            c.lat, c.lon = float(lat_), float(lon_)
        session.flush()
        snap = Snapshot(park_id=p.id, year=year, version=(latest.version + 1) if latest else 1,
                        source=str(path.resolve()), checksum=checksum, n_sites=len(sites),
                        n_resources=len(resources_raw), tables_json=json.dumps(tables, ensure_ascii=False),
                        params_toml=params)
        session.add(snap)
        session.flush()
        company_ids = {k: c.id for k, c in companies.items()}
        values = [{
            "snapshot_id": snap.id, "company_id": company_ids[site], "resource_id": rid, "role": role,
            "type": typ, "quantity": q, "unit": unit, "lat": site_lat[site], "lon": site_lon[site],
            "row_json": json.dumps(dict(zip(cols, row, strict=True)), ensure_ascii=False),
        } for rid, site, role, typ, q, unit, row in zip(
            rids, norm_cols["site_id"], norm_cols["role"], norm_cols["type"], quantities, norm_cols["unit"],
            res_rows["rows"], strict=True)]
        conn = session.connection()
        if conn.dialect.name == "postgresql":  # COPY, in this same transaction
            names = list(values[0]) if values else []
            with conn.connection.driver_connection.cursor() as cur, cur.copy(  # type: ignore[union-attr]
                    f"COPY resources ({', '.join(names)}) FROM STDIN") as cp:
                for v in values:
                    cp.write_row(tuple(v.values()))
        else:  # Core executemany: no ORM bookkeeping per row
            for start in range(0, len(values), 5000):
                conn.execute(insert(Resource), values[start:start + 5000])
        result = ImportResult(park, year, snap.version, snap.id, snap.n_sites, snap.n_resources)
        if latest is not None:
            _diff(session, latest.id, values, result)
        return result

    return reg.write(store)


def _diff(session: Session, before_id: int, values: list[dict[str, Any]], result: ImportResult) -> None:
    old = {r.resource_id: r for r in session.execute(
        select(Resource.resource_id, Resource.quantity, Resource.unit, Resource.row_json)
        .where(Resource.snapshot_id == before_id))}
    new = {v["resource_id"]: v for v in values}
    result.added = sorted(set(new) - set(old))
    result.removed = sorted(set(old) - set(new))
    for rid in sorted(set(new) & set(old)):
        o, n = old[rid], new[rid]
        if (o.quantity, o.unit) != (n["quantity"], n["unit"]):
            result.quantity_changed.append((rid, o.quantity, n["quantity"]))
        elif o.row_json != n["row_json"]:
            result.other_changed.append(rid)


def find_snapshot(session: Session, park: str, year: int | None = None,
                  version: int | None = None) -> Snapshot:
    """The snapshot of ``park`` (latest year and latest version unless given)."""
    p = find_park(session, park)
    q = select(Snapshot).where(Snapshot.park_id == p.id)
    if year is not None:
        q = q.where(Snapshot.year == year)
    if version is not None:
        q = q.where(Snapshot.version == version)
    snap = session.scalar(q.order_by(Snapshot.year.desc(), Snapshot.version.desc()).limit(1))
    if snap is None:
        have = session.execute(select(Snapshot.year, func.max(Snapshot.version)).where(Snapshot.park_id == p.id)
                               .group_by(Snapshot.year).order_by(Snapshot.year)).all()
        known = ", ".join(f"{y} (version 1)" if v == 1 else f"{y} (versions 1-{v})" for y, v in have) or "none"
        asked = " ".join(x for x in (f"year {year}" if year else "", f"version {version}" if version else "") if x)
        raise UnknownIdError(f"park {park!r} has no snapshot {asked or ''}".rstrip() + f" (snapshots: {known}). "
                             "Give one of them with --year / --version.")
    return snap


def _check_export_target(out: Path) -> None:
    """Refuse to replace a folder that an export did not write: a hand-made inventory, a plan.

    Their files (``sites.csv``, ``resources.csv``...) are names flowmatch writes, so the
    staging swap alone would replace them; an export's own folder (its manifest says
    ``inventory``) and an empty one are written.
    """
    if not out.is_dir() or not any(out.iterdir()):
        return
    try:
        kind = json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        kind = None
    if kind == "inventory":
        return
    held = f"it holds a {kind}" if isinstance(kind, str) else "it has no manifest.json: an inventory of your own?"
    raise RegistryError(f"-o {out}: the folder exists and was not written by `flowmatch registry export` "
                        f"({held}); nothing was written. Export to a new folder, or remove it first.")


def export_snapshot(reg: Registry, park: str, out: str | Path, *, year: int | None = None,
                    version: int | None = None) -> tuple[Snapshot, Path]:
    """Write a snapshot as an inventory folder ``out`` (atomically, as one); returns it and the folder."""
    import pandas as pd

    from flowmatch.files import atomic_write, write_table
    from flowmatch.plans.staging import stage

    def load(session: Session) -> tuple[Snapshot, list[str]]:
        snap = find_snapshot(session, park, year, version)
        rows = session.scalars(select(Resource.row_json).where(Resource.snapshot_id == snap.id)
                               .order_by(Resource.id)).all()
        return snap, list(rows)

    snap, rows = reg.read(load)
    tables = json.loads(snap.tables_json)
    from flowmatch.registry.learn import (
        export_evidence,  # part B: the programme's record as evidence.csv
    )

    evidence = reg.read(lambda s: export_evidence(s, tables.pop("evidence", None)))
    records = [json.loads(r) for r in rows]
    columns = list(records[0]) if records else ["resource_id", "site_id", "role", "category", "type",
                                                 "quantity", "unit"]
    out = Path(out)
    _check_export_target(out)
    with stage(out, "inventory") as st:
        for name, t in tables.items():
            write_table(pd.DataFrame(t["rows"], columns=t["columns"], dtype=object), st.path / f"{name}.csv")
        write_table(pd.DataFrame(records, columns=columns, dtype=object), st.path / "resources.csv")
        if evidence is not None:
            write_table(evidence, st.path / "evidence.csv")
        if snap.params_toml is not None:
            text = snap.params_toml

            def _w(p: Path) -> None:
                p.write_text(text, encoding="utf-8")
            atomic_write(st.path / "params.toml", _w)
    return snap, out
