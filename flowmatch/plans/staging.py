"""Output folders written as one: lock, stage, swap in, clean up.

A command that writes a folder ``OUT`` (a plan, a what-if grid, a Pareto
front, match candidates) does it in :func:`stage`:

1. it takes the lock ``.OUT.lock`` beside ``OUT`` (:mod:`filelock`); a second
   run writing the same folder is refused with an
   :class:`OutputFolderError` naming the run that holds it;
2. it tidies what a killed run left beside ``OUT`` (see *Recovery*);
3. it writes every file into a fresh sibling ``.OUT.tmp-<pid>-<random>``;
4. on success it writes ``manifest.json`` there (:mod:`flowmatch.plans.manifest`),
   renames the folder to ``.OUT.new-<pid>-<random>`` (the commit point), renames
   the old ``OUT`` aside to ``.OUT.old-<pid>-<random>``, the new one to ``OUT``,
   and removes the old one. On any error the staging folder is removed and
   ``OUT`` is untouched.

Readers therefore see the old folder or the new one, never a mix. Between
the two renames (microseconds) ``OUT`` does not exist; readers that find it
missing or changing while a ``.OUT.new-*`` / ``.OUT.old-*`` sibling exists
wait for the swap (:func:`swapping`).

*Recovery*: a run killed after the commit point but before ``OUT`` is back
leaves ``.OUT.new-*`` (and maybe ``.OUT.old-*``); the next run writing ``OUT``
rolls forward to the new folder (or back to the old one when there is no new
one), then removes every ``.OUT.tmp-*``, ``.OUT.new-*`` and ``.OUT.old-*``:
it holds the lock, so no live run owns them.

Library writers (:func:`~flowmatch.plans.folder.write_plan`,
:func:`~flowmatch.report.page.write_report`, ...) call :func:`stage` on the
folder they are given; given a staging folder that is already open in this
process, they write straight into it, so the CLI opens one stage for a whole
command (plan, report and workbook together) and commits once.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from flowmatch.errors import FlowmatchError
from flowmatch.plans.manifest import (
    KNOWN_FILES,
    KNOWN_FOLDERS,
    MANIFEST,
    RunInfo,
    read_manifest,
    write_manifest,
)

__all__ = ["OutputFolderError", "Stage", "stage", "nested_stage", "check_output_path", "lock_path", "swapping"]


class OutputFolderError(FlowmatchError):
    """An output folder cannot be written: a bad path, no permission, or another run holds it."""


@dataclass
class Stage:
    """An open staging folder: write into ``path``; ``final`` is where it goes on success."""

    final: Path
    path: Path
    kind: str
    run: RunInfo = field(default_factory=RunInfo)
    history: list[dict[str, Any]] = field(default_factory=list)

    def seal(self) -> None:
        """Write ``manifest.json`` for what the staging folder holds now (again at commit)."""
        write_manifest(self.path, self.kind, self.run, self.history)


_ACTIVE: dict[str, Stage] = {}


def lock_path(out: Path) -> Path:
    """The lock file of output folder ``out``: ``.OUT.lock`` beside it."""
    return out.parent / f".{out.name}.lock"


def _siblings(out: Path, *kinds: str) -> list[Path]:
    prefixes = tuple(f".{out.name}.{k}-" for k in kinds)
    try:
        return sorted(p for p in out.parent.iterdir() if p.name.startswith(prefixes))
    except OSError:
        return []


def swapping(out: str | Path) -> bool:
    """Whether a run is between the renames of its swap of ``out`` (or was killed there)."""
    return bool(_siblings(Path(os.path.abspath(out)), "new", "old"))


def check_output_path(out: str | Path, what: str = "output folder") -> Path:
    """Check that ``out`` can name an output folder; return it as an absolute path.

    Refused: an empty path, the current folder or one holding it, the root,
    a path that is a file or a symbolic link, or one under a file.
    """
    if not str(out).strip():
        raise OutputFolderError(f"an empty {what} path ('{out}') would write into the current folder; "
                                "give a folder name, e.g. `-o plan`.")
    absolute = Path(os.path.abspath(out))
    cwd = Path.cwd()
    if absolute == cwd or absolute in cwd.parents or not absolute.name:
        raise OutputFolderError(f"{out}: is the current folder or one above it; flowmatch replaces an "
                                f"{what} as a whole, so give a new folder name, e.g. `-o plan`.")
    if absolute.is_symlink():
        raise OutputFolderError(f"{out}: is a symbolic link; give the folder it points to, or a new name.")
    if absolute.exists() and not absolute.is_dir():
        raise OutputFolderError(f"{out}: is a file, not a folder; `-o` names the {what} to write. "
                                "Give a new folder name, or move the file away.")
    for up in absolute.parents:
        if up.exists():
            if not up.is_dir():
                raise OutputFolderError(f"{out}: cannot be created, because {up} is a file, not a folder.")
            break
    return absolute


def _foreign(out: Path) -> list[str]:
    """Files in an existing ``out`` that flowmatch did not write (and would delete on replacing it)."""
    if not out.is_dir():
        return []
    listed: set[str] = set()
    if (out / MANIFEST).exists():
        try:
            listed = set(read_manifest(out)["files"])
        except FlowmatchError:
            pass
    bad = []
    for p in out.iterdir():
        n = p.name
        leftover = n.startswith(".") and n.endswith(".tmp")  # an older flowmatch's half-written file
        if n in KNOWN_FOLDERS and p.is_dir() and not p.is_symlink():
            if listed and not any(f.startswith(f"{n}/") for f in listed):
                bad.append(n)
            continue
        if not (n in KNOWN_FILES or n in listed or leftover) or not (p.is_file() and not p.is_symlink()):
            bad.append(n)
    return sorted(bad)


def _os_error(out: Path, exc: OSError, doing: str) -> OutputFolderError:
    where = exc.filename or out
    return OutputFolderError(f"{out}: cannot {doing} ({exc.strerror or exc} on {where}); "
                             "make the folder writable, or write to another one (`-o`).")


def _acquire(out: Path) -> FileLock:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(out, exc, "create the folder it goes in") from None
    try:  # made here first, so a folder that cannot hold it says why (filelock would only time out)
        os.close(os.open(lock_path(out), os.O_WRONLY | os.O_CREAT, 0o666))
    except OSError as exc:
        raise _os_error(out, exc, "take the lock beside it") from None
    lock = FileLock(str(lock_path(out)), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        pids = sorted({p.name.split("-")[1] for p in _siblings(out, "tmp", "new")
                       if len(p.name.split("-")) > 2})
        who = f" (pid {', '.join(pids)})" if pids else ""
        raise OutputFolderError(
            f"{out}: another flowmatch run{who} is writing this folder (it holds {lock_path(out)}). "
            "Wait for it to finish, or write to another folder with `-o`.") from None
    except OSError as exc:
        raise _os_error(out, exc, "take the lock beside it") from None
    return lock


def remove_folder(p: Path) -> None:
    """Remove a folder flowmatch made inside an open stage (a what-if run that did not finish)."""
    _remove(p)


def _remove(p: Path) -> None:
    """Remove a folder flowmatch made, even one a user made read-only."""
    shutil.rmtree(p, ignore_errors=True)
    if p.exists():
        for root, _, _ in os.walk(p):
            os.chmod(root, 0o700)
        shutil.rmtree(p, ignore_errors=True)


def _recover_and_clean(out: Path) -> None:
    """Under the lock: put ``out`` back if a run died mid-swap, then remove what killed runs left."""
    if not out.exists():
        back = _siblings(out, "new") or _siblings(out, "old")
        if back:
            os.rename(back[-1], out)
    for p in _siblings(out, "tmp", "new", "old"):
        _remove(p)


def _carry(st: Stage) -> None:
    """Start the staging folder from the verified contents of the existing folder."""
    from flowmatch.plans.manifest import read_verified

    m, _ = read_verified(st.final, names=[])
    st.kind = m.get("kind", st.kind)
    st.history = [*m.get("history", []), m["run"]] if isinstance(m.get("run"), dict) else []
    for name in m["files"]:
        src, dst = st.final / name, st.path / name
        dst.parent.mkdir(parents=True, exist_ok=True)  # a what-if's runs/NAME/ files
        try:
            os.link(src, dst)  # every writer replaces files whole, so sharing the inode is safe
        except OSError:
            shutil.copy2(src, dst)
    st.seal()


def _swap(st: Stage) -> None:
    tag = st.path.name.rsplit(".tmp-", 1)[1]
    new = st.final.parent / f".{st.final.name}.new-{tag}"
    os.rename(st.path, new)  # the commit point: a complete folder, sealed
    if st.final.exists():
        old = st.final.parent / f".{st.final.name}.old-{tag}"
        os.rename(st.final, old)
        os.rename(new, st.final)
        _remove(old)
    else:
        os.rename(new, st.final)


@contextmanager
def stage(out: str | Path, kind: str, *, carry: bool = False) -> Iterator[Stage]:
    """Write output folder ``out`` as one: yield a :class:`Stage` to write into, commit on success.

    Parameters
    ----------
    out : str or Path
        The folder to write. When it is a staging folder already open in this
        process, the open :class:`Stage` is yielded and nothing is committed here.
    kind : str
        What the folder holds (``plan``, ``candidates``, ``comparison``, ``pareto``), for the manifest.
    carry : bool
        Start from the existing folder's files (verified against its manifest):
        for commands that add to a folder (``flowmatch report``).

    Raises
    ------
    OutputFolderError
        ``out`` is not a usable folder path, cannot be written, holds files
        flowmatch did not write, or another run is writing it.
    PlanFolderError
        With ``carry``: the existing folder does not verify against its manifest.
    """
    active = _ACTIVE.get(os.path.abspath(out))
    if active is not None:
        yield active
        return
    final = check_output_path(out)
    outer = _outer_of(final)
    if outer is not None:  # a what-if's run: written as part of the what-if folder
        with _inner_stage(outer, final, kind, carry) as inner:
            yield inner
        return
    lock = _acquire(final)
    try:
        try:
            _recover_and_clean(final)
        except OSError as exc:
            raise _os_error(final, exc, "tidy what an earlier run left beside it") from None
        foreign = _foreign(final)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise OutputFolderError(
                f"{out}: holds files flowmatch did not write ({shown}); writing the {kind} there would "
                "delete them. Choose a new folder with `-o`, or move them away.")
        path = final.parent / f".{final.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.mkdir(path)
        except OSError as exc:
            raise _os_error(final, exc, "create a staging folder beside it") from None
        st = Stage(final, path, kind)
        _ACTIVE[str(path)] = st
        try:
            if carry and final.exists():
                _carry(st)
            yield st
            st.seal()
            _swap(st)
        except BaseException:
            _remove(path)
            raise
        finally:
            _ACTIVE.pop(str(path), None)
    except OSError as exc:
        raise _os_error(final, exc, "write it") from None
    finally:
        lock.release()


def _outer_of(final: Path) -> Path | None:
    """The sealed output folder holding ``final`` as one of its runs (``OUT/runs/NAME``), if any."""
    if final.parent.name not in KNOWN_FOLDERS or not (final.parent.parent / MANIFEST).is_file():
        return None
    try:
        files = read_manifest(final.parent.parent)["files"]
    except FlowmatchError:
        return None
    return final.parent.parent if f"{final.parent.name}/{final.name}/{MANIFEST}" in files else None


@contextmanager
def _inner_stage(outer: Path, final: Path, kind: str, carry: bool) -> Iterator[Stage]:
    """Add to a run folder inside a sealed what-if folder: the whole what-if folder is staged and swapped.

    Only adding is allowed (``carry``: ``flowmatch report OUT/runs/NAME``); replacing the run's plan
    would leave the what-if's comparison and changes describing another plan.
    """
    if not carry:
        raise OutputFolderError(
            f"{final}: is a run of the what-if folder {outer}, whose comparison.csv and changes.csv describe "
            f"its plan, so it cannot be replaced on its own. Run the what-if again, or write to another "
            f"folder with `-o`.")
    with stage(outer, read_manifest(outer).get("kind", "comparison"), carry=True) as ost:
        path = ost.path / final.relative_to(outer)  # its files carried over, checked by the outer manifest
        m = read_manifest(path)
        st = Stage(final, path, str(m.get("kind", kind)))
        st.history = [*m.get("history", []), m["run"]] if isinstance(m.get("run"), dict) else []
        _ACTIVE[str(path)] = st
        try:
            yield st
            st.seal()
        finally:
            _ACTIVE.pop(str(path), None)


@contextmanager
def nested_stage(folder: str | Path, kind: str) -> Iterator[Stage]:
    """Write a sealed output folder *inside* a staging folder already open (a what-if's ``runs/NAME/``).

    The outer run holds the lock and swaps the whole staging folder in at once,
    so the inner folder is neither locked nor swapped: it is made, written
    (library writers given ``folder`` write straight into it) and sealed with
    its own ``manifest.json``; on an error it is removed. The outer manifest,
    written later, lists its files, so the outer folder is still checked as one.
    Safe in a worker process writing into its parent's staging folder.
    """
    path = Path(os.path.abspath(folder))
    if path.exists():
        raise OutputFolderError(f"{folder}: already exists inside the output folder being written; "
                                "give each run its own name.")
    path.mkdir(parents=True)
    st = Stage(path, path, kind)
    _ACTIVE[str(path)] = st
    try:
        yield st
        st.seal()
    except BaseException:
        _remove(path)
        raise
    finally:
        _ACTIVE.pop(str(path), None)


def wait_for_swap(out: Path, timeout: float = 2.0) -> bool:
    """Sleep a moment when a swap of ``out`` is under way; ``False`` when there is none to wait for."""
    deadline = time.monotonic() + timeout
    if not swapping(out):
        return False
    while swapping(out) and time.monotonic() < deadline:
        time.sleep(0.02)
    return True
