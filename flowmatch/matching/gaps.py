"""Gap analysis: the haves nobody here can take, and whom to recruit for them.

A *gap* is a have whose best candidate (from matching) scores below
``min_score``, or that has no candidate at all. For each gap the knowledge base
of documented exchanges says which want types have taken such a resource
elsewhere and, through its ``want_sectors`` column (NACE / ISIC codes), which
sectors those users belong to. The sectors that none of the inventory's sites
belong to are the ones to recruit into the park.

Sector codes are compared by their digits, so ``C23.6``, ``23.6`` and ``236``
are the same code, and a code matches the codes it contains (a site in
``C23.61`` is in ``C23.6``; a site filed only as ``C23`` counts as ``C23.6``).
Sectors given as words are compared as lower-case words. ``want_sectors`` lists
codes separated by ``;``, ``,`` or ``|``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from flowmatch.data import data_table
from flowmatch.inputs.knowledge import builtin_exchanges
from flowmatch.inputs.taxonomy import Taxonomy, builtin_taxonomy
from flowmatch.inputs.units import BASE_UNIT, CATEGORIES

if TYPE_CHECKING:
    from flowmatch.inputs.inventory import Inventory

__all__ = ["gap_analysis", "gaps_text", "format_gaps", "sector_names", "GOOD_SCORE", "GAP_COLUMNS"]

GOOD_SCORE = 0.5
"""A candidate scoring at least this is a good one (scores are in [0, 1])."""

GAP_COLUMNS = ["resource_id", "site_id", "site_name", "park", "category", "type", "type_label",
               "quantity", "unit", "route", "best_score", "n_candidates", "uses",
               "recruit_sectors", "present_sectors"]

_SPLIT = re.compile(r"[;,|]")
_SECTION = re.compile(r"^[A-Za-z](?=\d)")


def _sector_key(code: str) -> str:
    """A comparable key: the digits of a NACE/ISIC code, or the lower-case words of a label."""
    code = str(code).strip()
    digits = _SECTION.sub("", code).replace(".", "").replace(" ", "")
    return digits if digits.isdigit() else code.lower()


@lru_cache(maxsize=1)
def _divisions() -> dict[str, str]:
    """NACE Rev. 2 divisions (the same two-digit divisions as ISIC Rev. 4), code -> short name."""
    tab = data_table("nace_divisions.csv", blanks_as_text=False)
    names = tab["name"].str.replace(r"^Manufacture of ", "", regex=True)
    return dict(zip(tab["division"], names, strict=True))


def sector_names(codes: str) -> str:
    """``"C23.6; C35.11"`` -> ``"C23.6 (other non-metallic mineral products); ..."``.

    Each NACE / ISIC code gets the name of its division; labels and unknown
    codes are kept as they are.
    """
    out = []
    for code in (c.strip() for c in _SPLIT.split(codes or "") if c.strip()):
        key = _sector_key(code)
        name = _divisions().get(key[:2]) if key.isdigit() and len(key) >= 2 else None
        out.append(f"{code} ({name[0].lower() + name[1:]})" if name else code)
    return "; ".join(out)


def _present(key: str, site_keys: set[str]) -> bool:
    if not key.isdigit():
        return key in site_keys
    return any(s.isdigit() and (s.startswith(key) or key.startswith(s)) for s in site_keys)


def type_label(taxonomy: Taxonomy, type_code: str) -> str:
    """The taxonomy's label of ``type_code``, or ``""`` for a type it does not know."""
    if type_code in taxonomy:
        label = taxonomy.table.at[type_code, "label"]
        return "" if pd.isna(label) else str(label)
    return ""


def _uses_by_type(types: np.ndarray, taxonomy: Taxonomy, kb: pd.DataFrame,
                  site_keys: set[str]) -> pd.DataFrame:
    """Per have type: the want types and sectors of documented exchanges, split by presence."""
    kb = kb.sort_values("score", ascending=False, kind="stable")
    sectors_col = kb["want_sectors"] if "want_sectors" in kb else pd.Series("", index=kb.index)
    rows = []
    for t in types:
        chain = taxonomy.ancestors(t) or [t]
        hit = kb["have_type"].isin(chain).to_numpy()
        uses = list(dict.fromkeys(kb.loc[hit, "want_type"].astype(str)))
        codes: list[str] = []
        for cell in sectors_col[hit]:
            if isinstance(cell, str):
                codes.extend(c.strip() for c in _SPLIT.split(cell) if c.strip())
        codes = list(dict.fromkeys(codes))
        present = [c for c in codes if _present(_sector_key(c), site_keys)]
        recruit = [c for c in codes if c not in present]
        rows.append((t, type_label(taxonomy, t), "; ".join(uses), "; ".join(recruit), "; ".join(present)))
    return pd.DataFrame(rows, columns=["type", "type_label", "uses", "recruit_sectors", "present_sectors"])


