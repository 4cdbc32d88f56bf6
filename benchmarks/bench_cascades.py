"""Cascade benchmarks: a synthetic park with 200 water sources and sinks and 3
contaminants, and one with 200 heat streams, each planned by ``optimise``.

Each plan is set beside its target (the same inventory's water LP target or
heat problem table) in the same run, which is the baseline: targets need no
distances and no binaries. Run::

    .venv/bin/pytest benchmarks/bench_cascades.py --benchmark-only

Targets: each plan in under 30 s (see docs/cascades.md for the figures).

Periods: the same parks of 50 and 200 streams made seasonal (a third of the
water sinks in April-September, a fifth of the sources monthly batches with a
tank of half a batch; a third of the cold heat streams in the heating season
November-March, a quarter of the hot ones April-October), planned beside the
steady-year park in the same run (``-k periods``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flowmatch.inputs.inventory import Inventory, build_inventory
from flowmatch.inputs.params import Params
from flowmatch.matching.candidates import match
from flowmatch.milp.optimise import optimise
from flowmatch.milp.targets import heat_targets, water_targets

N_SITES = 40
PARK_RADIUS_KM = 4.0
CONTAMINANTS = ("cod_mg_l", "chloride_ppm", "tss_mg_l")


def _park_sites(rng: np.random.Generator) -> pd.DataFrame:
    r = PARK_RADIUS_KM * np.sqrt(rng.random(N_SITES)) / 111.2
    a = rng.random(N_SITES) * 2 * np.pi
    return pd.DataFrame({"site_id": [f"S{k:02d}" for k in range(N_SITES)],
                         "lat": 31.0 + r * np.cos(a), "lon": 121.0 + r * np.sin(a) / np.cos(np.radians(31.0))})


def water_park(n: int = 200, seed: int = 0) -> Inventory:
    """``n`` water resources (half sources, half sinks) with 3 contaminants on 40 sites."""
    rng = np.random.default_rng(seed)
    sites = _park_sites(rng)
    res, props = [], []
    for k in range(n):
        source = k % 2 == 0
        rid = f"W{k:03d}"
        res.append({"resource_id": rid, "site_id": sites["site_id"].iat[rng.integers(N_SITES)],
                    "role": "have" if source else "want", "category": "water",
                    "type": "water:effluent" if source else "water:process",
                    "quantity": float(rng.integers(10, 200)), "unit": "m3/h"})
        for c, (lo, hi) in zip(CONTAMINANTS, ((10, 400), (20, 800), (5, 150)), strict=True):
            v = float(rng.integers(lo, hi))
            props.append({"resource_id": rid, "property": c, **({"value": v} if source else {"max": v})})
    return build_inventory({"sites": sites, "resources": pd.DataFrame(res), "properties": pd.DataFrame(props)},
                           params=Params(regeneration_cost_m3=0.8))


def heat_park(n: int = 200, seed: int = 0) -> Inventory:
    """``n`` heat streams (hot and cold, a fifth of them steam levels) on 40 sites."""
    rng = np.random.default_rng(seed)
    sites = _park_sites(rng)
    steam = [("energy:steam:hp", 250.0), ("energy:steam:mp", 185.0), ("energy:steam:lp", 150.0)]
    res, props = [], []
    for k in range(n):
        hot = k % 2 == 0
        rid = f"Q{k:03d}"
        row = {"resource_id": rid, "site_id": sites["site_id"].iat[rng.integers(N_SITES)],
               "role": "have" if hot else "want", "category": "energy", "type": "energy:heat",
               "quantity": float(rng.integers(200, 5000)), "unit": "kW"}
        if rng.random() < 0.2:
            row["type"], t = steam[rng.integers(3)]
            props.append({"resource_id": rid, "property": "temperature_c",
                          **({"value": t} if hot else {"min": t - 5.0})})
        else:
            a, b = sorted(rng.choice(np.arange(30.0, 300.0, 5.0), size=2, replace=False).tolist())
            supply, target = (b, a) if hot else (a, b)
            props += [{"resource_id": rid, "property": "temperature_c", "value": supply},
                      {"resource_id": rid, "property": "target_temperature_c", "value": target}]
        res.append(row)
    return build_inventory({"sites": sites, "resources": pd.DataFrame(res), "properties": pd.DataFrame(props)})


@pytest.fixture(scope="module")
def water_inv():
    inv = water_park()
    return inv, match(inv)


@pytest.fixture(scope="module")
def heat_inv():
    inv = heat_park()
    return inv, match(inv)


def _report(benchmark, plan, target_virgin: float, category: str) -> None:
    cat = plan.summary["by_category"][category]
    benchmark.extra_info.update({"status": plan.status, "gap": plan.gap, "virgin": cat["virgin"],
                                 "target_virgin": target_virgin, "disposed": cat["disposed"],
                                 **{f"t_{k}": v for k, v in plan.timings.items()}})


@pytest.mark.benchmark(group="water-200x3")
def test_water_targets(benchmark, water_inv):
    wt = benchmark.pedantic(water_targets, args=(water_inv[0],), rounds=1, iterations=1)
    assert wt.fresh_water > 0


@pytest.mark.benchmark(group="water-200x3")
def test_water_plan(benchmark, water_inv):
    inv, cands = water_inv
    plan = benchmark.pedantic(optimise, args=(inv,), kwargs={"candidates": cands, "time_limit": 25.0},
                              rounds=1, iterations=1)
    _report(benchmark, plan, water_targets(inv).fresh_water, "water")
    assert plan.summary["objective"]["cost"] < plan.summary["baseline"]["cost"]


@pytest.mark.benchmark(group="heat-200")
def test_heat_targets(benchmark, heat_inv):
    ht = benchmark.pedantic(heat_targets, args=(heat_inv[0],), rounds=1, iterations=1)
    assert ht.hot_utility >= 0


@pytest.mark.benchmark(group="heat-200")
def test_heat_plan(benchmark, heat_inv):
    inv, cands = heat_inv
    plan = benchmark.pedantic(optimise, args=(inv,), kwargs={"candidates": cands, "time_limit": 25.0},
                              rounds=1, iterations=1)
    _report(benchmark, plan, heat_targets(inv).hot_utility, "energy")
    assert plan.summary["objective"]["cost"] < plan.summary["baseline"]["cost"]


def seasonal(inv: Inventory, category: str) -> Inventory:
    """``inv`` with some of its ``category`` streams seasonal (and, for water, batch sources with tanks)."""
    tables = {k: v.copy() for k, v in inv.tables.items()}
    res = tables["resources"]
    k = np.arange(len(res))
    have = (res["role"] == "have").to_numpy()
    res["months"] = "1-12"
    if category == "water":
        res.loc[~have & (k % 3 == 1), "months"] = "4-9"
        batch = have & (k % 5 == 0)
        res.loc[batch, "frequency"] = "monthly"
        # half a monthly batch (quantity is m3/h)
        res.loc[batch, "storage_m3"] = res.loc[batch, "quantity"].astype(float) * inv.params.hours_per_year / 24.0
    else:
        res.loc[~have & (k % 3 == 1), "months"] = "11-3"
        res.loc[have & (k % 4 == 0), "months"] = "4-10"
    tables["resources"] = res
    return build_inventory(tables, params=inv.params)


@pytest.fixture(scope="module", params=[50, 200])
def period_parks(request):
    n = request.param
    w, h = water_park(n), heat_park(n)
    return n, {("water", "steady"): w, ("water", "seasonal"): seasonal(w, "water"),
               ("energy", "steady"): h, ("energy", "seasonal"): seasonal(h, "energy")}


@pytest.mark.parametrize("category", ["water", "energy"])
@pytest.mark.parametrize("variant", ["steady", "seasonal"])
def test_periods_plan(benchmark, period_parks, category, variant):
    n, parks = period_parks
    inv = parks[(category, variant)]
    benchmark.group = f"periods-{category}-{n}"
    cands = match(inv)
    plan = benchmark.pedantic(optimise, args=(inv,), kwargs={"candidates": cands, "time_limit": 20.0},
                              rounds=1, iterations=1)
    cat = plan.summary["by_category"][category]
    benchmark.extra_info.update({"status": plan.status, "gap": plan.gap, "virgin": cat["virgin"],
                                 "disposed": cat["disposed"], "cost": plan.summary["objective"]["cost"],
                                 **{f"t_{k}": v for k, v in plan.timings.items()}})
    assert plan.summary["objective"]["cost"] <= plan.summary["baseline"]["cost"] * (1 + 1e-9)
