"""Candidates: the scored (have, want) pairs ``flowmatch match`` writes.

:func:`match` is the matching stage's entry point: it freezes the inventory
(:func:`flowmatch.matching.frozen.freeze`), runs the search
(:mod:`flowmatch.matching.search`) and returns the candidates table, whose
columns are defined here once (:data:`CANDIDATE_COLUMNS`, the data contract,
then :data:`EXTRA_COLUMNS`). :func:`write_candidates` writes it. The search
and its Numba kernels load on the first :func:`match`, so readers of the
column list (plan folders, reports) do not pay for them.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from flowmatch.files import write_table

if TYPE_CHECKING:
    from flowmatch.inputs.inventory import Inventory
    from flowmatch.matching.frozen import MatchArrays

__all__ = ["match", "write_candidates", "read_candidates", "concat_parts", "CANDIDATE_COLUMNS", "EXTRA_COLUMNS"]

log = logging.getLogger(__name__)

#: The candidates' columns of the data contract (``docs/inventory.md``), in order.
CANDIDATE_COLUMNS = ["have_id", "want_id", "score", "s_type", "s_quality", "s_quantity",
                     "s_distance", "s_frequency", "distance_km", "rank"]
#: Columns :func:`match` adds after ``CANDIDATE_COLUMNS`` (``have_rank`` too with ``per_have``).
EXTRA_COLUMNS = ["category", "have_site", "want_site", "via_subtype", "programme_done"]


def _ranks(group: np.ndarray, score: np.ndarray, other: np.ndarray) -> np.ndarray:
    """1-based rank within each group by score (higher first), ties by ``other`` (lower first)."""
    order = np.lexsort((other, -score, group))
    g = group[order]
    starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    rank = np.empty(len(g), dtype=np.int64)
    rank[order] = np.arange(len(g)) - first + 1
    return rank


def _frame(arrays: MatchArrays, h: np.ndarray, w: np.ndarray, rank: np.ndarray,
           details: pd.DataFrame, have_rank: np.ndarray | None) -> pd.DataFrame:
    """The candidates table of pairs already sorted by want and rank."""
    from flowmatch.matching.search import SUBSCORE_COLUMNS

    cats = pd.Index(arrays.categories, dtype=str)
    cols = {
        "have_id": pd.Series(arrays.have_ids.take(h), dtype=str),
        "want_id": pd.Series(arrays.want_ids.take(w), dtype=str),
        **{c: details[c].to_numpy(dtype=float) for c in ["score", *SUBSCORE_COLUMNS[:6]]},
        "rank": rank.astype(np.int64),
        "category": pd.Series(cats.take(arrays.w_cat[w]), dtype=str),
        "have_site": pd.Series(arrays.site_ids.take(arrays.h_site[h]), dtype=str),
        "want_site": pd.Series(arrays.site_ids.take(arrays.w_site[w]), dtype=str),
        "via_subtype": _via(arrays, h, w),
        "programme_done": _done(arrays, h, w),
    }
    extra = []
    if have_rank is not None:
        cols["have_rank"] = have_rank.astype(np.int64)
        extra = ["have_rank"]
    return pd.DataFrame(cols)[CANDIDATE_COLUMNS + EXTRA_COLUMNS + extra]


def _via(arrays: MatchArrays, h: np.ndarray, w: np.ndarray) -> pd.Series:
    """The sub-type each pair's type score came through (:mod:`flowmatch.matching.subtypes`), else ``""``."""
    if arrays.type_via is None or len(h) == 0:
        return pd.Series([""] * len(h), dtype=str)
    return pd.Series(arrays.type_via[arrays.h_type[h], arrays.w_type[w]], dtype=str)