def gap_analysis(inventory_or_tables: Inventory | Mapping[str, pd.DataFrame],
                 candidates: pd.DataFrame | None = None,
                 min_score: float = GOOD_SCORE) -> pd.DataFrame:
    """The haves with no good candidate, largest first, and the sectors to recruit.

    Parameters
    ----------
    inventory_or_tables : Inventory or mapping
        An :class:`~flowmatch.inputs.inventory.Inventory` (its taxonomy and merged
        knowledge base are used), or ``{"sites": df, "resources": df}`` as a
        plan folder holds them (the built-in taxonomy and knowledge base are used).
    candidates : pandas.DataFrame, optional
        Scored pairs (``have_id``, ``score``, ...). Computed with
        :func:`flowmatch.matching.candidates.match` when an inventory is given without them.
    min_score : float
        A candidate scoring at least this is good; haves with none are gaps.

    Returns
    -------
    pandas.DataFrame
        One row per gap (``GAP_COLUMNS``), ordered material, water, energy, and
        within a category by quantity, largest first. ``best_score`` is NaN for a
        have with no candidate; ``uses`` lists the documented want types (best
        first), ``recruit_sectors`` the sectors that take them and are missing
        from the sites, ``present_sectors`` those already there (the have did
        not match them: distance, quality or quantity stood in the way).
    """
    if isinstance(inventory_or_tables, Mapping):
        sites, resources = inventory_or_tables["sites"], inventory_or_tables["resources"]
        taxonomy, kb = builtin_taxonomy(), builtin_exchanges()
        if candidates is None:
            raise ValueError("gap_analysis needs candidates when given tables, not an Inventory")
    else:
        inv = inventory_or_tables
        sites, resources, taxonomy, kb = inv.sites, inv.resources, inv.taxonomy, inv.compatibility
        if candidates is None:
            from flowmatch.matching.candidates import match

            candidates = match(inv)
    haves = resources[(resources["role"] == "have") & (resources["quantity"] > 0)]
    score = candidates["score"].to_numpy(dtype=float)
    best = pd.Series(score, index=candidates["have_id"].astype(str)).groupby(level=0).max()
    n_cand = candidates.groupby(candidates["have_id"].astype(str)).size()
    ids = haves["resource_id"].astype(str)
    best_h = best.reindex(ids).to_numpy()
    gap = haves[~(best_h >= min_score)].copy()
    gap["best_score"] = best.reindex(gap["resource_id"].astype(str)).to_numpy()
    gap["n_candidates"] = n_cand.reindex(gap["resource_id"].astype(str)).fillna(0).astype(int).to_numpy()

    site_info = sites.set_index("site_id")
    for col, src in (("site_name", "name"), ("park", "park")):
        vals = site_info[src] if src in site_info else pd.Series("", index=site_info.index)
        gap[col] = vals.reindex(gap["site_id"]).fillna("").astype(str).to_numpy()
    if "route" not in gap:
        gap["route"] = ""
    sector_vals = sites["sector"] if "sector" in sites else pd.Series([], dtype=str)
    site_keys = {_sector_key(s) for s in sector_vals.dropna().astype(str) if s.strip()}
    uses = _uses_by_type(gap["type"].astype(str).unique(), taxonomy, kb, site_keys)
    gap = gap.drop(columns=[c for c in uses.columns if c != "type" and c in gap]).merge(
        uses, on="type", how="left")
    order = {c: i for i, c in enumerate(CATEGORIES)}
    gap["_cat"] = gap["category"].map(order).fillna(len(order))
    gap = gap.sort_values(["_cat", "quantity"], ascending=[True, False], kind="stable")
    return gap[GAP_COLUMNS].reset_index(drop=True)


def _fmt_qty(q: float) -> str:
    return f"{q:,.0f}" if q >= 10 else f"{q:,.2f}"


def format_gaps(gaps: pd.DataFrame, top: int = 20, min_score: float = GOOD_SCORE) -> str:
    """The gap analysis as text: totals by category, then the ``top`` largest gaps of each."""
    if gaps.empty:
        return f"No gaps: every have has a candidate scoring at least {min_score:g}."
    totals = gaps.groupby("category", sort=False)["quantity"].sum()
    tot = ", ".join(f"{_fmt_qty(q)} {BASE_UNIT.get(c, '')}/yr {c}" for c, q in totals.items())
    lines = [f"{len(gaps)} have(s) with no candidate scoring at least {min_score:g} ({tot})."]
    for cat, grp in gaps.groupby("category", sort=False):
        lines.append("")
        shown = grp.head(top)
        more = f" (largest {len(shown)} of {len(grp)})" if len(grp) > len(shown) else ""
        lines.append(f"{cat}{more}:")
        for r in shown.itertuples(index=False):
            label = f" {r.type_label[:50]}" if r.type_label else ""
            where = f"{r.site_name or r.site_id}" + (f" ({r.park})" if r.park else "")
            best = "no candidate" if pd.isna(r.best_score) else f"best score {r.best_score:.2f}"
            lines.append(f"  {r.resource_id}  {_fmt_qty(r.quantity)} {r.unit}/yr  {r.type}{label}  at {where}; {best}")
            if r.recruit_sectors:
                lines.append(f"      recruit: {sector_names(r.recruit_sectors)}  (uses: {r.uses})")
            elif r.uses:
                lines.append(f"      used elsewhere as {r.uses}; such sectors already here: "
                             f"{sector_names(r.present_sectors) or 'not recorded'}")
            else:
                lines.append("      no documented use in the knowledge base")
    return "\n".join(lines)


def gaps_text(inv: Inventory, top: int = 20, min_score: float = GOOD_SCORE) -> str:
    """Match ``inv`` and return its gap analysis as text (``flowmatch gaps INVENTORY``)."""
    from flowmatch.matching.candidates import match

    return format_gaps(gap_analysis(inv, match(inv), min_score=min_score), top=top, min_score=min_score)
