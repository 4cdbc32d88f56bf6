"""``match`` on a Dask cluster: one task per tile and want-type group, merged into the single-process table.

:func:`match_on_cluster` plans the tasks (:mod:`flowmatch.cluster.tiles`),
sends each its slice of the inventory (its wants and the haves within reach;
the sites, knowledge base and parameters go to every worker once), runs the
ordinary :func:`flowmatch.matching.candidates.match` on it, and merges: the rows
are those of the single-process run, in its order (by want in inventory order,
then rank), with the same scores and ranks. A worker that dies costs its tasks
a rerun elsewhere, not a result.

Two options need the whole inventory in one place and run as one task: ``per_have``
(a have's best wants span every tile) and expert rules (forced pairs may lie out of reach).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flowmatch.cluster.scheduler import run_tasks, worker_threads
from flowmatch.cluster.tiles import WANTS_PER_TASK, choose_tile_deg, plan_tiles

if TYPE_CHECKING:
    from flowmatch.inputs.inventory import Inventory

__all__ = ["match_on_cluster", "match_slice", "plan_cluster_tiles", "TASKS_PER_WORKER"]

log = logging.getLogger(__name__)

#: Tiles per worker the default partition aims at (enough to balance uneven tiles).
TASKS_PER_WORKER = 4


def match_slice(base: Inventory, resources: pd.DataFrame, properties: pd.DataFrame,
                top_k: int | None, min_score: float | None, per_have: bool = False) -> pd.DataFrame:
    """The task: :func:`~flowmatch.matching.candidates.match` on ``base`` holding only these resources."""
    from flowmatch.matching.candidates import match

    inv = replace(base, resources=resources, properties=properties)
    # a tile with no pair is no news (the merged table says it once, on the client)
    logging.getLogger("flowmatch.matching.candidates").setLevel(logging.ERROR)
    return match(inv, top_k=top_k, min_score=min_score, per_have=per_have, threads=worker_threads())


def _same(x: Any) -> Any:
    """The task holding what every tile shares (sites, knowledge base, parameters)."""
    return x


def _whole(client: Any, inventory: Inventory, top_k: int | None, min_score: float | None,
           per_have: bool, progress: bool) -> pd.DataFrame:
    base = replace(inventory, tables={})
    [out] = run_tasks(client, match_slice, [(base, inventory.resources, inventory.properties, top_k,
                                             min_score, per_have)], progress=progress, desc="matching")
    return out


def plan_cluster_tiles(client: Any, inventory: Inventory, tile_deg: float | None = None,
                       wants_per_task: int = WANTS_PER_TASK) -> list:
    """The matching tasks of ``inventory`` (:func:`flowmatch.cluster.tiles.plan_tiles`); without a
    ``tile_deg``, the largest tile edge giving :data:`TASKS_PER_WORKER` tasks per worker of
    ``client``'s cluster (:func:`flowmatch.cluster.tiles.choose_tile_deg`)."""
    t0 = time.perf_counter()
    if tile_deg is None:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        tile_deg = choose_tile_deg(inventory, TASKS_PER_WORKER * workers)
    tiles = plan_tiles(inventory, tile_deg=tile_deg, wants_per_task=wants_per_task)
    log.info("%d matching tasks (%g-degree tiles) planned in %.2f s", len(tiles), tile_deg,
             time.perf_counter() - t0)
    return tiles


def match_on_cluster(client: Any, inventory: Inventory, top_k: int | None = None,
                     min_score: float | None = None, per_have: bool = False, progress: bool = False,
                     tile_deg: float | None = None, wants_per_task: int = WANTS_PER_TASK) -> pd.DataFrame:
    """:func:`flowmatch.matching.candidates.match` run as tasks on ``client``'s cluster; the same table.

    Parameters
    ----------
    client : distributed.Client
    inventory : Inventory
    top_k, min_score, per_have
        As for :func:`~flowmatch.matching.candidates.match`.
    progress : bool
        A progress bar over the tasks.
    tile_deg, wants_per_task
        The partition (:func:`flowmatch.cluster.tiles.plan_tiles`); by default the tile edge is
        the largest giving :data:`TASKS_PER_WORKER` tasks per worker
        (:func:`flowmatch.cluster.tiles.choose_tile_deg`).
    """
    from flowmatch.matching.search import check_match_params

    check_match_params(inventory.params, top_k, min_score)  # a user's mistake before any task
    if per_have or len(inventory.rules):
        log.info("matching as one task (%s needs the whole inventory)",
                 "--per-have" if per_have else "the rules table")
        return _whole(client, inventory, top_k, min_score, per_have, progress)
    tiles = plan_cluster_tiles(client, inventory, tile_deg, wants_per_task)
    if not tiles:  # nothing can pair: the ordinary (empty) table, its columns and dtypes
        return _whole(client, inventory, top_k, min_score, per_have, False)
    base = replace(inventory, resources=inventory.resources.iloc[:0], properties=inventory.properties.iloc[:0],
                   tables={})
    # a task, not scattered data: a dead worker's copy is recomputed (scattered data would be lost)
    shared = client.submit(_same, base, pure=False)
    res, props = inventory.resources, inventory.properties
    prop_ids = props["resource_id"].astype(str)
    args = []
    for t in tiles:
        part = res.iloc[t.rows]
        args.append((shared, part, props[prop_ids.isin(part["resource_id"].astype(str))], top_k, min_score))
    frames = run_tasks(client, match_slice, args, progress=progress, desc="matching tiles")
    shared.release()
    return merge_frames(frames, inventory)


def merge_frames(frames: list[pd.DataFrame], inventory: Inventory) -> pd.DataFrame:
    """The tasks' tables as one, in the single-process order: by want (inventory order), then rank."""
    cands = pd.concat(frames, ignore_index=True)
    want_pos = pd.Index(inventory.wants["resource_id"].astype(str)).get_indexer(cands["want_id"])
    order = np.lexsort((cands["rank"].to_numpy(), want_pos))
    cands = cands.iloc[order].reset_index(drop=True)
    if len(cands) == 0:
        log.warning("no have can serve any want within the limits: no candidates")
    return cands
