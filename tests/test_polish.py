"""Polish (flowmatch.milp.polish): fixing the binaries and re-solving the LP removes the
artefacts a search stopped within its gap leaves, against hand-computed optima."""

from __future__ import annotations

import numpy as np
import pytest
from optimise_cases import brute_force_cost, make_candidates, make_inventory, random_case
from test_capex_rounds_rules import _with_rules
from test_milkrounds import cluster_inventory

from flowmatch.milp.optimise import build_model, build_parts, optimise
from flowmatch.milp.polish import polish
from flowmatch.milp.solvers import solve

F = 200.0  # fixed yearly cost of a synergy


def _case(min_flow: float = 0.0):
    """H1 (10 t, landfill 50/t) can serve W1 (9 t) and W2 (1 t), both virgin at 60/t, 1 km away.

    Each tonne moved saves 50 + 60 - transport; W1's link (9 t) pays its fixed
    cost of 200, W2's (1 t) does not: the optimum opens H1>W1 alone and
    disposes of the tonne W1 cannot take.
    """
    inv = make_inventory([
        {"id": "H1", "role": "have", "quantity": 10.0, "cost": 50.0, "co2": 0.0, "route": "landfill"},
        {"id": "W1", "role": "want", "quantity": 9.0, "cost": 60.0, "co2": 0.0},
        {"id": "W2", "role": "want", "quantity": 1.0, "cost": 60.0, "co2": 0.0},
    ], fixed_cost_synergy=F, min_synergy_flow=min_flow, landfill_tax=0.0, carbon_price=0.0)
    cands = make_candidates([("H1", "W1", 1.0), ("H1", "W2", 1.0)])
    parts = build_parts(inv, cands)
    return inv, cands, parts[0], build_model(parts)


def _plan(part, model, flows: dict[str, float]) -> np.ndarray:
    """A feasible plan with the given direct flows, every pair in ``flows`` open."""
    x = np.zeros(model.n_vars)
    supply = part.haves["quantity"].to_numpy(float).copy()
    demand = part.wants["quantity"].to_numpy(float).copy()
    for i, lab in enumerate(part.pair_labels):
        if lab in flows:
            q = flows[lab]
            x[part.x_idx[i]] = q
            x[part.y_idx[list(part.bin_pairs).index(i)]] = 1.0
            supply[part.pairs["h"].iloc[i]] -= q
            demand[part.pairs["w"].iloc[i]] -= q
    x[part.d_idx], x[part.v_idx] = supply, demand
    return x


def _cost(model, x):
    c, k = model.objective({"cost": 1.0})
    return float(c @ x + k)


@pytest.mark.parametrize("bad", [
    {"H1>W1": 9.0, "H1>W2": 1.0},  # a 1-tonne synergy carrying a full fixed cost
    {"H1>W1": 9.0, "H1>W2": 0.0},  # a link built with nothing on it
    {"H1>W1": 8.0},                # a tonne disposed of while the open link had room
    {"H1>W1": 8.0, "H1>W2": 1.0},  # all three at once
])
def test_polish_reaches_the_hand_optimum(bad):
    inv, cands, part, model = _case()
    x = _plan(part, model, bad)
    c, k = model.objective({"cost": 1.0})
    r = polish(model, c, k, x)
    # by hand: H1>W1 carries 9 t at 1 km, 1 t is landfilled, W2 buys 1 t virgin
    trans = inv.params.transport_cost_t_km * 1.0
    by_hand = 9 * trans + F + 1 * 50.0 + 1 * 60.0
    assert r.objective == pytest.approx(by_hand, rel=1e-9)
    assert r.objective == pytest.approx(brute_force_cost(inv, cands), rel=1e-9)
    assert r.before == pytest.approx(_cost(model, x)) and r.objective < r.before
    y = dict(zip([part.pair_labels[i] for i in part.bin_pairs], r.x[part.y_idx], strict=True))
    assert y == {"H1>W1": 1.0, "H1>W2": 0.0}
    assert r.x[part.x_idx].tolist() == pytest.approx([9.0, 0.0])


