"""What the optimiser needs of an inventory, checked in one place.

Reading an inventory checks each cell; the model parts need more: a heat
stream its temperatures, running the right way; a water source a contaminant
concentration and a sink a maximum; every property a name flowmatch knows (a
misspelt ``temperatur_c`` would leave a heat want without a temperature).
Each check here returns :class:`~flowmatch.errors.InputProblem` items naming
the file, row and column; :func:`check_requirements` runs them all and raises
them together. ``flowmatch validate`` and :func:`flowmatch.optimise` both call
it, and the heat and water parts call their own check from here, so an
inventory that validates never fails in ``optimise`` for a reason in its input.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pandas as pd

from flowmatch.errors import InputProblem, InventoryError
from flowmatch.inputs.inventory import Inventory
from flowmatch.inputs.property_limits import CONTAMINANT_SUFFIXES, is_known, known_names

__all__ = ["check_requirements", "requirement_problems", "heat_problems", "water_problems",
           "property_name_problems", "opportunity_cost_problems", "storage_problems", "table_label", "did_you_mean",
           "HEAT_ROOT", "TEMPERATURE_PROPERTIES"]

HEAT_ROOT = "energy:heat"
TEMPERATURE_PROPERTIES = ("temperature_c", "target_temperature_c")


def table_label(inv: Inventory, table: str) -> str:
    """The file (or workbook sheet) ``table`` of ``inv`` was read from, as messages name it."""
    src = Path(inv.source)
    if src.is_dir():
        for ext in (".csv", ".parquet"):
            if (src / f"{table}{ext}").exists():
                return str(src / f"{table}{ext}")
        return str(src / f"{table}.csv")
    if src.suffix.lower() in (".xlsx", ".xlsm"):
        return f"{src}[{table}]"
    return f"{inv.source}/{table}"


def did_you_mean(name: str, choices: list[str] | None = None) -> str | None:
    """The known property name closest to ``name`` (difflib), or None."""
    close = difflib.get_close_matches(str(name).lower(), choices or known_names(), n=1, cutoff=0.75)
    return close[0] if close else None


def _row_of(df: pd.DataFrame, key: str) -> dict[str, int]:
    """1-based data row of each id in ``df[key]`` (the first, if repeated)."""
    ids = df[key].astype(str).to_numpy()
    out: dict[str, int] = {}
    for i, r in enumerate(ids):
        out.setdefault(r, i + 1)
    return out


def _heat_mask(inv: Inventory) -> np.ndarray:
    """Energy resources the heat network owns: a heat type, or a temperature given."""
    res = inv.resources
    tax = inv.taxonomy
    energy = (res["category"] == "energy").to_numpy()
    types = res.loc[energy, "type"].unique()
    is_heat_type = {t: t in tax and HEAT_ROOT in tax.ancestors(t) for t in types}
    by_type = res["type"].map(is_heat_type).eq(True).to_numpy()
    props = inv.properties
    with_temp = props.loc[props["property"].isin(TEMPERATURE_PROPERTIES), "resource_id"].unique()
    return energy & (by_type | res["resource_id"].isin(with_temp).to_numpy())


def heat_ids(inv: Inventory) -> list[str]:
    """Ids of the heat resources (see :func:`flowmatch.milp.heat.heat_resource_ids`)."""
    return inv.resources.loc[_heat_mask(inv), "resource_id"].astype(str).tolist()


def _misspelt_hint(inv: Inventory, rid: str, wanted: tuple[str, ...]) -> str:
    """`` Row N has property 'x': did you mean 'y'?`` for a property of ``rid`` close to ``wanted``."""
    props = inv.properties
    for i in np.flatnonzero((props["resource_id"] == rid).to_numpy()):
        name = str(props["property"].iloc[i])
        if name in wanted or is_known(name):
            continue
        close = did_you_mean(name, list(wanted))
        if close:
            return f" Row {i + 1} of {table_label(inv, 'properties')} has property '{name}': did you mean '{close}'?"
    return ""


def _property_row(props: pd.DataFrame, rid: str, prop: str) -> int | None:
    """1-based row of the last ``prop`` row of ``rid`` in ``props`` (None when there is none)."""
    at = np.flatnonzero(((props["resource_id"] == rid) & (props["property"] == prop)).to_numpy())
    return int(at[-1]) + 1 if len(at) else None


def heat_problems(inv: Inventory, resource_ids: list[str] | None = None) -> list[InputProblem]:
    """Heat streams without temperatures, and streams running the wrong way.

    A have needs its supply temperature (``temperature_c`` value); a want its
    temperature (``temperature_c`` value) or a level minimum (``temperature_c`` min).
    A hot stream cools (target below supply), a cold one warms.
    """
    res = inv.resources
    ids = heat_ids(inv) if resource_ids is None else list(resource_ids)
    heat = res[res["resource_id"].isin(ids)]
    if len(heat) == 0:
        return []
    props = inv.properties
    temp = props[props["property"].isin(TEMPERATURE_PROPERTIES) & props["resource_id"].isin(heat["resource_id"])]
    wide = temp.pivot_table(index="resource_id", columns="property", values=["value", "min"], aggfunc="first")

    def col(kind: str, prop: str) -> np.ndarray:
        if (kind, prop) not in wide.columns:
            return np.full(len(heat), np.nan)
        return wide[(kind, prop)].reindex(heat["resource_id"]).to_numpy(dtype=float)

    t_val, t_min, tgt = col("value", "temperature_c"), col("min", "temperature_c"), \
        col("value", "target_temperature_c")
    hot = (heat["role"] == "have").to_numpy()
    names = heat["resource_id"].astype(str).to_numpy()
    sites = heat["site_id"].astype(str).to_numpy()
    res_rows = _row_of(res, "resource_id")
    p_file = table_label(inv, "properties")
    problems = []
    no_temp = np.where(hot, np.isnan(t_val), np.isnan(t_val) & np.isnan(t_min))
    for k in np.flatnonzero(no_temp):
        what = "hot stream" if hot[k] else "cold stream"
        problems.append(InputProblem(
            table_label(inv, "resources"), res_rows.get(names[k]), "type",
            f"{what} '{names[k]}' (site {sites[k]}) has no temperatures: the heat network cannot "
            f"place it.{_misspelt_hint(inv, names[k], TEMPERATURE_PROPERTIES)}",
            f"Add rows to {p_file} for {names[k]}: temperature_c and target_temperature_c values "
            "(a stream), or only temperature_c ("
            + ("a level: its value)." if hot[k] else "a level: its min, the temperature it needs).")))
    wrong_way = ~no_temp & ~np.isnan(tgt) & ~np.isnan(t_val) & np.where(hot, tgt > t_val, tgt < t_val)
    for k in np.flatnonzero(wrong_way):
        if hot[k]:
            msg = (f"hot stream '{names[k]}' (site {sites[k]}) is colder than its target "
                   f"({t_val[k]:g} C -> {tgt[k]:g} C): a have gives heat, so it cools.")
            fix = "Swap temperature_c and target_temperature_c, or make it a want (a cold stream)."
        else:
            msg = (f"cold stream '{names[k]}' (site {sites[k]}) is hotter than its target "
                   f"({t_val[k]:g} C -> {tgt[k]:g} C): a want takes heat, so it warms.")
            fix = "Swap temperature_c and target_temperature_c, or make it a have (a hot stream)."
        problems.append(InputProblem(p_file, _property_row(props, names[k], "target_temperature_c"), "value",
                                     msg, fix))
    return problems


def water_problems(inv: Inventory, resource_ids: list[str] | None = None) -> list[InputProblem]:
    """Water sources without a contaminant concentration, sinks without a maximum."""
    res = inv.resources
    water = res[res["category"] == "water"]
    if resource_ids is not None:
        water = water[water["resource_id"].isin(resource_ids)]
    if len(water) == 0:
        return []
    props = inv.properties
    conc = props[props["property"].str.endswith(CONTAMINANT_SUFFIXES) & props["resource_id"].isin(water["resource_id"])]
    with_value = set(conc.loc[conc["value"].notna(), "resource_id"])
    with_max = set(conc.loc[conc["max"].notna(), "resource_id"])
    res_rows = _row_of(res, "resource_id")
    r_file, p_file = table_label(inv, "resources"), table_label(inv, "properties")
    problems = []
    contaminants = tuple(n for n in known_names() if n.endswith(CONTAMINANT_SUFFIXES))
    for rid, site, role in water[["resource_id", "site_id", "role"]].itertuples(index=False):
        if role == "have" and rid not in with_value:
            hint = _misspelt_hint(inv, rid, contaminants)  # only where there is a problem: it scans the table
            problems.append(InputProblem(
                r_file, res_rows.get(rid), "category",
                f"water source '{rid}' (site {site}) has no contaminant concentration.{hint}",
                f"Add a row to {p_file} for {rid} with a property ending in _ppm or _mg_l "
                "(cod_mg_l, chloride_ppm, ...) and its concentration in 'value' (0 if clean)."))
        elif role == "want" and rid not in with_max:
            hint = _misspelt_hint(inv, rid, contaminants)
            problems.append(InputProblem(
                r_file, res_rows.get(rid), "category",
                f"water sink '{rid}' (site {site}) has no maximum contaminant concentration.{hint}",
                f"Add a row to {p_file} for {rid} with a property ending in _ppm or _mg_l "
                "and the highest concentration it accepts in 'max'."))
    return problems


def property_name_problems(inv: Inventory) -> list[InputProblem]:
    """Property names flowmatch does not know but that are close to one it does (a misspelling).

    A name far from every known one is the user's own property (matched by name)
    and passes; ``temperatur_c`` next to ``temperature_c`` does not.
    """
    props = inv.properties
    p_file = table_label(inv, "properties")
    problems = []
    for i, (rid, name) in enumerate(zip(props["resource_id"], props["property"], strict=True)):
        if is_known(name):
            continue
        close = did_you_mean(name)
        if close:
            problems.append(InputProblem(
                p_file, i + 1, "property",
                f"property '{name}' of {rid} is not one flowmatch knows: did you mean '{close}'?",
                f"Write '{close}' (the names are in flowmatch/data/properties.csv), or a name of your "
                "own that is not a near-spelling of a known one."))
    return problems


def opportunity_cost_problems(inv: Inventory) -> list[InputProblem]:
    """An ``opportunity_cost`` is a have's, a value, and not negative."""
    props = inv.properties
    sel = np.flatnonzero((props["property"] == "opportunity_cost").to_numpy())
    if len(sel) == 0:
        return []
    role = inv.resources.set_index("resource_id")["role"]
    p_file = table_label(inv, "properties")
    problems = []
    for i in sel:
        rid, v = props["resource_id"].iloc[i], props["value"].iloc[i]
        if role.get(rid) != "have":
            problems.append(InputProblem(p_file, int(i) + 1, "property",
                                         f"opportunity_cost is given for want {rid}: only a have has one.",
                                         "Delete the row, or give the want's price in its 'cost'."))
        elif not np.isfinite(v) or v < 0:
            problems.append(InputProblem(p_file, int(i) + 1, "value",
                                         f"opportunity_cost of {rid} is {v}; it must be a value of 0 or more.",
                                         "Give what using one unit (MWh, t, m3) costs its owner today in 'value'."))
    return problems


