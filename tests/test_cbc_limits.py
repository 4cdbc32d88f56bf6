"""CBC through PuLP keeps to the run's budget and does not call a plannable model infeasible.

* CBC's own limit covers its search only; the adapter gives it what is left
  after building and interrupts (then kills) the CBC process at the deadline,
  returning the warm start as the best plan known, or no plan, marked
  ``time_limit`` (forced here: a build that ends past the deadline).
* CBC's "Infeasible" / "Integer infeasible" (PuLP reads both as infeasible)
  against a warm start that keeps every row is no proof: the block is
  ``time_limit`` with the start's plan (forced here: CBC's answer replaced).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pulp
import pytest
from optimise_cases import brute_force_cost, random_case

import flowmatch.milp.pulp_cbc as pulp_cbc
import flowmatch.milp.workers as workers
from flowmatch.milp.optimise import build_model, build_parts, optimise
from flowmatch.milp.options import SolveOptions
from flowmatch.milp.solvers import solve
from flowmatch.plans.summary import check_balance

CASE = dict(fixed_cost_synergy=1500.0, min_synergy_flow=8.0)


def _model_and_start(seed=2):
    inv, cands = random_case(4, 4, 0.6, seed, **CASE)
    parts = build_parts(inv, cands)
    model = build_model(parts)
    x0 = np.zeros(model.n_vars)
    for p in parts:
        p.warm_start(x0)
    return inv, cands, model, x0


def _slow_build(monkeypatch, seconds):
    """Building the PuLP model ends ``seconds`` later, past a shorter deadline; CBC, started
    after it, is interrupted and killed at once (no grace: it cannot finish first)."""
    real = pulp_cbc.build_pulp
    monkeypatch.setattr(workers, "KILL_GRACE_S", 0.0)

    def slow(*args, **kwargs):
        out = real(*args, **kwargs)
        time.sleep(seconds)
        return out

    monkeypatch.setattr(pulp_cbc, "build_pulp", slow)


def test_a_solve_past_its_deadline_returns_the_start_marked_time_limit(monkeypatch):
    _, _, model, x0 = _model_and_start()
    _slow_build(monkeypatch, 0.3)
    r = solve(model, {"cost": 1.0}, solver="cbc", time_limit=0.1, warm_start=x0)
    c, k = model.objective({"cost": 1.0})
    assert r.status == "time_limit" and r.x is not None and "stopped at the deadline" in r.message
    assert r.objective == pytest.approx(float(c @ x0 + k))
    ax = model.A @ r.x
    assert np.all(ax >= model.row_lb - 1e-6) and np.all(ax <= model.row_ub + 1e-6)


def test_a_solve_past_its_deadline_without_start_has_no_plan(monkeypatch):
    _, _, model, _ = _model_and_start()
    _slow_build(monkeypatch, 0.3)
    r = solve(model, {"cost": 1.0}, solver="cbc", time_limit=0.1)
    assert r.status == "time_limit" and r.x is None
    assert "no plan in time" in r.message and math.isnan(r.objective)


def test_optimise_with_cbc_past_its_time_limit_gives_a_balanced_plan_with_a_bound(monkeypatch):
    inv, cands, _, _ = _model_and_start(3)
    _slow_build(monkeypatch, 0.3)
    plan = optimise(inv, candidates=cands, options=SolveOptions(solver="cbc", time_limit=0.1, heuristics="off"))
    assert {b["solver_status"] for b in plan.summary["blocks"]} == {"time_limit"}
    check_balance(plan.flows, inv)  # optimise checks it too; a plan, not half of one
    best = brute_force_cost(inv, cands)
    assert plan.summary["bound"] is not None and plan.summary["bound"] <= best + 1e-6 * abs(best)
    assert math.isfinite(plan.gap)


def _cbc_says_infeasible(monkeypatch):
    monkeypatch.setattr(pulp.COIN_CMD, "get_status",
                        lambda self, filename: (pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible))


def test_cbc_infeasible_against_a_start_that_keeps_every_row_is_a_time_limit(monkeypatch):
    _, _, model, x0 = _model_and_start()
    _cbc_says_infeasible(monkeypatch)
    r = solve(model, {"cost": 1.0}, solver="cbc", time_limit=20.0, warm_start=x0)
    assert r.status == "time_limit" and r.x is not None
    assert r.x == pytest.approx(x0) and "warm start keeps every row" in r.message


def test_cbc_infeasible_without_a_start_stays_infeasible(monkeypatch):
    _, _, model, _ = _model_and_start()
    _cbc_says_infeasible(monkeypatch)
    r = solve(model, {"cost": 1.0}, solver="cbc", time_limit=20.0)
    assert r.status == "infeasible" and r.x is None


def test_optimise_with_cbc_saying_infeasible_still_plans(monkeypatch):
    inv, cands, _, _ = _model_and_start(3)
    _cbc_says_infeasible(monkeypatch)
    plan = optimise(inv, candidates=cands, options=SolveOptions(solver="cbc", time_limit=20.0, heuristics="off"))
    assert {b["solver_status"] for b in plan.summary["blocks"]} == {"time_limit"} and len(plan.flows)
    check_balance(plan.flows, inv)
    assert math.isfinite(plan.gap) and plan.summary["bound"] is not None
