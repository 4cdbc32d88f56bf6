"""``match --scheduler`` writes candidates.parquet/ as part files, one per task, with final ranks; every
reader takes the folder as it takes the file (flowmatch.cluster.candidate_parts, plans.folder)."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

pytest.importorskip("distributed")

from cluster_helpers import KillFirstTask  # noqa: E402

from flowmatch.cli import main  # noqa: E402

KEY = ["want_id", "rank", "have_id"]


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEY).reset_index(drop=True)


@pytest.fixture(scope="module")
def park():
    from flowmatch.inputs.inventory import build_inventory
    from flowmatch.inputs.synth import synth_tables

    return build_inventory(synth_tables(2000, seed=5), source="synth")


def test_each_task_writes_its_part_with_final_ranks(client, park, tmp_path):
    from flowmatch.cluster.candidate_parts import write_parts_on_cluster
    from flowmatch.matching.candidates import match, read_candidates

    single = match(park)
    folder = tmp_path / "candidates.parquet"
    parts = write_parts_on_cluster(client, park, folder, tile_deg=2.0, wants_per_task=100)
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == parts.parts > 4 and all(f.endswith(".parquet") and not f.startswith(".") for f in files)
    assert parts.rows == len(single) and parts.wants == single["want_id"].nunique()
    every = [pd.read_parquet(folder / f) for f in files]
    owners = pd.concat([p["want_id"].drop_duplicates() for p in every])
    assert not owners.duplicated().any()  # a want's rows are all in one part, so its ranks are final there
    got = read_candidates(folder)
    pd.testing.assert_frame_equal(_sorted(got), _sorted(single))  # rows, scores and ranks, exactly


def test_top_k_and_min_score_parts_equal_single(client, park, tmp_path):
    from flowmatch.cluster.candidate_parts import write_parts_on_cluster
    from flowmatch.matching.candidates import match, read_candidates

    a = match(park, top_k=2, min_score=0.3)
    write_parts_on_cluster(client, park, tmp_path / "c", top_k=2, min_score=0.3, tile_deg=4.0, wants_per_task=60)
    b = read_candidates(tmp_path / "c")
    assert len(a) and a["rank"].max() == 2
    pd.testing.assert_frame_equal(_sorted(b), _sorted(a))


def test_nothing_can_pair_writes_one_empty_part_with_the_columns(client, park, tmp_path):
    from flowmatch.cluster.candidate_parts import write_parts_on_cluster
    from flowmatch.matching.candidates import match, read_candidates

    a = match(park, min_score=1.0)
    parts = write_parts_on_cluster(client, park, tmp_path / "c", min_score=1.0, tile_deg=2.0)
    b = read_candidates(tmp_path / "c")
    assert parts.rows == len(a) == len(b) == 0
    assert list(b.columns) == list(a.columns)


def test_cli_match_scheduler_writes_a_folder_in_the_manifest(tmp_path, mini_dir, capsys):
    from flowmatch.matching.candidates import read_candidates
    from flowmatch.plans.manifest import read_verified

    assert main(["match", str(mini_dir), "-o", str(tmp_path / "one"), "-q", "--csv"]) == 0
    assert main(["match", str(mini_dir), "-o", str(tmp_path / "two"), "-q", "--scheduler", "local:1",
                 "--memory-limit", "1GiB", "--csv"]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "two" / "candidates.parquet"
    assert folder.is_dir() and "candidates.parquet" in out
    a = pd.read_parquet(tmp_path / "one" / "candidates.parquet")
    assert len(a) > 0
    pd.testing.assert_frame_equal(_sorted(read_candidates(folder)), _sorted(a))
    pd.testing.assert_frame_equal(_sorted(pd.read_csv(tmp_path / "two" / "candidates.csv")),
                                  _sorted(pd.read_csv(tmp_path / "one" / "candidates.csv")))
    files = read_verified(tmp_path / "two")[0]["files"]
    assert any(n.startswith("candidates.parquet/part-") for n in files)  # every part checked by the manifest
    # a part changed behind flowmatch's back is caught like any changed file
    part = sorted(folder.iterdir())[0]
    pd.read_parquet(part).head(0).to_parquet(part, index=False)
    from flowmatch.errors import PlanFolderError

    with pytest.raises(PlanFolderError, match="has changed"):
        read_verified(tmp_path / "two")
    # and the next run replaces the folder whole
    assert main(["match", str(mini_dir), "-o", str(tmp_path / "two"), "-q", "--scheduler", "local:1",
                 "--memory-limit", "1GiB"]) == 0
    read_verified(tmp_path / "two")
    assert not (tmp_path / "two" / "candidates.csv").exists()


def test_plan_folder_reads_candidates_given_as_a_folder(tmp_path, mini_dir):
    from flowmatch.plans.folder import read_plan_folder
    from flowmatch.plans.manifest import RunInfo, read_manifest, write_manifest

    assert main(["optimise", str(mini_dir), "-o", str(tmp_path / "plan")]) == 0
    plan = tmp_path / "plan"
    whole = read_plan_folder(plan)
    assert whole.candidates is not None and len(whole.candidates) >= 2
    # the same plan, its candidates split in part files (one row each here)
    cands = pd.read_parquet(plan / "candidates.parquet")
    (plan / "candidates.parquet").unlink()
    (plan / "candidates.parquet").mkdir()
    for i, lo in enumerate(range(0, len(cands), len(cands) // 3 + 1)):
        cands.iloc[lo:lo + len(cands) // 3 + 1].to_parquet(plan / "candidates.parquet" / f"part-{i:05d}.parquet",
                                                          index=False)
    kind = read_manifest(plan)["kind"]
    write_manifest(plan, kind, RunInfo())
    assert any(n.startswith("candidates.parquet/") for n in json.loads((plan / "manifest.json").read_text())["files"])
    split = read_plan_folder(plan)
    pd.testing.assert_frame_equal(split.candidates, whole.candidates)
    pd.testing.assert_frame_equal(split.flows, whole.flows)
    # the report (and its gap analysis) reads the folder, and carries the parts into the re-sealed plan
    assert main(["report", str(plan)]) == 0
    assert "has no candidates.parquet" not in (plan / "report.html").read_text(encoding="utf-8")
    pd.testing.assert_frame_equal(read_plan_folder(plan).candidates, whole.candidates)


def test_a_worker_killed_mid_run_leaves_the_same_parts(client, park, tmp_path):
    from flowmatch.cluster.candidate_parts import write_parts_on_cluster
    from flowmatch.matching.candidates import read_candidates

    write_parts_on_cluster(client, park, tmp_path / "a", tile_deg=2.0, wants_per_task=100)
    marker = tmp_path / "killed"
    pids = set(client.run(os.getpid).values())
    plugin = KillFirstTask(str(marker), name="kill-first-part-task")
    client.register_plugin(plugin)
    try:
        write_parts_on_cluster(client, park, tmp_path / "b", tile_deg=2.0, wants_per_task=100)
    finally:
        client.unregister_worker_plugin(plugin.name)
    assert int(marker.read_text()) in pids  # a worker died mid-run
    client.wait_for_workers(2, timeout=60)
    a, b = sorted(p.name for p in (tmp_path / "a").iterdir()), sorted(p.name for p in (tmp_path / "b").iterdir())
    assert a == b  # the rerun task wrote its own part again; no temporary file is left
    for name in a:
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / name), pd.read_parquet(tmp_path / "b" / name))
    pd.testing.assert_frame_equal(read_candidates(tmp_path / "a"), read_candidates(tmp_path / "b"))
