"""Writing outputs atomically: a file appears whole or not at all.

Every writer writes to a temporary file in the destination folder and renames
it into place (``os.replace`` is atomic on one file system), so an interrupted
run never leaves a half-written table.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from flowmatch.errors import FlowmatchError
from flowmatch.plans.plan import FLOW_COLUMNS, ROUTE_COLUMNS, Plan

if TYPE_CHECKING:
    from flowmatch.inputs.inventory import Inventory

__all__ = ["atomic_write", "write_table", "write_json", "write_candidates", "write_plan",
           "CANDIDATE_COLUMNS"]

CANDIDATE_COLUMNS = ["have_id", "want_id", "score", "s_type", "s_quality", "s_quantity",
                     "s_distance", "s_frequency", "distance_km", "rank"]


def _ensure_dir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FlowmatchError(f"{out}: cannot create the output folder ({exc.strerror}).") from None


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


def atomic_write(path: str | Path, write: Callable[[Path], Any], suffix: str = ".tmp") -> Path:
    """Call ``write(tmp_path)`` then move ``tmp_path`` onto ``path`` atomically.

    ``suffix`` ends the temporary file's name, for writers that pick a format
    from the extension (HiGHS writing ``.lp`` or ``.mps``).
    """
    path = Path(path)
    _ensure_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, _FILE_MODE)  # mkstemp makes 0600; outputs are ordinary files
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as CSV or Parquet (by suffix), atomically."""
    path = Path(path)
    if path.suffix == ".parquet":
        return atomic_write(path, lambda p: df.to_parquet(p, index=False))
    return atomic_write(path, lambda p: df.to_csv(p, index=False, lineterminator="\n"))


def write_json(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    def _w(p: Path) -> None:
        with open(p, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=2, sort_keys=False, allow_nan=False)
            fh.write("\n")
    return atomic_write(path, _w)


def write_candidates(cands: pd.DataFrame, out: str | Path, csv: bool = False) -> list[Path]:
    """Write ``OUT/candidates.parquet`` (and ``candidates.csv`` when ``csv``)."""
    out = Path(out)
    paths = [write_table(cands, out / "candidates.parquet")]
    if csv:
        paths.append(write_table(cands, out / "candidates.csv"))
    return paths


def _route_table(routes: pd.DataFrame) -> pd.DataFrame:
    """``ROUTE_COLUMNS`` first, then any optional columns the parts give (milk rounds' loads...)."""
    extra = [c for c in routes.columns if c not in ROUTE_COLUMNS]
    return routes.reindex(columns=[*ROUTE_COLUMNS, *extra])


def write_plan(plan: Plan, out: str | Path, inventory: Inventory | None = None) -> list[Path]:
    """Write a plan folder: ``flows.csv``, ``routes.csv`` and ``summary.json``.

    With ``inventory``, the plan is checked to balance first (nothing is
    written otherwise), and the folder also gets ``sites.csv`` and
    ``resources.csv`` (normalised: base units, ``month_mask``...) and, when the
    plan kept them, ``candidates.parquet``, so maps and gap analyses need
    only the folder. Each file is written atomically; ``summary.json`` comes
    last, so a folder with a summary is a whole plan.
    """
    out = Path(out)
    if inventory is not None:
        from flowmatch.plans.summary import check_balance

        check_balance(plan.flows, inventory)
    paths = [write_table(plan.flows.reindex(columns=FLOW_COLUMNS), out / "flows.csv"),
             write_table(_route_table(plan.routes), out / "routes.csv")]
    if inventory is not None:
        paths.append(write_table(inventory.sites, out / "sites.csv"))
        paths.append(write_table(inventory.resources, out / "resources.csv"))
        if plan.candidates is not None:
            paths.append(write_table(plan.candidates, out / "candidates.parquet"))
    paths.append(write_json(plan.summary, out / "summary.json"))
    return paths
