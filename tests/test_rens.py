"""RENS (flowmatch.milp.rens): its plan keeps every row and the integers the LP relaxation
fixed, is never cheaper than the brute-force optimum, and the start optimise takes from
improve_start is never worse than any of the plans it chooses between."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from optimise_cases import brute_force_cost, random_case

from flowmatch.milp.blocks import split_blocks
from flowmatch.milp.heuristics import improve_start
from flowmatch.milp.highs import new_highs, pass_highs
from flowmatch.milp.optimise import build_model, build_parts
from flowmatch.milp.rens import rens

PARAMS = dict(fixed_cost_synergy=1500.0, min_synergy_flow=8.0)


def _lp_point(model, c, k):
    h = new_highs()
    pass_highs(h, dataclasses.replace(model, integrality=np.zeros(model.n_vars, bool)), c, k)
    h.run()
    return np.asarray(h.getSolution().col_value, float)


@pytest.mark.parametrize("seed", [1, 2, 6])
def test_rens_plan_is_feasible_keeps_the_lp_integers_and_no_cheaper_than_the_optimum(seed):
    inv, cands = random_case(4, 4, 0.7, seed, **PARAMS)
    model = build_model(build_parts(inv, cands))
    c, k = model.objective({"cost": 1.0})
    lp = _lp_point(model, c, k)
    r = rens(model, c, k, lp, time_limit=10.0)
    ints = model.integrality
    frac = ints & (np.abs(lp - np.round(lp)) > 1e-6)
    assert r.free == int(frac.sum()) > 0  # these seeds leave binaries fractional
    assert r.x is not None  # every binary at 0 is a plan here (disposal and virgin supply take all)
    ax = model.A @ r.x
    assert np.all(ax >= model.row_lb - 1e-6) and np.all(ax <= model.row_ub + 1e-6)
    fixed = ints & ~frac
    assert np.array_equal(r.x[fixed], np.round(lp[fixed]))
    assert np.all(r.x[ints] == np.round(r.x[ints]))
    best = brute_force_cost(inv, cands)
    assert r.objective == pytest.approx(float(c @ r.x + k))
    assert r.objective >= best - 1e-6 * abs(best)


def test_rens_without_time_or_integers_gives_no_plan():
    inv, cands = random_case(4, 4, 0.6, 1, **PARAMS)
    model = build_model(build_parts(inv, cands))
    c, k = model.objective({"cost": 1.0})
    assert rens(model, c, k, _lp_point(model, c, k), time_limit=0.0).x is None


@pytest.mark.parametrize("seed", [1])
def test_improve_start_takes_the_cheapest_plan_per_block(seed):
    inv, cands = random_case(4, 4, 0.7, seed, **PARAMS)
    parts = build_parts(inv, cands)
    model = build_model(parts)
    x0 = np.zeros(model.n_vars)
    for p in parts:
        p.warm_start(x0)
    x, info, lp_x = improve_start(model, {"cost": 1.0}, x0, time_limit=10.0, rens_min_integers=1)
    c, k = model.objective({"cost": 1.0})
    got = float(c @ x + k)
    assert info["rens_blocks"] == len(split_blocks(model)[0])  # every block had a RENS plan
    others = [info["greedy_objective"], info["slope_scaling_objective"], info["rens_objective"] + k]
    assert got <= min(v for v in others if v is not None) + 1e-6 * abs(got)
    assert info["start_objective"] == pytest.approx(got)
    assert info["lp_bound"] <= got + 1e-6 * abs(got)
    assert got >= brute_force_cost(inv, cands) - 1e-6 * abs(got)


def test_improve_start_leaves_small_blocks_to_the_search():
    inv, cands = random_case(4, 4, 0.7, 1, **PARAMS)
    model = build_model(build_parts(inv, cands))
    _, info, _ = improve_start(model, {"cost": 1.0}, None, time_limit=10.0)  # MIN_INTEGERS: 500
    assert info["rens_blocks"] == 0 and info["rens_objective"] is None
