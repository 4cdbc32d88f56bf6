"""Time each phase of the real pipeline on a user's own inventory: ``flowmatch bench``.

The phases are the stages' own functions, timed where they run:

``read``
    :func:`flowmatch.inputs.inventory.read_inventory` (read, check, normalise).
``freeze``, ``search``, ``candidates``
    :func:`flowmatch.matching.candidates.match`, which reports its own steps
    (``timings``): the arrays (:func:`~flowmatch.matching.frozen.freeze`), the
    kernels' top-K search (:func:`~flowmatch.matching.search.search_top_k`), then
    the sub-scores, the table and the expert rules.
``model``, ``solve``
    :func:`flowmatch.milp.optimise.optimise` on those candidates, from its own
    ``timings``: ``model`` is building the parts and the one ``LinearModel`` with
    its warm start; ``solve`` is the primal heuristics, the block solves and
    the polish.

Before the first repeat the whole pipeline runs once on a small synthetic
inventory (:func:`flowmatch.inputs.synth.synth_tables`), so Numba's compiling
(or loading from its cache) and the first imports are not counted in any
phase; its seconds are reported apart as ``warmup_s``. Each phase's figure is
the median over the repeats. Throughputs: pairs scored per second is
:func:`flowmatch.bench.pairs.pairs_in_reach` over the ``search`` median;
candidates per second is the candidates' rows over the matching medians
(``freeze`` + ``search`` + ``candidates``).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowmatch.errors import BenchError

if TYPE_CHECKING:
    from flowmatch.inputs.inventory import Inventory

__all__ = ["PHASES", "MATCH_PHASES", "REQUIRED_PHASES", "FORMAT", "run_bench", "inventory_checksum", "warm_up"]

log = logging.getLogger(__name__)

#: The phases, in pipeline order.
PHASES = ("read", "freeze", "search", "candidates", "model", "solve")
#: The phases that make up matching (candidates per second is counted over them).
MATCH_PHASES = ("freeze", "search", "candidates")
#: The phases every record has; ``model`` and ``solve`` unless ``matching_only``.
REQUIRED_PHASES = ("read", *MATCH_PHASES)
#: The ``format`` of the JSON record; a baseline of another format is refused.
FORMAT = "flowmatch-bench/1"
#: Resources of the warm-up inventory.
WARMUP_RESOURCES = 200


def inventory_checksum(inventory: Inventory) -> str:
    """SHA-256 of the inventory's tables as read (names, columns, every cell) and its params.

    Two inventories with the same checksum are the same input, whatever the
    files' format or order on disk; a baseline from another inventory is not
    comparable (``flowmatch bench --compare``).
    """
    import pandas as pd

    h = hashlib.sha256()
    for name in sorted(inventory.tables):
        table = inventory.tables[name]
        h.update(f"{name}:{list(map(str, table.columns))}:{len(table)}\n".encode())
        cells = pd.util.hash_pandas_object(table.astype(str), index=False).to_numpy()
        h.update(cells.tobytes())
    h.update(repr(sorted(inventory.params.as_dict().items())).encode())
    return h.hexdigest()


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("flowmatch", "numba", "numpy", "pandas", "scipy", "highspy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover - run from a tree never installed
            out[pkg] = "unknown"
    return out


def _machine(threads: int | None) -> dict[str, Any]:
    import numba

    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "numba_threads": threads or numba.get_num_threads(),
    }


def _pipeline(inv: Inventory, time_limit: float, threads: int | None,
              seconds: dict[str, float], optimise_too: bool = True) -> tuple[int, dict[str, Any]]:
    """Match and optimise ``inv`` once, adding each phase's seconds to ``seconds``;
    returns the candidates' count and what the solve reached."""
    from flowmatch.matching.candidates import match
    from flowmatch.milp.optimise import optimise
    from flowmatch.milp.options import SolveOptions

    steps: dict[str, float] = {}
    cands = match(inv, threads=threads, timings=steps)
    for phase in MATCH_PHASES:
        seconds[phase] = steps[phase]
    if not optimise_too:
        return len(cands), {}
    plan = optimise(inv, candidates=cands, options=SolveOptions(time_limit=time_limit))
    t = plan.timings
    heuristics = t.get("heuristics", 0.0)
    seconds["model"] = t["build"] - heuristics
    seconds["solve"] = heuristics + t["solve"] + t.get("polish", 0.0)
    return len(cands), solve_info(plan)


def solve_info(plan: Any) -> dict[str, Any]:
    """What the solve reached, for the record: status, gap (``None`` when the solver gave no
    bound, as JSON has no NaN) and the synergies chosen."""
    gap = float(plan.gap)
    return {"status": plan.status, "gap": gap if math.isfinite(gap) else None,
            "synergies": plan.summary.get("n_synergies")}


