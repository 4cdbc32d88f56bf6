"""A short summary of an inventory: what ``flowmatch describe`` prints.

:func:`describe` returns the numbers as a plain ``dict`` (JSON-ready);
:func:`describe_text` lays them out for a terminal.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flowmatch.inputs.inventory import Inventory
from flowmatch.inputs.labels import type_label
from flowmatch.inputs.units import BASE_UNIT, CATEGORIES

__all__ = ["describe", "describe_text"]

_TOP = 5
_TOP_TYPES = 8


def _top_types(haves) -> list[dict[str, Any]]:
    """The have types with the most resources: type, category, count, quantity and unit."""
    if len(haves) == 0:
        return []
    g = haves.groupby(["type", "category"], sort=False, observed=True)["quantity"].agg(["size", "sum"])
    g = g.reset_index().sort_values(["size", "sum", "type"], ascending=[False, False, True]).head(_TOP_TYPES)
    return [{"type": str(r.type), "category": str(r.category), "count": int(r.size),
             "quantity": float(r.sum), "unit": BASE_UNIT[str(r.category)]} for r in g.itertuples(index=False)]


def _by_category(df) -> dict[str, dict[str, Any]]:
    out = {}
    for cat in CATEGORIES:
        sel = df[df["category"] == cat]
        q = sel["quantity"].to_numpy(dtype=float)
        out[cat] = {
            "count": int(len(sel)),
            "quantity": float(np.nansum(q)),
            "unit": BASE_UNIT[cat],
            "types": int(sel["type"].nunique()),
        }
    return out


def describe(inv: Inventory) -> dict[str, Any]:
    """Summarise an inventory.

    Parameters
    ----------
    inv : Inventory

    Returns
    -------
    dict
        ``source``; counts of ``sites``, ``parks`` and ``sectors``;
        ``largest_parks`` (up to five ``{park, sites}``); ``haves`` and ``wants``
        by category, each with ``count``, total ``quantity`` per year in the
        category's base ``unit`` and the number of distinct ``types``;
        ``hazardous`` (haves flagged hazardous); ``seasonal`` (resources not
        available all year); ``properties`` (rows); ``unknown_types`` (types
        the taxonomy does not know, sorted), ``warnings`` and ``top_have_types``
        (up to eight ``{type, category, count, quantity, unit}``, most resources first).
    """
    sites = inv.sites
    res = inv.resources
    parks = sites["park"].astype(str)
    parks = parks[parks != ""]
    top = parks.value_counts().head(_TOP)
    haves, wants = inv.haves, inv.wants
    return {
        "source": inv.source,
        "sites": int(len(sites)),
        "parks": int(parks.nunique()),
        "sectors": int(sites["sector"].astype(str).replace("", np.nan).nunique()),
        "largest_parks": [{"park": str(k), "sites": int(v)} for k, v in top.items()],
        "resources": int(len(res)),
        "haves": _by_category(haves),
        "wants": _by_category(wants),
        "hazardous": int(haves["hazardous"].sum()),
        "seasonal": int((res["month_mask"] != (1 << 12) - 1).sum()),
        "properties": int(len(inv.properties)),
        "unknown_types": list(inv.unknown_types),
        "warnings": list(inv.warnings),
        "top_have_types": _top_types(haves),
    }


def describe_text(inv: Inventory, lang: str = "en") -> str:
    """The summary of :func:`describe` as lines of text for a terminal, type labels in ``lang`` (en, zh)."""
    d = describe(inv)
    lines = [
        f"inventory {d['source']}",
        f"  {d['sites']} sites in {d['parks']} parks, {d['sectors']} sectors; "
        f"{d['resources']} resources, {d['properties']} property rows",
    ]
    if d["largest_parks"]:
        lines.append("  largest parks: " + ", ".join(f"{p['park']} ({p['sites']} sites)"
                                                    for p in d["largest_parks"]))
    lines.append(f"  {'':10s}{'haves':>8s} {'per year':>20s}   {'wants':>8s} {'per year':>20s}")
    for cat in CATEGORIES:
        h, w = d["haves"][cat], d["wants"][cat]
        unit = h["unit"]
        hq, wq = f"{h['quantity']:,.0f} {unit}", f"{w['quantity']:,.0f} {unit}"
        lines.append(f"  {cat:10s}{h['count']:>8d} {hq:>20s}   {w['count']:>8d} {wq:>20s}")
    lines.append(f"  hazardous haves: {d['hazardous']}; resources not available all year: {d['seasonal']}")
    if d["top_have_types"]:
        lines.append("  most common have types:")
        for t in d["top_have_types"]:
            label = type_label(t["type"], lang, inv.taxonomy)
            q = f"{t['quantity']:,.0f} {t['unit']}"
            lines.append(f"    {t['count']:>6d} x {t['type']:20s} {q:>16s}  {label}")
    unknown = d["unknown_types"]
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        lines.append(f"  unknown types ({len(unknown)}, they match only themselves): {shown}")
    else:
        lines.append("  unknown types: none")
    return "\n".join(lines)
