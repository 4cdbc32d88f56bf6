"""The plan folder: written and read in this one place.

:func:`write_plan` writes a :class:`~flowmatch.plans.plan.Plan`;
:func:`read_plan_folder` reads the tables back, checked. A plan folder (``flowmatch optimise INVENTORY -o OUT``) holds ``summary.json``,
``flows.csv``, ``routes.csv``, ``sites.csv``, ``resources.csv`` and, when the
plan kept its candidates, ``candidates.parquet``; a what-if or Pareto run
leaves ``comparison.csv`` or ``pareto.csv``. Reports read *only* these files, never the inventory, so a plan
can be reported on anywhere it is copied to. A missing file, a missing column,
a number that is not a number or a folder written in another format version is
a :class:`~flowmatch.errors.PlanFolderError` naming the file and the fix.
"""

from __future__ import annotations

import io
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flowmatch.errors import ModelError, PlanFolderError
from flowmatch.files import write_json, write_table
from flowmatch.inputs.heat_levels import with_grades
from flowmatch.inputs.labels import with_type_labels
from flowmatch.matching.candidates import CANDIDATE_COLUMNS
from flowmatch.plans.manifest import MANIFEST, read_verified
from flowmatch.plans.plan import FLOW_COLUMNS, ROUTE_COLUMNS, Plan
from flowmatch.plans.staging import stage, wait_for_swap
from flowmatch.plans.summary import SUMMARY_FORMAT, check_balance
from flowmatch.plans.synergies import (
    SYNERGY_COLUMNS,
    SYNERGY_MONEY,
    SYNERGY_REQUIRED,
    check_synergy_sums,
    synergy_table,
)

if TYPE_CHECKING:
    from flowmatch.inputs.inventory import Inventory

__all__ = ["write_plan", "PlanFolder", "read_plan_folder", "PLAN_FORMAT", "PLAN_FILES", "COMPARISON_FILES"]

log = logging.getLogger(__name__)

PLAN_FORMAT = SUMMARY_FORMAT
"""The plan folder format this flowmatch writes and reads (``summary.json`` ``format``)."""

# file -> (required columns, of which numeric)
_TABLE_SPECS: dict[str, tuple[list[str], list[str]]] = {
    "flows.csv": (FLOW_COLUMNS, ["quantity", "distance_km", "cost", "co2_kg"]),
    "routes.csv": (ROUTE_COLUMNS, ["km", "collections_per_year"]),
    "sites.csv": (["site_id", "lat", "lon"], ["lat", "lon"]),
    "resources.csv": (["resource_id", "site_id", "role", "category", "type", "quantity", "unit"],
                      ["quantity", "cost", "co2"]),
    "candidates.parquet": (CANDIDATE_COLUMNS, ["score", "s_type", "s_quality", "s_quantity",
                                               "s_distance", "s_frequency", "distance_km", "rank"]),
    "synergies.csv": (SYNERGY_REQUIRED, ["quantity", *SYNERGY_MONEY, "co2_saved_t", "payback_years"]),
}
_OPTIONAL_FILES = ("candidates.parquet", "synergies.csv")
PLAN_FILES = ("summary.json", *(n for n in _TABLE_SPECS if n not in _OPTIONAL_FILES))
"""Files every plan folder holds (``candidates.parquet`` is optional; ``synergies.csv`` is
written with every plan given its inventory, and checked when present)."""
COMPARISON_FILES = ("comparison.csv", "pareto.csv")
"""Optional files of a what-if grid or a Pareto front, reported as a comparison chart."""

_SUMMARY_KEYS = ("status", "objective", "baseline", "by_category")
_MAY_BE_EMPTY = {("resources.csv", "cost"), ("resources.csv", "co2"), ("synergies.csv", "payback_years"),
                 ("synergies.csv", "fixed"), ("synergies.csv", "capex_annual"), ("synergies.csv", "carbon_value")}
_OPTIONAL_TEXT = {"sites.csv": ["name", "park", "sector"], "resources.csv": ["route"]}
_FIX = "Write the plan again with `flowmatch optimise INVENTORY -o {path}`."


