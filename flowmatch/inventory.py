"""Read and validate an inventory into an :class:`Inventory`.

An inventory is a folder of tables (``NAME.csv`` or ``NAME.parquet``) or one
``.xlsx`` workbook with a sheet per table, plus an optional ``params.toml``
(see ``shared/spec/inventory.md``, copied into the README). Reading collects
*every* problem of every table and raises one :class:`InventoryError` that names
file, row and column for each; nothing else escapes for a user's mistake.

Normalisation: ``quantity`` becomes the yearly amount in the category's base
unit (t, m3, MWh) and ``unit`` that base unit (the originals are kept as
``quantity_in`` and ``unit_in``); ``cost`` and ``co2`` become per base unit;
``months`` becomes a 12-bit ``month_mask``; ``hazardous`` defaults from the
type; every resource gets ``type_known``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputProblem, InventoryError, ParamsError
from .knowledge import merge_exchanges
from .params import Params, load_params
from .schema import TABLES, Table
from .taxonomy import Taxonomy, builtin_taxonomy
from .units import BASE_UNIT, known_units, to_base_factor, unit_factor_per_unit

__all__ = ["Inventory", "read_inventory", "build_inventory", "parse_months"]

log = logging.getLogger(__name__)

ALL_MONTHS = (1 << 12) - 1
INFRASTRUCTURE_COLUMNS = ["from_site", "to_site", "category", "transport_cost_factor", "fixed_cost_factor"]
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


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


# --------------------------------------------------------------------------- reading


def _read_table_file(path: Path, problems: list[InputProblem]) -> pd.DataFrame | None:
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True,
                             encoding="utf-8-sig")
    except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file
        problems.append(InputProblem(str(path), None, None, f"cannot be read ({exc}).",
                                     "Check that it is a valid UTF-8 CSV or Parquet file."))
        return None
    return df


def _read_folder(path: Path, problems: list[InputProblem]) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    tables: dict[str, pd.DataFrame] = {}
    names: dict[str, str] = {}
    for name in TABLES:
        found = [p for p in (path / f"{name}.csv", path / f"{name}.parquet") if p.exists()]
        if len(found) > 1:
            problems.append(InputProblem(str(found[0]), None, None,
                                         f"both {name}.csv and {name}.parquet exist.",
                                         "Keep only one of them."))
        if not found:
            continue
        df = _read_table_file(found[0], problems)
        if df is not None:
            tables[name] = df
            names[name] = str(found[0])
    return tables, names


def _read_workbook(path: Path, problems: list[InputProblem]) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)
    except Exception as exc:  # noqa: BLE001
        problems.append(InputProblem(str(path), None, None, f"cannot be read as a workbook ({exc}).",
                                     "Save it as an .xlsx workbook."))
        return {}, {}
    tables, names = {}, {}
    lower = {k.strip().lower(): k for k in sheets}
    for name in TABLES:
        if name in lower:
            tables[name] = sheets[lower[name]]
            names[name] = f"{path}[{lower[name]}]"
    if "params" in lower:
        tables["params"] = sheets[lower["params"]]
        names["params"] = f"{path}[{lower['params']}]"
    return tables, names


def _as_str(s: pd.Series) -> pd.Series:
    """Values as stripped strings, missing as ``""``."""
    if s.dtype == object and all(isinstance(v, str) for v in s.head(1000)):
        out = s.astype(str)
    else:
        out = s.astype(object).where(s.notna(), "").astype(str)
        out = out.where(~out.isin(["nan", "None", "<NA>", "NaN"]), "")
    return out.str.strip()


def _parse_float(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(values, bad) where empty is NaN and bad marks text that is not a number."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        return v, np.zeros(len(v), dtype=bool) | np.isinf(v)
    txt = _as_str(s)
    v = pd.to_numeric(txt.str.replace(",", "", regex=False).where(txt != "", None), errors="coerce")
    v = v.to_numpy(dtype=float, na_value=np.nan)
    bad = ((txt != "").to_numpy() & np.isnan(v)) | np.isinf(v)
    return v, bad


def _parse_bool(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(s):
        return s.astype("boolean"), np.zeros(len(s), dtype=bool)
    txt = _as_str(s).str.lower()
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[txt.isin(_TRUE)] = True
    out[txt.isin(_FALSE)] = False
    bad = ((txt != "") & ~txt.isin(_TRUE | _FALSE)).to_numpy()
    return out, bad


_MONTH_RE = re.compile(r"^\s*(\d{1,2})\s*(?:-\s*(\d{1,2})\s*)?$")


def parse_months(text: str) -> int | None:
    """Turn ``"1-12"``, ``"4-9"``, ``"11-2"`` or ``"1,3,5-7"`` into a 12-bit mask.

    Returns ``None`` when the text is not a valid month list; ``""`` is all months.
    """
    text = str(text).strip()
    if not text:
        return ALL_MONTHS
    mask = 0
    for part in text.split(","):
        m = _MONTH_RE.match(part)
        if not m:
            return None
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) else a
        if not (1 <= a <= 12 and 1 <= b <= 12):
            return None
        k = a
        while True:
            mask |= 1 << (k - 1)
            if k == b:
                break
            k = k % 12 + 1
    return mask


class _Checker:
    """Collects problems for one table, with row numbers in the user's terms."""

    def __init__(self, table: Table, df: pd.DataFrame, fname: str, problems: list[InputProblem]):
        self.table, self.df, self.fname, self.problems = table, df, fname, problems

    def add_rows(self, mask: np.ndarray, column: str | None, message: str, fix: str, values=None) -> None:
        idx = np.flatnonzero(mask)
        for i in idx[:200]:
            msg = message
            if values is not None:
                msg = message.format(value=values[i])
            self.problems.append(InputProblem(self.fname, int(i) + 1, column, msg, fix))
        if len(idx) > 200:
            self.problems.append(InputProblem(self.fname, None, column,
                                              f"{len(idx) - 200} more rows have the same problem.", fix))


