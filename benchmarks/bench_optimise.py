"""Optimiser benchmarks: model build and solve at 10^3, 10^4 and 10^5 candidate pairs.

Run (one round each; the solves take minutes)::

    .venv/bin/pytest benchmarks/bench_optimise.py -o python_files='bench_*.py' \\
        --benchmark-only --benchmark-columns=min,median,max --benchmark-sort=name

Select a group with ``-k build``, ``-k solve`` or ``-k park``. Each solve case
records the status, gap and objective it reached in ``extra_info`` (shown with
``--benchmark-json``).

Cases:
* ``build_array`` vs ``build_pulp_from_arrays`` vs ``build_pulp_naive``: the
  same model made through flowmatch's arrays (``SynergyPart`` ->
  ``LinearModel``), through PuLP from those arrays (what ``--solver cbc``
  does), and written directly in PuLP the way a hand-made model usually is
  (``lpSum`` per have and want).
* ``solve``: HiGHS and CBC side by side at 10^3 and 10^4 pairs (one component,
  60 s limit, 1% gap) and HiGHS at 10^5 pairs over 100 parks and 10 kinds of
  waste (about 1,000 components, solved apart; two processes).
* ``park``: 300 companies, 3,000 resources of 30 kinds of waste stream, 10
  candidates per want, from candidates to plan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pulp
import pytest

from flowmatch.inputs.inventory import build_inventory
from flowmatch.milp.optimise import build_model, build_parts, optimise
from flowmatch.milp.pulp_cbc import build_pulp


def synthetic_case(n_pairs: int, seed: int = 0, per_want: int = 10, parks: int = 1, kinds: int = 1,
                   region_km: float = 40.0):
    """A material-only inventory and about ``n_pairs`` candidates (``per_want`` per want).

    Quantities are log-normal (median about 650 t/yr), disposal and virgin
    prices uniform, sites scattered over ``region_km`` per park. A want's
    candidates are haves of its own park and of its own kind (one of ``kinds``
    waste streams), so the candidate graph has about ``parks * kinds`` components.
    """
    rng = np.random.default_rng(seed)
    n_want = max(1, n_pairs // per_want)
    n_have = n_want
    n_site = max(2, (n_have + n_want) // 10)
    park = rng.integers(0, parks, n_site)
    lat = 30 + park * 0.5 + rng.uniform(0, region_km / 111, n_site)
    lon = 110 + rng.uniform(0, region_km / 90, n_site)
    sites = pd.DataFrame({"site_id": [f"S{i}" for i in range(n_site)], "lat": lat, "lon": lon,
                          "park": [f"P{p}" for p in park]})
    hs = rng.integers(0, n_site, n_have)
    ws = rng.integers(0, n_site, n_want)
    res = pd.DataFrame({
        "resource_id": [f"H{i}" for i in range(n_have)] + [f"W{j}" for j in range(n_want)],
        "site_id": [f"S{i}" for i in np.concatenate([hs, ws])],
        "role": ["have"] * n_have + ["want"] * n_want, "category": "material",
        "type": ["ewc:100105"] * n_have + ["raw:gypsum"] * n_want,
        "quantity": np.round(rng.lognormal(6.5, 1.2, n_have + n_want), 1), "unit": "t",
        "cost": np.concatenate([rng.uniform(20, 120, n_have), rng.uniform(30, 200, n_want)]).round(1),
        "route": ["landfill"] * n_have + [""] * n_want})
    inv = build_inventory({"sites": sites, "resources": res})
    group_h = park[hs] * kinds + rng.integers(0, kinds, n_have)
    group_w = park[ws] * kinds + rng.integers(0, kinds, n_want)
    order = np.argsort(group_h, kind="stable")
    start = np.searchsorted(group_h[order], np.arange(parks * kinds + 1))
    w = np.repeat(np.arange(n_want), per_want)
    g = group_w[w]
    size = start[g + 1] - start[g]
    w, g, size = w[size > 0], g[size > 0], size[size > 0]
    h = order[start[g] + (rng.random(len(w)) * size).astype(np.int64)]
    d = np.hypot((lat[hs[h]] - lat[ws[w]]) * 111, (lon[hs[h]] - lon[ws[w]]) * 90)
    cands = pd.DataFrame({"have_id": [f"H{i}" for i in h], "want_id": [f"W{j}" for j in w],
                          "distance_km": d, "score": 1.0})
    return inv, cands.drop_duplicates(["have_id", "want_id"]).reset_index(drop=True)


def build_pulp_naive(inv, cands) -> pulp.LpProblem:
    """The same MILP as ``SynergyPart`` written directly in PuLP, one object at a time."""
    p = inv.params
    res = inv.resources.set_index("resource_id")
    cp = p.carbon_price / 1000
    prob = pulp.LpProblem("naive", pulp.LpMinimize)
    x, y, terms = {}, {}, []
    out_of: dict[str, list] = {}
    into: dict[str, list] = {}
    for i, (hid, wid, d) in enumerate(zip(cands["have_id"], cands["want_id"], cands["distance_km"],
                                          strict=True)):
        m = min(res.at[hid, "quantity"], res.at[wid, "quantity"])
        x[i] = pulp.LpVariable(f"flow_{i}", 0, m)
        y[i] = pulp.LpVariable(f"use_{i}", cat=pulp.LpBinary)
        terms += [(x[i], d * (p.transport_cost_t_km + cp * p.co2_kg_t_km)), (y[i], p.fixed_cost_synergy)]
        prob += x[i] <= m * y[i], f"link_max_{i}"
        prob += x[i] >= p.min_synergy_flow * y[i], f"link_min_{i}"
        out_of.setdefault(hid, []).append(x[i])
        into.setdefault(wid, []).append(x[i])
    for rid, r in res.iterrows():
        slack = pulp.LpVariable(f"slack_{rid}", 0, r["quantity"])
        terms.append((slack, (r["cost"] if r["cost"] == r["cost"] else 0.0)))
        flows = out_of.get(rid, []) if r["role"] == "have" else into.get(rid, [])
        prob += pulp.lpSum(flows) + slack == r["quantity"], f"balance_{rid}"
    prob += pulp.LpAffineExpression(terms)
    return prob


SIZES = [1_000, 10_000, 100_000]


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n}pairs")
def case(request):
    return synthetic_case(request.param)


def _array_build(inv, cands):
    return build_model(build_parts(inv, cands))


def test_build_array(benchmark, case):
    inv, cands = case
    model = benchmark.pedantic(_array_build, args=case, rounds=3, iterations=1)
    benchmark.extra_info.update(pairs=len(cands), vars=model.n_vars, rows=model.n_rows, nnz=model.A.nnz)


def test_build_pulp_from_arrays(benchmark, case):
    inv, cands = case
    model = _array_build(inv, cands)
    c, k = model.objective({"cost": 1.0})
    benchmark.pedantic(build_pulp, args=(model, c, k), rounds=1, iterations=1)
    benchmark.extra_info.update(pairs=len(cands))


def test_build_pulp_naive(benchmark, case):
    inv, cands = case
    if len(cands) > 10_000:
        pytest.skip("the naive PuLP build of 10^5 pairs takes minutes; 10^3 and 10^4 show the trend")
    benchmark.pedantic(build_pulp_naive, args=case, rounds=1, iterations=1)
    benchmark.extra_info.update(pairs=len(cands))


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("n_pairs", [1_000, 10_000])
def test_solve(benchmark, solver, n_pairs):
    inv, cands = synthetic_case(n_pairs, seed=1)
    plan = benchmark.pedantic(optimise, args=(inv,), kwargs=dict(candidates=cands, solver=solver,
                              time_limit=60.0, gap=0.01, jobs=1), rounds=1, iterations=1)
    benchmark.extra_info.update(pairs=len(cands), status=plan.status, gap=plan.gap,
                                cost=plan.summary["objective"]["cost"], **plan.timings)


def test_solve_100k_by_parks(benchmark):
    inv, cands = synthetic_case(100_000, seed=2, parks=100, kinds=10)
    plan = benchmark.pedantic(optimise, args=(inv,), kwargs=dict(candidates=cands, time_limit=60.0,
                              gap=0.01), rounds=1, iterations=1)
    benchmark.extra_info.update(pairs=len(cands), status=plan.status, gap=plan.gap,
                                components=plan.summary["n_components"], **plan.timings)


def test_park_300_companies(benchmark):
    # 3,000 resources on 300 sites, 30 kinds of waste stream
    inv, cands = synthetic_case(15_000, seed=3, per_want=10, kinds=30)
    assert len(inv.resources) == 3000 and len(inv.sites) == 300
    plan = benchmark.pedantic(optimise, args=(inv,), kwargs=dict(candidates=cands, time_limit=60.0,
                              gap=0.01), rounds=1, iterations=1)
    benchmark.extra_info.update(pairs=len(cands), status=plan.status, gap=plan.gap, **plan.timings)
