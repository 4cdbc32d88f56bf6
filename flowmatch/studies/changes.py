"""What a what-if scenario changed: synergies added, dropped or resized, and unused parameters.

A what-if run writes each run's plan folder (``OUT/runs/NAME/``); this module
names those folders, compares each scenario's synergies with the baseline's
(:func:`changes_table`, written as ``OUT/changes.csv``) and warns when a
scenario sets a price or factor that no resource of the inventory uses
(:func:`unused_params`), because every resource it would apply to states its own.

A synergy is a flow of a synergy mode (``SYNERGY_MODES``: not disposal or
virgin supply), keyed by ``(have_id, want_id, mode)``, its quantity summed over
the flow rows with that key (a milk round's legs, several routes); a synergy
left open at a rounding-level flow (``MIN_SHARE`` of the plan's largest flow)
is not counted. The key is
the one ``synergies.csv`` uses, so the two tables join on it.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from flowmatch.inputs.inventory import Inventory
from flowmatch.plans.plan import MODES

__all__ = ["SYNERGY_MODES", "CHANGES_COLUMNS", "RUNS_FOLDER", "run_folder_names", "synergy_quantities",
           "changes_table", "run_changes", "unused_params", "write_changes"]

log = logging.getLogger(__name__)

#: Flow modes that are synergies (every mode but disposal and virgin supply).
SYNERGY_MODES = tuple(m for m in MODES if m not in ("disposal", "virgin"))
#: Columns of ``changes.csv``: one row per synergy a scenario added, dropped or resized.
CHANGES_COLUMNS = ["scenario", "have_id", "want_id", "mode", "unit", "change", "quantity_base",
                   "quantity_scenario", "delta"]
#: Sub-folder of a what-if output folder holding each run's plan folder.
RUNS_FOLDER = "runs"
#: Relative tolerance under which two quantities of a synergy count as the same size.
REL_TOL = 1e-6
#: A synergy carrying at most this share of the plan's largest flow is rounding, not a synergy.
MIN_SHARE = 1e-9
_KEY = ["have_id", "want_id", "mode"]


def run_folder_names(names: Sequence[str]) -> list[str]:
    """A folder name for each run, in order: its name with anything but letters, digits, ``._=-`` as ``_``.

    Names that come out the same get ``-2``, ``-3``... so every run has its own folder.
    """
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        base = re.sub(r"[^A-Za-z0-9._=-]+", "_", name).strip("._") or "run"
        slug, k = base, 1
        while slug.lower() in seen:
            k += 1
            slug = f"{base}-{k}"
        seen.add(slug.lower())
        out.append(slug)
    return out


def synergy_quantities(flows: pd.DataFrame) -> pd.DataFrame:
    """The synergies of a plan's flows: ``have_id``, ``want_id``, ``mode``, ``unit``, ``quantity`` (summed)."""
    syn = flows[flows["mode"].isin(SYNERGY_MODES)]
    if syn.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "quantity" else object)
                             for c in [*_KEY, "unit", "quantity"]})
    out = (syn.assign(quantity=syn["quantity"].astype(float))
           .groupby(_KEY, as_index=False, sort=True).agg(unit=("unit", "first"), quantity=("quantity", "sum")))
    # a solver may leave a synergy open at a rounding-level flow (1e-9 t under its integrality tolerance)
    floor = MIN_SHARE * max(1.0, float(flows["quantity"].astype(float).abs().max()))
    return out[out["quantity"] > floor].reset_index(drop=True)


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(1.0, abs(a), abs(b))