def _check_table(table: Table, raw: pd.DataFrame, fname: str, problems: list[InputProblem]) -> pd.DataFrame:
    """Validate one table's columns; return it with typed columns (bad cells as NaN)."""
    df = raw.copy()
    df.columns = [str(c).strip().lower() for c in df.columns]
    dup_cols = df.columns[df.columns.duplicated()].unique().tolist()
    for c in dup_cols:
        problems.append(InputProblem(fname, None, c, "the column appears more than once.",
                                     "Keep one column of that name."))
    df = df.loc[:, ~df.columns.duplicated()]
    ck = _Checker(table, df, fname, problems)
    for col in table.columns:
        if col.name not in df.columns:
            if col.required:
                problems.append(InputProblem(fname, None, col.name, "required column is missing.",
                                             f"Add a '{col.name}' column ({col.doc or col.kind})."))
            continue
        s = df[col.name]
        kind = col.kind
        if kind in ("id", "str") or kind.startswith("enum:") or kind == "months":
            txt = _as_str(s)
            if col.required:
                ck.add_rows((txt == "").to_numpy(), col.name, "required value is empty.",
                            f"Fill in '{col.name}'.")
            if kind.startswith("enum:"):
                allowed = kind[5:].split("|")
                low = txt.str.lower()
                bad = ((low != "") & ~low.isin(allowed)).to_numpy()
                ck.add_rows(bad, col.name, "'{value}' is not allowed.",
                            f"Use one of: {', '.join(allowed)}.", txt.to_numpy())
                txt = low
            if kind == "months":
                uniq = {u: parse_months(u) for u in txt.unique()}
                bad = txt.map(lambda u: uniq[u] is None).to_numpy(dtype=bool)
                ck.add_rows(bad, col.name, "'{value}' is not a month range.",
                            "Write months as 1-12, 4-9, 11-2 or 1,3,5-7.", txt.to_numpy())
            df[col.name] = txt
        elif kind == "float":
            v, bad = _parse_float(s)
            ck.add_rows(bad, col.name, "'{value}' is not a number.", "Write a plain number like 12.5.",
                        _as_str(s).to_numpy())
            if col.required:
                ck.add_rows(np.isnan(v) & ~bad, col.name, "required value is empty.",
                            f"Fill in '{col.name}'.")
            if col.lo is not None:
                ck.add_rows(v < col.lo, col.name, "{value} is below the smallest allowed value "
                            f"{col.lo:g}.", f"Give a value of at least {col.lo:g}.", v)
            if col.hi is not None:
                ck.add_rows(v > col.hi, col.name, "{value} is above the largest allowed value "
                            f"{col.hi:g}.", f"Give a value of at most {col.hi:g}.", v)
            df[col.name] = v
        elif kind == "bool":
            b, bad = _parse_bool(s)
            ck.add_rows(bad, col.name, "'{value}' is not true or false.", "Write true or false.",
                        _as_str(s).to_numpy())
            df[col.name] = b
    if table.key and all(k in df.columns for k in table.key):
        dup = df.duplicated(list(table.key), keep="first").to_numpy()
        keydesc = ", ".join(table.key)
        vals = df[list(table.key)].astype(str).agg(" / ".join, axis=1).to_numpy() if dup.any() else None
        ck.add_rows(dup, table.key[0], f"duplicate {keydesc} '{{value}}'.",
                    f"Make {keydesc} unique (merge or rename the rows).", vals)
    return df


