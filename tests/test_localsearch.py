"""Local search and fix-and-optimise (flowmatch.milp.localsearch, flowmatch.milp.fix_and_optimise):
every move keeps the plan feasible and never makes it costlier; fix-and-optimise over the whole
candidate graph reaches the brute-force optimum; optimise's bound never comes from a heuristic."""

from __future__ import annotations

import numpy as np
import pytest
from optimise_cases import brute_force_cost, random_case

from flowmatch.errors import SolveOptionsError
from flowmatch.milp.fix_and_optimise import fix_and_optimise, improve_results
from flowmatch.milp.heuristics import capacity_links, slope_scaling_start
from flowmatch.milp.localsearch import link_neighbours, local_search
from flowmatch.milp.optimise import build_model, build_parts, optimise
from flowmatch.milp.options import SolveOptions

PARAMS = dict(fixed_cost_synergy=1500.0, min_synergy_flow=8.0)


def _model(seed, n=4, density=0.6):
    inv, cands = random_case(n, n, density, seed, **PARAMS)
    parts = build_parts(inv, cands)
    model = build_model(parts)
    x0 = np.zeros(model.n_vars)
    for p in parts:
        p.warm_start(x0)
    return inv, cands, parts, model, x0


def _feasible(model, x, tol=1e-6):
    ax = model.A @ x
    scale = np.maximum(1.0, abs(model.A) @ np.abs(x))
    ints = model.integrality
    return (np.all(ax >= model.row_lb - tol * scale) and np.all(ax <= model.row_ub + tol * scale)
            and np.all(x >= model.lb - tol) and np.all(x <= model.ub + tol)
            and np.all(x[ints] == np.round(x[ints])))


def test_neighbours_share_a_have_or_a_want():
    _, cands, parts, model, _ = _model(2)
    part = parts[0]
    cols, N = link_neighbours(model)
    assert sorted(cols) == sorted(part.y_idx)
    # pair of each binary, by the part's own tables
    pair_of = {int(part.y_idx[k]): int(i) for k, i in enumerate(part.bin_pairs)}
    h = part.pairs["h"].to_numpy()
    w = part.pairs["w"].to_numpy()
    for a in range(len(cols)):
        for b in range(len(cols)):
            if a == b:
                continue
            pa, pb = pair_of[int(cols[a])], pair_of[int(cols[b])]
            share = h[pa] == h[pb] or w[pa] == w[pb]
            assert bool(N[a, b]) == share, (pa, pb)


@pytest.mark.parametrize("seed", [1, 2, 3, 5, 7, 11])
def test_local_search_keeps_feasibility_and_never_worsens(seed):
    inv, cands, _, model, x0 = _model(seed)
    c, k = model.objective({"cost": 1.0})
    lp_x = slope_scaling_start(model, c, k, 5.0).lp_x
    start = float(c @ x0 + k)
    r = local_search(model, c, k, x0, time_limit=10.0, lp_x=lp_x)
    assert _feasible(model, r.x)
    assert r.objective == pytest.approx(float(c @ r.x + k))
    assert r.before == pytest.approx(start)
    assert r.objective <= start + 1e-9 * abs(start)
    assert r.objective >= brute_force_cost(inv, cands) - 1e-6 * abs(start)


def test_a_swap_move_reassigns_a_want_to_a_cheaper_have():
    """W0 is served by the far have H0; the near have H1 is closed. Dropping H0>W0 alone
    (polish) costs the synergy, opening H1>W0 alone (add) pays two fixed costs: only the
    swap reaches the optimum, H1>W0."""
    from optimise_cases import make_candidates, make_inventory

    inv = make_inventory([
        {"id": "H0", "role": "have", "quantity": 10.0, "cost": 50.0, "co2": 0.0, "route": "landfill"},
        {"id": "H1", "role": "have", "quantity": 10.0, "cost": 50.0, "co2": 0.0, "route": "landfill"},
        {"id": "W0", "role": "want", "quantity": 10.0, "cost": 100.0, "co2": 0.0},
    ], fixed_cost_synergy=100.0, min_synergy_flow=10.0, landfill_tax=0.0, carbon_price=0.0)
    cands = make_candidates([("H0", "W0", 100.0), ("H1", "W0", 1.0)])
    parts = build_parts(inv, cands)
    model = build_model(parts)
    part = parts[0]
    c, k = model.objective({"cost": 1.0})
    x = np.zeros(model.n_vars)
    far = list(part.pair_labels).index("H0>W0")
    x[part.x_idx[far]] = 10.0
    x[part.y_idx[list(part.bin_pairs).index(far)]] = 1.0
    x[part.d_idx] = [0.0, 10.0]
    assert _feasible(model, x)
    r = local_search(model, c, k, x, time_limit=10.0)
    assert r.objective == pytest.approx(brute_force_cost(inv, cands))
    near = list(part.pair_labels).index("H1>W0")
    assert r.x[part.x_idx[near]] == pytest.approx(10.0) and r.x[part.x_idx[far]] == pytest.approx(0.0)


@pytest.mark.parametrize("seed", [1, 2, 3, 5, 7, 11])
def test_fix_and_optimise_is_never_worse_and_reaches_the_optimum_over_the_whole_graph(seed):
    inv, cands, _, model, x0 = _model(seed)
    c, k = model.objective({"cost": 1.0})
    best = brute_force_cost(inv, cands)
    start = float(c @ x0 + k)
    small = fix_and_optimise(model, c, k, x0, time_limit=10.0, size=2)
    assert _feasible(model, small.x) and small.objective <= start + 1e-9 * abs(start)
    assert small.objective >= best - 1e-6 * abs(best)
    # a neighbourhood of every link is the whole MIP: the optimum
    n_links = len(capacity_links(model)[0])
    whole = fix_and_optimise(model, c, k, x0, time_limit=30.0, size=n_links)
    assert _feasible(model, whole.x)
    assert whole.objective == pytest.approx(best, rel=1e-6)


