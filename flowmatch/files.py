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

from flowmatch.errors import FlowmatchError

__all__ = ["atomic_write", "write_table", "write_json"]


def _ensure_dir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise FlowmatchError(f"{out}: cannot create the output folder: a file of that name is in the "
                             "way. Give another path, or move the file away.") from None
    except OSError as exc:
        raise FlowmatchError(f"{out}: cannot create the output folder ({exc.strerror}).") from None


def _file_mode() -> int:
    """``0o666`` less the process umask: the mode ``open()`` would give a new file.

    Read when a file is written, not on import (a program may set its umask
    after importing flowmatch). Linux tells the umask in ``/proc``; elsewhere
    it is read by setting it and putting it back at once.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | Path, write: Callable[[Path], Any], suffix: str = ".tmp") -> Path:
    """Call ``write(tmp_path)`` then move ``tmp_path`` onto ``path`` atomically.

    ``suffix`` ends the temporary file's name, for writers that pick a format
    from the extension (HiGHS writing ``.lp`` or ``.mps``).
    """
    path = Path(path)
    if str(path).strip() in ("", "."):
        raise FlowmatchError(f"an empty output file name ('{path}'); give a file name.")
    if path.is_dir():
        raise FlowmatchError(f"{path}: is a folder, but a file is to be written there; give a file name.")
    _ensure_dir(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise FlowmatchError(f"{path}: cannot be written ({exc.strerror} in {path.parent}); "
                             "choose a folder you can write to.") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, _file_mode())  # mkstemp makes 0600; outputs are ordinary files
        os.replace(tmp_path, path)
    except BaseException as exc:
        tmp_path.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
            raise FlowmatchError(f"{path}: cannot be written ({exc.strerror or exc}).") from None
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
    try:
        text = json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n"
    except ValueError as exc:  # inf or nan: JSON has no such number
        raise FlowmatchError(f"{path}: cannot be written: {exc} (a total overflowed, or is undefined); "
                             "nothing was written.") from None

    def _w(p: Path) -> None:
        with open(p, "w", encoding="utf-8") as fh:
            fh.write(text)
    return atomic_write(path, _w)
