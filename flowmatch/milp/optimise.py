"""Choose what should happen: build the MILP from model parts, solve it by
independent blocks, and turn the solution into a :class:`~flowmatch.plan.Plan`.

Steps: candidates (from :func:`flowmatch.matching.match` unless given) ->
:func:`build_parts` -> one :class:`~flowmatch.model.LinearModel` -> split into
independent blocks (connected components of the constraint matrix, so any
part's coupling is respected) -> :func:`flowmatch.solvers.solve` per block,
warm started from the parts' greedy plans, in a process pool when there are
several big blocks -> flows and routes from every part -> balance check ->
summary.
"""

from __future__ import annotations

import logging
import math
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context, parent_process
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from flowmatch.errors import ModelError, ParamsError, SolverError
from flowmatch.inputs.inventory import Inventory
from flowmatch.milp.builder import LinearModel, ModelBuilder
from flowmatch.milp.heat import heat_parts, heat_resource_ids
from flowmatch.milp.milkrounds import MilkRoundPart
from flowmatch.milp.part import ModelPart
from flowmatch.milp.solvers import SolveResult, new_highs, pass_highs, relative_gap, solve
from flowmatch.milp.synergies import SynergyPart
from flowmatch.milp.water import WaterPart
from flowmatch.plans.plan import FLOW_COLUMNS, ROUTE_COLUMNS, Plan
from flowmatch.plans.summary import baseline, build_summary, check_balance

__all__ = ["optimise", "build_parts", "build_model", "objective_weights", "DEFAULT_WEIGHTS",
           "OBJECTIVES", "explain_infeasible", "describe_row", "ROW_MEANING"]

log = logging.getLogger(__name__)

OBJECTIVES = ("cost", "co2", "landfill", "weighted")
#: Weights of ``objective="weighted"``: cost (carbon price included) plus a
#: shadow price of 0.1 per kg CO2e (100 per t, on top of the carbon price) and
#: of 100 per t landfilled, in the inventory's currency.
DEFAULT_WEIGHTS = {"cost": 1.0, "co2": 0.1, "landfill": 100.0}
#: Weight of cost, relative to the primary metric's baseline size, that breaks
#: ties when minimising CO2 or landfill (so the cheapest of equal plans wins).
TIE_BREAK = 1e-5
#: Components with at most this many integer variables are solved together in
#: bundles (each solves at the root); bigger ones are solved one by one, since
#: one gap over a bundle would let each of its components stop far from its optimum.
BUNDLE_MAX_INT = 4
#: Most variables in one bundle.
BUNDLE_VARS = 20000
#: A process pool is used (for every block with binaries) when at least two
#: blocks have this many integer variables and ``jobs`` is not 1.
POOL_MIN_INT = 50
#: The least time a block's solve is given, even when the time limit is spent.
MIN_SOLVE_S = 0.1
_METRIC_KEYS = {"cost": ("cost", 1.0), "co2": ("co2", 1.0), "co2_kg": ("co2", 1.0),
                "co2_t": ("co2", 1000.0), "landfill": ("landfill", 1.0), "landfill_t": ("landfill", 1.0)}


def build_parts(inventory: Inventory, candidates: pd.DataFrame) -> list[ModelPart]:
    """The model parts and which resources each owns (every resource exactly once).

    Water goes to the water cascade, heat (see
    :func:`~flowmatch.milp.heat.heat_resource_ids`) to the heat cascade,
    everything else to direct synergies. Milk rounds own no balance: they join
    the synergy part's have and want rows, so they come right after it.
    """
    res = inventory.resources
    water = res.loc[res["category"] == "water", "resource_id"].tolist()
    heat = heat_resource_ids(inventory)
    rest = set(res["resource_id"]) - set(water) - set(heat)
    synergies = SynergyPart(inventory, candidates, resource_ids=rest)
    parts: list[ModelPart] = [synergies, MilkRoundPart(inventory, candidates, synergies)]
    if water:
        parts.append(WaterPart(inventory, water))
    if heat:
        parts.extend(heat_parts(inventory, heat))
    return parts


