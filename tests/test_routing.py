"""Route generation for milk rounds (flowmatch.milp.routing)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.optimize import LinearConstraint, milp

from flowmatch.inputs.inventory import build_inventory
from flowmatch.milp.routing import (
    Route,
    RoutePool,
    RoutingInstance,
    generate_routes,
    pyvrp_routes,
    route_length,
    site_distance_matrix,
)

# CVRPLIB P-n16-k8 (Augerat et al.): node x, y, demand; node 1 is the depot.
P_N16_K8 = [(30, 40, 0), (37, 52, 19), (49, 49, 30), (52, 64, 16), (31, 62, 23), (52, 33, 11),
            (42, 41, 31), (52, 41, 15), (57, 58, 28), (62, 42, 8), (42, 57, 8), (27, 68, 7),
            (43, 67, 14), (58, 48, 6), (58, 27, 19), (37, 69, 11)]
P_N16_K8_OPTIMUM = 450


def p_n16_k8(max_stops: int = 15) -> RoutingInstance:
    xy = np.array([(x, y) for x, y, _ in P_N16_K8], float)
    d = np.rint(np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1]))
    loads = np.array([q for *_, q in P_N16_K8[1:]], float)
    return RoutingInstance(d, loads, 35.0, max_stops, xy=xy)


def best_partition(pool: list[Route], n: int) -> float:
    """Shortest total length of routes covering every have exactly once (an independent MILP)."""
    A = sp.lil_matrix((n, len(pool)))
    for j, r in enumerate(pool):
        for s in r.stops:
            A[s, j] = 1
    res = milp(np.array([r.km for r in pool]), constraints=LinearConstraint(A.tocsr(), 1, 1),
               integrality=np.ones(len(pool)), bounds=(0, 1))
    assert res.success
    return float(res.fun)


def check_pool(inst: RoutingInstance, pool: list[Route]) -> None:
    for r in pool:
        assert len(set(r.stops)) == len(r.stops)
        assert r.km == pytest.approx(route_length(inst.dist, r.depot, r.stops, inst.n_depots))
        assert r.load == pytest.approx(inst.loads[list(r.stops)].sum())
        assert r.load <= inst.capacity + 1e-9
        assert len(r.stops) <= inst.max_stops
        assert all(inst.is_allowed(s, r.depot) for s in r.stops)


# --------------------------------------------------------------------------- distances


def three_sites(table: list[tuple[str, str, float]]):
    sites = pd.DataFrame({"site_id": ["a", "b", "c"], "lat": [0.0, 1.0, 0.0], "lon": [0.0, 0.0, 1.0]})
    res = pd.DataFrame({"resource_id": ["r"], "site_id": ["a"], "role": ["have"], "category": ["material"],
                        "type": ["ewc:150102"], "quantity": [1.0], "unit": ["t"]})
    dist = pd.DataFrame(table, columns=["from_site", "to_site", "km"])
    return build_inventory({"sites": sites, "resources": res, "distances": dist})


def test_distances_table_replaces_great_circle_both_ways():
    d = site_distance_matrix(three_sites([("b", "a", 150.0)]), ["a", "b", "c", "a"])
    assert d[0, 1] == d[1, 0] == d[3, 1] == 150.0
    assert d[0, 2] == pytest.approx(111.195, abs=0.01)  # not in the table: great circle
    assert d[0, 3] == 0.0  # the same site twice
    assert np.allclose(d, d.T)


def test_a_one_way_distance_keeps_its_own_row():
    d = site_distance_matrix(three_sites([("a", "b", 150.0), ("b", "a", 170.0)]), ["a", "b"])
    assert d[0, 1] == 150.0 and d[1, 0] == 170.0


def test_stop_order_follows_one_way_distances():
    # depot 0 and three haves on a one-way loop: 0 -> 1 -> 2 -> 3 -> 0 is short, the reverse long
    d = np.full((4, 4), 10.0)
    np.fill_diagonal(d, 0.0)
    for a, b in [(0, 1), (1, 2), (2, 3), (3, 0)]:
        d[a, b] = 1.0
    inst = RoutingInstance(d, np.ones(3), 10.0, 3)
    (best,) = [r for r in generate_routes(inst, pyvrp_iterations=0).routes if len(r.stops) == 3]
    assert best.stops == (0, 1, 2) and best.km == 4.0


# --------------------------------------------------------------------------- pools


def check_best(inst: RoutingInstance, result: RoutePool) -> float:
    """The marked whole solution visits every have exactly once; returns its length."""
    stops = sorted(s for i in result.best for s in result.routes[i].stops)
    assert stops == list(range(inst.n_haves))
    return sum(result.routes[i].km for i in result.best)


def test_pool_holds_the_p_n16_k8_optimum():
    inst = p_n16_k8()
    result = generate_routes(inst, seed=0)
    pool = result.routes
    check_pool(inst, pool)
    assert P_N16_K8_OPTIMUM <= check_best(inst, result) <= 1.05 * P_N16_K8_OPTIMUM
    assert {r.stops for r in pool if len(r.stops) == 1} == {(h,) for h in range(inst.n_haves)}
    assert best_partition(pool, inst.n_haves) == pytest.approx(P_N16_K8_OPTIMUM)


def test_heuristics_alone_come_close_to_the_optimum():
    inst = p_n16_k8()
    pool = generate_routes(inst, seed=0, pyvrp_iterations=0).routes
    check_pool(inst, pool)
    assert best_partition(pool, inst.n_haves) <= 1.05 * P_N16_K8_OPTIMUM


def test_same_seed_same_pool():
    inst = p_n16_k8()
    assert generate_routes(inst, seed=3, pyvrp_iterations=300) == \
        generate_routes(inst, seed=3, pyvrp_iterations=300)


def test_a_spent_budget_stops_generation_with_each_have_alone():
    # no time left: the constructions never start, but every have alone (and a
    # whole solution of them) is still offered, so a plan can be made
    inst = p_n16_k8()
    result = generate_routes(inst, seed=0, time_limit=0.0)
    check_pool(inst, result.routes)
    assert sorted(r.stops for r in result.routes) == [(h,) for h in range(inst.n_haves)]
    check_best(inst, result)
    # with time to spare the same call pools haves together
    assert max(len(r.stops) for r in generate_routes(inst, seed=0, pyvrp_iterations=0).routes) > 1


def test_most_stops_limit_holds():
    inst = p_n16_k8(max_stops=2)
    pool = generate_routes(inst, seed=0, pyvrp_iterations=300).routes
    check_pool(inst, pool)
    assert max(len(r.stops) for r in pool) == 2


def test_a_few_haves_get_every_feasible_route():
    """With at most eight haves a depot may take, the pool is every feasible set, best order."""
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 20, (8, 2))
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    loads = rng.uniform(1, 5, 7)
    inst = RoutingInstance(d, loads, 10.0, 3)
    result = generate_routes(inst, seed=0)
    pool = result.routes
    check_pool(inst, pool)
    check_best(inst, result)
    feasible = {frozenset(c) for k in (1, 2, 3) for c in itertools.combinations(range(7), k)
                if loads[list(c)].sum() <= 10.0}
    assert {frozenset(r.stops) for r in pool} == feasible
    for r in pool:  # each the shortest of its orders
        best = min(route_length(d, 0, q, 1) for q in itertools.permutations(r.stops))
        assert r.km == pytest.approx(best)


def test_each_have_goes_only_to_a_depot_allowed_to_take_it():
    rng = np.random.default_rng(1)
    xy = np.vstack([[[0, 0], [50, 0]], rng.uniform(-10, 60, (30, 2))])
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    allowed = np.ones((30, 2), bool)
    allowed[:10, 0] = False  # the first ten only to depot 1
    allowed[10:20, 1] = False  # the next ten only to depot 0
    inst = RoutingInstance(d, rng.uniform(1, 4, 30), 10.0, 5, allowed=allowed, xy=xy)
    pool = generate_routes(inst, seed=0, pyvrp_iterations=300).routes
    check_pool(inst, pool)
    assert {r.depot for r in pool} == {0, 1}
    solved = pyvrp_routes(inst, seed=0, iterations=300)
    check_pool(inst, solved)
    assert sorted(s for r in solved for s in r.stops) == list(range(30))


def test_many_depots_route_only_what_each_may_take():
    """Beyond eight depots PyVRP routes freely; stops at a depot that may not take them are dropped."""
    rng = np.random.default_rng(2)
    m, n = 10, 40
    xy = rng.uniform(0, 50, (m + n, 2))
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    allowed = np.zeros((n, m), bool)
    for h in range(n):  # each have to its two nearest depots
        allowed[h, np.argsort(d[m + h, :m])[:2]] = True
    inst = RoutingInstance(d, rng.uniform(1, 3, n), 10.0, 6, allowed=allowed, xy=xy)
    check_pool(inst, pyvrp_routes(inst, seed=0, iterations=200))
    result = generate_routes(inst, seed=0, pyvrp_iterations=200)
    pool = result.routes
    check_pool(inst, pool)
    check_best(inst, result)
    assert {s for r in pool for s in r.stops} == set(range(n))


def test_pyvrp_keeps_exactly_full_vehicles():
    """Loads summing to exactly the capacity must stay feasible after PyVRP's integer scaling."""
    d = np.array([[0, 10, 10], [10, 0, 1], [10, 1, 0]], float)
    inst = RoutingInstance(d, np.array([19.0, 16.0]), 35.0, 4)
    (r,) = pyvrp_routes(inst, seed=0, iterations=50)
    assert sorted(r.stops) == [0, 1] and r.load == 35.0 and r.km == 21.0


def test_bad_instance_shapes_are_refused():
    with pytest.raises(ValueError, match="fit one vehicle"):
        RoutingInstance(np.zeros((3, 3)), np.array([1.0, 11.0]), 10.0, 3)
    with pytest.raises(ValueError):
        RoutingInstance(np.zeros((2, 2)), np.ones(2), 10.0, 3)
    with pytest.raises(ValueError):
        RoutingInstance(np.zeros((3, 3)), np.ones(2), 0.0, 3)
