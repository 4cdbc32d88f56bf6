"""Where independent blocks are solved in parallel: local worker processes, or an executor set for a run.

:func:`flowmatch.milp.blocks.solve_blocks` asks :func:`block_executor` for
its pool. By default that is :func:`flowmatch.milp.workers.worker_pool`; within
:func:`use_executor` (the CLI's ``--scheduler``, :mod:`flowmatch.cluster`) it
is the given ``concurrent.futures`` executor, e.g. a Dask client's, with as
many workers as it says.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import Executor
from contextvars import ContextVar
from typing import Any

from flowmatch.milp.workers import worker_pool

__all__ = ["use_executor", "block_executor", "executor_workers"]

_EXECUTOR: ContextVar[tuple[Executor, int] | None] = ContextVar("flowmatch_block_executor", default=None)


@contextlib.contextmanager
def use_executor(executor: Executor, workers: int) -> Iterator[None]:
    """Within the block, independent blocks are solved on ``executor`` (``workers`` at a time)."""
    token = _EXECUTOR.set((executor, max(1, workers)))
    try:
        yield
    finally:
        _EXECUTOR.reset(token)


def executor_workers() -> int | None:
    """Workers of the executor set by :func:`use_executor`, or ``None`` (local processes)."""
    ex = _EXECUTOR.get()
    return None if ex is None else ex[1]


def block_executor(workers: int) -> contextlib.AbstractContextManager[Any]:
    """The pool for ``workers`` parallel block solves: the executor set for the run, else local processes."""
    ex = _EXECUTOR.get()
    if ex is None:
        return worker_pool(workers)
    return contextlib.nullcontext(ex[0])  # the run's executor outlives this pool
