"""Check each table of an inventory against its schema, column by column.

Every column the schema knows is checked whole: numbers (parseable, finite,
within bounds), true/false values, allowed values, month ranges, required
cells, and the table's key (no row repeats it). Each problem is reported with
its row; the typed columns are returned for assembling the normalised tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowmatch.errors import InputProblem
from flowmatch.inputs.cells import _DATE_LIKE, _booleans, _in, _np, _numbers, _text, parse_months
from flowmatch.inputs.problems import MAX_ROWS_PER_PROBLEM, _pick, _Problems, _Table
from flowmatch.inputs.schema import Table
from flowmatch.inputs.textcells import check_text


def _check_columns(t: _Table, spec: Table, P: _Problems) -> dict[str, Any]:
    """Check one table's cells column by column; return the typed columns."""
    df = t.df
    out: dict[str, Any] = {}
    for col in spec.columns:
        if col.name not in df.columns:
            if col.required:
                P.whole(t.label, "required column is missing.",
                        f"Add a '{col.name}' column ({col.doc or col.kind}).", column=col.name)
            continue
        s = df[col.name]
        kind = col.kind
        if kind == "float":
            v, bad, txt = _numbers(s)
            P.rows(t, bad, col.name, "'{value}' is not a number.",
                   "Write a plain number like 12.5 (no units, a point for decimals).",
                   txt if txt is not None else v)
            if col.required:
                P.rows(t, np.isnan(v) & ~bad, col.name, "required value is empty.", f"Fill in '{col.name}'.")
            if col.lo is not None:
                below = v < col.lo
                what = "negative" if col.lo == 0 else f"below {col.lo:g}"
                P.rows(t, below, col.name, f"{{value}} is {what}.", f"Give a value of at least {col.lo:g}.", v)
            if col.hi is not None:
                P.rows(t, v > col.hi, col.name, f"{{value}} is above {col.hi:g}.",
                       f"Give a value of at most {col.hi:g}.", v)
            v = np.where(bad, np.nan, v)
            out[col.name] = v
        elif kind == "bool":
            val, given, bad, txt = _booleans(s)
            P.rows(t, bad, col.name, "'{value}' is not true or false.", "Write true or false (or yes/no, 1/0).",
                   txt)
            out[col.name] = (val, given)
        else:
            txt = check_text(t, col.name, kind, _text(s), P)
            if col.required:
                P.rows(t, _np(pc.equal(txt, "")), col.name, "required value is empty.", f"Fill in '{col.name}'.")
            if kind.startswith("enum:"):
                allowed = kind[5:].split("|")
                txt = pc.utf8_lower(txt)
                bad = ~_np(pc.equal(txt, "")) & ~_in(txt, allowed)
                P.rows(t, bad, col.name, "'{value}' is not allowed.", f"Use one of: {', '.join(allowed)}.", txt)
            elif kind == "months":
                uniq = pc.unique(txt).to_pylist()
                masks = {u: parse_months(u) for u in uniq}
                bad_vals = [u for u, m in masks.items() if m is None]
                if bad_vals:
                    bad = _in(txt, bad_vals)
                    dates = bad & _np(pc.match_substring_regex(txt, _DATE_LIKE))
                    P.rows(t, bad & ~dates, col.name, "'{value}' is not a month range.",
                           "Write months as 1-12, 4-9, 11-2 (November to February) or 1,3,5-7.", txt)
                    P.rows(t, dates, col.name, "'{value}' is a date, not a month range.",
                           "The spreadsheet turned a range like 11-2 into a date: format the column "
                           "as text and write the range again.", txt)
            out[col.name] = txt
    if spec.key and all(k in out for k in spec.key):
        _check_key(t, spec, out, P)
    return out


def _check_key(t: _Table, spec: Table, cols: dict[str, Any], P: _Problems) -> None:
    """Report rows repeating the table's key (sort-based: faster than hashing a million ids)."""
    n = len(t.df)
    if n < 2:
        return
    keytab = pa.table({k: cols[k] for k in spec.key})
    order = pc.sort_indices(keytab, sort_keys=[(k, "ascending") for k in spec.key])
    srt = keytab.take(order)
    same = np.ones(n - 1, dtype=bool)
    for k in spec.key:
        c = srt[k].combine_chunks()
        same &= _np(pc.equal(c.slice(1), c.slice(0, n - 1)))
    if not same.any():
        return
    order = _np(order).astype(np.int64)
    head = np.concatenate(([0], np.cumsum(~same)))  # run number of each sorted position
    run_start = np.flatnonzero(np.concatenate(([True], ~same)))
    first_of = order[run_start[head]]  # original index of the first row with that key
    dup_sorted = np.concatenate(([False], same))
    filled = np.ones(n, dtype=bool)
    for k in spec.key:
        filled &= ~_np(pc.equal(cols[k], ""))
    dup = np.zeros(n, dtype=bool)
    dup[order[dup_sorted]] = True
    dup &= filled
    first = np.empty(n, dtype=np.int64)
    first[order] = first_of
    keydesc = ", ".join(spec.key)
    idx = np.flatnonzero(dup)
    shown = idx[:MAX_ROWS_PER_PROBLEM]
    keyvals = [_pick(cols[k], shown) for k in spec.key]
    column = spec.key[-1]
    for j, i in enumerate(shown):
        val = " / ".join(kv[j] for kv in keyvals)
        P.items.append(InputProblem(t.label, int(t.rows[i]), column,
                                    f"duplicate {keydesc} '{val}' (first in row {int(t.rows[first[i]])}).",
                                    f"Make {keydesc} unique: merge the rows or rename one."))
    if len(idx) > len(shown):
        P.whole(t.label, f"{len(idx) - len(shown)} more rows repeat a {keydesc}.",
                f"Make {keydesc} unique.", column=column)
