"""``manifest.json``: what an output folder holds, and the run that wrote it.

Every folder flowmatch writes (a plan, a what-if grid, a Pareto front, match
candidates) ends with a ``manifest.json`` listing each file's size and SHA-256
and the run that wrote them (flowmatch version, command line, start and end
time, process id, host). It is written last, into the staging folder, just
before the folder is swapped into place (:mod:`flowmatch.plans.staging`).

:func:`read_verified` reads a folder's files *and* checks them against its
manifest in one pass over the bytes it returns, so a reader gets exactly the
files one run wrote, or a :class:`~flowmatch.errors.PlanFolderError`: no
manifest (a folder written by hand or by flowmatch before manifests), a file
missing, changed (size or checksum) or not listed (written by another run).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowmatch.errors import PlanFolderError

__all__ = ["MANIFEST", "MANIFEST_FORMAT", "KNOWN_FILES", "KNOWN_FOLDERS", "folder_files", "RunInfo",
           "set_run_command", "file_entry", "write_manifest", "read_manifest", "read_verified"]

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
KNOWN_FILES = frozenset({
    MANIFEST, "summary.json", "flows.csv", "routes.csv", "sites.csv", "resources.csv",
    "candidates.parquet", "candidates.csv", "report.html", "plan.xlsx", "synergies.csv",
    "comparison.csv", "comparison.parquet", "pareto.csv", "pareto.svg", "changes.csv",
    "flows_by_period.csv",
})
"""Every file name a flowmatch command writes into an output folder (older versions included)."""
KNOWN_FOLDERS = frozenset({"runs", "candidates.parquet"})
"""Sub-folders a flowmatch command writes into an output folder: a what-if's ``runs/NAME/`` plans,
and ``candidates.parquet/`` (``match --scheduler``'s part files).

Each folder under ``runs/`` is a sealed output folder of its own (its own ``manifest.json``);
the outer manifest lists every file under it by its relative path (``runs/NAME/flows.csv``,
``candidates.parquet/part-00000.parquet``), so the outer folder is still one run's, checked as a whole.
"""

_FIX = ("Write the folder again with the command that made it (`flowmatch optimise INVENTORY -o {path}` "
        "for a plan).")
_command: list[str] | None = None


def set_run_command(argv: list[str]) -> None:
    """Record the command line the manifest names (the CLI calls this; default ``sys.argv``)."""
    global _command
    _command = list(argv)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass
class RunInfo:
    """The run writing a folder: ``started`` is set when its staging folder is made."""

    started: str = field(default_factory=_now)
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    command: list[str] = field(default_factory=lambda: list(_command if _command is not None else sys.argv))

    def as_dict(self) -> dict[str, Any]:
        from flowmatch import __version__

        return {"flowmatch_version": __version__, "command": self.command, "started": self.started,
                "finished": _now(), "pid": self.pid, "host": self.host}


def file_entry(data: bytes) -> dict[str, Any]:
    """``{"size", "sha256"}`` of a file's bytes."""
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _hash_file(f: Path) -> dict[str, Any]:
    h = hashlib.sha256()
    size = 0
    with open(f, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return {"size": size, "sha256": h.hexdigest()}


def folder_files(folder: Path) -> tuple[list[str], list[str]]:
    """``(files, bad)`` in ``folder`` but its own manifest: relative POSIX paths, sorted.

    Files under a sub-folder of ``KNOWN_FOLDERS`` are listed by their path
    (``runs/NAME/flows.csv``); ``bad`` names whatever is not a plain file
    there (a link, another folder, a device).
    """
    files: list[str] = []
    bad: list[str] = []

    def walk(d: Path, rel: str, depth: int) -> None:
        for p in sorted(d.iterdir()):
            name = f"{rel}{p.name}"
            if name == MANIFEST:
                continue
            if p.is_symlink():
                bad.append(name)
            elif p.is_dir() and (depth > 0 or p.name in KNOWN_FOLDERS) and depth < 2:
                walk(p, f"{name}/", depth + 1)
            elif p.is_file():
                files.append(name)
            else:
                bad.append(name)

    walk(folder, "", 0)
    return sorted(files), sorted(bad)


def write_manifest(folder: Path, kind: str, run: RunInfo, history: list[dict[str, Any]] | None = None) -> Path:
    """Write ``folder/manifest.json`` listing every other file in ``folder`` (and its ``KNOWN_FOLDERS``).

    ``history`` keeps the runs that wrote the folder before (``flowmatch
    report`` adds a report to a plan: the plan's run stays on record).
    """
    from flowmatch.files import write_json

    names, bad = folder_files(folder)
    if bad:
        raise PlanFolderError(f"{folder}: {', '.join(bad)} is not a plain file; an output folder holds "
                              "only the files flowmatch writes.")
    body: dict[str, Any] = {"format": MANIFEST_FORMAT, "kind": kind,
                            "files": {n: _hash_file(folder / n) for n in names},
                            "run": run.as_dict()}
    if history:
        body["history"] = history
    return write_json(body, folder / MANIFEST)


def read_manifest(path: Path) -> dict[str, Any]:
    """``path/manifest.json``, checked for shape; :class:`PlanFolderError` when absent or damaged."""
    f = path / MANIFEST
    fix = _FIX.format(path=path)
    try:
        raw = f.read_bytes()
    except FileNotFoundError:
        raise PlanFolderError(
            f"{path}: has no {MANIFEST}, so flowmatch cannot tell that its files belong to one run "
            f"(a folder written by hand, by an older flowmatch that wrote no manifest, or by a run that was "
            f"interrupted). {fix}") from None
    except OSError as exc:
        raise PlanFolderError(f"{f}: cannot be read ({exc.strerror}).") from None
    try:
        m = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanFolderError(f"{f}: is not valid JSON ({exc}). {fix}") from None
    ok = (isinstance(m, dict) and m.get("format") == MANIFEST_FORMAT and isinstance(m.get("files"), dict)
          and all(isinstance(e, dict) and isinstance(e.get("size"), int) and isinstance(e.get("sha256"), str)
                  for e in m["files"].values()))
    if not ok:
        fmt = m.get("format") if isinstance(m, dict) else None
        raise PlanFolderError(f"{f}: is not a manifest this flowmatch reads (format {fmt!r}, this flowmatch "
                              f"reads format {MANIFEST_FORMAT}). {fix}")
    return m


def read_verified(path: Path, names: list[str] | None = None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Read a folder's files and check every one against its manifest.

    Parameters
    ----------
    path : Path
        The folder.
    names : list of str, optional
        The files to return (all the manifest lists when ``None``); every file
        listed is checked either way.

    Returns
    -------
    (manifest, {name: bytes})
        The bytes returned are the bytes checked, so a folder replaced while
        it is read is caught, not mixed.

    Raises
    ------
    PlanFolderError
        No manifest, or a file missing, changed, or not listed in it.
    """
    m = read_manifest(path)
    fix = _FIX.format(path=path)
    listed: dict[str, dict[str, Any]] = m["files"]
    try:
        files, odd = folder_files(path)
    except OSError as exc:
        raise PlanFolderError(f"{path}: cannot be listed ({exc.strerror}).") from None
    extra = sorted((set(files) | set(odd)) - set(listed))
    if extra:
        raise PlanFolderError(f"{path}: holds {', '.join(extra)}, which its {MANIFEST} does not list: written by "
                              f"another run or by hand, so the folder mixes two runs. {fix}")
    out: dict[str, bytes] = {}
    for name, want in listed.items():
        f = path / name
        try:
            data = f.read_bytes()
        except FileNotFoundError:
            raise PlanFolderError(f"{f}: is missing, but {MANIFEST} lists it. {fix}") from None
        except OSError as exc:
            raise PlanFolderError(f"{f}: cannot be read ({exc.strerror}).") from None
        got = file_entry(data)
        if got != {"size": want["size"], "sha256": want["sha256"]}:
            what = (f"{got['size']} bytes where {MANIFEST} says {want['size']}" if got["size"] != want["size"]
                    else f"its SHA-256 is not the one {MANIFEST} records")
            raise PlanFolderError(f"{f}: has changed since flowmatch wrote the folder ({what}): another run "
                                  f"or an edit replaced it, so the folder mixes two runs. {fix}")
        if names is None or name in names:
            out[name] = data
    return m, out