def _done(arrays: MatchArrays, h: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Synergies of each pair's types the programme completed (the ``evidence`` table), else 0."""
    if arrays.type_done is None or len(h) == 0:
        return np.zeros(len(h), dtype=np.int64)
    return np.asarray(arrays.type_done[arrays.h_type[h], arrays.w_type[w]], dtype=np.int64)


def match(inventory: Inventory, top_k: int | None = None, min_score: float | None = None,
          per_have: bool = False, threads: int | None = None, progress: bool = False,
          exhaustive: bool = False, evidence: pd.DataFrame | None = None,
          timings: dict[str, float] | None = None) -> pd.DataFrame:
    """Score haves against wants and keep each want's best K haves.

    Parameters
    ----------
    inventory : Inventory
    top_k : int, optional
        Candidates kept per want (default ``params.top_k``).
    min_score : float, optional
        Candidates scoring below this are dropped (default ``params.min_score``).
    per_have : bool
        Also keep each have's best K wants (the union of both lists is returned;
        ``have_rank`` then ranks the wants of each have among the rows returned).
    threads : int, optional
        Numba threads (default: all Numba may use).
    progress : bool
        Show a progress bar on stderr.
    exhaustive : bool
        Score every pair instead of the pruned candidates (same result; for tests).
    evidence : pandas.DataFrame, optional
        A programme's record (``have_type, want_type, completed, abandoned``;
        :mod:`flowmatch.inputs.evidence`) used instead of the inventory's ``evidence`` table.
    timings : dict, optional
        Filled with the seconds of each step: ``freeze`` (the arrays), ``search``
        (the kernels' top-K searches) and ``candidates`` (sub-scores, the table,
        expert rules); ``flowmatch bench`` reads them.

    Returns
    -------
    pandas.DataFrame
        :data:`CANDIDATE_COLUMNS` then ``category, have_site,
        want_site, via_subtype, programme_done`` (and ``have_rank``), sorted by want (inventory order) and
        rank. ``rank`` 1 is the best have of the want among the rows returned.
        Empty, with the same columns and dtypes, when no pair is possible.

    Raises
    ------
    ParamsError
        K, min_score, the weights or ``threads`` out of range.
    """
    from flowmatch.matching.frozen import freeze
    from flowmatch.matching.search import check_match_params, pair_scores, search_top_k

    params = check_match_params(inventory.params, top_k, min_score)
    if evidence is not None:
        from dataclasses import replace

        from flowmatch.inputs.evidence import normalise_evidence

        inventory = replace(inventory, evidence=normalise_evidence(evidence))
    steps = {} if timings is None else timings
    t0 = time.perf_counter()
    arrays = freeze(inventory)
    steps["freeze"] = time.perf_counter() - t0
    log.info("froze %d haves and %d wants in %.2f s", arrays.n_haves, arrays.n_wants, steps["freeze"])
    t0 = time.perf_counter()
    idx, _ = search_top_k(arrays, params, by="want", exhaustive=exhaustive, threads=threads,
                          progress=progress)
    w, slot = np.nonzero(idx >= 0)  # by want, then rank
    h = idx[w, slot]
    rank, have_rank = slot + 1, None
    if per_have:
        idx_h, _ = search_top_k(arrays, params, by="have", exhaustive=exhaustive, threads=threads,
                                progress=progress)
        h2, slot2 = np.nonzero(idx_h >= 0)
        n_h = max(1, arrays.n_haves)
        key = np.unique(np.concatenate([w * n_h + h, idx_h[h2, slot2] * n_h + h2]))
        w, h = key // n_h, key % n_h
    steps["search"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    details = pair_scores(arrays, params, h, w, threads=threads)
    if per_have:
        score = details["score"].to_numpy()
        rank, have_rank = _ranks(w, score, h), _ranks(h, score, w)
        order = np.lexsort((rank, w))
        h, w, rank, have_rank = h[order], w[order], rank[order], have_rank[order]
        details = details.iloc[order]
    cands = _frame(arrays, h, w, rank, details, have_rank)
    if len(inventory.rules):  # expert rules: forbidden pairs out, forced pairs in
        from flowmatch.matching.rules import apply_rules

        cands = apply_rules(cands, inventory, arrays, params, threads=threads)
    steps["candidates"] = time.perf_counter() - t0
    if len(cands) == 0:
        log.warning("no have can serve any want within the limits: no candidates")
    else:
        log.info("%d candidates for %d of %d wants", len(cands), cands["want_id"].nunique(),
                 arrays.n_wants)
    return cands


def write_candidates(cands: pd.DataFrame, out: str | Path, csv: bool = False) -> list[Path]:
    """Write ``OUT/candidates.parquet`` (and ``candidates.csv`` when ``csv``)."""
    from flowmatch.plans.staging import stage

    out = Path(out)
    names = ["candidates.parquet", *(["candidates.csv"] if csv else [])]
    with stage(out, "candidates") as st:  # the folder is written as one (docs/plan-folder.md)
        for n in names:
            write_table(cands, st.path / n)
    return [out / n for n in names]


def read_candidates(path: str | Path) -> pd.DataFrame:
    """A candidates table from ``path``: one Parquet file, or a folder of part files read in name order.

    ``match --scheduler`` writes ``candidates.parquet/`` as such a folder
    (:mod:`flowmatch.cluster.candidate_parts`).
    """
    from flowmatch.errors import FlowmatchError

    path = Path(path)
    if path.is_dir():
        parts = sorted(p for p in path.iterdir() if p.suffix == ".parquet" and not p.name.startswith("."))
        if not parts:
            raise FlowmatchError(f"{path}: is a folder with no .parquet part files; write the candidates "
                                 "again (`flowmatch match INVENTORY -o OUT`).")
        return concat_parts([pd.read_parquet(p) for p in parts])
    return pd.read_parquet(path)


def concat_parts(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Part tables as one, in the order given (an empty part only gives its columns)."""
    full = [f for f in frames if len(f)]
    if not full:
        return frames[0].reset_index(drop=True)
    return pd.concat(full, ignore_index=True)
