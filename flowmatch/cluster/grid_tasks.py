"""What-if runs, Pareto points and optimise's blocks as Dask tasks: solved on the workers, written here.

:func:`solve_on_cluster` is the cluster path of
:func:`flowmatch.studies.whatif.run_whatif` (``--scheduler``): each run is one
task that optimises its scenario's inventory single-threaded (one core per
worker) and returns the plan; the plan folders (``runs/NAME/``) and the
comparison are written on this machine, exactly as the process-pool path writes
them, so workers need no view of the output folder. A run that fails as a
user's mistake, or crashes, is a row with ``status`` ``error``, as there; a
worker that dies has its task rerun by Dask.

:func:`caps_on_cluster` solves a Pareto front's capped points (between its two
ends, solved here) as tasks; :func:`blocks_on_cluster` has ``optimise`` send its
big independent blocks to the workers instead of local processes, each within
its share of the run's one time budget.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowmatch.cluster.scheduler import run_tasks
from flowmatch.errors import FlowmatchError

if TYPE_CHECKING:
    from flowmatch.inputs.inventory import Inventory
    from flowmatch.milp.options import SolveOptions

__all__ = ["solve_on_cluster", "solve_task", "blocks_on_cluster", "caps_on_cluster", "cap_task"]

log = logging.getLogger(__name__)


def solve_task(inventory: Inventory, options: SolveOptions) -> tuple[Any, dict[str, Any] | None, float]:
    """The task: ``(plan, None, seconds)``, or ``(None, error row, seconds)`` when the run fails."""
    from flowmatch.milp.optimise import optimise
    from flowmatch.studies.whatif import _crashed

    t0 = time.perf_counter()
    try:
        return optimise(inventory, options=options), None, time.perf_counter() - t0
    except FlowmatchError as exc:
        return None, {"status": "error", "message": str(exc), "run_folder": ""}, time.perf_counter() - t0
    except Exception as exc:  # a bug in one run: the others stand, the run says why
        return None, _crashed(inventory, exc), time.perf_counter() - t0


def solve_on_cluster(client: Any, inventories: Sequence[Inventory], options: SolveOptions,
                     folders: Sequence[Path | None], progress: bool = True) -> list[dict[str, Any]]:
    """Each inventory optimised as a task on ``client``'s cluster; the comparison rows, in order."""
    from flowmatch.studies.whatif import WORKER_DIED, plan_row

    inner = options.replace(jobs=1, threads=1)  # each task is one of many parallel solves: one core
    log.info("solving %d scenarios as Dask tasks", len(inventories))
    solved = run_tasks(client, solve_task, [(inv, inner) for inv in inventories], progress=progress,
                       desc="scenarios", errors="return")
    rows = []
    for inv, folder, result in zip(inventories, folders, solved, strict=True):
        if isinstance(result, BaseException):  # its workers kept dying (out of memory, say): the rest stand
            log.warning("%s: %s", inv.source, result)
            rows.append({"status": "error", "message": WORKER_DIED, "run_folder": ""})
            continue
        plan, error, seconds = result
        if plan is None:
            rows.append({**(error or {}), "total_s": seconds})
        else:
            rows.append(plan_row(plan, inv, time.perf_counter() - seconds, folder))
    return rows


@contextlib.contextmanager
def blocks_on_cluster(client: Any) -> Iterator[None]:
    """Within the block, ``optimise`` sends its big independent blocks to ``client``'s workers
    (:mod:`flowmatch.milp.executors`); without a client nothing changes."""
    if client is None:
        yield
        return
    from flowmatch.milp.executors import use_executor

    workers = len(client.scheduler_info().get("workers", {}))
    with use_executor(client.get_executor(pure=False), workers):
        yield


def cap_task(inventory: Inventory, options: SolveOptions, candidates: Any, caps: dict[str, float]
             ) -> tuple[Any, str | None]:
    """The task of one Pareto point: ``(plan, None)``, or ``(None, why)`` when it cannot be solved."""
    from flowmatch.milp.optimise import optimise

    try:
        return optimise(inventory, options=options, candidates=candidates, metric_caps=caps), None
    except FlowmatchError as exc:
        return None, str(exc)


def caps_on_cluster(client: Any, inventory: Inventory, options: SolveOptions, candidates: Any,
                    caps: Sequence[dict[str, float]]) -> list[tuple[Any, str | None]]:
    """Each capped solve of a Pareto front as a task on ``client``'s cluster, in order."""
    inner = options.replace(jobs=1, threads=1)  # one core per task
    return run_tasks(client, cap_task, [(inventory, inner, candidates, c) for c in caps], progress=True,
                     desc="pareto points")
