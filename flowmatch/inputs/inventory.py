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

This module holds the entry points; the steps live beside it: the files are
read by :mod:`~flowmatch.inputs.readers`, each table's columns are checked by
:mod:`~flowmatch.inputs.columns` (cells parsed by :mod:`~flowmatch.inputs.cells`)
and the normalised tables built by :mod:`~flowmatch.inputs.assemble`, every
problem being collected by :mod:`~flowmatch.inputs.problems`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from flowmatch.errors import InputProblem, InventoryError
from flowmatch.inputs.assemble import (
    _assemble,
    _compatibility,
    _distances,
    _properties,
    _resources,
    _taxonomy,
)
from flowmatch.inputs.cells import ALL_MONTHS, _in, _np, parse_months
from flowmatch.inputs.columns import _check_columns
from flowmatch.inputs.consistency import check_consistency
from flowmatch.inputs.evidence import empty_evidence, read_evidence
from flowmatch.inputs.files import path_kind
from flowmatch.inputs.params import Params
from flowmatch.inputs.plausible import check_magnitudes
from flowmatch.inputs.problems import _Problems, _Table, _with_lines
from flowmatch.inputs.readers import _frame, _read_folder, _read_params, _read_workbook
from flowmatch.inputs.rules import empty_rules, read_rules
from flowmatch.inputs.schema import TABLES
from flowmatch.inputs.taxonomy import Taxonomy

__all__ = ["Inventory", "read_inventory", "build_inventory", "parse_months", "ALL_MONTHS"]

log = logging.getLogger(__name__)

INFRASTRUCTURE_COLUMNS = ["from_site", "to_site", "category", "transport_cost_factor", "fixed_cost_factor"]


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
    #: Expert rules (:mod:`flowmatch.inputs.rules`), resolved to the ids they match; empty without a rules table.
    rules: pd.DataFrame = field(default_factory=empty_rules, repr=False)
    #: A programme's record per type pair (:mod:`flowmatch.inputs.evidence`); empty without an evidence table.
    evidence: pd.DataFrame = field(default_factory=empty_evidence, repr=False)

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
    kind, why = path_kind(p)
    if kind in ("missing", "denied"):
        what = "does not exist." if kind == "missing" else f"cannot be read ({why})."
        raise InventoryError([InputProblem(str(p), None, None, what,
                                           "Give the path of an inventory folder or .xlsx workbook"
                                           + (" you may read." if kind == "denied" else "."))])
    sheet = None
    if kind == "dir":
        tables = _read_folder(p, problems)
        toml = p / "params.toml"
    elif p.suffix.lower() in (".xlsx", ".xlsm"):
        tables, sheet = _read_workbook(p, problems)
        toml = p.with_name("params.toml")
    else:
        raise InventoryError([InputProblem(str(p), None, None, "is neither a folder nor an .xlsx workbook.",
                                           "Give a folder of CSV/Parquet tables or one .xlsx workbook.")])
    if params is None:
        params = _read_params(toml if path_kind(toml)[0] != "missing" else None, sheet, problems)
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


def _validate(tables: dict[str, _Table], params: Params, source: str, P: _Problems) -> Inventory:
    """Check and normalise the tables read; raise every problem found (with lines) at once."""
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

    W = _Problems()  # warnings, named like problems
    check_consistency(tables, checked, P, W)  # before _properties lowers property names
    taxonomy = _taxonomy(tables.get("types"), checked.get("types"), P)
    compatibility = _compatibility(tables.get("compatibility"), checked.get("compatibility"), P)
    props = _properties(tables.get("properties"), checked.get("properties"), rc, rt, P)
    dist = _distances(tables.get("distances"), checked.get("distances"), site_ids, st, P)
    resources = _resources(rt, rc, params, taxonomy, P)
    sites = _assemble(st, sc, {"name": sc.get("site_id"), "park": "", "sector": ""})
    check_magnitudes(tables, checked, resources, P, W)
    evidence = read_evidence(tables.get("evidence"), checked.get("evidence"))
    rule_warnings: list[str] = []
    rules = (read_rules(tables["rules"], checked["rules"], resources, site_ids.to_pylist(), taxonomy, P,
                        rule_warnings)
             if "rules" in tables else empty_rules())

    if P.items:
        raise InventoryError(_with_lines(P.items, tables))
    warnings = [str(w) for w in _with_lines(W.items, tables)] + rule_warnings
    for w in warnings:
        log.warning(w)
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
        rules=rules,
        evidence=evidence,
    )


