"""Worker processes that end with the run that started them, however it ends.

Every process pool of flowmatch (independent blocks in
:mod:`flowmatch.milp.blocks`, what-if runs in :mod:`flowmatch.studies.whatif`)
comes from :func:`worker_pool`. A plain ``ProcessPoolExecutor`` outlives a run
killed with ``SIGKILL`` (or ``SIGTERM``, or the OOM killer): its workers wait
for the next task on a queue whose write end they hold themselves, so they
never see the end, and the multiprocessing resource tracker waits for them.
Four killed runs used to leave twelve such processes, 150-250 MB each.

Here each worker, before its first task:

* asks Linux to send it ``SIGKILL`` when its parent dies
  (``prctl(PR_SET_PDEATHSIG)``; the kernel does this even while the worker is
  busy inside a solver's C code);
* checks that its parent is still the run (the run may have died while the
  worker was starting, before the request was made);
* starts a daemon thread that polls its parent's id and calls ``os._exit``
  once the parent is gone (the same on systems without ``prctl``).

Workers are started with ``spawn`` (not ``fork``: a forked child would inherit
the run's solver and Numba thread pools; not ``forkserver``: the fork server
is one more process to outlive the run). The resource tracker that
multiprocessing starts ends by itself once the run and every worker are gone
(it reads a pipe they alone hold), so nothing of a killed run remains.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

__all__ = ["worker_pool", "watch_parent", "PARENT_POLL_S"]

#: Seconds between two looks of a worker's watchdog thread at its parent.
PARENT_POLL_S = 0.5
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> bool:
    """Ask the kernel to ``SIGKILL`` this process when its parent dies; whether it took."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):  # no libc by that name, or no prctl in it
        return False


def _watchdog(parent_pid: int, poll_s: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_s)
    os._exit(1)  # the run is gone: no clean-up is owed to anyone


def watch_parent(parent_pid: int, init: Callable[..., Any] | None = None, init_args: tuple = ()) -> None:
    """Pool initializer: end this worker when process ``parent_pid`` (the run) ends, then run ``init``.

    A worker whose parent is already gone exits at once.
    """
    _die_with_parent()
    if os.getppid() != parent_pid:  # the run died before the request above was made
        os._exit(1)
    threading.Thread(target=_watchdog, args=(parent_pid, PARENT_POLL_S), daemon=True,
                     name="flowmatch-watch-parent").start()
    if init is not None:
        init(*init_args)


def worker_pool(workers: int, init: Callable[..., Any] | None = None, init_args: tuple = ()
                ) -> ProcessPoolExecutor:
    """A ``ProcessPoolExecutor`` of ``workers`` spawned processes that die with this one.

    ``init(*init_args)`` (a module-level function) runs in each worker after
    its watch over this process is set up.
    """
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                               initializer=watch_parent, initargs=(os.getpid(), init, init_args))
