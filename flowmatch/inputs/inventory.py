"""Read and validate an inventory into an :class:`Inventory`.

An inventory is a folder of tables (``NAME.csv`` or ``NAME.parquet``) or one
``.xlsx`` workbook with a sheet per table, plus optional parameters (a
``params.toml`` beside the tables or the workbook, and/or a ``params`` sheet of
``key, value`` rows); see ``docs/inventory.md``. Reading collects *every*
problem of every table and raises one :class:`InventoryError` that names file,
row, column and the fix for each; nothing else escapes for a user's mistake.

Row numbers: row 1 is the first data row below the header (blank lines are not
counted); each problem also carries the CSV line or the workbook's sheet row.

Normalisation: ``quantity`` becomes the yearly amount in the category's base
unit (t, m3, MWh) and ``unit`` that base unit (the originals are kept as
``quantity_in`` and ``unit_in``); ``cost`` and ``co2`` become per base unit;
``months`` becomes a 12-bit ``month_mask``; ``hazardous`` defaults from the
type; every resource gets ``type_known``. Validation is vectorised (Arrow
compute kernels), so a million resources read in seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from flowmatch.errors import InputProblem, InventoryError
from flowmatch.inputs.cells import (
    _DATE_LIKE,
    ALL_MONTHS,
    _blank,
    _booleans,
    _codes,
    _in,
    _lookup,
    _np,
    _numbers,
    _text,
    parse_months,
)
from flowmatch.inputs.knowledge import merge_exchanges
from flowmatch.inputs.params import Params
from flowmatch.inputs.problems import MAX_ROWS_PER_PROBLEM, _pick, _Problems, _Table, _with_lines
from flowmatch.inputs.readers import _frame, _read_folder, _read_params, _read_workbook
from flowmatch.inputs.schema import FREQUENCIES, TABLES, Table
from flowmatch.inputs.taxonomy import Taxonomy, builtin_taxonomy
from flowmatch.inputs.units import (
    BASE_UNIT,
    canonical_unit,
    known_units,
    to_base_factor,
    unit_factor_per_unit,
)

__all__ = ["Inventory", "read_inventory", "build_inventory", "parse_months", "ALL_MONTHS"]

log = logging.getLogger(__name__)

INFRASTRUCTURE_COLUMNS = ["from_site", "to_site", "category", "transport_cost_factor", "fixed_cost_factor"]
_TYPE_ROOT_CATEGORY = {"ewc": "material", "raw": "material", "water": "water", "energy": "energy"}


@dataclass(frozen=True)
class Inventory:
    """A validated, normalised inventory.

    Attributes
    ----------
    sites, resources, properties, distances : pandas.DataFrame
        The tables, normalised (see the module docstring); unknown columns kept.
    taxonomy : Taxonomy
        Built-in types merged with the user's ``types`` table.
    compatibility : pandas.DataFrame
        Built-in knowledge base merged with the user's ``compatibility`` table.
    params : Params
        Prices and factors, defaults overridden by ``params.toml``.
    source : str
        Where the inventory was read from.
    warnings : list of str
        Things worth knowing that are not errors (unknown types, say).
    tables : dict of str to pandas.DataFrame
        The tables as read, before normalisation (to rebuild after a what-if).
    infrastructure : pandas.DataFrame
        Shared networks a scenario adds (``from_site, to_site, category,
        transport_cost_factor, fixed_cost_factor``): between those sites (either
        direction) transport cost is multiplied by ``transport_cost_factor`` and
        the fixed cost of a synergy or link by ``fixed_cost_factor``. Empty
        unless a what-if scenario sets it.
    """

    sites: pd.DataFrame
    resources: pd.DataFrame
    properties: pd.DataFrame
    distances: pd.DataFrame
    taxonomy: Taxonomy
    compatibility: pd.DataFrame
    params: Params
    source: str = ""
    warnings: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    infrastructure: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INFRASTRUCTURE_COLUMNS))

    @property
    def haves(self) -> pd.DataFrame:
        """The resources whose role is ``have``."""
        return self.resources[self.resources["role"] == "have"]

    @property
    def wants(self) -> pd.DataFrame:
        """The resources whose role is ``want``."""
        return self.resources[self.resources["role"] == "want"]

    @property
    def unknown_types(self) -> list[str]:
        """Types used by resources that neither the built-in taxonomy nor ``types`` knows."""
        r = self.resources
        return sorted(r.loc[~r["type_known"], "type"].unique().tolist())

    def with_params(self, **changes: Any) -> Inventory:
        """A copy with parameters changed (validated)."""
        return replace(self, params=self.params.replace(**changes))

    def __repr__(self) -> str:
        return (
            f"Inventory({self.source!r}: {len(self.sites)} sites, "
            f"{len(self.haves)} haves, {len(self.wants)} wants)"
        )


# --------------------------------------------------------------------------- entry points


def read_inventory(path: str | Path, params: Params | None = None) -> Inventory:
    """Read, validate and normalise an inventory.

    Parameters
    ----------
    path : path-like
        A folder of ``NAME.csv``/``NAME.parquet`` tables, or one ``.xlsx``
        workbook (sheets named after the tables; an optional ``params`` sheet
        of ``key, value`` rows).
    params : Params, optional
        Parameters to use instead of the inventory's ``params.toml`` and
        ``params`` sheet (which are then not read).

    Returns
    -------
    Inventory

    Raises
    ------
    InventoryError
        With every problem found in every file, each naming file, row and column.
    """
    p = Path(path)
    problems = _Problems()
    if not p.exists():
        raise InventoryError([InputProblem(str(p), None, None, "does not exist.",
                                           "Give the path of an inventory folder or .xlsx workbook.")])
    sheet = None
    if p.is_dir():
        tables = _read_folder(p, problems)
        toml = p / "params.toml"
    elif p.suffix.lower() in (".xlsx", ".xlsm"):
        tables, sheet = _read_workbook(p, problems)
        toml = p.with_name("params.toml")
    else:
        raise InventoryError([InputProblem(str(p), None, None, "is neither a folder nor an .xlsx workbook.",
                                           "Give a folder of CSV/Parquet tables or one .xlsx workbook.")])
    if params is None:
        params = _read_params(toml if toml.is_file() else None, sheet, problems)
    unreadable = any(pr.file == str(p) for pr in problems.items)
    for name, table in TABLES.items():
        if table.required and name not in tables and not unreadable:
            label = f"{p}[{name}]" if not p.is_dir() else str(p / f"{name}.csv")
            if not any(pr.file == label or Path(pr.file).stem.lower() == name for pr in problems.items):
                cols = ", ".join(table.required_columns)
                fix = (f"Add a sheet named '{name}' (columns: {cols})." if not p.is_dir()
                       else f"Add {name}.csv or {name}.parquet (columns: {cols}).")
                problems.whole(label, f"the required table '{name}' is missing.", fix)
    return _validate(tables, params, str(p), problems)


def build_inventory(
    tables: dict[str, pd.DataFrame],
    params: Params | None = None,
    source: str = "<tables>",
    names: dict[str, str] | None = None,
    problems: list[InputProblem] | None = None,
) -> Inventory:
    """Validate and normalise inventory tables given as DataFrames.

    Parameters
    ----------
    tables : dict
        ``{"sites": df, "resources": df, ...}``, any values (strings or typed);
        row 1 in messages is the frame's first row.
    params : Params, optional
        Defaults when omitted.
    source : str
        Shown in messages in place of a path.
    names : dict, optional
        The file name of each table for messages.
    problems : list, optional
        Problems already found, to report together.

    Raises
    ------
    InventoryError
    """
    names = dict(names or {})
    probs = _Problems(problems)
    wrapped: dict[str, _Table] = {}
    for name, df in tables.items():
        if name not in TABLES or df is None:
            continue
        label = names.get(name, f"{source}/{name}")
        if not isinstance(df, pd.DataFrame):
            probs.whole(label, f"is a {type(df).__name__}, not a table.", "Pass a pandas DataFrame.")
            continue
        cells = df.copy()
        header = list(cells.columns)
        cells.columns = range(len(header))
        wrapped[name] = _frame(cells, name, label, "frame", probs, header=header)
    for name, table in TABLES.items():
        if table.required and name not in wrapped:
            label = names.get(name, f"{source}/{name}")
            if not any(pr.file == label for pr in probs.items):
                probs.whole(label, f"the required table '{name}' is missing.",
                            f"Add a {name} table (columns: {', '.join(table.required_columns)}).")
    return _validate(wrapped, params or Params(), source, probs)


# --------------------------------------------------------------------------- validation


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
            txt = _text(s)
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


def _validate(tables: dict[str, _Table], params: Params, source: str, P: _Problems) -> Inventory:
    checked = {name: _check_columns(t, TABLES[name], P) for name, t in tables.items()}
    if "sites" not in checked or "resources" not in checked:
        raise InventoryError(_with_lines(P.items, tables))
    st, rt = tables["sites"], tables["resources"]
    sc, rc = checked["sites"], checked["resources"]
    site_ids = sc.get("site_id", pa.array([], type=pa.string()))

    if "site_id" in rc:
        ids = rc["site_id"]
        bad = ~_np(pc.equal(ids, "")) & ~_in(ids, site_ids)
        P.rows(rt, bad, "site_id", "site '{value}' is not in the sites table.",
               f"Add the site to {st.label} or correct the id.", ids)

    taxonomy = _taxonomy(tables.get("types"), checked.get("types"), P)
    compatibility = _compatibility(tables.get("compatibility"), checked.get("compatibility"), P)
    props = _properties(tables.get("properties"), checked.get("properties"), rc, rt, P)
    dist = _distances(tables.get("distances"), checked.get("distances"), site_ids, st, P)
    resources = _resources(rt, rc, params, taxonomy, P)
    sites = _assemble(st, sc, {"name": sc.get("site_id"), "park": "", "sector": ""})

    if P.items:
        raise InventoryError(_with_lines(P.items, tables))
    warnings = []
    unknown = sorted(set(resources.loc[~resources["type_known"], "type"].unique().tolist()))
    if unknown:
        shown = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        warnings.append(f"{len(unknown)} type(s) not in the taxonomy (they match only themselves): {shown}")
        log.warning(warnings[-1])
    return Inventory(
        sites=sites,
        resources=resources,
        properties=props,
        distances=dist,
        taxonomy=taxonomy,
        compatibility=compatibility,
        params=params,
        source=source,
        warnings=warnings,
        tables={name: t.df for name, t in tables.items()},
    )


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
        for c in t.df.columns:
            if c not in data:
                data[c] = t.df[c].reset_index(drop=True)
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
            known = canonical_unit(u) is not None
            msg = (f"unit '{u}' does not fit category '{cname}'." if known
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
