"""Primal heuristics (flowmatch.milp.heuristics): slope scaling finds feasible plans no better
than the brute-force optimum, its LP bound is no worse, and it warm-starts optimise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from optimise_cases import brute_force_cost, random_case

from flowmatch.milp.heuristics import capacity_links, improve_start, slope_scaling_start
from flowmatch.milp.optimise import build_model, build_parts, optimise


def _model(seed, **params):
    inv, cands = random_case(4, 4, 0.6, seed, **params)
    parts = build_parts(inv, cands)
    return inv, cands, parts, build_model(parts)


@pytest.mark.parametrize("seed", [1, 2, 3, 5])
def test_slope_scaling_plan_is_feasible_and_bounded_by_the_optimum(seed):
    inv, cands, parts, model = _model(seed, fixed_cost_synergy=1500.0, min_synergy_flow=8.0)
    c, k = model.objective({"cost": 1.0})
    h = slope_scaling_start(model, c, k, time_limit=5.0)
    best = brute_force_cost(inv, cands)
    assert h.rounds >= 1 and h.lp_bound <= best + 1e-6 * abs(best)
    assert h.x is not None
    A = model.A @ h.x
    assert np.all(A >= model.row_lb - 1e-6) and np.all(A <= model.row_ub + 1e-6)
    assert np.all(h.x[model.integrality] == np.round(h.x[model.integrality]))
    assert h.objective == pytest.approx(float(c @ h.x + k)) and h.objective >= best - 1e-6 * abs(best)


def test_capacity_links_are_the_link_max_rows():
    _, _, parts, model = _model(1, fixed_cost_synergy=1500.0, min_synergy_flow=8.0)
    part = parts[0]
    cols, rows, M = capacity_links(model)
    assert sorted(cols) == sorted(part.y_idx)
    assert all(model.row_names[r].startswith("link_max[") for r in rows)
    order = np.argsort(cols)
    assert M[order] == pytest.approx(part.pairs["big_m"].to_numpy()[part.bin_pairs][np.argsort(part.y_idx)])


def test_improve_start_is_never_worse_than_the_greedy_start():
    _, _, parts, model = _model(2, fixed_cost_synergy=1500.0, min_synergy_flow=8.0)
    x0 = np.zeros(model.n_vars)
    for p in parts:
        p.warm_start(x0)
    x, info, lp_x = improve_start(model, {"cost": 1.0}, x0, time_limit=5.0)
    c, k = model.objective({"cost": 1.0})
    assert float(c @ x + k) <= float(c @ x0 + k) + 1e-9
    assert info["greedy_objective"] == pytest.approx(float(c @ x0 + k))
    assert math.isfinite(info["lp_bound"]) and info["lp_bound"] <= float(c @ x + k) + 1e-6
    assert float(c @ lp_x + k) == pytest.approx(info["lp_bound"])


@pytest.mark.parametrize("heuristics", [True, False])
def test_optimise_with_and_without_heuristics_keeps_the_optimum(heuristics):
    inv, cands = random_case(3, 3, 0.7, 3, fixed_cost_synergy=1500.0, min_synergy_flow=8.0)
    from flowmatch.milp.options import SolveOptions

    plan = optimise(inv, candidates=cands, options=SolveOptions(gap=0.0, heuristics=heuristics))
    assert plan.status == "optimal"
    assert plan.summary["objective"]["cost"] == pytest.approx(brute_force_cost(inv, cands), rel=1e-7)
    assert ("heuristics" in plan.summary) is heuristics


def test_slope_scaling_rounds_unlinked_binaries_down_when_rounding_breaks_a_row():
    """Two collection rounds (binaries with no capacity row) deliver 10 each to a want of 16: the
    LP runs one whole and the other at 0.6; rounding both up breaks the want's row, so the round
    at 0.6 is dropped (as on the 300-company park, where rounding gave no plan in any round)."""
    from flowmatch.milp.builder import ModelBuilder

    mb = ModelBuilder()
    r = mb.add_vars(2, 0.0, 1.0, integer=True, name="round", cost=np.array([10.0, 20.0]))
    v = mb.add_vars(1, 0.0, 16.0, name="virgin", cost=100.0)
    f = mb.add_vars(1, 0.0, 16.0, name="flow", cost=1.0)
    y = mb.add_vars(1, 0.0, 1.0, integer=True, name="use", cost=5000.0)
    # want: 10 round0 + 10 round1 + virgin + flow = 16; link: flow <= 16 use
    mb.add_rows(np.zeros(4, int), np.concatenate([r, v, f]), np.array([10.0, 10.0, 1.0, 1.0]), 16.0, 16.0,
                name=["want[W]"])
    mb.add_rows(np.zeros(2, int), np.concatenate([f, y]), np.array([1.0, -16.0]), -np.inf, 0.0,
                name=["link_max[H>W]"])
    model = mb.build()
    c, k = model.objective({"cost": 1.0})
    h = slope_scaling_start(model, c, k, time_limit=5.0)
    assert h.x is not None  # no plan at all before the round-down
    assert h.x[r[0]] == 1.0 and h.x[r[1]] == 0.0
    assert h.objective == pytest.approx(10.0 + 6 * 100.0)  # round 0 and 6 virgin (the link costs 5000)