@contextmanager
def _quiet(on: bool = True) -> Iterator[None]:
    """Only errors from flowmatch's loggers while ``on``."""
    logger = logging.getLogger("flowmatch")
    level = logger.level
    if on:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def warm_up(threads: int | None = None) -> float:
    """Run the pipeline once on a small synthetic inventory (Numba compiles or loads its
    kernels, the solver and the readers load); returns its seconds."""
    from flowmatch.inputs.inventory import build_inventory
    from flowmatch.inputs.synth import synth_tables

    t0 = time.perf_counter()
    inv = build_inventory(synth_tables(WARMUP_RESOURCES, seed=0), source="<bench warm-up>")
    _pipeline(inv, 30.0, threads, {})
    return time.perf_counter() - t0


def run_bench(inventory: str | Path, repeat: int = 3, time_limit: float = 60.0,
              threads: int | None = None,
              say: Callable[[str], None] | None = None,
              check: Callable[[dict[str, Any]], None] | None = None,
              matching_only: bool = False) -> dict[str, Any]:
    """Time every phase of the pipeline on ``inventory``, ``repeat`` times after a warm-up.

    Parameters
    ----------
    inventory : path-like
        An inventory folder or workbook (as :func:`~flowmatch.inputs.inventory.read_inventory`).
    repeat : int
        Runs of the whole pipeline; each phase reports the median (at least 1).
    time_limit : float
        ``--time-limit`` of each optimisation (seconds after matching).
    threads : int, optional
        Numba threads of the matching (default: all Numba may use).
    say : callable, optional
        Called with a line of progress after the warm-up and each repeat.
    check : callable, optional
        Called with the record's ``inventory`` section once the inventory is read,
        before any timing (``--compare`` refuses another inventory's baseline there).
    matching_only : bool
        Time read and matching only (no ``model`` or ``solve``): for inventories
        whose optimisation takes too long to repeat.

    Returns
    -------
    dict
        The record ``flowmatch bench --json`` writes (``docs/bench.md``).

    Raises
    ------
    BenchError
        ``repeat`` below 1.
    InventoryError, ParamsError, ModelError, SolverError
        As reading, matching and optimising the inventory raise them.
    """
    from flowmatch.bench.pairs import pairs_in_reach
    from flowmatch.inputs.inventory import read_inventory
    from flowmatch.matching.frozen import freeze

    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise BenchError(f"bench: --repeat {repeat!r} is not a count; give an integer of at least 1.")
    say = say or (lambda line: None)
    first = read_inventory(inventory)  # a bad inventory fails here, before the warm-up
    res = first.resources
    about = {
        "path": str(inventory),
        "checksum": inventory_checksum(first),
        "sites": len(first.sites),
        "resources": len(res),
        "haves": int((res["role"] == "have").sum()),
        "wants": int((res["role"] == "want").sum()),
    }
    del first, res  # one inventory in memory at a time
    if check is not None:
        check(about)
    with _quiet():  # the warm-up park's warnings are not the user's
        warmup_s = warm_up(threads)
    say(f"warm-up (compiling or loading the kernels, not counted): {warmup_s:.2f} s")
    timed = REQUIRED_PHASES if matching_only else PHASES
    runs: dict[str, list[float]] = {p: [] for p in timed}
    n_cands, solved = 0, {}  # type: tuple[int, dict[str, Any]]
    for i in range(repeat):
        seconds: dict[str, float] = {}
        with _quiet(i > 0):  # the inventory's warnings once, not once a run
            t0 = time.perf_counter()
            inv = read_inventory(inventory)
            seconds["read"] = time.perf_counter() - t0
            n_cands, solved = _pipeline(inv, time_limit, threads, seconds, not matching_only)
        for p in timed:
            runs[p].append(seconds[p])
        say(f"run {i + 1}/{repeat}: " + ", ".join(f"{p} {seconds[p]:.3f} s" for p in timed))
    median = {p: statistics.median(runs[p]) for p in timed}
    n_pairs = pairs_in_reach(freeze(inv))  # the same tables as every run's
    match_s = sum(median[p] for p in MATCH_PHASES)
    return {
        "format": FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(threads),
        "versions": _versions(),
        "inventory": about,
        "settings": {"repeat": repeat, "time_limit": time_limit, "threads": threads,
                     "matching_only": matching_only,
                     "warmup_s": round(warmup_s, 6), "statistic": "median"},
        "phases": {p: {"median_s": median[p], "runs_s": runs[p]} for p in timed},
        "counts": {"pairs_in_reach": n_pairs, "candidates": n_cands},
        "throughput": {
            "pairs_per_s": n_pairs / median["search"] if median["search"] > 0 else 0.0,
            "candidates_per_s": n_cands / match_s if match_s > 0 else 0.0,
        },
        "solve": solved,
    }