def build_model(parts: list[ModelPart]) -> LinearModel:
    """Add every part to one :class:`ModelBuilder`, in order, and freeze it."""
    mb = ModelBuilder()
    for part in parts:
        part.add_to(mb)
    return mb.build()


def _check_ownership(parts: list[ModelPart], inventory: Inventory) -> None:
    owner: dict[str, str] = {}
    for part in parts:
        for rid in part.resource_ids():
            if rid in owner:
                raise ModelError(f"resource {rid} is claimed by both the {owner[rid]} and the "
                                 f"{part.name} part (a bug in build_parts).")
            owner[rid] = part.name
    missing = sorted(set(inventory.resources["resource_id"]) - set(owner))
    if missing:
        raise ModelError(f"{len(missing)} resources belong to no model part (a bug in build_parts): "
                         f"{', '.join(missing[:10])}")


def _check_candidates(candidates: pd.DataFrame, inventory: Inventory) -> pd.DataFrame:
    need = ["have_id", "want_id", "distance_km"]
    lacking = [c for c in need if c not in candidates.columns]
    if lacking:
        raise ModelError(f"the candidates lack column(s) {', '.join(lacking)}; give candidates as "
                         "flowmatch.matching.match returns them.")
    res = inventory.resources.set_index("resource_id")["role"]
    for col, role in (("have_id", "have"), ("want_id", "want")):
        got = candidates[col].astype(str).map(res)
        bad = candidates.loc[got != role, col]
        if len(bad):
            raise ModelError(f"candidate {col} '{bad.iloc[0]}' is not a {role} of the inventory "
                             f"({len(bad)} such rows); match the candidates to this inventory.")
    dist = pd.to_numeric(candidates["distance_km"], errors="coerce")
    if dist.isna().any() or (dist < 0).any():
        i = int(np.flatnonzero(dist.isna().to_numpy() | (dist < 0).to_numpy())[0])
        raise ModelError(f"candidate {candidates['have_id'].iloc[i]} -> {candidates['want_id'].iloc[i]}: "
                         "distance_km must be a number >= 0.")
    return candidates


def objective_weights(objective: str, weights: dict[str, float] | None,
                      base: dict[str, float]) -> dict[str, float]:
    """Metric weights for ``objective`` (``cost``, ``co2``, ``landfill``, ``weighted``).

    ``co2`` and ``landfill`` add cost at a weight of ``TIE_BREAK`` times the
    ratio of their baseline sizes, so ties go to the cheaper plan.
    """
    if objective not in OBJECTIVES:
        raise ParamsError(f"unknown objective '{objective}'; use one of {', '.join(OBJECTIVES)}.")
    if objective == "weighted":
        w = dict(DEFAULT_WEIGHTS if weights is None else weights)
        bad = {k: v for k, v in w.items() if k not in ("cost", "co2", "landfill")
               or not isinstance(v, int | float) or not math.isfinite(v) or v < 0}
        if bad or not any(w.values()):
            raise ParamsError(f"weights must be finite numbers >= 0 for cost, co2 (per kg) and "
                              f"landfill (per t), not all zero; got {w}.")
        return w
    if objective == "cost":
        return {"cost": 1.0}
    size = {"co2": abs(base["co2_t"]) * 1000.0, "landfill": abs(base["landfill_t"])}[objective]
    return {objective: 1.0, "cost": TIE_BREAK * max(size, 1.0) / max(abs(base["cost"]), 1.0)}


def _cap_rows(model: LinearModel, caps: dict[str, float]) -> LinearModel:
    rows, ub, names = [], [], []
    for key, cap in caps.items():
        if key not in _METRIC_KEYS:
            raise ParamsError(f"unknown metric cap '{key}'; use cost, co2 (kg), co2_t, landfill (t).")
        if cap is None or not math.isfinite(float(cap)):
            raise ParamsError(f"metric cap {key} = {cap!r} is not a finite number.")
        metric, scale = _METRIC_KEYS[key]
        rows.append(model.metrics[metric])
        ub.append(float(cap) * scale - model.metric_const.get(metric, 0.0))
        names.append(f"cap[{key}]")
    if not rows:
        return model
    return model.with_rows(sp.csr_matrix(np.vstack(rows)), np.full(len(rows), -np.inf), np.array(ub), names)


