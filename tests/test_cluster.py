"""Matching and what-if grids on a Dask LocalCluster give the single-process results, a killed
worker included; bad or unreachable schedulers are clear errors (flowmatch.cluster)."""

from __future__ import annotations

import os
import socket

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from cluster_helpers import KillFirstTask  # noqa: E402

from flowmatch.cli import main  # noqa: E402
from flowmatch.errors import ClusterError  # noqa: E402

TILE_DEG = 2.0  # small tiles: the synthetic park spans many
WANTS_PER_TASK = 100  # and several want-type groups per tile


@pytest.fixture(scope="module")
def park():
    """A synthetic country of 2,500 resources: many tiles, many types, properties."""
    from flowmatch.inputs.inventory import build_inventory
    from flowmatch.inputs.synth import synth_tables

    return build_inventory(synth_tables(2500, seed=3), source="synth")


@pytest.fixture(scope="module")
def single(park):
    from flowmatch.matching.candidates import match

    return match(park)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["want_id", "rank", "have_id"]).reset_index(drop=True)


# --------------------------------------------------------------------------- no cluster needed


@pytest.mark.parametrize("text, workers, address", [
    ("local:3", 3, ""), ("tcp://10.0.0.5:8786", 0, "tcp://10.0.0.5:8786")])
def test_scheduler_specs_parse(text, workers, address):
    from flowmatch.cluster.scheduler import parse_scheduler

    s = parse_scheduler(text)
    assert (s.workers, s.address, s.local) == (workers, address, not address)


@pytest.mark.parametrize("text", ["local:0", "localhost", "http://x:1", "local:two"])
def test_bad_scheduler_spec_is_a_clear_error(text):
    from flowmatch.cluster.scheduler import parse_scheduler

    with pytest.raises(ClusterError, match="--scheduler .*local:N"):
        parse_scheduler(text)


def test_bad_memory_limit_is_a_clear_error():
    from flowmatch.cluster.scheduler import parse_memory_limit

    assert parse_memory_limit("3GiB") == 3 * 2**30
    with pytest.raises(ClusterError, match="--memory-limit 'lots'.*3GiB"):
        parse_memory_limit("lots")


def test_cli_bad_scheduler_exits_2(tmp_path, mini_dir, capsys):
    assert main(["match", str(mini_dir), "-o", str(tmp_path / "c"), "--scheduler", "nowhere"]) == 2
    err = capsys.readouterr().err
    assert "--scheduler 'nowhere'" in err and "Traceback" not in err
    assert not (tmp_path / "c").exists()


def test_unreachable_scheduler_is_a_clear_error():
    from flowmatch.cluster.scheduler import connect

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ClusterError, match=f"tcp://127.0.0.1:{port}: no Dask scheduler answered"):
        with connect(f"tcp://127.0.0.1:{port}", timeout_s=1.0, announce=None):
            pass


def test_every_possible_have_of_a_want_is_in_its_task(park, single):
    """The halo never leaves a candidate out, and each want is in exactly one task."""
    from flowmatch.cluster.tiles import plan_tiles

    tiles = plan_tiles(park, tile_deg=TILE_DEG, wants_per_task=WANTS_PER_TASK)
    assert len({t.tile for t in tiles}) >= 10 and len(tiles) > len({t.tile for t in tiles})
    ids = park.resources["resource_id"].astype(str).to_numpy()
    roles = park.resources["role"].to_numpy()
    task_of: dict[str, int] = {}
    members = []
    for i, t in enumerate(tiles):
        wants = ids[t.rows][roles[t.rows] == "want"]
        assert not set(wants) & set(task_of)
        task_of.update(dict.fromkeys(wants, i))
        members.append(set(ids[t.rows]))
    assert len(single) > 1000
    for h, w in zip(single["have_id"], single["want_id"], strict=True):
        assert h in members[task_of[w]]
    # the halo does leave far haves out: no task holds every have
    assert max(t.n_haves for t in tiles) < (roles == "have").sum()


