"""Assemble the checked columns into the normalised tables of an inventory.

Cross-table references are checked here (a property's resource, a distance's
sites, a type's parent), the user's types and compatibility are merged with the
built-in ones, and resources are normalised: yearly amounts in base units,
prices and emissions per base unit, month masks, type defaults. Columns a table
lacks get their defaults; columns the schema does not know are kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from flowmatch.inputs.cells import _blank, _codes, _in, _lookup, _np, parse_months
from flowmatch.inputs.knowledge import merge_exchanges
from flowmatch.inputs.params import Params
from flowmatch.inputs.problems import _Problems, _Table
from flowmatch.inputs.schema import FREQUENCIES, TABLES
from flowmatch.inputs.taxonomy import Taxonomy, builtin_taxonomy
from flowmatch.inputs.units import (
    BASE_UNIT,
    canonical_unit,
    known_units,
    to_base_factor,
    unit_factor_per_unit,
)

#: the category that the root of a type implies
_TYPE_ROOT_CATEGORY = {"ewc": "material", "raw": "material", "water": "water", "energy": "energy"}


def _series(v: Any, n: int) -> pd.Series:
    """A checked column (Arrow text, numbers or (value, given) booleans) as a Series."""
    if isinstance(v, pa.Array | pa.ChunkedArray):
        return pd.Series(v.to_pandas() if len(v) else pd.Series([], dtype="str"), dtype="str").reset_index(drop=True)
    if isinstance(v, tuple):
        val, given = v
        return pd.Series(pd.arrays.BooleanArray(val, ~given))
    if isinstance(v, np.ndarray):
        return pd.Series(v)
    return pd.Series([v] * n, dtype="str" if isinstance(v, str) else None)


def _assemble(t: _Table | None, cols: dict[str, Any] | None, defaults: dict[str, Any],
              spec_name: str | None = None) -> pd.DataFrame:
    """A normalised table: checked columns typed, defaults for missing optional ones, extras kept."""
    name = spec_name or (t.name if t is not None else "")
    spec = TABLES[name]
    cols = dict(cols or {})
    n = len(t.df) if t is not None else 0
    data: dict[str, pd.Series] = {}
    for c in spec.columns:
        if c.name in cols:
            data[c.name] = _series(cols[c.name], n)
        elif c.name in defaults:
            d = defaults[c.name]
            data[c.name] = _series(d, n) if d is not None else pd.Series([""] * n, dtype="str")
        elif c.kind == "float":
            data[c.name] = pd.Series(np.full(n, np.nan))
        elif c.kind == "bool":
            data[c.name] = pd.Series(pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool)))
        else:
            data[c.name] = pd.Series([""] * n, dtype="str")
    if t is not None:
        for extra in t.df.columns:
            if extra not in data:
                data[extra] = t.df[extra].reset_index(drop=True)
    return pd.DataFrame(data)


def _taxonomy(t: _Table | None, cols: dict[str, Any] | None, P: _Problems) -> Taxonomy:
    base = builtin_taxonomy()
    if t is None or cols is None or "type" not in cols:
        return base
    taxonomy = base.merged(_assemble(t, cols, {}))
    parents = cols.get("parent")
    if parents is not None:
        bad = ~_np(pc.equal(parents, "")) & ~_in(parents, pa.array(taxonomy.table.index.tolist(), type=pa.string()))
        P.rows(t, bad, "parent", "parent type '{value}' is not known.",
               "Add the parent as its own row or use a built-in type.", parents)
        # cycles: walk up from each user type (the types table is small)
        user_types = cols["type"].to_pylist()
        parent_of = dict(zip(user_types, parents.to_pylist(), strict=True))
        in_cycle = np.zeros(len(user_types), dtype=bool)
        for i, tp in enumerate(user_types):
            seen, cur = set(), tp
            while cur and cur in parent_of and cur not in seen:
                seen.add(cur)
                cur = parent_of[cur]
            in_cycle[i] = bool(cur) and cur == tp
        P.rows(t, in_cycle, "parent", "type '{value}' is its own ancestor (a loop of parents).",
               "Break the loop: one of these types needs a parent outside it.", cols["type"])
    return taxonomy


def _compatibility(t: _Table | None, cols: dict[str, Any] | None, P: _Problems) -> pd.DataFrame:
    if t is None or cols is None:
        return merge_exchanges(None)
    if "score" in cols:
        P.rows(t, cols["score"] <= 0, "score", "score {value} is not above 0.",
               "Give a score above 0 and at most 1 (leave the pair out if it cannot serve).", cols["score"])
    if any(k not in cols for k in ("have_type", "want_type", "score")):
        return merge_exchanges(None)
    comp = _assemble(t, cols, {"source": "user"})
    # a repeated pair is reported by the key check; merge its first row only
    return merge_exchanges(comp.drop_duplicates(["have_type", "want_type"]))


def _properties(t: _Table | None, cols: dict[str, Any] | None, rc: dict[str, Any], rt: _Table,
                P: _Problems) -> pd.DataFrame:
    if t is None or cols is None:
        return _assemble(None, None, {}, spec_name="properties")
    if "resource_id" in cols and "resource_id" in rc:
        ids = cols["resource_id"]
        bad = ~_np(pc.equal(ids, "")) & ~_in(ids, rc["resource_id"])
        P.rows(t, bad, "resource_id", "resource '{value}' is not in the resources table.",
               f"Correct the id or add the resource to {rt.label}.", ids)
    n = len(t.df)
    value = cols.get("value", np.full(n, np.nan))
    lo = cols.get("min", np.full(n, np.nan))
    hi = cols.get("max", np.full(n, np.nan))
    P.rows(t, lo > hi, "min", "min {value} is greater than max.",
           "Swap min and max, or correct one of them.", lo)
    P.rows(t, np.isnan(value) & np.isnan(lo) & np.isnan(hi), "value",
           "the property has no value, min or max.",
           "Give a value (for a have) or a min and/or max (for a want), or delete the row.")
    if "property" in cols:
        cols["property"] = pc.utf8_lower(cols["property"])
    return _assemble(t, cols, {})


def _distances(t: _Table | None, cols: dict[str, Any] | None, site_ids: pa.Array, st: _Table,
               P: _Problems) -> pd.DataFrame:
    if t is None or cols is None:
        return _assemble(None, None, {}, spec_name="distances")
    for c in ("from_site", "to_site"):
        if c in cols:
            bad = ~_np(pc.equal(cols[c], "")) & ~_in(cols[c], site_ids)
            P.rows(t, bad, c, "site '{value}' is not in the sites table.",
                   f"Correct the id or add the site to {st.label}.", cols[c])
    return _assemble(t, cols, {})


def _resources(t: _Table, cols: dict[str, Any], params: Params, taxonomy: Taxonomy,
               P: _Problems) -> pd.DataFrame:
    """Normalise resources: base units per year, prices per base unit, months, types."""
    n = len(t.df)
    needed = ("category", "unit", "quantity", "type", "role")
    if any(c not in cols for c in needed):
        return _assemble(t, cols, {})
    cat = cols["category"]
    unit = cols["unit"]
    qty_in = cols["quantity"]

    # units -> base units: one look-up per distinct (unit, category)
    cat_code = _lookup(cat, {c: i for i, c in enumerate(BASE_UNIT)}, -1, np.int64)  # -1: empty or bad
    unit_codes, unit_names = _codes(unit)
    combo = unit_codes * 4 + (cat_code + 1)
    factor = np.full(n, np.nan)
    per_unit = np.full(n, np.nan)
    categories = list(BASE_UNIT)
    for key in np.unique(combo):
        u, c = unit_names[key // 4], int(key % 4) - 1
        if u == "" or c < 0:
            continue  # empty unit or bad category: reported already
        sel = combo == key
        cname = categories[c]
        f = to_base_factor(u, cname, params.hours_per_year)
        if f is None:
            unit_known = canonical_unit(u) is not None
            msg = (f"unit '{u}' does not fit category '{cname}'." if unit_known
                   else f"unit '{u}' is not known.")
            fix = f"Use one of: {', '.join(known_units(cname))}."
            if cname == "energy":
                fix += " Give steam as energy (about 0.75 MWh per t of low-pressure steam)."
            P.rows(t, sel, "unit", msg, fix)
            continue
        factor[sel] = f
        per_unit[sel] = unit_factor_per_unit(u, cname)
    with np.errstate(invalid="ignore", divide="ignore"):
        quantity = qty_in * factor
        cost = cols.get("cost", np.full(n, np.nan)) / per_unit
        co2 = cols.get("co2", np.full(n, np.nan)) / per_unit

    # months
    months = cols.get("months", _blank(n))
    uniq = pc.unique(months).to_pylist()
    mask = _lookup(months, {u: (parse_months(u) or 0) for u in uniq}, 0, np.int64)
    months = pc.if_else(pc.equal(months, ""), "1-12", months)

    # types: known, hazardous default, category fit
    types = cols["type"]
    uniq_types = [u for u in pc.unique(types).to_pylist() if u in taxonomy]
    known = _lookup(types, dict.fromkeys(uniq_types, True), False, bool)
    haz_of = {u: taxonomy.hazardous(u) for u in uniq_types}
    type_haz = _lookup(types, {k: (1 if v else 0) if v is not None else -1 for k, v in haz_of.items()}, -1, np.int8)
    hz_val, hz_given = cols.get("hazardous", (np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)))
    hazardous = np.where(hz_given, hz_val, type_haz == 1)
    roots = {u: (taxonomy.ancestors(u) or [u])[-1] for u in uniq_types}
    cat_index = {c: i for i, c in enumerate(BASE_UNIT)}
    implied = _lookup(types, {u: cat_index.get(_TYPE_ROOT_CATEGORY.get(r, ""), -1) for u, r in roots.items()},
                      -1, np.int64)
    bad = (implied >= 0) & (implied != cat_code) & (cat_code >= 0)
    P.rows(t, bad, "category", "category '{value}' does not fit the type.",
           "Use category water for water:* types, energy for energy:* types and material for ewc:* and "
           "raw:* types.", cat)

    bp_val, bp_given = cols.get("byproduct", (np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)))
    freq = cols.get("frequency", _blank(n))
    freq = pc.if_else(pc.equal(freq, ""), FREQUENCIES[0], freq)
    route = pc.utf8_lower(cols.get("route", _blank(n)))
    base_unit = pa.array([*BASE_UNIT.values(), ""], type=pa.string()).take(
        pa.array(np.where(cat_code >= 0, cat_code, len(BASE_UNIT))))
    out = dict(cols)
    out.update(quantity=quantity, unit=base_unit, cost=cost, co2=co2,
               months=months, frequency=freq, route=route)
    df = _assemble(t, out, {})
    df["hazardous"] = hazardous.astype(bool)
    df["byproduct"] = (bp_val & bp_given).astype(bool)
    df["quantity_in"] = qty_in
    df["unit_in"] = _series(unit, n)
    df["month_mask"] = mask.astype(np.int64)
    df["type_known"] = known
    return df
