"""``run_tasks`` builds each task's arguments only as a window of tasks in flight allows, keeps
the results in order, and an out-of-core match whose worker is killed mid-run still gives the
single-process candidates (flowmatch.cluster.scheduler, flowmatch.cluster.out_of_core)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("distributed")

from cluster_helpers import KillFirstTask  # noqa: E402


def _mark_done(folder: str, i: int) -> int:
    Path(folder, f"done-{i}").write_text("")
    return i * i


def test_arguments_are_built_only_as_tasks_finish(client, tmp_path):
    """When task k's arguments are built, all but ``window`` of the tasks before it have finished."""
    from flowmatch.cluster.scheduler import run_tasks

    window, n = 3, 20
    behind: list[int] = []

    def args():
        for k in range(n):
            finished = len(list(tmp_path.glob("done-*")))
            behind.append(k - finished)
            yield (str(tmp_path), k)

    out = run_tasks(client, _mark_done, args(), window=window, total=n)
    assert out == [k * k for k in range(n)]
    assert max(behind) <= window  # building them all first would put task 19 up to 19 behind


def test_default_window_is_per_worker(client, tmp_path):
    from flowmatch.cluster.scheduler import TASKS_IN_FLIGHT_PER_WORKER, run_tasks

    behind: list[int] = []
    workers = len(client.nthreads())

    def args():
        for k in range(12):
            behind.append(k - len(list(tmp_path.glob("done-*"))))
            yield (str(tmp_path), k)

    assert run_tasks(client, _mark_done, args()) == [k * k for k in range(12)]
    assert max(behind) <= TASKS_IN_FLIGHT_PER_WORKER * workers
    assert run_tasks(client, _mark_done, iter([])) == []


def test_a_worker_killed_out_of_core_costs_time_not_results(client, tmp_path):
    """Tasks submitted from a generator are recomputed like any other when their worker dies."""
    from flowmatch.cluster.out_of_core import write_parts_out_of_core
    from flowmatch.inputs.inventory import read_inventory
    from flowmatch.inputs.synth import synth
    from flowmatch.matching.candidates import match, read_candidates

    inv = synth(1500, seed=5, out=tmp_path / "inv", partitions=2)
    marker = tmp_path / "killed"
    pids = set(client.run(os.getpid).values())
    plugin = KillFirstTask(str(marker), name="kill-first-tile", key_contains="match_files_to_part")
    client.register_plugin(plugin)
    try:
        parts = write_parts_out_of_core(client, inv, tmp_path / "c", tile_deg=2.0, wants_per_task=100)
    finally:
        client.unregister_worker_plugin(plugin.name)
    assert parts is not None and parts.parts > 4
    assert int(marker.read_text()) in pids  # a worker died mid-run
    client.wait_for_workers(2, timeout=300)  # the nanny restarts it (slow on a loaded machine)
    key = ["want_id", "rank", "have_id"]
    single = match(read_inventory(inv)).sort_values(key).reset_index(drop=True)
    got = read_candidates(tmp_path / "c").sort_values(key).reset_index(drop=True)
    assert len(single) > 100
    pd.testing.assert_frame_equal(got, single)