# --------------------------------------------------------------------------- blocks


@dataclass
class _Block:
    cols: np.ndarray
    rows: np.ndarray


def split_blocks(model: LinearModel) -> tuple[list[_Block], int]:
    """Independent blocks: connected components of the variables through the rows.

    Components with at most ``BUNDLE_MAX_INT`` integer variables are bundled;
    the others stay alone, largest first. Returns the blocks and the number of
    components.
    """
    n, m = model.n_vars, model.n_rows
    A = model.A.tocoo()
    graph = sp.coo_matrix((np.ones(A.nnz), (A.col, n + A.row)), shape=(n + m, n + m))
    k, label = connected_components(graph, directed=False)
    col_lab, row_lab = label[:n], label[n:]
    size = np.bincount(col_lab, minlength=k)
    n_int = np.bincount(col_lab, weights=model.integrality.astype(float), minlength=k)
    order = np.argsort(col_lab, kind="stable")
    starts = np.searchsorted(col_lab[order], np.arange(k + 1))
    rorder = np.argsort(row_lab, kind="stable")
    rstarts = np.searchsorted(row_lab[rorder], np.arange(k + 1))
    blocks: list[_Block] = []
    bundle_c: list[np.ndarray] = []
    bundle_r: list[np.ndarray] = []
    in_bundle = 0
    for comp in np.argsort(-size, kind="stable"):
        cols = order[starts[comp]:starts[comp + 1]]
        rows = rorder[rstarts[comp]:rstarts[comp + 1]]
        if len(cols) == 0:
            continue  # an empty row: checked by the caller
        if n_int[comp] > BUNDLE_MAX_INT:
            blocks.append(_Block(cols, rows))
            continue
        bundle_c.append(cols)
        bundle_r.append(rows)
        in_bundle += len(cols)
        if in_bundle >= BUNDLE_VARS:
            blocks.append(_Block(np.concatenate(bundle_c), np.concatenate(bundle_r)))
            bundle_c, bundle_r, in_bundle = [], [], 0
    if bundle_c:
        blocks.append(_Block(np.concatenate(bundle_c), np.concatenate(bundle_r)))
    return blocks, int((size > 0).sum())


def _sub_model(model: LinearModel, b: _Block) -> LinearModel:
    cols, rows = np.sort(b.cols), np.sort(b.rows)
    b.cols, b.rows = cols, rows
    A = model.A[:, cols].tocsr()[rows, :].tocsc()
    return LinearModel(
        lb=model.lb[cols], ub=model.ub[cols], integrality=model.integrality[cols], A=A,
        row_lb=model.row_lb[rows], row_ub=model.row_ub[rows],
        metrics={k: v[cols] for k, v in model.metrics.items()},
        metric_const={k: 0.0 for k in model.metric_const},
        var_names=[model.var_names[j] for j in cols], row_names=[model.row_names[i] for i in rows],
    )


def _empty_rows_problem(model: LinearModel) -> str | None:
    empty = np.flatnonzero(np.diff(model.A.tocsr().indptr) == 0)
    bad = [model.row_names[i] for i in empty if model.row_lb[i] > 0 or model.row_ub[i] < 0]
    return ", ".join(bad[:10]) if bad else None


class _Budget:
    """Shares the time limit among blocks in proportion to their integer variables.

    Each block, when it starts, gets its share of the time left (times the
    number of processes running at once); time a block does not use passes on.
    """

    def __init__(self, time_limit: float, weights: np.ndarray):
        self.deadline = time.perf_counter() + time_limit
        self.weights = weights
        self.rest = float(weights.sum())

    def take(self, i: int, parallel: int = 1) -> float:
        left = self.deadline - time.perf_counter()
        share = left * parallel * self.weights[i] / max(self.rest, 1e-12)
        self.rest -= self.weights[i]
        return max(min(share, left), MIN_SOLVE_S)


