"""Scale-out benchmarks (``--scheduler``): one process against a LocalCluster of 2 workers.

* matching a synthetic national inventory: ``match`` in this process against
  ``match_on_cluster`` on 2 worker processes (3 GiB each), side by side;
  ``extra_info`` records the candidates, the tasks, and the peak resident memory
  (``ru_maxrss``) of this process and of each worker;
* ``match --scheduler``'s way (``write_parts_on_cluster``): each task writes
  its part of ``candidates.parquet/``; the client's and each worker's peak;
* out of core (``write_parts_out_of_core``) on the same inventory written as 8 part files: the
  client reads only the planning columns, each task its own rows; against the same folder read whole
  on the client (``-k "out_of_core or whole_read"``); the client's and each worker's peak, each reset
  before its run;
* a 64-scenario what-if grid (8 landfill taxes x 8 carbon prices, plus the
  baseline) on the what-if test park: serial (``jobs=1``) against the cluster.

Run::

    .venv/bin/python -m pytest benchmarks/bench_cluster.py --benchmark-only \
        --benchmark-columns=min,rounds
    FLOWMATCH_BENCH_LARGE=1 ...   # 2 x 10^6 and 10^7 resources (minutes and GiBs)
    FLOWMATCH_BENCH_CLUSTER_N=200000 ...   # one size of your choice

Peak memory per worker is the worker process's own high-water mark since it
started (``VmHWM``); the cluster is started fresh for the module.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from flowmatch.cluster.match_tasks import match_on_cluster  # noqa: E402
from flowmatch.cluster.scheduler import connect  # noqa: E402
from flowmatch.cluster.tiles import choose_tile_deg, plan_tiles  # noqa: E402
from flowmatch.inputs.inventory import build_inventory  # noqa: E402
from flowmatch.inputs.synth import synth_tables  # noqa: E402
from flowmatch.matching.candidates import match  # noqa: E402

LARGE = bool(os.environ.get("FLOWMATCH_BENCH_LARGE"))
SIZES = [2_000_000, 10_000_000] if LARGE else [30_000]
if os.environ.get("FLOWMATCH_BENCH_CLUSTER_N"):  # one size of your choice, e.g. 200000
    SIZES = [int(os.environ["FLOWMATCH_BENCH_CLUSTER_N"])]
GRID = ["landfill_tax=0,5,10,15,20,40,60,100", "carbon_price=0,20,40,60,80,100,120,200"]


def _peak_mib() -> float:
    """This process's peak resident memory, MiB: ``VmHWM`` (ru_maxrss would carry the parent's
    peak over the fork + exec that starts a worker)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@pytest.fixture(scope="module")
def client():
    with connect("local:2", memory_limit="3GiB", announce=None) as c:
        yield c


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n}")
def national(request):
    return build_inventory(synth_tables(request.param, seed=1), source=f"synth {request.param}")


def test_match_one_process(benchmark, national):
    cands = benchmark.pedantic(match, args=(national,), rounds=1, iterations=1)
    benchmark.extra_info.update(resources=len(national.resources), candidates=len(cands),
                                peak_mib_this_process=round(_peak_mib()))


def test_match_local_cluster_2(benchmark, client, national):
    cands = benchmark.pedantic(match_on_cluster, args=(client, national), rounds=1, iterations=1)
    workers = client.run(_peak_mib)
    benchmark.extra_info.update(resources=len(national.resources), candidates=len(cands),
                                tasks=len(plan_tiles(national, tile_deg=choose_tile_deg(national, 8))),
                                peak_mib_per_worker=sorted(round(v) for v in workers.values()))


