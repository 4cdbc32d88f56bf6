"""Every block gets a valid bound (flowmatch.milp.block_bounds), so a run's bound and gap are numbers.

A block whose solver stops without a bound (forced here by a solver result with
bound ``nan``) takes its LP relaxation's (from slope scaling's LP, or solved
for it), or at worst each variable's lowest cost contribution; the run's bound
stays at most the brute-force optimum and its gap is a number, in the Plan and
in summary.json.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from optimise_cases import brute_force_cost, random_case

import flowmatch.milp.block_bounds as block_bounds
import flowmatch.milp.blocks as blocks_mod
from flowmatch.milp.block_bounds import ensure_bounds, lp_bound, trivial_bound
from flowmatch.milp.blocks import split_blocks, sub_model
from flowmatch.milp.optimise import build_model, build_parts, optimise
from flowmatch.milp.options import SolveOptions
from flowmatch.milp.solvers import solve
from flowmatch.plans.folder import write_plan

CASE = dict(fixed_cost_synergy=1500.0, min_synergy_flow=8.0)


def _no_bound(monkeypatch):
    """Every block solve returns its plan with no bound, as a solver stopped before its root does."""
    real = blocks_mod.solve

    def solve_without_bound(*args, **kwargs):
        r = real(*args, **kwargs)
        if r.x is None:
            return r
        return dataclasses.replace(r, status="time_limit", bound=math.nan, gap=math.nan)

    monkeypatch.setattr(blocks_mod, "solve", solve_without_bound)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lp_and_trivial_bounds_are_below_the_optimum(seed):
    inv, cands = random_case(4, 4, 0.6, seed, **CASE)
    model = build_model(build_parts(inv, cands))
    c, k = model.objective({"cost": 1.0})
    best = brute_force_cost(inv, cands)
    lp = lp_bound(model, c, k, time_limit=5.0)
    triv = trivial_bound(model, c, k)
    assert math.isfinite(lp) and math.isfinite(triv)
    assert triv <= lp + 1e-6 * abs(best) and lp <= best + 1e-6 * abs(best)


def test_ensure_bounds_fills_only_the_blocks_without_one():
    inv, cands = random_case(5, 5, 0.5, 4, **CASE)
    model = build_model(build_parts(inv, cands))
    blocks, _ = split_blocks(model)
    results = [solve(sub_model(model, b), {"cost": 1.0}, gap=0.0) for b in blocks]
    kept = results[0].bound
    results[-1] = dataclasses.replace(results[-1], bound=math.nan, gap=math.nan)
    found = ensure_bounds(model, blocks, results, {"cost": 1.0}, time_limit=5.0)
    assert found == {len(blocks) - 1: "lp_relaxation"}
    assert all(math.isfinite(r.bound) and r.bound <= r.objective + 1e-9 for r in results)
    assert math.isfinite(results[-1].gap)
    if len(blocks) > 1:
        assert results[0].bound == kept


@pytest.mark.parametrize("heuristics,lp_fails,source", [
    ("start", False, "lp_relaxation"),  # slope scaling's LP relaxation gives it
    ("off", False, "lp_relaxation"),  # solved for the block
    ("off", True, "variable_bounds"),  # the LP did not solve in time: the trivial bound
])
def test_a_run_whose_blocks_end_without_bound_has_a_numeric_bound_and_gap(
        monkeypatch, tmp_path, heuristics, lp_fails, source):
    inv, cands = random_case(4, 4, 0.6, 2, **CASE)
    best = brute_force_cost(inv, cands)
    _no_bound(monkeypatch)
    if lp_fails:
        monkeypatch.setattr(block_bounds, "lp_bound", lambda *a, **kw: math.nan)
    plan = optimise(inv, candidates=cands, options=SolveOptions(gap=0.0, heuristics=heuristics, polish=False))
    s = plan.summary
    assert s["bound"] is not None and s["bound"] <= best + 1e-6 * abs(best)
    assert s["gap"] is not None and math.isfinite(plan.gap) and plan.gap >= 0
    assert s["objective"]["cost"] >= best - 1e-6 * abs(best)
    assert {b.get("bound_from") for b in s["blocks"]} == {source}
    write_plan(plan, tmp_path / "plan", inv)
    written = json.loads((tmp_path / "plan" / "summary.json").read_text())
    assert written["bound"] == pytest.approx(s["bound"]) and np.isfinite(written["gap"])