def _solve_in_pool(subs, order, workers, budget, results, weights, starts, kw) -> None:
    """Solve blocks ``order`` in ``workers`` processes, each started with its share of the budget."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        queue = list(order)
        running: dict = {}
        while queue or running:
            while queue and len(running) < workers:
                i = queue.pop(0)
                running[pool.submit(solve, subs[i], weights, warm_start=starts[i],
                                    time_limit=budget.take(i, workers), **dict(kw, threads=1))] = i
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in done:
                results[running.pop(f)] = f.result()


def _solve_blocks(model: LinearModel, weights: dict[str, float], x0: np.ndarray | None, jobs: int | None,
                  one_block: bool, time_limit: float, **kw) -> tuple[list[_Block], list[SolveResult], int]:
    if one_block:
        blocks = [_Block(np.arange(model.n_vars), np.arange(model.n_rows))]
        subs = [model]
        n_comp = 1
    else:
        blocks, n_comp = split_blocks(model)
        subs = [_sub_model(model, b) for b in blocks]
    starts = [None if x0 is None else x0[b.cols] for b in blocks]
    n_int = np.array([s.integrality.sum() for s in subs], float)
    budget = _Budget(time_limit, n_int + 1.0)
    # with a pool, every block with binaries goes to it (largest first); LPs are solved here
    pooled = [i for i in range(len(subs)) if n_int[i] > 0]
    workers = min(jobs or os.cpu_count() or 1, len(pooled))
    if (n_int >= POOL_MIN_INT).sum() < 2 or parent_process() is not None:
        workers = 1  # nothing worth a pool, or already a worker of someone's pool (what-if, Pareto)
    if workers < 2:
        pooled = []
    in_pool = set(pooled)
    results: list[SolveResult | None] = [None] * len(subs)
    for i, sub in enumerate(subs):
        if i not in in_pool:
            results[i] = solve(sub, weights, warm_start=starts[i], time_limit=budget.take(i), **kw)
    if pooled:
        log.info("solving %d blocks in %d processes", len(pooled), workers)
        try:
            _solve_in_pool(subs, pooled, workers, budget, results, weights, starts, kw)
        except BrokenProcessPool:
            log.warning("the process pool failed (a script that calls optimise needs an "
                        "'if __name__ == \"__main__\":' guard): solving the remaining blocks here")
        for i in pooled:
            if results[i] is None:
                results[i] = solve(subs[i], weights, warm_start=starts[i], time_limit=budget.take(i), **kw)
    return blocks, results, n_comp  # type: ignore[return-value]


# --------------------------------------------------------------------------- infeasibility


#: What each group of rows means, for explaining infeasibility (parts add theirs).
ROW_MEANING = {
    "have": "the supply balance of have",
    "want": "the demand balance of want",
    "link_max": "the most a synergy can carry,",
    "link_min": "the minimum economic flow of synergy",
    "blend_max": "the blend's maximum at want",
    "blend_min": "the blend's minimum at want",
    "suppliers": "the cap on suppliers of want",
    "cap": "your cap on",
}


def describe_row(name: str) -> str:
    """``have[H1]`` -> ``the supply balance of have H1 (have[H1])``."""
    group = _group(name)
    meaning = ROW_MEANING.get(group)
    if meaning is None or not name.endswith("]"):
        return name
    return f"{meaning} {name[len(group) + 1:-1]} ({name})"


def _iis_rows(model: LinearModel) -> tuple[list[str], list[str]]:
    """Rows and variables (by bounds) of an irreducible infeasible subsystem of the LP relaxation."""
    import highspy

    h = new_highs(time_limit=60.0)
    h.setOptionValue("iis_strategy", int(highspy.IisStrategy.kIisStrategyFromLp.value))
    pass_highs(h, model, np.zeros(model.n_vars), 0.0)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kInfeasible:
        return [], []
    status, iis = h.getIis()
    if status != highspy.HighsStatus.kOk or not iis.valid_:
        return [], []
    return [model.row_names[i] for i in iis.row_index_], [model.var_names[j] for j in iis.col_index_]


def _group(name: str) -> str:
    return name.split("[", 1)[0]


def _feasible(model: LinearModel, time_limit: float) -> bool | None:
    r = solve(model, {}, time_limit=time_limit, gap=1.0)
    return None if r.status in ("time_limit", "error") and r.x is None else r.has_solution


def explain_infeasible(model: LinearModel, time_limit: float = 10.0) -> str:
    """Say which constraints make ``model`` infeasible.

    First an irreducible infeasible subsystem of the LP relaxation (HiGHS);
    when the relaxation is feasible (the binaries are to blame), each group of
    rows (``link_min``, ``blend_max``, ``cap``...) is dropped in turn and the
    groups whose removal makes the model feasible are named.
    """
    rows, cols = _iis_rows(model)
    if rows:
        shown = "; ".join(describe_row(r) for r in rows[:20])
        more = f" ... ({len(rows)} in all)" if len(rows) > 20 else ""
        limits = f", with the limits of {len(cols)} variables" if cols else ""
        return f"these constraints cannot all hold together{limits}: {shown}{more}"
    groups = sorted({_group(n) for n in model.row_names})
    culprits = []
    for g in groups:
        keep = np.array([_group(n) != g for n in model.row_names])
        sub = LinearModel(model.lb, model.ub, model.integrality, model.A.tocsr()[keep].tocsc(),
                          model.row_lb[keep], model.row_ub[keep], model.metrics, model.metric_const,
                          model.var_names, [n for n, k in zip(model.row_names, keep, strict=True) if k])
        if _feasible(sub, time_limit):
            culprits.append(g)
    if culprits:
        return ("the linear relaxation is feasible, but the yes/no choices are not; dropping any one "
                f"of these constraint groups would make it feasible: {', '.join(culprits)}")
    return "no small set of constraints to blame was found"


# --------------------------------------------------------------------------- optimise


def optimise(
    inventory: Inventory,
    objective: str = "cost",
    time_limit: float = 60.0,
    gap: float = 0.01,
    solver: str = "highs",
    candidates: pd.DataFrame | None = None,
    weights: dict[str, float] | None = None,
    metric_caps: dict[str, float] | None = None,
    write_lp: str | Path | None = None,
    write_mps: str | Path | None = None,
    jobs: int | None = None,
    threads: int | None = None,
) -> Plan:
    """Choose the synergies (and, through their parts, milk rounds and cascades) to run.

    Parameters
    ----------
    inventory : Inventory
    objective : {"cost", "co2", "landfill", "weighted"}
        What to minimise. ``cost`` includes the carbon price times CO2;
        ``co2`` and ``landfill`` break ties by cost; ``weighted`` minimises
        ``weights`` (default :data:`DEFAULT_WEIGHTS`).
    time_limit : float
        Seconds for solving. Independent blocks share them in proportion to
        their binaries (time one block does not use passes to the next), each
        given at least ``MIN_SOLVE_S``.
    gap : float
        Relative MIP gap at which a solve stops.
    solver : str
        ``highs`` (default), ``cbc``, or ``pulp:NAME``.
    candidates : DataFrame, optional
        Scored pairs; default :func:`flowmatch.matching.match` on ``inventory``.
    weights : dict, optional
        Metric weights for ``weighted``: ``cost``, ``co2`` (per kg), ``landfill`` (per t).
    metric_caps : dict, optional
        Upper limits (epsilon constraints) on metrics: ``cost``, ``co2`` (kg),
        ``co2_t``, ``landfill`` / ``landfill_t`` (t).
    write_lp, write_mps : path-like, optional
        Write the whole model (then solved as one block) as an LP / MPS file.
    threads : int, optional
        Solver threads for blocks solved in this process (default: the
        solver's own choice); pooled blocks always use one thread each.
    jobs : int, optional
        Processes for solving several big blocks at once (default: all cores;
        1 for none, as a caller that runs its own pool should pass).

    Returns
    -------
    Plan
        ``status`` ``optimal`` or ``time_limit`` (best plan, see ``gap``).

    Raises
    ------
    ModelError
        The model is infeasible (the message names the constraints and
        resources to blame) or unbounded, or a plan failed the balance check.
    SolverError
        The solver failed, or found no plan within the time limit.
    """
    if not (isinstance(time_limit, int | float) and time_limit > 0 and math.isfinite(time_limit)):
        raise ParamsError(f"time_limit must be a positive number of seconds, not {time_limit!r}.")
    if not (isinstance(gap, int | float) and 0 <= gap < math.inf):
        raise ParamsError(f"gap must be a relative gap >= 0 (0.01 is 1%), not {gap!r}.")
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    if candidates is None:
        from flowmatch.matching.search import match

        candidates = match(inventory)
        timings["match"] = time.perf_counter() - t_start
    candidates = _check_candidates(candidates, inventory)
    base = baseline(inventory)
    w = objective_weights(objective, weights, base)

    t0 = time.perf_counter()
    parts = build_parts(inventory, candidates)
    _check_ownership(parts, inventory)
    model = build_model(parts)
    if metric_caps:
        model = _cap_rows(model, metric_caps)
    x0 = np.zeros(model.n_vars)
    for part in parts:
        part.warm_start(x0)
    x0 = x0 if _is_feasible(model, x0) else None
    if x0 is None:
        log.info("the greedy start breaks a constraint (a metric cap, say): solving without it")
    timings["build"] = time.perf_counter() - t0
    log.info("model: %d variables (%d integer), %d rows, %d nonzeros", model.n_vars,
             int(model.integrality.sum()), model.n_rows, model.A.nnz)
    bad_rows = _empty_rows_problem(model)
    if bad_rows:
        raise ModelError(f"the model is infeasible: constraints with nothing in them cannot hold: {bad_rows}")

    t0 = time.perf_counter()
    one_block = bool(write_lp or write_mps)
    blocks, results, n_comp = _solve_blocks(model, w, x0, jobs, one_block, solver=solver, time_limit=time_limit,
                                    gap=gap, write_lp=write_lp, write_mps=write_mps, threads=threads)
    timings["solve"] = time.perf_counter() - t0
    timings["solve_max_block"] = max((r.time_s for r in results), default=0.0)

    x = np.zeros(model.n_vars)
    for b, r in zip(blocks, results, strict=True):
        if r.status == "infeasible":
            sub = model if one_block else _sub_model(model, b)
            raise ModelError(f"the model is infeasible: {explain_infeasible(sub)}.")
        if r.status == "unbounded":
            raise ModelError("the model is unbounded: some variable can grow without limit at a profit "
                             f"(rows {', '.join(model.row_names[i] for i in b.rows[:5])} ...); "
                             "check for negative costs or prices.")
        if r.status == "error":
            raise SolverError(f"{r.solver} failed: {r.message}")
        if r.x is None:
            raise SolverError(f"{r.solver} found no plan within the time limit of {time_limit:g} s; "
                              "give a longer --time-limit.")
        x[b.cols] = r.x
    status = "optimal" if all(r.status == "optimal" for r in results) else "time_limit"
    c, k = model.objective(w)
    obj = float(c @ x + k)
    bound = float(sum(r.bound for r in results)) + k
    plan_gap = relative_gap(obj, bound) if results else 0.0

    flows = pd.concat([part.flows(x) for part in parts] or [pd.DataFrame(columns=FLOW_COLUMNS)],
                      ignore_index=True)
    routes_l = [r for r in (part.routes(x) for part in parts) if len(r)]
    routes = pd.concat(routes_l, ignore_index=True) if routes_l else pd.DataFrame(columns=ROUTE_COLUMNS)
    check_balance(flows, inventory)
    timings["total"] = time.perf_counter() - t_start
    summary = build_summary(status=status, gap=plan_gap, metrics=model.metric_values(x), inventory=inventory,
                            flows=flows, routes=routes, objective=objective, weights=w,
                            solver=results[0].solver if results else solver, bound=bound,
                            n_components=n_comp, timings=timings, extra={"n_solves": len(blocks)})
    log.info("plan: %s, gap %.3g, %d synergies, %.2f s", status, plan_gap, summary["n_synergies"],
             timings["total"])
    return Plan(status=status, gap=plan_gap, flows=flows, routes=routes, summary=summary,
                timings=timings, candidates=candidates)


def _is_feasible(model: LinearModel, x: np.ndarray, tol: float = 1e-6) -> bool:
    if np.any(x < model.lb - tol) or np.any(x > model.ub + tol):
        return False
    ax = model.A @ x
    scale = np.maximum(1.0, np.abs(ax))
    return bool(np.all(ax >= model.row_lb - tol * scale) and np.all(ax <= model.row_ub + tol * scale))