def test_match_parts_local_cluster_2(benchmark, client, national, tmp_path):
    """``match --scheduler``'s way: each task writes its part of candidates.parquet/; nothing gathered.

    Run it alone (``-k parts``) for the client's own peak: ``VmHWM`` is this process's high-water mark.
    """
    from flowmatch.cluster.candidate_parts import write_parts_on_cluster

    client.run(_reset_peak)
    parts = benchmark.pedantic(write_parts_on_cluster, args=(client, national, tmp_path / "candidates.parquet"),
                               rounds=1, iterations=1)
    workers = client.run(_peak_mib)
    benchmark.extra_info.update(resources=len(national.resources), candidates=parts.rows, parts=parts.parts,
                                peak_mib_client=round(_peak_mib()),
                                peak_mib_per_worker=sorted(round(v) for v in workers.values()),
                                load_avg=os.getloadavg())


@pytest.fixture(scope="module")
def parted_folder(request, tmp_path_factory):
    """The same synthetic inventory written as 8 part files per table, by ``flowmatch synth`` in another
    process (so this process's peak is the out-of-core client's own)."""
    import subprocess
    import sys

    n = SIZES[0]
    out = tmp_path_factory.mktemp("parted") / "inv"
    subprocess.run([str(Path(sys.executable).with_name("flowmatch")), "synth", "--resources", str(n), "--seed", "1", "-o", str(out),
                    "--partitions", "8"], check=True, stdout=subprocess.DEVNULL)
    return n, out


def test_match_parts_out_of_core_local_cluster_2(benchmark, client, parted_folder, tmp_path):
    """``match --scheduler`` on a partitioned inventory: the client reads the planning columns only, each
    task its own rows (``flowmatch.cluster.out_of_core``). Run it alone (``-k out_of_core``) for the
    client's own peak."""
    from flowmatch.cluster.out_of_core import write_parts_out_of_core

    n, folder = parted_folder
    _reset_peak()
    client.run(_reset_peak)
    parts = benchmark.pedantic(write_parts_out_of_core, args=(client, folder, tmp_path / "candidates.parquet"),
                               rounds=1, iterations=1)
    assert parts is not None
    workers = client.run(_peak_mib)
    benchmark.extra_info.update(resources=n, candidates=parts.rows, parts=parts.parts,
                                peak_mib_client=round(_peak_mib()),
                                peak_mib_per_worker=sorted(round(v) for v in workers.values()),
                                load_avg=os.getloadavg())


def test_match_parts_whole_read_local_cluster_2(benchmark, client, parted_folder, tmp_path):
    """The same partitioned inventory the in-memory way: read whole on the client, slices sent to the tasks."""
    from flowmatch.cluster.candidate_parts import write_parts_on_cluster
    from flowmatch.inputs.inventory import read_inventory

    n, folder = parted_folder
    _reset_peak()
    client.run(_reset_peak)

    def whole_read():
        return write_parts_on_cluster(client, read_inventory(folder), tmp_path / "candidates.parquet")

    parts = benchmark.pedantic(whole_read, rounds=1, iterations=1)
    workers = client.run(_peak_mib)
    benchmark.extra_info.update(resources=n, candidates=parts.rows, parts=parts.parts,
                                peak_mib_client=round(_peak_mib()),
                                peak_mib_per_worker=sorted(round(v) for v in workers.values()),
                                load_avg=os.getloadavg())


def _reset_peak() -> None:
    """Restart the worker's ``VmHWM`` (Linux: writing 5 to clear_refs), so it is this run's peak."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        pass


@pytest.fixture(scope="module")
def grid_park():
    from whatif_cases import trade_off_park

    return trade_off_park()


def test_whatif_64_serial(benchmark, grid_park):
    from flowmatch.studies.whatif import run_whatif

    table = benchmark.pedantic(run_whatif, args=(grid_park,), kwargs={"vary": GRID, "jobs": 1},
                               rounds=1, iterations=1)
    assert len(table) == 65


def test_whatif_64_local_cluster_2(benchmark, client, grid_park):
    from flowmatch.studies.whatif import run_whatif

    table = benchmark.pedantic(run_whatif, args=(grid_park,), kwargs={"vary": GRID, "client": client},
                               rounds=1, iterations=1)
    assert len(table) == 65
