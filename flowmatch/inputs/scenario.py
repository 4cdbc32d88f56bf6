"""What-if scenarios: a TOML file of changes to an inventory.

A scenario overrides parameters, adds rows to any inventory table (sites,
resources, properties, ...), removes sites (with their resources) or single
resources, marks shared infrastructure (a grey-water or steam network between
named sites) and reclassifies haves as by-products. The format is documented in
``docs/whatif.md``; in short::

    name = "greywater_pipe"
    byproducts = ["H1"]

    [params]
    landfill_tax = 100

    [remove]
    sites = ["S9"]
    resources = ["H7"]

    [[add.resources]]
    resource_id = "H99"
    site_id = "PP1"
    role = "have"
    ...

    [[infrastructure]]
    sites = ["PP1", "PB1"]
    category = "water"
    transport_cost_factor = 0.5

:func:`load_scenario` checks a file's structure; :func:`apply_scenario` applies
it to an inventory by editing the inventory's source tables and rebuilding
through :func:`flowmatch.inputs.inventory.build_inventory`, so added rows are validated
exactly like rows read from disk. Every mistake raises a
:class:`~flowmatch.errors.ScenarioError` naming the file and the key.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd

from flowmatch.errors import InventoryError, ParamsError, ScenarioError
from flowmatch.inputs.files import TomlFileError, read_toml
from flowmatch.inputs.inventory import INFRASTRUCTURE_COLUMNS, Inventory, build_inventory
from flowmatch.inputs.params import Params
from flowmatch.inputs.schema import TABLES

__all__ = ["Scenario", "load_scenario", "apply_scenario", "INFRASTRUCTURE_DEFAULTS"]

log = logging.getLogger(__name__)

_TOP_KEYS = ("name", "description", "params", "add", "remove", "byproducts", "infrastructure")
_REMOVE_KEYS = ("sites", "resources")
_CATEGORIES = ("material", "water", "energy")
#: Factors an ``[[infrastructure]]`` entry uses when it does not give them:
#: the network exists, so no link has to be built (fixed cost 0), and sharing it
#: halves the cost of moving a unit along it.
INFRASTRUCTURE_DEFAULTS = {"transport_cost_factor": 0.5, "fixed_cost_factor": 0.0}
_PARAM_NAMES = tuple(f.name for f in fields(Params))

Problem = tuple[str, str, str]


@dataclass(frozen=True)
class Scenario:
    """A set of changes to an inventory (see the module docstring).

    Attributes
    ----------
    name : str
        Shown in comparison tables; the file's stem unless the file names it.
    source : str
        The file it was read from (for messages).
    description : str
    params : dict
        Parameter overrides, ``Params`` field names to values.
    add : dict of str to list of dict
        Rows to append to each inventory table, by table name.
    remove_sites, remove_resources : tuple of str
        Ids to remove; a removed site takes its resources with it.
    byproducts : tuple of str
        Haves to reclassify as by-products.
    infrastructure : tuple of dict
        Networks: ``sites`` (two or more), ``category``,
        ``transport_cost_factor``, ``fixed_cost_factor``.
    """

    name: str
    source: str = "<scenario>"
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    add: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    remove_sites: tuple[str, ...] = ()
    remove_resources: tuple[str, ...] = ()
    byproducts: tuple[str, ...] = ()
    infrastructure: tuple[dict[str, Any], ...] = ()


# --------------------------------------------------------------------------- loading


def _entry_key(section: str, i: int, column: str | None = None) -> str:
    key = f"{section} (entry {i + 1})"
    return f"{key}, {column}" if column else key


def _is_scalar(v: Any) -> bool:
    return isinstance(v, str | int | float | bool)


def _id_list(value: Any, key: str, problems: list[Problem]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append((key, f"{value!r} is not a list of ids.", f'Write {key.split(".")[-1]} = ["ID1", "ID2"].'))
        return ()
    return tuple(v.strip() for v in value)


def _check_params(value: Any, problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(value, dict):
        problems.append(("params", "is not a table.", "Write [params] followed by lines like landfill_tax = 100."))
        return {}
    out: dict[str, Any] = {}
    for k, v in value.items():
        if k not in _PARAM_NAMES:
            problems.append((f"params.{k}", "is not a parameter.",
                             "Use a parameter name from the README's parameter table "
                             "(e.g. landfill_tax, landfill_price, carbon_price, fresh_water_price)."))
            continue
        try:
            Params().replace(**{k: v})
        except ParamsError as exc:
            problems.append((f"params.{k}", str(exc).removeprefix("override: ") + ".",
                             "Give a value of the right type within the range."))
            continue
        out[k] = v
    return out


def _check_add(value: Any, problems: list[Problem]) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(value, dict):
        problems.append(("add", "is not a table of tables.", "Write rows as [[add.resources]], [[add.sites]], ..."))
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for table, rows in value.items():
        section = f"add.{table}"
        if table not in TABLES:
            problems.append((section, f"'{table}' is not an inventory table.",
                             f"Add rows to one of: {', '.join(TABLES)}."))
            continue
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            problems.append((section, "is not an array of tables.", f"Write each row as [[{section}]]."))
            continue
        for i, row in enumerate(rows):
            for col, v in row.items():
                if not _is_scalar(v):
                    problems.append((_entry_key(section, i, col), f"{v!r} is not a single value.",
                                     "Give a string, number or true/false."))
        out[table] = [dict(r) for r in rows]
    return out


def _check_infrastructure(value: Any, problems: list[Problem]) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        problems.append(("infrastructure", "is not an array of tables.", "Write each network as [[infrastructure]]."))
        return ()
    out = []
    allowed = ("sites", "category", *INFRASTRUCTURE_DEFAULTS)
    for i, entry in enumerate(value):
        n0 = len(problems)
        for k in entry:
            if k not in allowed:
                problems.append((_entry_key("infrastructure", i, k), "is not a known key.",
                                 f"Use: {', '.join(allowed)}."))
        sites = entry.get("sites")
        if (not isinstance(sites, list) or len(sites) < 2 or len(set(sites)) != len(sites)
                or not all(isinstance(s, str) and s.strip() for s in sites)):
            problems.append((_entry_key("infrastructure", i, "sites"), f"{sites!r} is not a list of two or more "
                             "distinct site ids.", 'Write sites = ["SITE_A", "SITE_B"].'))
        cat = entry.get("category")
        if cat not in _CATEGORIES:
            problems.append((_entry_key("infrastructure", i, "category"), f"{cat!r} is not a category.",
                             f"Use one of: {', '.join(_CATEGORIES)} (water for grey water, energy for steam)."))
        clean = {"sites": [str(s).strip() for s in sites or []], "category": cat}
        for k, default in INFRASTRUCTURE_DEFAULTS.items():
            v = entry.get(k, default)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v >= 0:
                problems.append((_entry_key("infrastructure", i, k), f"{v!r} is not a number >= 0.",
                                 "Give a factor such as 0.5 (half the cost) or 0 (free)."))
            clean[k] = v
        if len(problems) == n0:
            out.append(clean)
    return tuple(out)


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario TOML file.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        The file cannot be read, is not TOML, or has unknown keys or values of the
        wrong kind; every problem is listed with its key.
    """
    p = Path(path)
    try:
        data = read_toml(p)
    except TomlFileError as exc:
        key = "(syntax)" if "TOML" in exc.what else "(file)"
        raise ScenarioError(str(p), [(key, exc.what, exc.fix)]) from None
    problems: list[Problem] = []
    for k in data:
        if k not in _TOP_KEYS:
            problems.append((k, "is not a scenario key.", f"Use: {', '.join(_TOP_KEYS)}."))
    name = data.get("name", p.stem)
    if not isinstance(name, str) or not name.strip():
        problems.append(("name", f"{name!r} is not a non-empty string.", 'Write name = "my_scenario".'))
        name = p.stem
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append(("description", "is not a string.", "Quote the description."))
        description = ""
    remove = data.get("remove", {})
    rm: dict[str, tuple[str, ...]] = {k: () for k in _REMOVE_KEYS}
    if not isinstance(remove, dict):
        problems.append(("remove", "is not a table.", 'Write [remove] with sites = [...] and/or resources = [...].'))
    else:
        for k, v in remove.items():
            if k not in _REMOVE_KEYS:
                problems.append((f"remove.{k}", "is not a known key.", "Use: sites, resources."))
            else:
                rm[k] = _id_list(v, f"remove.{k}", problems)
    scenario = Scenario(
        name=name.strip(),
        source=str(p),
        description=description,
        params=_check_params(data.get("params", {}), problems),
        add=_check_add(data.get("add", {}), problems),
        remove_sites=rm["sites"],
        remove_resources=rm["resources"],
        byproducts=_id_list(data.get("byproducts", []), "byproducts", problems),
        infrastructure=_check_infrastructure(data.get("infrastructure", []), problems),
    )
    if problems:
        raise ScenarioError(str(p), problems)
    return scenario