@dataclass
class PlanFolder:
    """The contents of a plan folder.

    Attributes
    ----------
    path : pathlib.Path
    summary : dict
        ``summary.json``; empty for a folder holding only a comparison.
    flows, routes, sites, resources : pandas.DataFrame
        The plan's tables (empty with their columns for a comparison-only folder).
        Id and text columns are strings (``""`` where empty), the others floats.
    comparison, pareto : pandas.DataFrame or None
        ``comparison.csv`` (what-if grid) and ``pareto.csv`` where present.
    changes : pandas.DataFrame or None
        A what-if's ``changes.csv`` (synergies each scenario added, dropped or
        resized; may have no rows) where present.
    synergies : pandas.DataFrame or None
        ``synergies.csv`` where present: what each synergy is worth.
    """

    path: Path
    summary: dict[str, Any]
    flows: pd.DataFrame
    routes: pd.DataFrame
    sites: pd.DataFrame
    resources: pd.DataFrame
    candidates: pd.DataFrame | None
    comparison: pd.DataFrame | None = None
    pareto: pd.DataFrame | None = None
    changes: pd.DataFrame | None = None
    synergies: pd.DataFrame | None = None

    @property
    def has_plan(self) -> bool:
        """Whether the folder holds a plan (not only a what-if or Pareto comparison)."""
        return bool(self.summary)


def _read_summary(path: Path, data: bytes) -> dict[str, Any]:
    f = path / "summary.json"
    try:
        summary = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanFolderError(f"{f}: cannot be read as JSON ({exc}). {_FIX.format(path=path)}") from None
    if not isinstance(summary, dict):
        raise PlanFolderError(f"{f}: is not a JSON object. {_FIX.format(path=path)}")
    fmt = summary.get("format")
    if fmt != PLAN_FORMAT:
        by = summary.get("flowmatch_version")
        written = f"format {fmt!r}" if fmt is not None else "no 'format' key"
        if by:
            written += f", written by flowmatch {by}"
        raise PlanFolderError(
            f"{f}: this plan folder has {written}; this flowmatch reads plan format {PLAN_FORMAT}. "
            + _FIX.format(path=path))
    missing = [k for k in _SUMMARY_KEYS if k not in summary]
    if missing:
        raise PlanFolderError(f"{f}: missing key(s) {', '.join(missing)}. {_FIX.format(path=path)}")
    for k in ("objective", "baseline", "by_category"):
        if not isinstance(summary[k], dict):
            raise PlanFolderError(f"{f}: '{k}' is not a JSON object. {_FIX.format(path=path)}")
    return summary


def _read_frame(f: Path, data: bytes) -> pd.DataFrame:
    try:
        if f.suffix == ".parquet":
            return pd.read_parquet(io.BytesIO(data))
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8")
    except Exception as exc:  # noqa: BLE001 - any reader failure is a damaged file
        raise PlanFolderError(f"{f}: cannot be read ({exc}).") from None


def _table_of(path: Path, name: str, files: dict[str, bytes]) -> pd.DataFrame | None:
    """Table ``name`` of the folder: its file, or (``candidates.parquet/``) its part files in name order."""
    if name in files:
        return _read_frame(path / name, files[name])
    parts = sorted(n for n in files if n.startswith(f"{name}/") and n.endswith(".parquet"))
    if not parts:
        return None
    from flowmatch.matching.candidates import concat_parts

    return concat_parts([_read_frame(path / n, files[n]) for n in parts])


