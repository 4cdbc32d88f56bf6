"""``plan.xlsx``: the plan's tables as one workbook, for people who work in Excel.

Sheets: ``summary`` (``summary.json`` flattened to key/value rows, plus notes),
``sites``, ``resources``, ``candidates``, ``flows``, ``routes``, ``gaps`` and,
where the folder has them, ``rules`` (the expert rules and what each did),
``comparison`` and ``pareto``.

Safety: a text cell from the user's data is always written as text, never as a
formula, link or number: the workbook is opened with ``strings_to_formulas``,
``strings_to_urls`` and ``strings_to_numbers`` off, every string goes through
``write_string``, and one starting with ``=``, ``+``, ``-``, ``@`` (or a tab or
carriage return) also gets Excel's quote prefix so that editing the cell keeps
it text. Numbers stay numeric; NaN is an empty cell.

A sheet longer than Excel's 1,048,576 rows holds the first 1,048,575 data rows;
the summary sheet and the log say so (the full table is in the plan folder).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter

from flowmatch.files import atomic_write
from flowmatch.plans.folder import PlanFolder

__all__ = ["write_plan_xlsx", "EXCEL_MAX_ROWS", "flatten_summary"]

log = logging.getLogger(__name__)

EXCEL_MAX_ROWS = 1_048_576
"""Rows in an Excel worksheet, the heading row included."""

_RISKY = ("=", "+", "-", "@", "\t", "\r")
_SOURCE = {"sites": "sites.csv", "resources": "resources.csv", "candidates": "candidates.parquet",
           "flows": "flows.csv", "routes": "routes.csv", "gaps": "report.html",
           "comparison": "comparison.csv", "pareto": "pareto.csv", "changes": "changes.csv", "rules": "summary.json",
           "synergies": "synergies.csv"}


#: Text columns never turned into numbers, whatever they hold (ids, codes, names, months).
_TEXT_COLUMNS = {"name", "type", "unit", "unit_in", "months", "sites", "haves", "route", "mode", "role",
                 "category", "park", "sector", "description", "frequency", "currency"}


def numbers_as_numbers(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text column that holds only numbers (or blanks) as a numeric one.

    A plan folder's optional columns come back as text (routes' loads and
    costs, resources' ``quantity_in``...); the workbook stores them as numbers
    so they can be summed. Ids and codes (``*_id``, ``type``...) stay text.
    """
    out = df.copy()
    for c in out.columns:
        col = out[c]
        name = str(c)
        if (pd.api.types.is_numeric_dtype(col) or name.endswith("_id") or name.endswith("_name")
                or name in _TEXT_COLUMNS or not len(col)):
            continue
        txt = col.astype(str).str.strip()
        blank = txt.eq("") | col.isna()
        num = pd.to_numeric(txt.where(~blank, None), errors="coerce")
        if (~blank).any() and num[~blank].notna().all():
            out[c] = num.astype(float)
        elif (~blank).any() and txt[~blank].isin(["True", "False"]).all() and not blank.any():
            out[c] = txt.eq("True")
    return out


