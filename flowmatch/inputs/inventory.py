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
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flowmatch.errors import InputProblem, InventoryError, ParamsError
from flowmatch.inputs.cells import (
    _DATE_LIKE,
    ALL_MONTHS,
    _blank,
    _booleans,
    _codes,
    _in,
    _lookup,
    _missing,
    _np,
    _numbers,
    _text,
    parse_months,
)
from flowmatch.inputs.knowledge import merge_exchanges
from flowmatch.inputs.params import Params, check_param_values, read_params_toml
from flowmatch.inputs.problems import MAX_ROWS_PER_PROBLEM, _pick, _Problems, _Table, _with_lines
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


# --------------------------------------------------------------------------- reading files


def _frame(cells: pd.DataFrame, name: str, label: str, kind: str, problems: _Problems,
           path: Path | None = None, header_row: int = 1, header: list[Any] | None = None) -> _Table:
    """Name the columns from ``header`` (or the first row of ``cells``) and drop empty rows."""
    if header is None:
        header = cells.iloc[0].tolist() if len(cells) else []
        cells = cells.iloc[1:]
    names = ["" if _missing(h) else str(h).strip().lower() for h in header]
    keep = []
    seen: set[str] = set()
    for j, nm in enumerate(names):
        col = cells.iloc[:, j]
        if nm == "":
            if len(col) and _np(pc.not_equal(_text(col), "")).any():
                problems.whole(label, f"column {j + 1} has values but no name in the header.",
                               "Give the column a name or delete it.")
            continue
        if nm in seen:
            problems.whole(label, "the column appears more than once.",
                           "Keep one column of that name.", column=nm)
            continue
        seen.add(nm)
        keep.append(j)
    df = cells.iloc[:, keep].copy()
    df.columns = [names[j] for j in keep]
    rows = np.arange(1, len(df) + 1)
    if len(df.columns) and len(df) and kind != "parquet":
        nonempty = np.zeros(len(df), dtype=bool)
        for c in df.columns:
            nonempty |= _np(pc.not_equal(_text(df[c]), ""))
        if not nonempty.all():
            df, rows = df[nonempty], rows[nonempty]
    return _Table(name, df.reset_index(drop=True), label, rows, kind, path, header_row)


def _read_csv(path: Path, name: str, problems: _Problems) -> _Table | None:
    label = str(path)
    try:
        cells = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, na_filter=False,
                            skipinitialspace=True, encoding="utf-8-sig", skip_blank_lines=True)
    except UnicodeDecodeError:
        problems.whole(label, "is not UTF-8 text (perhaps GBK or Latin-1).",
                       "Save it as 'CSV UTF-8' (in Excel: Save As > CSV UTF-8).")
        return None
    except pd.errors.EmptyDataError:
        problems.whole(label, "is empty.", f"Write a header line with the columns of {name}.")
        return None
    except pd.errors.ParserError as exc:
        problems.whole(label, f"is not a well-formed CSV file ({str(exc).strip()}).",
                       "Make every line have as many comma-separated fields as the header; "
                       "quote values that contain commas.")
        return None
    except (OSError, ValueError) as exc:
        problems.whole(label, f"cannot be read ({getattr(exc, 'strerror', None) or exc}).",
                       "Check that the file exists, is readable and is a CSV file.")
        return None
    return _frame(cells, name, label, "csv", problems, path=path)


def _read_parquet(path: Path, name: str, problems: _Problems) -> _Table | None:
    label = str(path)
    try:
        # column by column: a file may repeat a column name, which pandas.read_parquet refuses
        tab = pq.ParquetFile(path).read()
        df = pd.DataFrame({j: tab.column(j).to_pandas() for j in range(tab.num_columns)},
                          index=pd.RangeIndex(tab.num_rows))
    except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file
        problems.whole(label, f"is not a readable Parquet file ({type(exc).__name__}: "
                       f"{str(exc).strip()[:200]}).",
                       "Write it again with a Parquet writer (pandas.DataFrame.to_parquet), "
                       "or give the table as CSV.")
        return None
    return _frame(df, name, label, "parquet", problems, path=path, header=tab.column_names)


_SUFFIXES = (".csv", ".parquet")


