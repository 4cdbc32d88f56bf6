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
(it reads a pipe they alone hold). A solver the run starts as a program of
its own (CBC, through PuLP) is asked to die with it too
(:func:`children_die_with_this_process`), so nothing of a killed run remains.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

__all__ = ["worker_pool", "watch_parent", "children_die_with_this_process", "ChildDeadline", "PARENT_POLL_S",
           "KILL_GRACE_S"]

#: Seconds between two looks of a worker's watchdog thread at its parent.
PARENT_POLL_S = 0.5
#: Seconds a child interrupted at its deadline (``SIGINT``) has to write its answer before ``SIGKILL``.
KILL_GRACE_S = 1.0
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


class ChildDeadline:
    """What happened to the children started within :func:`children_die_with_this_process`
    at its ``deadline``: ``interrupted`` (sent ``SIGINT``, which CBC takes as "stop and
    write the best plan"), ``killed`` (still running ``KILL_GRACE_S`` later: ``SIGKILL``)."""

    def __init__(self, deadline: float | None):
        self.deadline = deadline
        self.interrupted = False
        self.killed = False
        self._timers: list[threading.Timer] = []

    def watch(self, proc: Any) -> None:
        """Interrupt ``proc`` at the deadline, kill it ``KILL_GRACE_S`` after."""
        if self.deadline is None:
            return
        wait_s = max(0.0, self.deadline - time.perf_counter())
        for delay, sig in ((wait_s, signal.SIGINT), (wait_s + KILL_GRACE_S, signal.SIGKILL)):
            t = threading.Timer(delay, self._signal, args=(proc, sig))
            t.daemon = True
            t.start()
            self._timers.append(t)

    def _signal(self, proc: Any, sig: int) -> None:
        if proc.poll() is not None:
            return
        try:
            proc.send_signal(sig)
        except OSError:  # it ended in between
            return
        if sig == signal.SIGKILL:
            self.killed = True
        else:
            self.interrupted = True

    def cancel(self) -> None:
        for t in self._timers:
            t.cancel()


class _DyingChildren:
    """Stands in for the ``subprocess`` module inside another module: its ``Popen`` children get
    ``SIGKILL`` when the thread that started them dies (``PR_SET_PDEATHSIG``, kept across exec),
    and are stopped at the deadline of ``watch``."""

    def __init__(self, real: Any, prctl: Any, watch: ChildDeadline):
        self._real = real
        self._prctl = prctl
        self._watch = watch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def Popen(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - the name it stands in for
        prctl = self._prctl
        if prctl is not None:
            def die_with_parent() -> None:  # in the child, between fork and exec: one libc call
                prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

            kwargs.setdefault("preexec_fn", die_with_parent)
        proc = self._real.Popen(*args, **kwargs)
        self._watch.watch(proc)
        return proc


@contextlib.contextmanager
def children_die_with_this_process(module_name: str, deadline: float | None = None
                                   ) -> Iterator[ChildDeadline]:
    """Within the block, processes that module ``module_name`` starts through its ``subprocess``
    (CBC, started by PuLP) are killed when this process dies (on Linux), and, given a
    ``deadline`` (a ``time.perf_counter()`` time), are sent ``SIGINT`` at it and ``SIGKILL``
    ``KILL_GRACE_S`` later. Yields a :class:`ChildDeadline` that says whether either happened.

    Without it, a run killed mid-solve left CBC running until its time limit, and CBC ran
    past its own limit (170 s for 60 s), which covers only its search.
    """
    module = sys.modules.get(module_name)
    real = getattr(module, "subprocess", None)
    watch = ChildDeadline(deadline)
    prctl = None
    if sys.platform.startswith("linux") and real is subprocess:
        try:
            prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
        except (OSError, AttributeError):
            prctl = None
    if real is not subprocess or (prctl is None and deadline is None):
        yield watch
        return
    module.subprocess = _DyingChildren(real, prctl, watch)  # type: ignore[union-attr]
    try:
        yield watch
    finally:
        watch.cancel()
        module.subprocess = real  # type: ignore[union-attr]


def worker_pool(workers: int, init: Callable[..., Any] | None = None, init_args: tuple = ()
                ) -> ProcessPoolExecutor:
    """A ``ProcessPoolExecutor`` of ``workers`` spawned processes that die with this one.

    ``init(*init_args)`` (a module-level function) runs in each worker after
    its watch over this process is set up.
    """
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                               initializer=watch_parent, initargs=(os.getpid(), init, init_args))