def _numbers(raw: pd.Series, f: Path, c: str, fix: str) -> pd.Series:
    """A numeric column as floats: every cell a finite number (or empty, where the column allows it)."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        num = raw.astype(float)
        txt = num.map(repr).where(num.notna(), "")
    else:
        txt = raw.fillna("").astype(str).str.strip()
        num = pd.to_numeric(txt.where(txt != "", None), errors="coerce").astype(float)
    text = num.isna().to_numpy() & txt.ne("").to_numpy() & ~txt.str.lower().isin(["nan", "-nan"]).to_numpy()
    bad = ~np.isfinite(num.to_numpy())
    if (f.name, c) in _MAY_BE_EMPTY:
        bad &= txt.ne("").to_numpy()
    if bad.any():
        i = int(bad.nonzero()[0][0])
        v = txt.iloc[i]
        what = ("is empty" if v == "" else f"'{v}' is not a number" if text[i]
                else f"'{v}' is not a finite number")
        raise PlanFolderError(f"{f}, row {i + 1}, column '{c}': {what}. {fix}")
    return num


def _check_table(df: pd.DataFrame, f: Path, required: list[str], numeric: list[str],
                 text: list[str], fix: str) -> pd.DataFrame:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise PlanFolderError(f"{f}: missing column(s) {', '.join(missing)}. {fix}")
    df = df.copy()
    for c in df.columns:
        raw = df[c]
        if c in numeric:
            df[c] = _numbers(raw, f, c, fix)
        elif not pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
            df[c] = raw.fillna("").astype(str)
    for c in text:
        if c not in df.columns:
            df[c] = ""
    return df


def _empty(required: list[str], numeric: list[str], text: list[str]) -> pd.DataFrame:
    cols = list(dict.fromkeys([*required, *text]))
    return pd.DataFrame({c: pd.Series(dtype=float if c in numeric else object) for c in cols})


def _read_optional(path: Path, name: str, files: dict[str, bytes]) -> pd.DataFrame | None:
    f = path / name
    if name not in files:
        return None
    try:
        df = pd.read_csv(io.BytesIO(files[name]))
    except pd.errors.EmptyDataError:
        df = pd.DataFrame()
    except Exception as exc:  # noqa: BLE001 - any reader failure is a damaged file
        raise PlanFolderError(f"{f}: cannot be read ({exc}).") from None
    if df.empty:
        raise PlanFolderError(f"{f}: is empty. Run the what-if or Pareto command again.")
    return df


def _manifest_id(path: Path) -> tuple[int, int] | None:
    try:
        st = (path / MANIFEST).stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _verified(path: Path) -> dict[str, bytes]:
    """The folder's files, checked against its manifest; waits out a swap under way."""
    for _ in range(3):
        seen = _manifest_id(path)
        try:
            if not path.is_dir():
                raise PlanFolderError(f"{path}: no such plan folder. {_FIX.format(path=path)}")
            if not (path / MANIFEST).exists() and not any((path / n).exists()
                                                          for n in (*PLAN_FILES, *COMPARISON_FILES)):
                raise PlanFolderError(f"{path} is not a plan folder: missing {', '.join(PLAN_FILES)}. "
                                      + _FIX.format(path=path))
            return read_verified(path)[1]
        except PlanFolderError:
            # a swap under way, or one that ended while we read (a new manifest): read again
            if not wait_for_swap(path) and _manifest_id(path) == seen:
                raise
    return read_verified(path)[1]


def read_plan_folder(path: str | Path) -> PlanFolder:
    """Read and check a plan folder.

    Parameters
    ----------
    path : str or Path
        A folder written by ``flowmatch optimise`` (all of ``PLAN_FILES``), or
        one holding only ``comparison.csv`` / ``pareto.csv`` (a what-if grid or
        a Pareto front).

    Returns
    -------
    PlanFolder

    Raises
    ------
    PlanFolderError
        The folder does not exist, a plan file is missing or damaged, or the
        plan was written in another format version.
    """
    path = Path(path)
    files = _verified(path)
    comparison = _read_optional(path, "comparison.csv", files)
    pareto = _read_optional(path, "pareto.csv", files)
    present = [n for n in PLAN_FILES if n in files]
    fix = _FIX.format(path=path)
    if not present and (comparison is not None or pareto is not None):
        empty = {n: _empty(req, num, _OPTIONAL_TEXT.get(n, [])) for n, (req, num) in _TABLE_SPECS.items()}
        from flowmatch.studies.changes import read_changes

        return PlanFolder(path, {}, empty["flows.csv"], empty["routes.csv"], empty["sites.csv"],
                          empty["resources.csv"], None, comparison, pareto, changes=read_changes(path, files))
    missing = [n for n in PLAN_FILES if n not in present]
    if missing:
        what = "is not a plan folder" if not present else "is an incomplete plan folder"
        raise PlanFolderError(f"{path} {what}: missing {', '.join(missing)}. {fix}")
    summary = _read_summary(path, files["summary.json"])
    tables: dict[str, pd.DataFrame] = {}
    for name, (required, numeric) in _TABLE_SPECS.items():
        frame = _table_of(path, name, files)
        if frame is None:
            continue  # the optional candidates
        tables[name] = _check_table(frame, path / name, required, numeric, _OPTIONAL_TEXT.get(name, []), fix)
    sites = tables["sites.csv"]
    bad = ~(sites["lat"].between(-90, 90) & sites["lon"].between(-180, 180))
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0]) + 1
        raise PlanFolderError(f"{path / 'sites.csv'}, row {row}: lat/lon missing or out of range. {fix}")
    for key in ("objective", "baseline"):
        for k, v in summary[key].items():
            if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
                raise PlanFolderError(f"{path / 'summary.json'}: {key}.{k} = {v!r} is not a finite number. {fix}")
    syn = tables.get("synergies.csv")
    if syn is not None:  # write_plan refuses a table that does not add up; a hand-made one is read, said
        for problem in check_synergy_sums(syn, summary):
            log.warning("%s: %s", path / "synergies.csv", problem)
    return PlanFolder(path, summary, tables["flows.csv"], tables["routes.csv"], sites,
                      tables["resources.csv"], tables.get("candidates.parquet"), comparison, pareto,
                      synergies=syn)


