"""Listing synergies: a filtered table of the registry's synergies as text, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flowmatch.registry.db import Registry
from flowmatch.registry.errors import WrongStateError
from flowmatch.registry.models import Park, Synergy
from flowmatch.registry.snapshots import find_park
from flowmatch.registry.states import STATES

__all__ = ["LIST_COLUMNS", "list_synergies", "format_synergies"]

LIST_COLUMNS = ["id", "park", "status", "status_date", "have_ref", "want_ref", "have_type", "want_type",
                "mode", "quantity", "unit", "net_total", "co2_saved", "reason", "plan_synergy_id", "plan_source"]


def list_synergies(reg: Registry, *, park: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """The synergies (of ``park``, in ``status``), oldest first, as dicts of :data:`LIST_COLUMNS`."""
    if status is not None and status not in STATES:
        raise WrongStateError(f"--status {status}: not a lifecycle state; give one of {', '.join(STATES)}.")

    def load(session: Session) -> list[dict[str, Any]]:
        q = select(Synergy, Park.name).join(Park, Synergy.park_id == Park.id)
        if park is not None:
            q = q.where(Synergy.park_id == find_park(session, park).id)
        if status is not None:
            q = q.where(Synergy.status == status)
        out = []
        for s, name in session.execute(q.order_by(Synergy.id)):
            row = {c: getattr(s, c, None) for c in LIST_COLUMNS}
            row["park"] = name
            row["status_date"] = s.status_date.isoformat()
            out.append(row)
        return out

    return reg.read(load)


def format_rows(rows: list[dict[str, Any]], fmt: str, columns: list[str], shown: list[str],
                headers: list[str], cell: Callable[[Any], str], empty: str) -> str:
    """``rows`` as JSON, CSV (every one of ``columns``) or an aligned text table of the ``shown``
    columns under ``headers``, each value written by ``cell``; ``empty`` when there is no row."""
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        return buf.getvalue().rstrip("\n")
    if not rows:
        return empty
    table = [headers] + [[cell(r[c]) for c in shown] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(shown))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in table)


def format_synergies(rows: list[dict[str, Any]], fmt: str = "table") -> str:
    """``rows`` as an aligned text table, CSV or JSON."""
    cols = ["id", "park", "status", "status_date", "have_ref", "want_ref", "mode", "quantity", "unit",
            "net_total"]

    def cell(v: Any) -> str:
        if v is None:
            return ""
        return f"{v:,.0f}" if isinstance(v, float) else str(v)

    return format_rows(rows, fmt, LIST_COLUMNS, cols, cols, cell, "no synergies")