def test_polish_raises_a_flow_to_the_minimum_or_closes_it():
    """With min_synergy_flow 1 t an open W2 link must carry its tonne; with 2 t it cannot and
    polish never leaves a flow below the minimum (the link is closed)."""
    inv, cands, part, model = _case(min_flow=1.0)
    x = _plan(part, model, {"H1>W1": 9.0, "H1>W2": 1.0})
    c, k = model.objective({"cost": 1.0})
    r = polish(model, c, k, x, max_moves=0)  # no drop moves: the LP alone
    q = r.x[part.x_idx]
    y = r.x[part.y_idx]
    assert np.all((q >= 1.0 - 1e-9) | (q <= 1e-9)) and np.all(q <= y * part.pairs["big_m"].to_numpy() + 1e-9)
    assert polish(model, c, k, x).objective == pytest.approx(brute_force_cost(inv, cands), rel=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_polish_of_every_link_open_never_worsens_and_leaves_no_idle_link(seed):
    inv, cands = random_case(4, 4, 0.6, seed, fixed_cost_synergy=900.0, min_synergy_flow=5.0)
    parts = build_parts(inv, cands)
    model = build_model(parts)
    part = parts[0]
    x = np.zeros(model.n_vars)
    part.warm_start(x)
    c, k = model.objective({"cost": 1.0})
    r = polish(model, c, k, x)
    assert r.objective <= r.before + 1e-9
    A = model.A @ r.x
    assert np.all(A >= model.row_lb - 1e-6) and np.all(A <= model.row_ub + 1e-6)
    q = r.x[part.x_idx][part.bin_pairs]
    assert not np.any((r.x[part.y_idx] > 0.5) & (q <= 1e-9))  # no fixed cost for nothing
    assert r.objective >= brute_force_cost(inv, cands) - 1e-6 * abs(r.objective)


def test_idle_links_close_in_one_batch_beside_a_rules_capital_over_a_milk_round():
    """A rule's build binary bounds only a milk round's (integer) column: it carries the round,
    so it is not idle. The batch of idle closures (no drop moves) closes the idle direct link
    alone and keeps the capital, the round and the rest of the optimal plan as they were."""
    inv, cands = cluster_inventory(min_synergy_flow=0.0)  # so a link may stand open with nothing on it
    ruled = _with_rules(inv, [("T1", "cap", "C1_waste", "W", 1e9, "dryer", 1000.0, 10.0)])
    model = build_model(build_parts(ruled, cands))
    c, k = model.objective({"cost": 1.0})
    best = solve(model, {"cost": 1.0}, gap=0.0).x
    col = {n: j for j, n in enumerate(model.var_names)}
    build, idle = col["rule_build[T1]"], col["use[C2_waste>W]"]
    rounds = [j for n, j in col.items() if n.startswith("milk_round[")]
    assert best[build] == 1.0 and best[idle] == 0.0 and best[rounds].sum() == 1.0  # the round pays the dryer
    x = best.copy()
    x[idle] = 1.0  # a direct link built with nothing on it
    r = polish(model, c, k, x, max_moves=0)
    assert r.moves == 0 and r.closed == 1  # closed by the batch, not reverted
    assert r.x[idle] == 0.0 and r.x[build] == 1.0
    np.testing.assert_allclose(r.x, best, atol=1e-7)
    assert r.objective == pytest.approx(c @ best + k, rel=1e-12) and r.before - r.objective > 1000.0


def test_optimise_reports_blocks_and_the_requested_gap():
    inv, cands, _, _ = _case()
    plan = optimise(inv, candidates=cands, gap=0.0)
    s = plan.summary
    assert plan.status == "optimal" and s["requested_gap"] == 0.0
    assert [b["status"] for b in s["blocks"]] == ["optimal"]
    b = s["blocks"][0]
    assert b["gap"] == pytest.approx(0.0, abs=1e-9) and b["objective"] >= b["bound"] - 1e-6
    assert s["objective"]["cost"] == pytest.approx(brute_force_cost(inv, cands), rel=1e-9)
    assert "optimal within the requested gap" in plan.text_summary()