def test_improve_results_takes_only_big_blocks_left_on_time_and_keeps_the_bound():
    from flowmatch.milp.blocks import split_blocks
    from flowmatch.milp.solution import SolveResult, relative_gap

    _, _, _, model, x0 = _model(3, n=6, density=0.7)
    c, k = model.objective({"cost": 1.0})
    blocks = split_blocks(model)[0]
    start = float(c @ x0 + k)

    def results(status):
        return [SolveResult(status, x0[b.cols].copy(), 0.0, -1e12, 0.0, 1.0, "highs", "")
                for b in blocks]

    rs = results("time_limit")
    for b, r in zip(blocks, rs, strict=True):
        cb = model.objective({"cost": 1.0})[0][b.cols]
        r.objective = float(cb @ r.x) + (k if b is blocks[0] else 0.0)
        r.gap = relative_gap(r.objective, r.bound)
    info = improve_results(model, blocks, rs, {"cost": 1.0}, time_limit=10.0, min_integers=1)
    assert info["blocks"] == sum(bool(model.integrality[b.cols].any()) for b in blocks) >= 1
    x = np.zeros(model.n_vars)
    for b, r in zip(blocks, rs, strict=True):
        x[b.cols] = r.x
        assert r.bound == -1e12 and r.gap == pytest.approx(relative_gap(r.objective, r.bound))
    assert _feasible(model, x) and float(c @ x + k) <= start + 1e-9 * abs(start)
    assert info["objective"] <= info["before"] + 1e-9 * abs(start)
    # proved blocks, or blocks under min_integers, are left alone
    for status, least in (("optimal", 1), ("time_limit", 10**6)):
        rs = results(status)
        info = improve_results(model, blocks, rs, {"cost": 1.0}, time_limit=10.0, min_integers=least)
        assert info["blocks"] == 0 and all(np.array_equal(r.x, x0[b.cols]) for b, r in zip(blocks, rs,
                                                                                           strict=True))


@pytest.mark.parametrize("seed", [2, 5])
def test_optimise_auto_keeps_the_optimum_and_an_honest_bound(seed, monkeypatch):
    import flowmatch.milp.fix_and_optimise as fo

    monkeypatch.setattr(fo, "MIN_INTEGERS", 1)  # the small case's block counts as big
    inv, cands = random_case(4, 4, 0.6, seed, **PARAMS)
    best = brute_force_cost(inv, cands)
    plan = optimise(inv, candidates=cands, options=SolveOptions(gap=0.0, heuristics="auto"))
    assert plan.summary["objective"]["cost"] == pytest.approx(best, rel=1e-6)
    assert plan.summary["bound"] <= best + 1e-6 * abs(best)
    start = optimise(inv, candidates=cands, options=SolveOptions(gap=0.0, heuristics="start"))
    assert "search" not in start.summary["heuristics"]
    assert start.summary["objective"]["cost"] == pytest.approx(best, rel=1e-6)


def test_optimise_auto_searches_a_block_the_search_left_on_time(monkeypatch):
    """A search stopped on time with its start in hand (forced here, so the test does not
    depend on the machine's speed): local search and fix-and-optimise improve that plan,
    the bound stays the solver's (at most the brute-force optimum)."""
    import dataclasses

    import flowmatch.milp.fix_and_optimise as fo
    import flowmatch.milp.optimise as opt
    from flowmatch.milp.polish import polish

    real = opt.solve_blocks

    def stopped_on_time(model, w, x0, options, budget):
        blocks, results, n_comp = real(model, w, x0, options, budget)
        c, k = model.objective(w)
        closed = polish(model, c, k, np.zeros(model.n_vars), max_moves=0).x  # every synergy closed
        out = [dataclasses.replace(r, status="time_limit", x=closed[b.cols].copy(),
                                   objective=float(c[b.cols] @ closed[b.cols])) for b, r in zip(blocks, results,
                                                                                           strict=True)]
        return blocks, out, n_comp

    monkeypatch.setattr(fo, "MIN_INTEGERS", 1)
    monkeypatch.setattr(opt, "SEARCH_MIN_S", 0.0)
    monkeypatch.setattr(opt, "solve_blocks", stopped_on_time)
    inv, cands = random_case(4, 4, 0.6, 2, **PARAMS)
    best = brute_force_cost(inv, cands)
    plan = optimise(inv, candidates=cands, options=SolveOptions(gap=0.0, heuristics="auto", polish=False))
    search = plan.summary["heuristics"]["search"]
    assert search["blocks"] >= 1 and search["objective"] < search["before"]
    assert plan.summary["objective"]["cost"] >= best - 1e-6 * abs(best)
    assert plan.summary["bound"] <= best + 1e-6 * abs(best)


@pytest.mark.parametrize("level", ["fast", 2, None])
def test_an_unknown_heuristics_level_is_refused_by_name(level):
    with pytest.raises(SolveOptionsError, match="heuristics"):
        SolveOptions(heuristics=level)


@pytest.mark.parametrize(("given", "level"), [(True, "auto"), (False, "off"), ("start", "start")])
def test_heuristic_levels(given, level):
    assert SolveOptions(heuristics=given).heuristic_level == level