# --------------------------------------------------------------------------- applying


def _ids(df: pd.DataFrame, col: str) -> pd.Series:
    """A raw table's id column as stripped strings."""
    return df[col].astype(str).str.strip()


def _drop(df: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    """``df`` without the rows of ``mask``, renumbered (problems name rows by position)."""
    return df[~mask.to_numpy()].reset_index(drop=True)


def _remove(tables: dict[str, pd.DataFrame], inventory: Inventory, scenario: Scenario,
            problems: list[Problem]) -> set[str]:
    """Drop removed sites and resources (and rows that refer to them); return removed site ids."""
    site_ids = set(inventory.sites["site_id"])
    res = inventory.resources
    for key, ids, known, what in (("remove.sites", scenario.remove_sites, site_ids, "site"),
                                  ("remove.resources", scenario.remove_resources,
                                   set(res["resource_id"]), "resource")):
        for x in ids:
            if x not in known:
                problems.append((key, f"{what} '{x}' is not in the inventory.", "Correct the id or remove it."))
    rm_sites = set(scenario.remove_sites)
    rm_res = set(scenario.remove_resources) | set(res.loc[res["site_id"].isin(rm_sites), "resource_id"])
    tables["sites"] = _drop(tables["sites"], _ids(tables["sites"], "site_id").isin(rm_sites))
    tables["resources"] = _drop(tables["resources"], _ids(tables["resources"], "resource_id").isin(rm_res))
    if "properties" in tables:
        p = tables["properties"]
        tables["properties"] = _drop(p, _ids(p, "resource_id").isin(rm_res))
    if "distances" in tables:
        d = tables["distances"]
        tables["distances"] = _drop(d, _ids(d, "from_site").isin(rm_sites) | _ids(d, "to_site").isin(rm_sites))
    if rm_sites or rm_res:
        log.info("scenario %s removes %d sites and %d resources", scenario.name, len(rm_sites), len(rm_res))
    return rm_sites


def _add(tables: dict[str, pd.DataFrame], scenario: Scenario, problems: list[Problem]) -> dict[str, int]:
    """Append the scenario's rows; return the number of rows each table had before."""
    before: dict[str, int] = {}
    for table, rows in scenario.add.items():
        base = tables.get(table)
        known = [c.name for c in TABLES[table].columns]
        allowed = set(known) | (set(base.columns) if base is not None else set())
        for i, row in enumerate(rows):
            for col in row:
                if col.strip().lower() not in allowed:
                    problems.append((_entry_key(f"add.{table}", i, col), "is not a column of that table.",
                                     f"Use one of: {', '.join(known)}."))
        new = pd.DataFrame([{k.strip().lower(): v for k, v in r.items()} for r in rows])
        before[table] = 0 if base is None else len(base)
        out = new if base is None else pd.concat([base, new], ignore_index=True)
        # a cell one side lacks is empty text, as a CSV reader gives it (not NaN, which reads "nan")
        for col in out.columns:
            if pd.api.types.is_object_dtype(out[col]):
                out[col] = out[col].where(out[col].notna(), "")
        tables[table] = out
    return before


def _reclassify(tables: dict[str, pd.DataFrame], scenario: Scenario, problems: list[Problem]) -> None:
    if not scenario.byproducts:
        return
    res = tables["resources"]
    ids = _ids(res, "resource_id")
    roles = dict(zip(ids, res["role"].astype(str).str.strip().str.lower(), strict=True))
    for x in scenario.byproducts:
        if x not in roles:
            problems.append(("byproducts", f"resource '{x}' is not in the inventory.", "Correct the id."))
        elif roles[x] != "have":
            problems.append(("byproducts", f"resource '{x}' is a {roles[x]}, not a have.",
                             "Only a have (a waste) can be reclassified as a by-product."))
    flag = res["byproduct"] if "byproduct" in res else pd.Series("", index=res.index)
    res["byproduct"] = flag.astype(object).where(~ids.isin(scenario.byproducts), True)


def _infrastructure(inventory: Inventory, scenario: Scenario, site_ids: set[str], removed: set[str],
                    problems: list[Problem]) -> pd.DataFrame:
    rows = []
    for i, entry in enumerate(scenario.infrastructure):
        missing = [s for s in entry["sites"] if s not in site_ids]
        if missing:
            problems.append((_entry_key("infrastructure", i, "sites"),
                             f"site(s) {', '.join(missing)} are not in the inventory.",
                             "Correct the ids, or add the sites under [[add.sites]]."))
            continue
        for a, b in itertools.combinations(entry["sites"], 2):
            rows.append({"from_site": a, "to_site": b, "category": entry["category"],
                         **{k: float(entry[k]) for k in INFRASTRUCTURE_DEFAULTS}})
    base = inventory.infrastructure
    base = base[~(base["from_site"].isin(removed) | base["to_site"].isin(removed))]
    infra = pd.concat([base, pd.DataFrame(rows, columns=INFRASTRUCTURE_COLUMNS)], ignore_index=True)
    infra = infra.astype({k: float for k in INFRASTRUCTURE_DEFAULTS})
    if infra.empty:
        return infra
    a = infra[["from_site", "to_site"]].min(axis=1)
    b = infra[["from_site", "to_site"]].max(axis=1)
    keep = ~pd.DataFrame({"a": a, "b": b, "c": infra["category"]}).duplicated(keep="last")
    return infra[keep.to_numpy()].reset_index(drop=True)


def _explain(exc: InventoryError, inventory: Inventory, before: dict[str, int]) -> list[Problem]:
    """Turn the rebuild's problems into problems at the scenario's entries."""
    out = []
    for pr in exc.problems:
        table = next((t for t in TABLES if pr.file == f"{inventory.source}/{t}"), None)
        if table in before and (pr.row is None or pr.row > before[table]):
            if pr.row is None:
                key = f"add.{table}" + (f", {pr.column}" if pr.column else "")
            else:
                key = _entry_key(f"add.{table}", pr.row - before[table] - 1, pr.column)
            out.append((key, pr.message, pr.fix))
        else:
            out.append(("(result)", f"the changed inventory is invalid: {pr}", "Change the scenario."))
    return out


def apply_scenario(inventory: Inventory, scenario: Scenario) -> Inventory:
    """Apply ``scenario`` to ``inventory``.

    The inventory's source tables (``inventory.tables``) are edited (rows
    removed, then rows added, then by-products marked) and rebuilt through
    :func:`~flowmatch.inputs.inventory.build_inventory` with the new parameters, so
    added rows get the same checks as rows read from disk; then the
    infrastructure is set. A scenario that changes only parameters (other than
    ``hours_per_year``, which the reader uses) and infrastructure needs no
    rebuild: the inventory is copied with them.

    Parameters
    ----------
    inventory : Inventory
        A validated inventory; to change rows it must keep its source tables
        (as :func:`~flowmatch.inputs.inventory.read_inventory` and ``build_inventory`` make).
    scenario : Scenario

    Returns
    -------
    Inventory
        A new inventory; ``inventory`` is not changed.

    Raises
    ------
    ScenarioError
        Naming the scenario file and the key of every problem (an unknown id, an
        added row that fails validation, ...).
    """
    problems: list[Problem] = []
    params = inventory.params
    try:
        params = params.replace(**scenario.params)
    except ParamsError as exc:
        problems.append(("params", str(exc).removeprefix("override: ") + ".", "Correct the parameter."))
    source = f"{inventory.source} + {scenario.name}"
    rows_change = bool(scenario.add or scenario.remove_sites or scenario.remove_resources or scenario.byproducts)
    if not rows_change and params.hours_per_year == inventory.params.hours_per_year:
        # nothing the reader normalises changes (rate units use hours_per_year): no rebuild
        infra = _infrastructure(inventory, scenario, set(inventory.sites["site_id"]), set(), problems)
        if problems:
            raise ScenarioError(scenario.source, problems)
        return replace(inventory, params=params, source=source, infrastructure=infra)
    if "sites" not in inventory.tables or "resources" not in inventory.tables:
        raise ScenarioError(scenario.source, [("(inventory)", f"{inventory.source} keeps no source tables to "
                                               "apply a scenario to.",
                                               "Read the inventory with read_inventory or build_inventory.")])
    tables = {}
    for name, df in inventory.tables.items():
        df = df.copy()
        df.columns = [str(c).strip().lower() for c in df.columns]
        tables[name] = df
    removed = _remove(tables, inventory, scenario, problems)
    before = _add(tables, scenario, problems)
    _reclassify(tables, scenario, problems)
    site_ids = set(_ids(tables["sites"], "site_id"))
    infra = _infrastructure(inventory, scenario, site_ids, removed, problems)
    if problems:
        raise ScenarioError(scenario.source, problems)
    try:
        new = build_inventory(tables, params=params, source=inventory.source)
    except InventoryError as exc:
        raise ScenarioError(scenario.source, _explain(exc, inventory, before)) from None
    log.info("applied scenario %s (%s)", scenario.name, scenario.source)
    return replace(new, source=source, infrastructure=infra)
