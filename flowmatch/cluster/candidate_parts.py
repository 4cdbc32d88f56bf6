"""``match --scheduler``'s candidates as a partitioned Parquet dataset, each part written by its task.

:func:`write_parts_on_cluster` runs the tile tasks of
:mod:`flowmatch.cluster.match_tasks`, but each task writes its own candidates
to ``FOLDER/part-NNNNN.parquet`` (``NNNNN`` the task's number, so a task run
again after its worker died writes the same part) and returns only a small
summary; the client never holds every candidate. Ranks are final in each part:
every want lies in exactly one task, which sees all the haves that could serve
it (:mod:`flowmatch.cluster.tiles`), and a rank is per want. Each part holds
its wants in inventory order, each want's rows by rank; the parts read back in
name order and sorted hold exactly the single-process rows.

``FOLDER`` is ``candidates.parquet/`` inside the command's staging folder
(:mod:`flowmatch.plans.staging`), so it is swapped in with the rest of the
output, whole or not at all. The workers write there, so on a cluster of
several machines the output folder must be on a file system they share.

:func:`flowmatch.matching.candidates.read_candidates` reads a candidates
table given as one file or as such a folder.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from flowmatch.cluster.match_tasks import _same, match_slice, plan_cluster_tiles
from flowmatch.cluster.scheduler import run_tasks
from flowmatch.cluster.tiles import WANTS_PER_TASK
from flowmatch.errors import FlowmatchError
from flowmatch.files import write_table

if TYPE_CHECKING:
    from flowmatch.inputs.inventory import Inventory

__all__ = ["write_parts_on_cluster", "match_to_part", "part_name", "PartsSummary", "write_csv_too"]

log = logging.getLogger(__name__)


def part_name(i: int) -> str:
    """The file name of task ``i``'s part."""
    return f"part-{i:05d}.parquet"


def match_to_part(base: Inventory, resources: pd.DataFrame, properties: pd.DataFrame, top_k: int | None,
                  min_score: float | None, per_have: bool, path: str) -> dict[str, Any]:
    """The task: match this slice, write its candidates to ``path`` (atomically), return a summary."""
    cands = match_slice(base, resources, properties, top_k, min_score, per_have=per_have)
    write_table(cands, path)
    done = cands[cands["programme_done"] > 0] if "programme_done" in cands else cands.iloc[:0]
    return {"rows": len(cands), "wants": set(cands["want_id"].astype(str)), "programme": done,
            "rules_removed": dict(cands.attrs.get("rules_removed") or {})}


class PartsSummary:
    """What the client learns of the candidates the tasks wrote: counts, and the few rows it prints."""

    def __init__(self, summaries: list[dict[str, Any]], folder: Path):
        self.folder = folder
        self.parts = len(summaries)
        self.rows = sum(s["rows"] for s in summaries)
        self.wants = len(set().union(*(s["wants"] for s in summaries))) if summaries else 0
        frames = [s["programme"] for s in summaries if len(s["programme"])]
        self.programme = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        removed: dict[str, int] = {}
        for s in summaries:
            for k, v in s["rules_removed"].items():
                removed[k] = removed.get(k, 0) + int(v)
        self.rules_removed = removed

    def __len__(self) -> int:
        return self.rows


def candidates_folder(folder: str | Path) -> Path:
    """``folder`` made (with its parents) for the candidates' part files; a clear error when it cannot be."""
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FlowmatchError(f"{out}: cannot create the candidates folder ({exc.strerror}); "
                             "write to a folder you can write to (`-o`).") from None
    return out


def write_parts_on_cluster(client: Any, inventory: Inventory, folder: str | Path, top_k: int | None = None,
                           min_score: float | None = None, per_have: bool = False, progress: bool = False,
                           tile_deg: float | None = None,
                           wants_per_task: int = WANTS_PER_TASK) -> PartsSummary:
    """Match on ``client``'s cluster, each task writing its part of ``folder`` (``candidates.parquet/``).

    Parameters are those of :func:`flowmatch.cluster.match_tasks.match_on_cluster`;
    ``folder`` is created (it should be inside an open staging folder). Returns
    a :class:`PartsSummary`; the candidates stay on disk.
    """
    from flowmatch.matching.search import check_match_params

    check_match_params(inventory.params, top_k, min_score)  # a user's mistake before any task
    folder = candidates_folder(folder)
    whole = per_have or len(inventory.rules)
    tiles = []
    if not whole:
        tiles = plan_cluster_tiles(client, inventory, tile_deg, wants_per_task)
    if not tiles:  # one task on the whole inventory (per_have, rules, or nothing can pair: an empty part)
        if whole:
            log.info("matching as one task (%s needs the whole inventory)",
                     "--per-have" if per_have else "the rules table")
        base = replace(inventory, tables={})
        args: list[tuple] = [(base, inventory.resources, inventory.properties, top_k, min_score, per_have,
                              str(folder / part_name(0)))]
        summaries = run_tasks(client, match_to_part, args, progress=progress, desc="matching")
        return _done(summaries, folder)
    base = replace(inventory, resources=inventory.resources.iloc[:0], properties=inventory.properties.iloc[:0],
                   tables={})
    shared = client.submit(_same, base, pure=False)  # a task: recomputed if its worker dies
    res, props = inventory.resources, inventory.properties
    prop_ids = props["resource_id"].astype(str)

    def task(i: int, rows: Any) -> tuple:  # built as it is submitted (run_tasks), not all at once
        part = res.iloc[rows]
        return (shared, part, props[prop_ids.isin(part["resource_id"].astype(str))], top_k, min_score,
                False, str(folder / part_name(i)))

    summaries = run_tasks(client, match_to_part, (task(i, t.rows) for i, t in enumerate(tiles)),
                          progress=progress, desc="matching tiles", total=len(tiles))
    shared.release()
    return _done(summaries, folder)


def _done(summaries: list[dict[str, Any]], folder: Path) -> PartsSummary:
    for p in folder.iterdir():  # a killed worker's half-written temporary file; its task wrote again
        if p.name.startswith(".") and p.is_file():
            p.unlink(missing_ok=True)
    out = PartsSummary(summaries, folder)
    if out.rows == 0:
        log.warning("no have can serve any want within the limits: no candidates")
    else:
        log.info("%d candidates for %d wants in %d parts", out.rows, out.wants, out.parts)
    return out



def write_csv_too(parts: PartsSummary, out: Path, csv: bool) -> list[Path]:
    """``candidates.csv`` beside the parts when ``csv`` (one file: it gathers every candidate on the client)."""
    if not csv:
        return []
    from flowmatch.matching.candidates import read_candidates

    write_table(read_candidates(parts.folder), parts.folder.parent / "candidates.csv")
    return [Path(out) / "candidates.csv"]
