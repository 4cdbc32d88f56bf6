"""Choose what should happen: the optimise stage from candidates to a :class:`~flowmatch.plans.plan.Plan`.

Steps: candidates (from :func:`flowmatch.matching.candidates.match` unless
given) -> the run's :class:`~flowmatch.milp.options.SolveBudget` starts ->
:func:`~flowmatch.milp.part.build_parts` (every registered part kind) -> one
:class:`~flowmatch.milp.builder.LinearModel` -> warm start from the parts'
greedy plans -> :func:`~flowmatch.milp.blocks.solve_blocks` (independent
blocks, in a process pool when several are big) -> flows and routes from every
part -> balance check -> summary. The time limit bounds everything after
matching: building the parts, solving, bounds, polish, explaining an
infeasible model and writing the plan. What the phases after the search need
(:func:`phase_reserves`: the bound LPs, local search, the polish, writing the
plan) is kept back *before* the search starts, and each phase runs on
:meth:`~flowmatch.milp.options.SolveBudget.until` the deadline less what the
phases after it keep, so time a phase does not use passes on and none runs
past the deadline (``timings.overrun`` in ``summary.json`` says by how much a
run did).
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from flowmatch.errors import ModelError, ParamsError, SolverError
from flowmatch.inputs.inventory import Inventory
from flowmatch.inputs.requirements import check_requirements
from flowmatch.metrics import CAP_KEYS, OBJECTIVES, metric_named
from flowmatch.milp.block_bounds import BOUND_SHARE, ensure_bounds
from flowmatch.milp.blocks import solve_blocks, sub_model
from flowmatch.milp.builder import LinearModel, ModelBuilder
from flowmatch.milp.capex import rule_capex_shares
from flowmatch.milp.fix_and_optimise import improve_results, search_fraction
from flowmatch.milp.heuristics import improve_start
from flowmatch.milp.infeasible import explain_infeasible
from flowmatch.milp.options import DEFAULT_WEIGHTS, SolveOptions
from flowmatch.milp.part import ModelPart, build_parts, row_meanings
from flowmatch.milp.periods import period_table
from flowmatch.milp.polish import polish_blocks
from flowmatch.milp.scaling import check_magnitudes
from flowmatch.milp.solution import relative_gap
from flowmatch.milp.solvers import write_model
from flowmatch.plans.plan import FLOW_COLUMNS, ROUTE_COLUMNS, Plan
from flowmatch.plans.summary import baseline, build_summary, check_balance, row_metrics
from flowmatch.plans.synergies import synergy_table

__all__ = ["optimise", "build_parts", "build_model", "objective_weights", "phase_reserves", "DEFAULT_WEIGHTS",
           "OBJECTIVES", "TIE_BREAK"]

log = logging.getLogger(__name__)

#: Weight of cost, relative to the primary metric's baseline size, that breaks
#: ties when minimising CO2 or landfill (so the cheapest of equal plans wins).
TIE_BREAK = 1e-5
#: Share of the time left that the primal heuristics (slope scaling, polish, RENS) may take
#: before the search (:func:`flowmatch.milp.heuristics.improve_start`), times the fraction of
#: binaries in blocks of ``MIN_INTEGERS`` or more (:func:`~flowmatch.milp.fix_and_optimise.search_fraction`),
#: but at least ``HEURISTIC_MIN_FRACTION`` of it. 0.35 (was 0.15) so that RENS's sub-MIP fits in the
#: 300-company park's 10 s (gap 11.9% -> 3.4%, docs/optimise.md "At scale").
HEURISTIC_SHARE = 0.35
#: Least fraction of ``HEURISTIC_SHARE`` the start takes, however few binaries lie in big blocks
#: (its first LP is the LP relaxation, whose bound every block may need).
HEURISTIC_MIN_FRACTION = 0.2
#: Share of the time left after the heuristics that is kept back from the search (times the
#: fraction of binaries in blocks of ``MIN_INTEGERS`` or more), at
#: ``heuristics="auto"`` when a block has ``MIN_INTEGERS`` binaries, for local search and
#: fix-and-optimise from the search's best plan (:func:`flowmatch.milp.fix_and_optimise.improve_results`).
SEARCH_SHARE = 0.3
#: Least time left (s) for keeping some back: with less, the search needs all of it to
#: solve its root (the 300-company park at 10 s on a loaded machine: bound 2.7e7 instead of 9.9e7).
SEARCH_MIN_S = 20.0
#: Share of the time left when the search starts that is kept back for polishing every block
#: (:func:`~flowmatch.milp.polish.polish_blocks`), when polish is on and the model has binaries.
POLISH_SHARE = 0.05
#: Seconds kept back for writing the plan (flows, routes, the balance check, the summary; measured
#: 0.36 s for 30,831 variables, 0.79 s for 149,667, on a loaded 2-core machine), plus
#: ``FINISH_S_PER_VAR`` per variable of the model, but at most ``FINISH_MAX_SHARE`` of the time left.
FINISH_S = 0.2
FINISH_S_PER_VAR = 6e-6
FINISH_MAX_SHARE = 0.1


def build_model(parts: list[ModelPart]) -> LinearModel:
    """Add every part to one :class:`ModelBuilder`, in order, and freeze it."""
    mb = ModelBuilder()
    for part in parts:
        part.add_to(mb)
    return mb.build()


def phase_reserves(model: LinearModel, left: float, lp_known: bool, polish: bool, search: float
                   ) -> dict[str, float]:
    """Seconds, of the ``left`` when the search starts, that the phases after it keep back.

    ``finish``: writing the plan (``FINISH_S`` plus ``FINISH_S_PER_VAR`` per variable, at
    most ``FINISH_MAX_SHARE`` of ``left``); ``polish``: ``POLISH_SHARE`` of ``left`` when
    ``polish`` is on and the model has binaries; ``bounds``: ``BOUND_SHARE`` of ``left`` for the
    LPs of blocks the search leaves without a bound, unless the whole LP relaxation is
    already known (``lp_known``: those bounds then cost nothing); ``local_search``: the share
    ``search`` of ``left`` for local search and fix-and-optimise (0 when they do not run).
    """
    has_int = bool(model.integrality.any())
    return {"finish": min(FINISH_S + FINISH_S_PER_VAR * model.n_vars, FINISH_MAX_SHARE * left),
            "polish": POLISH_SHARE * left if polish and has_int else 0.0,
            "bounds": BOUND_SHARE * left if has_int and not lp_known else 0.0,
            "local_search": search * left}


def _check_candidates(candidates: pd.DataFrame, inventory: Inventory) -> pd.DataFrame:
    need = ["have_id", "want_id", "distance_km"]
    lacking = [c for c in need if c not in candidates.columns]
    if lacking:
        raise ModelError(f"the candidates lack column(s) {', '.join(lacking)}; give candidates as "
                         "flowmatch.matching.candidates.match returns them.")
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


def objective_weights(options: SolveOptions, base: dict[str, float]) -> dict[str, float]:
    """Metric weights of ``options.objective`` (``cost``, ``co2``, ``landfill``, ``weighted``).

    ``co2`` and ``landfill`` add cost at a weight of ``TIE_BREAK`` times the
    ratio of their baseline sizes, so ties go to the cheaper plan.
    """
    objective = options.objective
    if objective == "weighted":
        return dict(DEFAULT_WEIGHTS if options.weights is None else options.weights)
    if objective == "cost":
        return {"cost": 1.0}
    m = metric_named(objective)
    size = abs(base[m.key]) * m.per_key
    return {objective: 1.0, "cost": TIE_BREAK * max(size, 1.0) / max(abs(base["cost"]), 1.0)}


def _cap_rows(model: LinearModel, caps: dict[str, float]) -> LinearModel:
    rows, ub, names = [], [], []
    for key, cap in caps.items():
        if key not in CAP_KEYS:
            raise ParamsError(f"unknown metric cap '{key}'; use cost, co2 (kg), co2_t, landfill (t).")
        if cap is None or not math.isfinite(float(cap)):
            raise ParamsError(f"metric cap {key} = {cap!r} is not a finite number.")
        metric, scale = CAP_KEYS[key]
        rows.append(model.metrics[metric])
        ub.append(float(cap) * scale - model.metric_const.get(metric, 0.0))
        names.append(f"cap[{key}]")
    if not rows:
        return model
    return model.with_rows(sp.csr_matrix(np.vstack(rows)), np.full(len(rows), -np.inf), np.array(ub), names)


def _empty_rows_problem(model: LinearModel) -> str | None:
    empty = np.flatnonzero(np.diff(model.A.tocsr().indptr) == 0)
    bad = [model.row_names[i] for i in empty if model.row_lb[i] > 0 or model.row_ub[i] < 0]
    return ", ".join(bad[:10]) if bad else None


def optimise(
    inventory: Inventory,
    objective: str | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
    solver: str | None = None,
    candidates: pd.DataFrame | None = None,
    weights: dict[str, float] | None = None,
    metric_caps: dict[str, float] | None = None,
    write_lp: str | Path | None = None,
    write_mps: str | Path | None = None,
    jobs: int | None = None,
    threads: int | None = None,
    options: SolveOptions | None = None,
) -> Plan:
    """Choose the synergies (and, through their parts, milk rounds and cascades) to run.

    Parameters
    ----------
    inventory : Inventory
    options : SolveOptions, optional
        How to solve (objective, time limit, gap, solver, jobs, threads,
        weights); default :class:`SolveOptions`'s defaults. The keywords of the
        same names below override single fields of it.
    objective, time_limit, gap, solver, weights, jobs, threads
        See :class:`~flowmatch.milp.options.SolveOptions`. ``time_limit`` is
        the seconds for everything after matching: building the model parts,
        solving the independent blocks (which share it in proportion to their
        binaries; time one block does not use passes to the next, each given
        at least ``MIN_SOLVE_S``) and explaining an infeasible model.
    candidates : DataFrame, optional
        Scored pairs; default :func:`flowmatch.matching.candidates.match` on ``inventory``.
    metric_caps : dict, optional
        Upper limits (epsilon constraints) on metrics: ``cost``, ``co2`` (kg),
        ``co2_t``, ``landfill`` / ``landfill_t`` (t).
    write_lp, write_mps : path-like, optional
        Also write the whole model as an LP / MPS file; it is solved the same
        way as without.

    Returns
    -------
    Plan
        ``status`` ``optimal`` or ``time_limit`` (best plan, see ``gap``).

    Raises
    ------
    SolveOptionsError
        An option out of range.
    ModelError
        The model is infeasible (the message names the constraints and
        resources to blame) or unbounded, or a plan failed the balance check.
    SolverError
        The solver failed, or found no plan within the time limit.
    """
    opts = (options or SolveOptions()).overridden(objective=objective, time_limit=time_limit, gap=gap,
                                                  solver=solver, jobs=jobs, threads=threads, weights=weights)
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    budget = opts.start()  # the time limit counts from here, or from the end of matching
    check_requirements(inventory)  # what `flowmatch validate` checks, before any work
    if candidates is None:
        from flowmatch.matching.candidates import match

        candidates = match(inventory)
        timings["match"] = time.perf_counter() - t_start
        budget = opts.start()
    candidates = _check_candidates(candidates, inventory)
    base = baseline(inventory)
    w = objective_weights(opts, base)

    t0 = time.perf_counter()
    parts = build_parts(inventory, candidates, budget)
    model = build_model(parts)
    if metric_caps:
        model = _cap_rows(model, metric_caps)
    x0 = np.zeros(model.n_vars)
    for part in parts:
        part.warm_start(x0)
    start: np.ndarray | None = x0 if _is_feasible(model, x0) else None
    if start is None:
        log.info("the greedy start breaks a constraint (a metric cap, say): solving without it")
    heuristics: dict = {}
    lp_x = None
    level = opts.heuristic_level
    # the heuristics work for the blocks the search does not prove quickly: their time is
    # taken from the search in proportion to those blocks' binaries
    frac_big = search_fraction(model) if level != "off" else 0.0
    if level != "off" and model.integrality.any():
        t1 = time.perf_counter()
        share = HEURISTIC_SHARE * max(frac_big, HEURISTIC_MIN_FRACTION)
        better, heuristics, lp_x = improve_start(model, w, start, budget.share(share), threads=opts.threads)
        heuristics["time_share"] = round(share, 4)
        start = better  # feasible within the rows' sizes (improve_start checks every block it takes)
        timings["heuristics"] = time.perf_counter() - t1
    timings["build"] = time.perf_counter() - t0
    log.info("model: %d variables (%d integer), %d rows, %d nonzeros", model.n_vars,
             int(model.integrality.sum()), model.n_rows, model.A.nnz)
    check_magnitudes(model, about=_resource_about(inventory))  # beyond any real number: named, not solved
    bad_rows = _empty_rows_problem(model)
    if bad_rows:
        raise ModelError(f"the model is infeasible: constraints with nothing in them cannot hold: {bad_rows}")
    for path in (write_lp, write_mps):
        if path:
            write_model(model, w, path, opts.solver)

    t0 = time.perf_counter()
    big = level == "auto" and budget.left() >= SEARCH_MIN_S and frac_big > 0
    # what the phases after the search need is kept back before it starts; each later phase ends
    # where the ones after it begin, so time one does not use passes on
    keep = phase_reserves(model, budget.left(), lp_known=lp_x is not None, polish=opts.polish,
                          search=SEARCH_SHARE * frac_big if big else 0.0)
    blocks, results, n_comp = solve_blocks(model, w, start, opts, budget.until(sum(keep.values())))
    timings["search"] = time.perf_counter() - t0
    timings["solve_max_block"] = max((r.time_s for r in results), default=0.0)
    t1 = time.perf_counter()
    bound_from = ensure_bounds(model, blocks, results, w,
                               budget.until(keep["finish"] + keep["polish"] + keep["local_search"]).left(),
                               lp_x=lp_x, threads=opts.threads)
    timings["bounds"] = time.perf_counter() - t1
    if big:
        t1 = time.perf_counter()
        heuristics["search"] = improve_results(model, blocks, results, w,
                                               budget.until(keep["finish"] + keep["polish"]).left(),
                                               lp_x=lp_x, threads=opts.threads)
        timings["local_search"] = time.perf_counter() - t1
    timings["solve"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    block_report = polish_blocks(model, blocks, results, w, budget.until(keep["finish"]), opts.gap,
                                 enabled=opts.polish, start=start, lp_x=lp_x, threads=opts.threads)
    timings["polish"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i, source in bound_from.items():
        block_report[i]["bound_from"] = source

    x = np.zeros(model.n_vars)
    for b, r in zip(blocks, results, strict=True):
        if r.status == "infeasible":
            why = explain_infeasible(sub_model(model, b), budget.share(), row_meanings(parts))
            raise ModelError(f"the model is infeasible: {why}.")
        if r.status == "unbounded":
            raise ModelError("the model is unbounded: some variable can grow without limit at a profit "
                             f"(rows {', '.join(model.row_names[i] for i in b.rows[:5])} ...); "
                             "check for negative costs or prices.")
        if r.status == "error":
            raise SolverError(f"{r.solver} failed: {r.message}")
        if r.x is None:
            raise SolverError(f"{r.solver} found no plan within the time limit of {opts.time_limit:g} s; "
                              "give a longer --time-limit.")
        x[b.cols] = r.x
    status = "optimal" if all(r.status == "optimal" for r in results) else "time_limit"
    _, k = model.objective(w)
    bound = float(sum(r.bound for r in results)) + k

    flows = pd.concat([part.flows(x) for part in parts] or [pd.DataFrame(columns=FLOW_COLUMNS)],
                      ignore_index=True)
    if len(flows):  # a rule's capital (paid on its build binary) falls on the synergies it covers
        flows["cost"] = flows["cost"].to_numpy(float) + rule_capex_shares(flows, inventory)[1]
    routes_l = [r for r in (part.routes(x) for part in parts) if len(r)]
    routes = pd.concat(routes_l, ignore_index=True) if routes_l else pd.DataFrame(columns=ROUTE_COLUMNS)
    check_balance(flows, inventory)
    metrics = row_metrics(flows, model.metric_values(x))
    # the gap of the plan as written: its rows' weighted metrics against the solvers' bound
    plan_gap = relative_gap(sum(v * metrics[m] for m, v in w.items()), bound) if results else 0.0
    summary = build_summary(status=status, gap=plan_gap, metrics=metrics,
                            inventory=inventory,
                            flows=flows, routes=routes, objective=opts.objective, weights=w,
                            solver=results[0].solver if results else opts.solver, bound=bound,
                            n_components=n_comp, timings=timings,
                            extra={"n_solves": len(blocks), "requested_gap": opts.gap, "blocks": block_report,
                                   **({"heuristics": heuristics} if heuristics else {}),
                                   **_rules_extra(parts, x, model, w, budget, flows)})
    synergies, by_period = synergy_table(flows, inventory), period_table(parts, x)
    end = time.perf_counter()
    timings["finish"] = end - t0
    timings["total"] = end - t_start
    # the run against its time limit: seconds past it (0 within it), counted from the budget's start
    timings["overrun"] = max(0.0, end - budget.deadline)
    summary["timings"] = {k: round(float(v), 4) for k, v in timings.items()}
    summary["time_limit"] = opts.time_limit
    if timings["overrun"] > 0:
        log.info("the run ended %.2f s past its time limit of %g s", timings["overrun"], opts.time_limit)
    log.info("plan: %s, gap %.3g, %d synergies, %.2f s", status, plan_gap, summary["n_synergies"],
             timings["total"])
    return Plan(status=status, gap=plan_gap, flows=flows, routes=routes, summary=summary,
                timings=timings, candidates=candidates, synergies=synergies, flows_by_period=by_period)


def _rules_extra(parts: list[ModelPart], x: np.ndarray, model: LinearModel, weights: dict[str, float],
                 budget, flows: pd.DataFrame) -> dict:
    """The ``rules`` section of the summary (:func:`flowmatch.milp.rules.rules_report`), when there are rules."""
    from flowmatch.milp.rules import RulesPart, rule_marginals, rules_report

    if not any(isinstance(p, RulesPart) for p in parts):
        return {}
    rules = rules_report(parts, x, rule_marginals(model, x, weights, budget.share(0.5)), flows)
    for r in rules:
        if not r["held"]:
            log.warning("rule %s (%s %s -> %s) is not held by the plan's rows: %.6g %s flow between its "
                        "resources (%s)", r["rule_id"], r["action"], r["have"], r["want"], r["flow_in_plan"],
                        r["unit"] or "", r["note"] or "see the rules section of summary.json")
    return {"rules": rules}


def _resource_about(inventory: Inventory):
    """``id`` -> ``"H2 (quantity 3e+17 t)"`` for resources of ``inventory`` (other ids as they are)."""
    res = inventory.resources.set_index("resource_id")

    def about(rid: str) -> str:
        if rid not in res.index:
            return rid
        unit = res.at[rid, "unit"] if "unit" in res.columns else ""
        return f"{rid} (quantity {float(res.at[rid, 'quantity']):.4g} {unit})".replace(" )", ")")

    return about


def _is_feasible(model: LinearModel, x: np.ndarray, tol: float = 1e-6) -> bool:
    if np.any(x < model.lb - tol) or np.any(x > model.ub + tol):
        return False
    ax = model.A @ x
    scale = np.maximum(1.0, np.abs(ax))
    return bool(np.all(ax >= model.row_lb - tol * scale) and np.all(ax <= model.row_ub + tol * scale))