def storage_problems(inv: Inventory) -> list[InputProblem]:
    """A ``storage_m3`` given where no tank is modelled: on anything but a water source."""
    res = inv.resources
    if "storage_m3" not in res:
        return []
    given = res["storage_m3"].notna() & (res["storage_m3"].fillna(0.0) > 0)
    bad = res[given & ~((res["category"] == "water") & (res["role"] == "have"))]
    rows, r_file = _row_of(res, "resource_id"), table_label(inv, "resources")
    return [InputProblem(r_file, rows.get(rid), "storage_m3",
                         f"storage_m3 of {rid} ({cat} {role}) is not used: only a water source's tank is "
                         "modelled (it holds the source's water for later months and buffers its batches).",
                         "Give the tank to the water source (have) that fills it, or leave the cell empty.")
            for rid, cat, role in res.loc[bad.index, ["resource_id", "category", "role"]].itertuples(index=False)]


def requirement_problems(inv: Inventory) -> list[InputProblem]:
    """Every problem the optimiser would raise for ``inv``'s input, in one list."""
    return (property_name_problems(inv) + opportunity_cost_problems(inv) + heat_problems(inv)
            + water_problems(inv) + storage_problems(inv))


def check_requirements(inv: Inventory) -> None:
    """Raise :class:`InventoryError` with every :func:`requirement_problems` item, if any."""
    problems = requirement_problems(inv)
    if problems:
        raise InventoryError(problems)