def changes_table(base_flows: pd.DataFrame, runs: Iterable[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """The synergies each scenario added, dropped or resized against the baseline.

    Parameters
    ----------
    base_flows : pandas.DataFrame
        The baseline plan's ``flows.csv``.
    runs : iterable of (scenario name, flows)
        Each scenario's plan flows.

    Returns
    -------
    pandas.DataFrame
        ``CHANGES_COLUMNS``, by scenario (in the order given) then synergy key.
        ``added`` has ``quantity_base`` 0, ``dropped`` has ``quantity_scenario``
        0; ``delta`` is scenario minus base. Synergies of the same size (within
        a relative 1e-6) are not listed.
    """
    base = synergy_quantities(base_flows).set_index(_KEY)
    rows = []
    for name, flows in runs:
        scen = synergy_quantities(flows).set_index(_KEY)
        for key in sorted(set(base.index) | set(scen.index)):
            qb = float(base.at[key, "quantity"]) if key in base.index else 0.0
            qs = float(scen.at[key, "quantity"]) if key in scen.index else 0.0
            if key not in scen.index:
                change = "dropped"
            elif key not in base.index:
                change = "added"
            elif _same(qb, qs):
                continue
            else:
                change = "resized"
            unit = (scen if key in scen.index else base).at[key, "unit"]
            rows.append({"scenario": name, **dict(zip(_KEY, key, strict=True)), "unit": unit, "change": change,
                         "quantity_base": qb, "quantity_scenario": qs, "delta": qs - qb})
    return pd.DataFrame(rows, columns=CHANGES_COLUMNS)


def run_changes(table: pd.DataFrame, out: str | Path) -> pd.DataFrame:
    """The changes of a what-if whose runs were written under ``out`` (``table`` from ``run_whatif``).

    Each run's flows are read back from its plan folder (``run_folder``),
    checked against its manifest, so ``changes.csv`` says what the folders
    hold. Runs that failed (no folder) are left out; so is everything when the
    baseline failed, with a warning.
    """
    from flowmatch.plans.folder import read_plan_folder

    out = Path(out)
    folders = dict(zip(table["scenario"].astype(str), table["run_folder"].fillna("").astype(str), strict=True))
    base_name = str(table["scenario"].iloc[0])
    if not folders.get(base_name):
        log.warning("the baseline was not solved, so no run's changes can be listed")
        return pd.DataFrame(columns=CHANGES_COLUMNS)
    base = read_plan_folder(out / folders[base_name]).flows
    runs = ((name, read_plan_folder(out / f).flows) for name, f in list(folders.items())[1:] if f)
    return changes_table(base, runs)


def read_changes(path: Path, files: dict[str, bytes]) -> pd.DataFrame | None:
    """``changes.csv`` of a what-if folder from its verified ``files`` (``None`` when absent)."""
    import io

    from flowmatch.errors import PlanFolderError

    if "changes.csv" not in files:
        return None
    f = path / "changes.csv"
    try:
        df = pd.read_csv(io.BytesIO(files["changes.csv"]), dtype={c: str for c in CHANGES_COLUMNS[:6]},
                         keep_default_na=False)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a damaged file
        raise PlanFolderError(f"{f}: cannot be read ({exc}). Run the what-if again.") from None
    missing = [c for c in CHANGES_COLUMNS if c not in df.columns]
    if missing:
        raise PlanFolderError(f"{f}: missing column(s) {', '.join(missing)}. Run the what-if again.")
    for c in CHANGES_COLUMNS[6:]:
        num = pd.to_numeric(df[c], errors="coerce")
        if num.isna().any():
            row = int(num.isna().to_numpy().nonzero()[0][0]) + 1
            raise PlanFolderError(f"{f}, row {row}, column '{c}': '{df[c].iloc[row - 1]}' is not a number. "
                                  "Run the what-if again.")
        df[c] = num.astype(float)
    return df


def write_changes(table: pd.DataFrame, out: str | Path) -> Path:
    """Write ``OUT/changes.csv`` into the what-if folder ``out`` (an open stage, or one of its own)."""
    from flowmatch.files import write_table
    from flowmatch.plans.staging import stage

    out = Path(out)
    with stage(out, "comparison") as st:
        name = write_table(table.reindex(columns=CHANGES_COLUMNS), st.path / "changes.csv").name
    return out / name


# --------------------------------------------------------------------------- unused parameters

# parameter -> (role, category, landfilled only?, column of the resource that overrides it)
_DEFAULTS: dict[str, tuple[str, str, bool, str]] = {
    "landfill_price": ("have", "material", True, "cost"),
    "landfill_co2_kg_t": ("have", "material", True, "co2"),
    "landfill_tax": ("have", "material", True, ""),
    "wastewater_price": ("have", "water", False, "cost"),
    "wastewater_co2_kg_m3": ("have", "water", False, "co2"),
    "cold_utility_price": ("have", "energy", False, "cost"),
    "cold_utility_co2_kg_mwh": ("have", "energy", False, "co2"),
    "virgin_price_t": ("want", "material", False, "cost"),
    "fresh_water_price": ("want", "water", False, "cost"),
    "fresh_water_co2_kg_m3": ("want", "water", False, "co2"),
    "hot_utility_price": ("want", "energy", False, "cost"),
    "hot_utility_co2_kg_mwh": ("want", "energy", False, "co2"),
}
# parameter -> the category whose exchanges it prices: with no have of that category, it changes nothing
_CATEGORY: dict[str, str] = {
    **dict.fromkeys(("transport_cost_t_km", "co2_kg_t_km", "vehicle_capacity_t", "vehicle_cost_km",
                     "vehicle_cost_collection", "vehicle_co2_kg_km", "max_distance_material_km"), "material"),
    **dict.fromkeys(("transport_cost_m3_km", "co2_kg_m3_km", "pipe_fixed_cost", "pipe_cost_km",
                     "regeneration_cost_m3", "max_distance_water_km"), "water"),
    **dict.fromkeys(("transport_cost_mwh_km", "co2_kg_mwh_km", "heat_link_fixed_cost", "heat_link_cost_km",
                     "max_distance_energy_km"), "energy"),
}


def unused_params(inventory: Inventory, names: Iterable[str], scenario: str = "") -> list[str]:
    """Warnings for parameters in ``names`` that no resource of ``inventory`` uses.

    A default price or CO2 factor (``landfill_price``, ``fresh_water_price``...,
    see :mod:`flowmatch.milp.costs`) applies only to resources that do not state
    their own ``cost`` / ``co2``; when every resource it would apply to states
    one, or there is no such resource, changing it changes nothing.
    ``landfill_tax`` is unused when no have is landfilled; a transport rate,
    link cost or reach of one category (``pipe_cost_km``, ``vehicle_cost_km``...)
    when the inventory has no have of that category.
    """
    from flowmatch.milp.costs import is_landfilled

    res = inventory.resources
    out = []
    for name in dict.fromkeys(names):
        who = f"scenario '{scenario}' sets {name}" if scenario else f"{name} is set"
        if name in _CATEGORY:
            cat = _CATEGORY[name]
            if not ((res["role"] == "have") & (res["category"] == cat)).any():
                out.append(f"{who}, but the inventory has no {cat} haves, so it changes nothing.")
            continue
        if name not in _DEFAULTS:
            continue
        role, cat, landfilled, col = _DEFAULTS[name]
        mask = (res["role"] == role).to_numpy() & (res["category"] == cat).to_numpy()
        if landfilled:
            mask &= is_landfilled(res)
        what = f"{'landfilled ' if landfilled else ''}{cat} {role}s"
        if not mask.any():
            out.append(f"{who}, but the inventory has no {what}, so it changes nothing.")
            continue
        if not col:
            continue
        given = res[col].to_numpy(dtype=float)[mask] if col in res else np.full(int(mask.sum()), math.nan)
        if np.isfinite(given).all():
            out.append(f"{who}, but every one of the {int(mask.sum())} {what} states its own '{col}', so it "
                       f"changes nothing; change those resources' '{col}' instead (or leave it empty to use "
                       f"{name}).")
    return out