def test_tile_edge_is_the_largest_giving_enough_tasks(park):
    from flowmatch.cluster.tiles import TILE_CHOICES, choose_tile_deg, plan_tiles

    assert choose_tile_deg(park, 1) == TILE_CHOICES[0]
    assert choose_tile_deg(park, 10**6) == TILE_CHOICES[-1]
    deg = choose_tile_deg(park, 8)
    assert deg < TILE_CHOICES[0]
    bigger = TILE_CHOICES[TILE_CHOICES.index(deg) - 1]
    assert len({t.tile for t in plan_tiles(park, tile_deg=bigger)}) < 8


def test_measured_distance_brings_a_far_have_into_the_task():
    """A have beyond the great-circle halo, with a short measured distance, is in the want's task."""
    from whatif_cases import trade_off_tables

    from flowmatch.cluster.tiles import plan_tiles
    from flowmatch.inputs.inventory import build_inventory

    tables = trade_off_tables()
    tables["sites"].loc[tables["sites"]["site_id"] == "HUB", "lat"] = 10.0  # 2,900 km south
    far = build_inventory(tables, source="far")
    assert plan_tiles(far) == []
    tables["distances"] = pd.DataFrame({"from_site": ["HUB"], "to_site": ["B0"], "km": [30.0]})
    near = build_inventory(tables, source="measured")
    tiles = plan_tiles(near)
    assert [t.n_haves for t in tiles] == [4]


# --------------------------------------------------------------------------- on LocalCluster(2)


def test_partitioned_match_is_the_single_process_table(client, park, single):
    from flowmatch.cluster.match_tasks import match_on_cluster

    out = match_on_cluster(client, park, tile_deg=TILE_DEG, wants_per_task=WANTS_PER_TASK)
    pd.testing.assert_frame_equal(out, single.reset_index(drop=True))  # rows, order, scores, ranks
    pd.testing.assert_frame_equal(_sorted(out), _sorted(single))


def test_partitioned_match_with_top_k_and_min_score(client, park):
    from flowmatch.cluster.match_tasks import match_on_cluster
    from flowmatch.matching.candidates import match

    a = match(park, top_k=2, min_score=0.3)
    b = match_on_cluster(client, park, top_k=2, min_score=0.3, tile_deg=4.0, wants_per_task=60)
    assert 0 < len(a) and a["rank"].max() == 2
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b)


def test_a_worker_killed_mid_run_costs_time_not_results(client, park, single, tmp_path):
    from flowmatch.cluster.match_tasks import match_on_cluster

    marker = tmp_path / "killed"
    pids = set(client.run(os.getpid).values())
    plugin = KillFirstTask(str(marker))
    client.register_plugin(plugin)
    try:
        out = match_on_cluster(client, park, tile_deg=TILE_DEG, wants_per_task=WANTS_PER_TASK)
    finally:
        client.unregister_worker_plugin(plugin.name)
    assert int(marker.read_text()) in pids  # a worker of the cluster died mid-run
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != pids  # and was replaced
    pd.testing.assert_frame_equal(out, single.reset_index(drop=True))


def test_whatif_grid_on_the_cluster_matches_serial(client, tmp_path):
    from whatif_cases import trade_off_park

    from flowmatch.studies.changes import run_changes
    from flowmatch.studies.whatif import run_whatif

    park = trade_off_park()
    grid = ["landfill_tax=0,60", "carbon_price=0,120"]
    serial = run_whatif(park, vary=grid, jobs=1, gap=0.0, runs_dir=tmp_path / "a" / "runs")
    dask = run_whatif(park, vary=grid, gap=0.0, runs_dir=tmp_path / "b" / "runs", client=client)
    assert len(dask) == 5 and (dask["status"] != "error").all()
    timing = ["solve_s", "total_s"]
    pd.testing.assert_frame_equal(serial.drop(columns=timing), dask.drop(columns=timing), rtol=1e-6)
    assert sorted(p.name for p in (tmp_path / "b" / "runs").iterdir()) == sorted(serial["run_folder"].str.split("/").str[1])
    pd.testing.assert_frame_equal(run_changes(serial, tmp_path / "a"), run_changes(dask, tmp_path / "b"))
    for name in serial["run_folder"]:
        a = pd.read_csv(tmp_path / "a" / name / "flows.csv")
        b = pd.read_csv(tmp_path / "b" / name / "flows.csv")
        pd.testing.assert_frame_equal(a, b)