def _params_from_sheet(df: pd.DataFrame, fname: str) -> dict[str, Any]:
    cols = [str(c).strip().lower() for c in df.columns]
    if "key" not in cols or "value" not in cols:
        raise InventoryError([InputProblem(fname, None, None, "needs columns 'key' and 'value'.",
                                           "Give one parameter per row.")])
    df = df.copy()
    df.columns = cols
    return {str(k).strip(): v for k, v in zip(df["key"], df["value"], strict=True) if str(k).strip()}


def read_inventory(path: str | Path, params: Params | None = None) -> Inventory:
    """Read, validate and normalise an inventory.

    Parameters
    ----------
    path : path-like
        A folder of ``NAME.csv``/``NAME.parquet`` tables, or one ``.xlsx`` workbook.
    params : Params, optional
        Parameters to use instead of the inventory's ``params.toml``.

    Returns
    -------
    Inventory

    Raises
    ------
    InventoryError
        With every problem found, each naming file, row and column.
    """
    p = Path(path)
    problems: list[InputProblem] = []
    if not p.exists():
        raise InventoryError([InputProblem(str(p), None, None, "does not exist.",
                                           "Give the path of an inventory folder or .xlsx workbook.")])
    if p.is_dir():
        tables, names = _read_folder(p, problems)
        toml = p / "params.toml"
    elif p.suffix.lower() in (".xlsx", ".xlsm"):
        tables, names = _read_workbook(p, problems)
        toml = p.with_name("params.toml")
    else:
        raise InventoryError([InputProblem(str(p), None, None, "is neither a folder nor an .xlsx workbook.",
                                           "Give a folder of CSV/Parquet tables or one .xlsx workbook.")])
    if params is None:
        try:
            if "params" in tables:
                params = load_params(toml if toml.exists() else None,
                                     **_params_from_sheet(tables.pop("params"), names["params"]))
            else:
                params = load_params(toml if toml.exists() else None)
        except ParamsError as exc:
            problems.append(InputProblem(str(toml), None, None, str(exc), "Correct the parameter."))
            params = Params()
    else:
        tables.pop("params", None)
    return build_inventory(tables, params=params, source=str(p), names=names, problems=problems)


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
        ``{"sites": df, "resources": df, ...}``, any values (strings or typed).
    params : Params, optional
        Defaults when omitted.
    source : str
        Shown in messages in place of a path.
    names : dict, optional
        The file name of each table for messages.
    problems : list, optional
        Problems already found (reading), to report together.

    Raises
    ------
    InventoryError
    """
    params = params or Params()
    problems = list(problems or [])
    names = dict(names or {})
    for t in TABLES:
        names.setdefault(t, f"{source}/{t}")
    checked: dict[str, pd.DataFrame] = {}
    for name, table in TABLES.items():
        if name not in tables:
            if table.required and not any(pr.file == names[name] for pr in problems):
                problems.append(InputProblem(names[name], None, None, "required table is missing.",
                                             f"Add {name}.csv (columns: {', '.join(table.required_columns)})."))
            continue
        checked[name] = _check_table(table, tables[name], names[name], problems)
    if "sites" not in checked or "resources" not in checked:
        raise InventoryError(problems)

    sites = checked["sites"]
    res = checked["resources"]
    site_ids = pd.Index(sites["site_id"]) if "site_id" in sites else pd.Index([])
    rf = names["resources"]
    ck = _Checker(TABLES["resources"], res, rf, problems)

    if "site_id" in res:
        bad = ((res["site_id"] != "") & ~res["site_id"].isin(site_ids)).to_numpy()
        ck.add_rows(bad, "site_id", "site '{value}' is not in the sites table.",
                    "Add the site to sites or correct the id.", res["site_id"].to_numpy())

    # taxonomy
    taxonomy = builtin_taxonomy()
    if "types" in checked and "type" in checked["types"]:
        ty = checked["types"]
        taxonomy = taxonomy.merged(ty)
        tf = names["types"]
        if "parent" in ty:
            bad = ((ty["parent"] != "") & ~ty["parent"].isin(taxonomy.table.index)).to_numpy()
            _Checker(TABLES["types"], ty, tf, problems).add_rows(
                bad, "parent", "parent type '{value}' is not known.",
                "Add the parent as its own row or use a built-in type.", ty["parent"].to_numpy())

    # compatibility
    comp_user = checked.get("compatibility")
    if comp_user is not None:
        cf = names["compatibility"]
        cck = _Checker(TABLES["compatibility"], comp_user, cf, problems)
        if "score" in comp_user:
            cck.add_rows((comp_user["score"] <= 0).to_numpy(), "score", "score {value} is not in (0, 1].",
                         "Give a score above 0 and at most 1.", comp_user["score"].to_numpy())
        comp_user = comp_user.reindex(columns=list(dict.fromkeys(
            ["have_type", "want_type", "score", "source", *comp_user.columns])))
    compatibility = merge_exchanges(comp_user)

    # properties
    props = checked.get("properties")
    if props is None:
        props = pd.DataFrame({"resource_id": pd.Series(dtype=str), "property": pd.Series(dtype=str),
                              "value": pd.Series(dtype=float), "min": pd.Series(dtype=float),
                              "max": pd.Series(dtype=float)})
    else:
        pf = names["properties"]
        pck = _Checker(TABLES["properties"], props, pf, problems)
        for c in ("value", "min", "max"):
            if c not in props:
                props[c] = np.nan
        if "resource_id" in props and "resource_id" in res:
            bad = ((props["resource_id"] != "") & ~props["resource_id"].isin(res["resource_id"])).to_numpy()
            pck.add_rows(bad, "resource_id", "resource '{value}' is not in the resources table.",
                         "Correct the id or add the resource.", props["resource_id"].to_numpy())
        bad = (props["min"] > props["max"]).to_numpy()
        pck.add_rows(bad, "min", "min {value} is greater than max.", "Swap min and max or correct one.",
                     props["min"].to_numpy())
        if "property" in props:
            props["property"] = props["property"].str.lower()

    # distances
    dist = checked.get("distances")
    if dist is None:
        dist = pd.DataFrame({"from_site": pd.Series(dtype=str), "to_site": pd.Series(dtype=str),
                             "km": pd.Series(dtype=float)})
    else:
        dck = _Checker(TABLES["distances"], dist, names["distances"], problems)
        for c in ("from_site", "to_site"):
            if c in dist:
                bad = ((dist[c] != "") & ~dist[c].isin(site_ids)).to_numpy()
                dck.add_rows(bad, c, "site '{value}' is not in the sites table.",
                             "Correct the id or add the site.", dist[c].to_numpy())

    # resources: units, months, hazardous, types
    res = _normalise_resources(res, ck, params, taxonomy, problems)
    if problems:
        raise InventoryError(problems)

    warnings = []
    unknown = sorted(res.loc[~res["type_known"], "type"].unique().tolist())
    if unknown:
        shown = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        warnings.append(f"{len(unknown)} type(s) not in the taxonomy (they match only themselves): {shown}")
        log.warning(warnings[-1])
    return Inventory(
        sites=sites.reset_index(drop=True),
        resources=res.reset_index(drop=True),
        properties=props.reset_index(drop=True),
        distances=dist.reset_index(drop=True),
        taxonomy=taxonomy,
        compatibility=compatibility,
        params=params,
        source=source,
        warnings=warnings,
        tables=dict(tables),
    )


def _normalise_resources(res: pd.DataFrame, ck: _Checker, params: Params, taxonomy: Taxonomy,
                         problems: list[InputProblem]) -> pd.DataFrame:
    n = len(res)
    for col, default in (("frequency", ""), ("months", ""), ("route", "")):
        if col not in res:
            res[col] = default
    for col in ("max_distance_km", "cost", "co2"):
        if col not in res:
            res[col] = np.nan
    if "byproduct" not in res:
        res["byproduct"] = False
    res["byproduct"] = res["byproduct"].astype("boolean").fillna(False).astype(bool)
    if "hazardous" not in res:
        res["hazardous"] = pd.Series(pd.NA, index=res.index, dtype="boolean")
    if any(c not in res for c in ("category", "unit", "quantity", "type", "role")):
        return res  # a required column is missing; already reported
    res["frequency"] = res["frequency"].replace("", "continuous")
    res["route"] = res["route"].str.lower()

    # units -> base units
    qty_in = res["quantity"].to_numpy(dtype=float)
    factor = np.full(n, np.nan)
    per_unit = np.full(n, np.nan)
    combos = res[["unit", "category"]].drop_duplicates()
    for unit, cat in combos.itertuples(index=False):
        if unit == "" or cat not in BASE_UNIT:
            continue
        sel = ((res["unit"] == unit) & (res["category"] == cat)).to_numpy()
        f = to_base_factor(unit, cat, params.hours_per_year)
        if f is None:
            ck.add_rows(sel, "unit", f"unit '{unit}' is not known for category '{cat}'.",
                        f"Use one of: {', '.join(known_units(cat))}.")
            continue
        factor[sel] = f
        per_unit[sel] = unit_factor_per_unit(unit, cat)
    res["quantity_in"] = qty_in
    res["unit_in"] = res["unit"]
    res["quantity"] = qty_in * factor
    res["unit"] = res["category"].map(BASE_UNIT).fillna("")
    # prices and factors are per unit given: per base unit = per unit / (base units per unit)
    with np.errstate(invalid="ignore", divide="ignore"):
        res["cost"] = res["cost"].to_numpy(dtype=float) / per_unit
        res["co2"] = res["co2"].to_numpy(dtype=float) / per_unit

    # months
    uniq = {u: parse_months(u) for u in res["months"].unique()}
    res["month_mask"] = res["months"].map(lambda u: uniq[u] if uniq[u] is not None else 0).astype(np.int64)
    res["months"] = res["months"].replace("", "1-12")

    # types
    known = res["type"].isin(taxonomy.table.index)
    res["type_known"] = known.to_numpy()
    haz_by_type = {t: taxonomy.hazardous(t) for t in res.loc[known, "type"].unique()}
    type_haz = res["type"].map(lambda t: haz_by_type.get(t)).astype("boolean")
    res["hazardous"] = res["hazardous"].astype("boolean").fillna(type_haz).fillna(False).astype(bool)

    # category of the type must agree with the resource's category
    top = {t: (taxonomy.ancestors(t) or [t])[-1] for t in res.loc[known, "type"].unique()}
    cat_of_root = {"water": "water", "energy": "energy"}
    root = res["type"].map(top)
    implied = root.map(cat_of_root)
    implied = implied.where(root.isna() | implied.notna(), "material")
    bad = (implied.notna() & (implied != res["category"]) & res["category"].isin(BASE_UNIT)).to_numpy()
    ck.add_rows(bad, "category", "category does not fit type '{value}'.",
                "Use category water for water:* types, energy for energy:* types and material otherwise.",
                res["type"].to_numpy())
    return res

