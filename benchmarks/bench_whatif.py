"""What-if grid on a park: a 3 x 3 price grid (9 runs plus the baseline) on
1 process against 2, to show that the grid keeps both cores busy.

Run::

    .venv/bin/pytest benchmarks/bench_whatif.py --benchmark-only \
        --benchmark-columns=min,mean,rounds

``extra_info`` records ``cores_used``: CPU seconds of this process and its
workers divided by wall seconds (about 1 for ``jobs=1``, near 2 for ``jobs=2``
when nothing else competes for the cores), and ``runs_in_flight``: the runs'
summed seconds divided by wall seconds (how many ran at once on average).
"""

from __future__ import annotations

import resource
import time

import pytest

from flowmatch.inputs.inventory import read_inventory
from flowmatch.inputs.scenario import Scenario, apply_scenario
from flowmatch.inputs.synth import synth
from flowmatch.studies.whatif import run_whatif

GRID = ["landfill_price=40,100,200", "carbon_price=0,60,120"]
N_RESOURCES = 3000
TIME_LIMIT = 30.0


def _without_unrated_water(inv):
    """``inv`` without water resources that carry no contaminant limit, which the
    water cascade refuses (synth leaves a few such; 17 of 3,000 at seed 1)."""
    props = inv.properties
    conc = props[props["property"].str.endswith(("_ppm", "_mg_l"))]
    rated = set(conc.loc[conc["value"].notna(), "resource_id"]) | set(conc.loc[conc["max"].notna(), "resource_id"])
    res = inv.resources
    unrated = res.loc[(res["category"] == "water") & ~res["resource_id"].isin(rated), "resource_id"]
    return apply_scenario(inv, Scenario(name="rated water", remove_resources=tuple(unrated)))


@pytest.fixture(scope="module")
def park(tmp_path_factory):
    path = synth(N_RESOURCES, seed=1, out=tmp_path_factory.mktemp("park"), fmt="parquet")
    return _without_unrated_water(read_inventory(path))


def _cpu_s() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


@pytest.mark.parametrize("jobs", [1, 2])
def test_whatif_grid(benchmark, park, jobs):
    state = {}

    def run():
        cpu0, t0 = _cpu_s(), time.perf_counter()
        state["table"] = run_whatif(park, vary=GRID, jobs=jobs, time_limit=TIME_LIMIT)
        state["wall"] = time.perf_counter() - t0
        state["cores"] = (_cpu_s() - cpu0) / state["wall"]

    benchmark.pedantic(run, rounds=1, iterations=1)
    table = state["table"]
    assert len(table) == 10
    assert (table["status"] != "error").all(), table["message"].tolist()
    benchmark.extra_info.update(jobs=jobs, runs=len(table), cores_used=round(state["cores"], 2),
                                runs_in_flight=round(float(table["total_s"].sum()) / state["wall"], 2),
                                sum_solve_s=round(float(table["solve_s"].sum()), 2),
                                sum_run_s=round(float(table["total_s"].sum()), 2),
                                max_gap=float(table["gap"].max()))