def test_cli_match_on_a_local_cluster(tmp_path, mini_dir, capsys):
    assert main(["match", str(mini_dir), "-o", str(tmp_path / "one"), "-q"]) == 0
    assert main(["match", str(mini_dir), "-o", str(tmp_path / "two"), "-q", "--scheduler", "local:1",
                 "--memory-limit", "1GiB"]) == 0
    out = capsys.readouterr().out
    assert "dask dashboard: http" in out
    from flowmatch.matching.candidates import read_candidates

    a = pd.read_parquet(tmp_path / "one" / "candidates.parquet")
    b = read_candidates(tmp_path / "two" / "candidates.parquet")  # a folder of part files, one per task
    assert len(a) > 0 and (tmp_path / "two" / "candidates.parquet").is_dir()
    pd.testing.assert_frame_equal(_sorted(a), _sorted(b))
    assert np.array_equal(_sorted(a)["rank"], _sorted(b)["rank"])


def test_pareto_points_on_the_cluster_match_serial(client):
    from whatif_cases import trade_off_park

    from flowmatch.studies.pareto import pareto_front

    park = trade_off_park()
    serial = pareto_front(park, between=("cost", "co2"), points=5, gap=0.0)
    dask = pareto_front(park, between=("cost", "co2"), points=5, gap=0.0, client=client)
    assert len(serial) >= 3
    pd.testing.assert_frame_equal(serial.drop(columns="solve_s"), dask.drop(columns="solve_s"), rtol=1e-6)
    assert serial.attrs["notes"] == dask.attrs["notes"]


def test_optimise_sends_independent_blocks_to_the_workers(client, monkeypatch, caplog):
    import logging

    from test_optimise import _two_parks

    import flowmatch.milp.blocks as blocks
    from flowmatch.cluster.commands import blocks_on
    from flowmatch.milp.optimise import optimise

    inv, cands = _two_parks(21)
    monkeypatch.setattr(blocks, "BUNDLE_MAX_INT", -1)  # every component its own block
    monkeypatch.setattr(blocks, "POOL_MIN_INT", 1)  # and every block worth a worker
    here = optimise(inv, candidates=cands, gap=0.0, jobs=1)
    before = sum(client.run(lambda dask_worker: len(dask_worker.data) + len(dask_worker.state.log),
                            ).values())
    with caplog.at_level(logging.INFO, logger="flowmatch.milp.blocks"), blocks_on(client):
        there = optimise(inv, candidates=cands, gap=0.0)
    assert "in 2 processes" in caplog.text
    after = sum(client.run(lambda dask_worker: len(dask_worker.data) + len(dask_worker.state.log),
                           ).values())
    assert after > before  # the workers ran the block solves
    assert there.summary["n_solves"] == here.summary["n_solves"] >= 2
    assert there.summary["objective"]["cost"] == pytest.approx(here.summary["objective"]["cost"], rel=1e-7)


def test_a_running_scheduler_by_address_shares_the_cores(client, park, single):
    """``tcp://HOST:PORT``: a running cluster; each worker gets cores / workers Numba threads."""
    from flowmatch.cluster.match_tasks import match_on_cluster
    from flowmatch.cluster.scheduler import THREADS_ENV, connect

    address = client.scheduler.address
    assert address.startswith("tcp://")
    client.run(lambda: os.environ.pop(THREADS_ENV, None))  # as on a cluster flowmatch did not start
    seen = []
    with connect(address, announce=seen.append) as remote:
        threads = remote.run(lambda: os.environ.get(THREADS_ENV))
        out = match_on_cluster(remote, park, tile_deg=4.0)
    assert set(threads.values()) == {str(max(1, (os.cpu_count() or 1) // 2))}
    pd.testing.assert_frame_equal(out, single.reset_index(drop=True))
    assert client.status == "running"  # joining a cluster never closes it