def _read_folder(path: Path, problems: _Problems) -> dict[str, _Table]:
    found: dict[str, list[Path]] = {}
    try:
        entries = sorted(path.iterdir())
    except OSError as exc:
        problems.whole(str(path), f"cannot be listed ({exc.strerror}).", "Check the folder's permissions.")
        return {}
    for p in entries:
        stem, suffix = p.stem.strip().lower(), p.suffix.lower()
        if suffix in _SUFFIXES and stem in TABLES:
            found.setdefault(stem, []).append(p)
    tables: dict[str, _Table] = {}
    for name, paths in found.items():
        if len(paths) > 1:
            problems.whole(str(paths[0]), f"{name} is given more than once "
                           f"({', '.join(p.name for p in paths)}).", "Keep only one of them.")
            continue
        p = paths[0]
        t = _read_parquet(p, name, problems) if p.suffix.lower() == ".parquet" else \
            _read_csv(p, name, problems)
        if t is not None:
            tables[name] = t
    return tables


def _read_workbook(path: Path, problems: _Problems) -> tuple[dict[str, _Table], _Table | None]:
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=str, engine="openpyxl")
    except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file
        problems.whole(str(path), f"cannot be read as an .xlsx workbook ({type(exc).__name__}: "
                       f"{str(exc).strip()[:200]}).",
                       "Save it from Excel or LibreOffice as an .xlsx workbook (not .xls or .csv).")
        return {}, None
    tables: dict[str, _Table] = {}
    params_sheet = None
    for sheet, cells in sheets.items():
        key = str(sheet).strip().lower()
        label = f"{path}[{sheet}]"
        if key not in TABLES and key != "params":
            log.info("%s: sheet ignored (not a table of the inventory)", label)
            continue
        if key in tables or (key == "params" and params_sheet is not None):
            problems.whole(label, f"a second sheet named '{key}'.", "Keep one sheet per table.")
            continue
        # the header is the first row with a value; rows above it are skipped
        filled = cells.notna().any(axis=1).to_numpy()
        first = int(np.argmax(filled)) if filled.any() else 0
        t = _frame(cells.iloc[first:], key, label, "xlsx", problems, path=path, header_row=first + 1)
        if key == "params":
            params_sheet = t
        else:
            tables[key] = t
    return tables, params_sheet


# --------------------------------------------------------------------------- params


def _toml_line(path: Path, key: str) -> int | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    pat = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    return next((i + 1 for i, ln in enumerate(text) if pat.match(ln)), None)


def _read_params(toml: Path | None, sheet: _Table | None, problems: _Problems) -> Params:
    """Parameters from ``params.toml`` and a ``params`` sheet (the sheet wins), all checked."""
    values: dict[str, Any] = {}
    where: dict[str, tuple[str, int | None, int | None]] = {}  # key -> (label, row, line)
    if toml is not None:
        try:
            vals, repeated = read_params_toml(toml)
        except ParamsError as exc:
            problems.whole(str(toml), str(exc).split(": ", 1)[-1], "Fix the TOML syntax (key = value).")
            vals, repeated = {}, []
        for k in repeated:
            problems.whole(str(toml), f"parameter '{k}' is given more than once.",
                           "Give each parameter once.", line=_toml_line(toml, k))
        for k, v in vals.items():
            values[k] = v
            where[k] = (str(toml), None, None)
    if sheet is not None:
        df = sheet.df
        missing = [c for c in ("key", "value") if c not in df.columns]
        for c in missing:
            problems.whole(sheet.label, "required column is missing.",
                           "Give the params sheet two columns, 'key' and 'value', one parameter a row.",
                           column=c)
        if not missing:
            keys = _np(_text(df["key"])).astype(object)
            vals = _np(_text(df["value"])).astype(object)
            seen: dict[str, int] = {}
            for i, (k, v) in enumerate(zip(keys, vals, strict=True)):
                row = int(sheet.rows[i])
                if not k:
                    problems.items.append(InputProblem(sheet.label, row, "key", "a value without a key.",
                                                       "Write the parameter's name in 'key'."))
                    continue
                if k in seen:
                    problems.items.append(InputProblem(sheet.label, row, "key",
                                                       f"parameter '{k}' is given more than once "
                                                       f"(first in row {seen[k]}).",
                                                       "Give each parameter once."))
                    continue
                seen[k] = row
                values[k] = v
                where[k] = (sheet.label, row, None)
    clean, bad = check_param_values(values)
    for key, message, fix in bad:
        label, row, _line = where[key]
        column = ("key" if message.startswith("unknown") else "value") if row is not None else None
        line = _toml_line(Path(label), key) if row is None and toml is not None else None
        if row is not None:
            problems.items.append(InputProblem(label, row, column, message, fix))
        else:
            problems.whole(label, message, fix, line=line)
    return Params(**clean)


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
