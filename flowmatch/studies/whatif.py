"""What-if runs: optimise the baseline and each scenario, compare them in one table.

A run is the inventory itself (``baseline``), each scenario file, or, with
``vary`` axes such as ``landfill_price=40,100,200``, the full grid: every
combination of axis values applied over the baseline and over each scenario
file (the grid's values win over a file's ``[params]``). Scenarios are applied
in this process first, so a bad file fails before any solve; the solves then run
in parallel processes, each single-threaded so that ``jobs`` processes use
``jobs`` cores.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from flowmatch.errors import FlowmatchError, ParamsError, ScenarioError, SolveOptionsError
from flowmatch.files import write_table
from flowmatch.inputs.inventory import Inventory
from flowmatch.inputs.params import Params
from flowmatch.inputs.scenario import Scenario, apply_scenario, load_scenario
from flowmatch.metrics import SUMMARY_KEYS
from flowmatch.milp.options import SolveOptions
from flowmatch.milp.workers import worker_pool
from flowmatch.studies.changes import run_folder_names, unused_params

if TYPE_CHECKING:
    from flowmatch.plans.plan import Plan

__all__ = ["run_whatif", "write_comparison", "failed_runs", "failures_text", "count_runs", "MAX_RUNS", "parse_vary",
           "scenario_runs", "COMPARISON_COLUMNS"]

log = logging.getLogger(__name__)

BASELINE = "baseline"
#: Columns of the comparison table; the varied parameters come after ``file``.
COMPARISON_COLUMNS = ["scenario", "file", "status", "gap", *SUMMARY_KEYS,
                      *(f"baseline_{k}" for k in SUMMARY_KEYS),
                      "n_synergies", "n_milk_rounds", "solve_s", "total_s", "message", "run_folder"]
#: More runs than this (baseline, scenarios and grid points together) are refused
#: unless asked for: ``run_whatif(max_runs=None)``, ``flowmatch whatif --yes``.
MAX_RUNS = 100
#: A failed run's message when the worker process solving it died.
WORKER_DIED = ("a worker process of the what-if pool died (killed, or out of memory) before this "
               "run finished; run it again alone, or with fewer --jobs")
_PARAM_NAMES = tuple(f.name for f in fields(Params))
#: Thread-count variables set in every worker so that one process uses one core.
_SINGLE_THREAD_ENV = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def parse_vary(specs: Sequence[str]) -> list[tuple[str, list[Any]]]:
    """Parse ``--vary`` axes such as ``"landfill_price=40,100,200"``.

    Parameters
    ----------
    specs : sequence of str
        ``NAME=V1,V2,...`` where ``NAME`` is a parameter.

    Returns
    -------
    list of (name, values)
        Values converted and range-checked as parameters.

    Raises
    ------
    ScenarioError
        With ``--vary`` as the file and the axis as the key.
    """
    axes: list[tuple[str, list[Any]]] = []
    problems = []
    for spec in specs:
        name, sep, rest = spec.partition("=")
        name = name.strip()
        texts = [t.strip() for t in rest.split(",")]
        if not sep or not name or not all(texts):
            problems.append((spec, "is not NAME=V1,V2,...", "Write e.g. --vary landfill_price=40,100,200."))
            continue
        if name not in _PARAM_NAMES:
            problems.append((spec, f"'{name}' is not a parameter.",
                             "Use a parameter name from the README's parameter table (e.g. landfill_tax)."))
            continue
        if any(n == name for n, _ in axes):
            problems.append((spec, f"'{name}' is varied twice.", "Give each parameter one --vary."))
            continue
        values = []
        for t in texts:
            try:
                values.append(getattr(Params().replace(**{name: t}), name))
            except ParamsError as exc:
                problems.append((spec, str(exc).removeprefix("override: ") + ".",
                                 "Give values of the right type within the range."))
        axes.append((name, values))
    if problems:
        raise ScenarioError("--vary", problems)
    return axes


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def scenario_runs(scenarios: Sequence[Scenario], axes: Sequence[tuple[str, list[Any]]]) -> list[Scenario]:
    """The scenarios to solve: the baseline first, then each scenario or grid point.

    Without axes: the baseline and each scenario. With axes: the baseline, then
    every combination of axis values over the baseline and over each scenario
    (a scenario's name gets the values appended).
    """
    base = Scenario(name=BASELINE, source="")
    if not axes:
        return [base, *scenarios]
    names = [n for n, _ in axes]
    points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))]
    runs = [base]
    for s in (base, *scenarios):
        for point in points:
            label = " ".join(f"{k}={_fmt(v)}" for k, v in point.items())
            name = label if s is base else f"{s.name} {label}"
            runs.append(replace(s, name=name, params={**s.params, **point}))
    return runs


def count_runs(n_scenarios: int, axes: Sequence[tuple[str, list[Any]]]) -> int:
    """How many runs :func:`scenario_runs` gives, without making them."""
    if not axes:
        return 1 + n_scenarios
    return 1 + (1 + n_scenarios) * math.prod(len(v) for _, v in axes)


def check_run_count(n_scenarios: int, axes: Sequence[tuple[str, list[Any]]], max_runs: int | None) -> int:
    """The number of runs; raises :class:`ScenarioError` when it is over ``max_runs`` (``None``: no limit)."""
    n = count_runs(n_scenarios, axes)
    if max_runs is not None and n > max_runs:
        files = f" and {n_scenarios} scenario file{'s' if n_scenarios != 1 else ''}" if n_scenarios else ""
        if axes:
            grid = " x ".join(f"{len(v):,}" for _, v in axes)
            what = f"the baseline, then {grid} grid points over the baseline{files}"
        else:
            what = f"the baseline{files}"
        raise ScenarioError("--vary" if axes else "whatif", [(
            " ".join(name for name, _ in axes) or "scenarios",
            f"{n:,} runs to solve ({what}), over the {max_runs} that run without asking.",
            "Pass --yes to run them all (max_runs=None in Python), or give fewer values.")])
    return n


def _init_worker() -> None:
    """Make a worker process single-threaded (it is one of ``jobs`` parallel solves)."""
    for var in _SINGLE_THREAD_ENV:
        os.environ[var] = "1"
    if "numba" in sys.modules:  # already loaded: its thread count is set at run time
        import numba

        numba.set_num_threads(1)


def _solve_one(inventory: Inventory, options: SolveOptions, folder: Path | None = None) -> dict[str, Any]:
    """Optimise one inventory; the comparison row's solved figures (and its plan folder, given ``folder``)."""
    from flowmatch.milp.optimise import optimise

    t0 = time.perf_counter()
    try:
        plan = optimise(inventory, options=options)
    except FlowmatchError as exc:
        log.warning("%s: %s", inventory.source, exc)
        return {"status": "error", "message": str(exc), "total_s": time.perf_counter() - t0, "run_folder": ""}
    return plan_row(plan, inventory, t0, folder)


def plan_row(plan: Plan, inventory: Inventory, t0: float, folder: Path | None = None) -> dict[str, Any]:
    """A solved run's comparison row (``total_s`` since ``t0``), its plan folder written first, given ``folder``."""
    try:
        if folder is not None:
            from flowmatch.plans.folder import write_plan
            from flowmatch.plans.staging import nested_stage

            with nested_stage(folder, "plan"):  # sealed on its own, inside the what-if's stage
                write_plan(plan, folder, inventory=inventory)
    except FlowmatchError as exc:
        log.warning("%s: %s", inventory.source, exc)
        return {"status": "error", "message": str(exc), "total_s": time.perf_counter() - t0, "run_folder": ""}
    s = plan.summary
    obj, base = s["objective"], s["baseline"]
    return {
        "status": plan.status, "gap": plan.gap,
        **{k: obj[k] for k in SUMMARY_KEYS}, **{f"baseline_{k}": base[k] for k in SUMMARY_KEYS},
        "n_synergies": s.get("n_synergies"), "n_milk_rounds": s.get("n_milk_rounds"),
        "solve_s": plan.timings.get("solve", math.nan), "total_s": time.perf_counter() - t0, "message": "",
        "run_folder": f"{folder.parent.name}/{folder.name}" if folder is not None else "",
    }


def _solve_all(inventories: list[Inventory], options: SolveOptions, jobs: int,
               folders: Sequence[Path | None] | None = None) -> list[dict[str, Any]]:
    folders = list(folders) if folders is not None else [None] * len(inventories)
    workers = max(1, min(jobs, len(inventories)))
    inner = options.replace(jobs=max(1, jobs // workers))
    if workers == 1:
        return [_solve_guarded(inv, inner, f) for inv, f in zip(inventories, folders, strict=True)]
    inner = inner.replace(threads=1)  # each worker is one of `workers` parallel solves: one core each
    log.info("solving %d scenarios in %d processes", len(inventories), workers)
    results: list[dict[str, Any]] = [{} for _ in inventories]
    # spawned workers that end with this process, however it ends (flowmatch.milp.workers)
    with worker_pool(workers, _init_worker) as ex:
        futures = {ex.submit(_solve_one, inv, inner, folders[i]): i for i, inv in enumerate(inventories)}
        try:
            for done, fut in enumerate(as_completed(futures), 1):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except BrokenProcessPool:  # a worker was killed (the OOM killer, say): the runs not
                    results[i] = {"status": "error", "message": WORKER_DIED}  # done are lost, the rest stand
                except Exception as exc:  # a bug in one run: the others stand, the run says why
                    results[i] = _crashed(inventories[i], exc)
                log.info("scenario %d/%d done: %s", done, len(inventories), inventories[i].source)
        except BaseException:  # Ctrl-C: do not start the runs still queued
            ex.shutdown(wait=True, cancel_futures=True)
            raise
    return results


def _crashed(inventory: Inventory, exc: Exception) -> dict[str, Any]:
    """The row of a run that raised something other than a user's mistake (a bug): it failed."""
    log.error("%s failed", inventory.source, exc_info=exc)
    return {"status": "error", "message": f"crashed: {type(exc).__name__}: {exc}"}


def _solve_guarded(inventory: Inventory, options: SolveOptions, folder: Path | None = None) -> dict[str, Any]:
    try:
        return _solve_one(inventory, options, folder)
    except Exception as exc:  # a bug in one run: the others stand, the run says why
        return _crashed(inventory, exc)


def failed_runs(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a comparison table whose run failed (``status`` ``error``): no plan, see ``message``."""
    return table[table["status"].astype(str) == "error"]


def failures_text(table: pd.DataFrame) -> str:
    """Which runs of a comparison table failed and why, one per line; ``""`` when none did."""
    failed = failed_runs(table)
    if failed.empty:
        return ""
    lines = [f"{len(failed)} of {len(table)} runs failed (status 'error' in the comparison; "
             "the others are written):"]
    lines += [f"  - {name}: {msg}" for name, msg in zip(failed["scenario"], failed["message"], strict=True)]
    return "\n".join(lines)


def run_whatif(
    inventory: Inventory,
    scenarios: Sequence[str | Path | Scenario] = (),
    vary: Sequence[str] = (),
    jobs: int | None = None,
    objective: str | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
    solver: str | None = None,
    options: SolveOptions | None = None,
    max_runs: int | None = MAX_RUNS,
    runs_dir: str | Path | None = None,
    client: Any = None,
) -> pd.DataFrame:
    """Optimise the baseline and every scenario (or grid point) and compare them.

    Parameters
    ----------
    inventory : Inventory
    scenarios : sequence of path-like or Scenario
        Scenario TOML files (see ``docs/whatif.md``) or loaded scenarios.
    vary : sequence of str
        Grid axes ``NAME=V1,V2,...``; several give their cartesian product.
    jobs : int, optional
        Parallel processes (default: every core).
    options : SolveOptions, optional
        How to solve each run (the time limit is each run's own).
    objective, time_limit, gap, solver
        Override those fields of ``options``.
    max_runs : int or None
        Refuse (before anything is solved) when there are more runs than
        this; ``None`` for no limit. Default ``MAX_RUNS``.
    runs_dir : path-like, optional
        Write each solved run's plan folder to ``runs_dir/NAME/`` (named by
        :func:`flowmatch.studies.changes.run_folder_names`), each sealed with its
        own manifest; ``runs_dir`` must lie in an output folder being written
        (``OUT/runs`` of the CLI's stage). The row's ``run_folder`` names it.
    client : distributed.Client, optional
        Solve the runs as tasks on this Dask cluster (:mod:`flowmatch.cluster.grid_tasks`)
        instead of ``jobs`` local processes; the plan folders are written here.

    Returns
    -------
    pandas.DataFrame
        One row per run, baseline first: ``scenario``, ``file``, the value of
        each varied parameter, then the rest of ``COMPARISON_COLUMNS``. A run
        whose solve fails has ``status`` ``error`` and the reason in ``message``.
        ``attrs["warnings"]`` lists the parameters a scenario sets that no
        resource uses (:func:`flowmatch.studies.changes.unused_params`).

    Raises
    ------
    ScenarioError
        A bad scenario file or ``--vary`` axis, or more runs than
        ``max_runs``, before anything is solved.
    """
    opts = (options or SolveOptions()).overridden(objective=objective, time_limit=time_limit, gap=gap,
                                                  solver=solver)
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise SolveOptionsError(f"jobs = {jobs} is not a number of processes. Give 1 or more.")
    loaded = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    axes = parse_vary(vary)
    check_run_count(len(loaded), axes, max_runs)
    runs = scenario_runs(loaded, axes)
    inventories = [inventory, *(apply_scenario(inventory, r) for r in runs[1:])]
    warnings = _unused_warnings(runs, inventories, [n for n, _ in axes])
    folders: list[Path | None] | None = None
    if runs_dir is not None:
        folders = [Path(runs_dir) / n for n in run_folder_names([r.name for r in runs])]
    t0 = time.perf_counter()
    if client is not None:  # a Dask cluster (--scheduler): each run one task
        from flowmatch.cluster.grid_tasks import solve_on_cluster

        solved = solve_on_cluster(client, inventories, opts, folders or [None] * len(inventories))
    else:
        solved = _solve_all(inventories, opts, jobs) if folders is None else _solve_all(inventories, opts, jobs, folders)
    log.info("what-if: %d runs in %.1f s", len(runs), time.perf_counter() - t0)
    rows = []
    for run, inv, res in zip(runs, inventories, solved, strict=True):
        row: dict[str, Any] = {"scenario": run.name, "file": run.source}
        row.update({name: getattr(inv.params, name) for name, _ in axes})
        row.update(res)
        rows.append(row)
    if folders is not None:  # a run whose worker died mid-write leaves no half plan folder
        from flowmatch.plans.staging import remove_folder

        for f, row in zip(folders, rows, strict=True):
            if f is not None and f.exists() and not row.get("run_folder"):
                remove_folder(f)
    cols = ["scenario", "file", *(n for n, _ in axes), *COMPARISON_COLUMNS[2:]]
    table = pd.DataFrame(rows).reindex(columns=cols)
    table["run_folder"] = [v if isinstance(v, str) else "" for v in table["run_folder"]]  # no plan: empty
    table.attrs["warnings"] = warnings
    return table


def _unused_warnings(runs: Sequence[Scenario], inventories: Sequence[Inventory], axes: Sequence[str]) -> list[str]:
    """One warning per parameter (per scenario file, or once for a ``--vary`` axis) that no resource uses."""
    seen: set[tuple[str, str]] = set()
    out = []
    for run, inv in zip(runs[1:], inventories[1:], strict=True):
        for name in run.params:
            key = (name, "--vary" if name in axes else run.source)
            if key in seen:
                continue
            seen.add(key)
            msg = unused_params(inv, [name], "" if name in axes else run.name)
            for m in (f"--vary: {m}" if name in axes else m for m in msg):
                log.info("%s", m)  # the CLI prints attrs["warnings"]
                out.append(m)
    return out


def write_comparison(table: pd.DataFrame, out: str | Path) -> list[Path]:
    """Write ``OUT/comparison.csv`` and ``OUT/comparison.parquet``, each atomically."""
    from flowmatch.plans.staging import stage

    out = Path(out)
    with stage(out, "comparison") as st:  # the folder is written as one (docs/plan-folder.md)
        names = [write_table(table, st.path / n).name for n in ("comparison.csv", "comparison.parquet")]
    return [out / n for n in names]