def _route_table(routes: pd.DataFrame) -> pd.DataFrame:
    """``ROUTE_COLUMNS`` first, then any optional columns the parts give (milk rounds' loads...)."""
    extra = [c for c in routes.columns if c not in ROUTE_COLUMNS]
    return routes.reindex(columns=[*ROUTE_COLUMNS, *extra])


def _check_finite(plan: Plan) -> None:
    """Refuse a plan with an infinite or undefined total (JSON cannot hold it; no one can use it)."""
    def walk(obj: Any, key: str) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(obj, float) and not math.isfinite(obj):
            raise ModelError(
                f"the plan's {key} is {obj!r}: some quantity times its price or CO2 factor is too large "
                "for a float. Check the inventory's largest quantities, cost and co2 columns (a unit "
                "mistake, or a missing decimal point?); nothing was written.")
    for k in ("objective", "baseline", "by_category"):
        walk(plan.summary.get(k), k)
    for c in ("quantity", "distance_km", "cost", "co2_kg"):
        if c in plan.flows and len(plan.flows):
            v = plan.flows[c].to_numpy(float)
            bad = ~np.isfinite(v)
            if bad.any():
                r = plan.flows.iloc[int(bad.nonzero()[0][0])]
                raise ModelError(f"the plan's flow from {r['have_id']} to {r['want_id']} has {c} = {r[c]!r}: a "
                                 "quantity, price or CO2 factor in the inventory is too large; nothing was written.")


def write_plan(plan: Plan, out: str | Path, inventory: Inventory | None = None) -> list[Path]:
    """Write a plan folder: ``flows.csv``, ``routes.csv``, ``summary.json`` and ``manifest.json``.

    With ``inventory``, the plan is checked to balance first (nothing is
    written otherwise), and the folder also gets ``sites.csv`` and
    ``resources.csv`` (normalised: base units, ``month_mask``...) and, when the
    plan kept them, ``candidates.parquet``, so maps and gap analyses need
    only the folder. The folder is written as one
    (:func:`flowmatch.plans.staging.stage`): into a staging folder beside
    ``out``, sealed with ``manifest.json``, then swapped in, so ``out`` holds
    the old plan or the new one, never a mix. Given a staging folder already
    open (the CLI's), the files go straight into it.

    Returns
    -------
    list of Path
        The files, under ``out``.
    """
    out = Path(out)
    if inventory is not None:
        check_balance(plan.flows, inventory)
    _check_finite(plan)
    with stage(out, "plan") as st:
        d = st.path
        names = [write_table(plan.flows.reindex(columns=FLOW_COLUMNS), d / "flows.csv").name,
                 write_table(_route_table(plan.routes), d / "routes.csv").name]
        if inventory is not None:
            names.append(write_table(inventory.sites, d / "sites.csv").name)
            names.append(write_table(with_type_labels(with_grades(inventory), inventory.taxonomy),  # + heat grade, labels
                                     d / "resources.csv").name)
            if plan.candidates is not None:
                names.append(write_table(plan.candidates, d / "candidates.parquet").name)
            syn = plan.synergies if plan.synergies is not None else synergy_table(plan.flows, inventory)
            wrong = check_synergy_sums(syn, plan.summary)
            if wrong:
                raise ModelError("the plan's synergies do not add up (a bug: please report it): " + "; ".join(wrong)
                                 + "; nothing was written.")
            names.append(write_table(syn.reindex(columns=SYNERGY_COLUMNS), d / "synergies.csv").name)
        if plan.flows_by_period is not None and len(plan.flows_by_period):
            names.append(write_table(plan.flows_by_period, d / "flows_by_period.csv").name)
        names.append(write_json(plan.summary, d / "summary.json").name)
        st.seal()  # readable at once by a report written into the same stage
    return [out / n for n in names]