def with_names(df: pd.DataFrame, resources: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a ``*_name`` column beside each of ``have_id``, ``want_id`` and ``site_id``.

    A resource's name is its ``name`` where given, else its ``type``; a site's its ``name``.
    """
    out = df.copy()
    rname = pd.Series(dtype=object)
    if len(resources) and "resource_id" in resources:
        given = resources["name"].fillna("").astype(str) if "name" in resources else pd.Series("", index=resources.index)
        rname = given.where(given.str.strip() != "", resources.get("type", given).astype(str))
        rname.index = resources["resource_id"].astype(str)
    sname = pd.Series(dtype=object)
    if len(sites) and "name" in sites:
        sname = pd.Series(sites["name"].fillna("").astype(str).to_numpy(), index=sites["site_id"].astype(str))
    for col, names in (("have_id", rname), ("want_id", rname), ("site_id", sname)):
        new = col.replace("_id", "_name")
        if col not in out or new in out or not len(names):
            continue
        at = list(out.columns).index(col) + 1
        out.insert(at, new, out[col].astype(str).map(names).fillna("").to_numpy())
    return out


def flatten_summary(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``summary.json`` as ``(dotted.key, value)`` rows; lists become ``;``-joined text."""
    rows: list[tuple[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            rows.extend(flatten_summary(v, key + "."))
        elif isinstance(v, list | tuple):
            rows.append((key, "; ".join(str(x) for x in v)))
        else:
            rows.append((key, v))
    return rows


class _Sheets:
    """Writes DataFrames into an xlsxwriter workbook with safe text and numeric numbers."""

    def __init__(self, wb: xlsxwriter.Workbook, max_rows: int):
        self.wb = wb
        self.max_rows = max_rows
        self.head = wb.add_format({"bold": True, "bg_color": "#EEF2F5", "bottom": 1})
        self.quoted = wb.add_format({"quote_prefix": True})

    def text(self, ws, r: int, c: int, v: str) -> None:
        if v.startswith(_RISKY):
            ws.write_string(r, c, v, self.quoted)
        else:
            ws.write_string(r, c, v)

    def value(self, ws, r: int, c: int, v: Any) -> None:
        if v is None or v is pd.NA or v is pd.NaT:
            return
        if isinstance(v, bool | np.bool_):
            ws.write_boolean(r, c, bool(v))
        elif isinstance(v, int | float | np.integer | np.floating):
            f = float(v)
            if math.isfinite(f):
                ws.write_number(r, c, f)
        else:
            self.text(ws, r, c, str(v))

    def frame(self, name: str, df: pd.DataFrame) -> int | None:
        """Write ``df`` as sheet ``name``; return the number of rows left out, or None."""
        ws = self.wb.add_worksheet(name)
        cols = [str(c) for c in df.columns]
        for j, c in enumerate(cols):
            width = min(max(len(c) + 2, 10), 40)
            ws.set_column(j, j, width)
        for j, c in enumerate(cols):
            ws.write_string(0, j, c, self.head)
        ws.freeze_panes(1, 0)
        n = min(len(df), self.max_rows - 1)
        if cols:
            ws.autofilter(0, 0, max(n, 1), len(cols) - 1)
        # (column, kind, values, risky mask: for kind "str" only)
        cells: list[tuple[int, str, np.ndarray, np.ndarray | None]] = []
        for j, c in enumerate(df.columns):
            col = df[c].iloc[:n]
            if pd.api.types.is_bool_dtype(col) and not col.isna().any():
                cells.append((j, "bool", col.to_numpy(dtype=bool), None))
            elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                vals = col.to_numpy(dtype=float, na_value=np.nan)
                cells.append((j, "num", np.where(np.isfinite(vals), vals, np.nan), None))
            elif pd.api.types.is_string_dtype(col) and col.map(lambda v: isinstance(v, str) or pd.isna(v)).all():
                txt = col.fillna("").astype(str)
                cells.append((j, "str", txt.to_numpy(dtype=object), txt.str.startswith(_RISKY).to_numpy()))
            else:
                cells.append((j, "any", col.to_numpy(dtype=object), None))
        w_num, w_str, w_bool = ws.write_number, ws.write_string, ws.write_boolean
        quoted = self.quoted
        for i in range(n):
            r = i + 1
            for j, kind, vals, risky in cells:
                v = vals[i]
                if kind == "num":
                    if v == v:
                        w_num(r, j, v)
                elif kind == "str":
                    if v:
                        if risky is not None and risky[i]:
                            w_str(r, j, v, quoted)
                        else:
                            w_str(r, j, v)
                elif kind == "bool":
                    w_bool(r, j, bool(v))
                else:
                    self.value(ws, r, j, v)
        return len(df) - n if len(df) > n else None


def write_plan_xlsx(pf: PlanFolder, gaps: pd.DataFrame | None, path: str | Path,
                    max_rows: int = EXCEL_MAX_ROWS) -> Path:
    """Write the plan folder's tables (and the gap analysis) to ``path`` atomically.

    Parameters
    ----------
    pf : PlanFolder
    gaps : pandas.DataFrame or None
        The gap analysis (``gaps`` sheet); None where there is none (no
        candidates in the folder, or a comparison-only folder).
    path : str or Path
    max_rows : int
        Rows per sheet, heading included (Excel's limit by default).

    Returns
    -------
    pathlib.Path
    """
    sheets: list[tuple[str, pd.DataFrame]] = []
    if pf.has_plan:
        def named(df: pd.DataFrame) -> pd.DataFrame:
            return numbers_as_numbers(with_names(df, pf.resources, pf.sites))

        if pf.synergies is not None:  # what each synergy is worth, first: the park manager's sheet
            sheets.append(("synergies", named(pf.synergies)))
        sheets += [("sites", numbers_as_numbers(pf.sites)), ("resources", named(pf.resources))]
        if pf.candidates is not None:
            sheets.append(("candidates", named(pf.candidates)))
        sheets += [("flows", named(pf.flows)), ("routes", numbers_as_numbers(pf.routes))]
        if gaps is not None:
            sheets.append(("gaps", gaps))
        if pf.summary.get("rules"):  # expert rules: one row each, not one summary cell
            sheets.append(("rules", pd.DataFrame(pf.summary["rules"])))
    for name, df in (("comparison", pf.comparison), ("changes", pf.changes), ("pareto", pf.pareto)):
        if df is not None:
            sheets.append((name, df))

    def _write(tmp: Path) -> None:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                            "strings_to_numbers": False, "constant_memory": True})
        try:
            w = _Sheets(wb, max_rows)
            notes: list[str] = []
            summary = wb.add_worksheet("summary")
            for name, df in sheets:
                left = w.frame(name, df)
                if left:
                    notes.append(f"sheet {name} holds the first {len(df) - left:,} of {len(df):,} rows "
                                 f"(Excel's row limit); all are in {_SOURCE[name]}")
                    log.warning("plan.xlsx: %s", notes[-1])
            shown = {k: (f"{len(v)} rules: see the rules sheet" if k == "rules" else v)
                     for k, v in pf.summary.items()}
            rows = flatten_summary(shown) + [("note", n) for n in notes]
            summary.set_column(0, 0, 36)
            summary.set_column(1, 1, 60)
            summary.write_string(0, 0, "key", w.head)
            summary.write_string(0, 1, "value", w.head)
            for i, (k, v) in enumerate(rows, start=1):
                w.text(summary, i, 0, k)
                w.value(summary, i, 1, v)
            summary.activate()
        finally:
            wb.close()

    return atomic_write(path, _write)
