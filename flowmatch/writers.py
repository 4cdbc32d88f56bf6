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
from typing import Any

import pandas as pd

from .errors import FlowmatchError

__all__ = ["atomic_write", "write_table", "write_json", "write_candidates", "CANDIDATE_COLUMNS"]

CANDIDATE_COLUMNS = ["have_id", "want_id", "score", "s_type", "s_quality", "s_quantity",
                     "s_distance", "s_frequency", "distance_km", "rank"]


def _ensure_dir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FlowmatchError(f"{out}: cannot create the output folder ({exc.strerror}).") from None


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp_path)`` then move ``tmp_path`` onto ``path`` atomically."""
    path = Path(path)
    _ensure_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
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
