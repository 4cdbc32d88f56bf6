"""The search: validating wrappers around the Numba kernels of ``flowmatch.kernels``.

:func:`search_top_k` finds the best K haves of each want (or wants of each
have), pruned or exhaustive; :func:`pair_scores` gives the sub-scores of any
pairs. :func:`flowmatch.matching.candidates.match` runs them on a frozen
inventory (:mod:`flowmatch.matching.frozen`) and builds the candidates table.
The scoring formulas and the pruning are described in ``docs/matching.md``.
"""

from __future__ import annotations

import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import numba
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from flowmatch.errors import ParamsError
from flowmatch.inputs.params import Params
from flowmatch.inputs.schema import FREQUENCIES
from flowmatch.inputs.units import CATEGORIES
from flowmatch.kernels.geo import EARTH_RADIUS_KM, chord2_of_km_array
from flowmatch.kernels.grid import Index, assign_bands
from flowmatch.kernels.scoring import (
    C_C2,
    C_CAT,
    C_FREQ,
    C_HAZ,
    C_KM,
    C_LAT,
    C_LOGQ,
    C_LON,
    C_MONTHS,
    C_ORIG,
    C_SITE,
    C_TYPE,
    C_X,
    C_Z,
    K_DIST,
    K_MISSING,
    K_TOL,
    K_WEIGHTS,
    N_COLS,
    N_CONSTS,
    Rules,
    Side,
)
from flowmatch.kernels.search import pair_details, search
from flowmatch.matching.frozen import MatchArrays, property_csr

__all__ = ["search_top_k", "pair_scores", "build_rules", "check_match_params", "SUBSCORE_COLUMNS"]

log = logging.getLogger(__name__)

#: Columns of :func:`pair_scores`.
SUBSCORE_COLUMNS = ["s_type", "s_quality", "s_quantity", "s_distance", "s_frequency",
                    "distance_km", "score"]
#: Queries handed to a thread at a time.
CHUNK = 64
#: Smallest band height of the spatial blocking, km.
MIN_BAND_KM = 1.0


# --------------------------------------------------------------------------- validation


def check_match_params(params: Params, top_k: int | None, min_score: float | None) -> Params:
    """``params`` with ``top_k``/``min_score`` applied, all validated (ParamsError)."""
    changes = {k: v for k, v in (("top_k", top_k), ("min_score", min_score)) if v is not None}
    if changes:
        try:
            params = params.replace(**changes)
        except ParamsError as exc:
            raise ParamsError(f"match: {str(exc).removeprefix('override: ')}. Give --top-k an integer of at least 1 and "
                              "--min-score a number between 0 and 1.") from None
    weights = [params.weight_type, params.weight_quality, params.weight_quantity,
               params.weight_distance, params.weight_frequency]
    if sum(weights) <= 0:
        raise ParamsError("match: the score weights (weight_type, weight_quality, weight_quantity, "
                          "weight_distance, weight_frequency) are all 0. Give at least one a "
                          "positive value in params.toml.")
    return params


def _thread_count(threads: int | None) -> int:
    """Worker threads: ``threads`` validated, or all Numba may use."""
    if threads is None:
        return numba.get_num_threads()
    # numba.config fills its settings into globals() at import: invisible to mypy
    most = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or not 1 <= threads <= most:
        raise ParamsError(f"match: threads = {threads!r} is out of range. Give an integer from 1 "
                          f"to {most} (the cores Numba may use; NUMBA_NUM_THREADS raises it).")
    return int(threads)


def _run_parallel(kernel, n_items: int, threads: int, bar: tqdm | None = None,
                  per_task: int = 1) -> None:
    """Call ``kernel(start, stop)`` over ``0:n_items`` in slices on ``threads`` threads.

    The kernels release the GIL, so the threads run in parallel; slices are
    pulled as threads come free. ``bar`` advances by ``per_task`` per item done.
    """
    n_tasks = min(n_items, max(1, threads * 16))
    bounds = np.linspace(0, n_items, n_tasks + 1).round().astype(int)
    slices = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    if threads == 1 or len(slices) == 1:
        for a, b in slices:
            kernel(a, b)
            if bar is not None:
                bar.update((b - a) * per_task)
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="flowmatch-match") as pool:
        futures = {pool.submit(kernel, a, b): b - a for a, b in slices}
        for fut in as_completed(futures):
            fut.result()
            if bar is not None:
                bar.update(futures[fut] * per_task)


# --------------------------------------------------------------------------- kernel inputs


def build_rules(arrays: MatchArrays, params: Params) -> Rules:
    """The scoring constants the kernels read, from the arrays' type scores and ``params``.

    Parameters
    ----------
    arrays : MatchArrays
    params : Params
        Weights, distance scales, quality and frequency parameters.

    Returns
    -------
    Rules
    """
    weights = np.array([params.weight_type, params.weight_quality, params.weight_quantity,
                        params.weight_distance, params.weight_frequency], dtype=float)
    steps = np.abs(np.subtract.outer(np.arange(len(FREQUENCIES)), np.arange(len(FREQUENCIES))))
    fit = 1.0 - (1.0 - params.frequency_mismatch) * steps / (len(FREQUENCIES) - 1)
    scale = np.array([getattr(params, f"distance_scale_{c}_km") for c in CATEGORIES])
    consts = np.empty(N_CONSTS)
    consts[K_WEIGHTS:K_WEIGHTS + 5] = weights / weights.sum()
    consts[K_DIST:K_DIST + len(CATEGORIES)] = -math.log(2.0) / scale
    with np.errstate(divide="ignore"):
        consts[K_MISSING] = np.log(params.quality_missing)
        log_type = np.log(arrays.type_score)
        log_fit = np.log(fit)
        log_count = np.log(np.arange(13, dtype=float))
    consts[K_TOL] = params.quality_tolerance
    return Rules(
        log_type=_kernel_array(log_type, float),
        log_fit=_kernel_array(log_fit, float),
        log_count=log_count,
        consts=consts,
        ov_ptr=_kernel_array(arrays.ov_ptr, np.int64),
        ov_site=_kernel_array(arrays.ov_site, np.int64),
        ov_km=_kernel_array(arrays.ov_km, float),
    )


def _kernel_array(a: np.ndarray, dtype: type) -> np.ndarray:
    """``a`` as a C-contiguous, writable array of ``dtype`` (one compiled signature for all)."""
    return np.require(a, dtype=dtype, requirements=("C", "W"))


def _side(arrays: MatchArrays, role: str) -> Side:
    """The :data:`Side` of the haves (``role="h"``) or the wants (``"w"``)."""
    def get(name: str) -> np.ndarray:
        return getattr(arrays, f"{role}_{name}")

    n = len(get("type"))
    n_props = len(arrays.property_names)
    rows = np.empty((n, N_COLS))
    rows[:, C_X:C_Z + 1] = get("xyz")
    rows[:, C_LAT] = get("lat")
    rows[:, C_LON] = get("lon")
    rows[:, C_KM] = get("max_km")
    chord2 = np.empty(n)
    chord2_of_km_array(_kernel_array(get("max_km"), float), chord2)
    rows[:, C_C2] = chord2
    with np.errstate(divide="ignore"):
        rows[:, C_LOGQ] = np.log(get("qty"))
    for col, name in ((C_TYPE, "type"), (C_CAT, "cat"), (C_SITE, "site"), (C_MONTHS, "months"),
                      (C_FREQ, "freq"), (C_HAZ, "haz")):
        rows[:, col] = get(name)
    rows[:, C_ORIG] = np.arange(n)
    if role == "h":
        return Side(rows=rows, value=_kernel_array(arrays.h_value, float),
                    prop_ptr=np.zeros(n + 1, dtype=np.int64), prop_pack=np.empty((0, 4)))
    return Side(rows=rows, value=np.empty((0, n_props)),
                **_ranges_csr(arrays.w_min, arrays.w_max, arrays.w_hard))


def _ranges_csr(vmin: np.ndarray, vmax: np.ndarray, hard: np.ndarray) -> dict[str, np.ndarray]:
    """The wants' ranges as the CSR of :data:`Side` (``prop_ptr``, ``prop_pack``)."""
    ptr, idx = property_csr(vmin, vmax)
    rows = np.repeat(np.arange(len(vmin)), np.diff(ptr))
    pack = np.stack([idx.astype(float), vmin[rows, idx], vmax[rows, idx],
                     hard[rows, idx].astype(float)], axis=1)
    return {"prop_ptr": ptr, "prop_pack": np.ascontiguousarray(pack.reshape(-1, 4))}


def _permute(side: Side, order: np.ndarray) -> Side:
    """``side`` with its rows in ``order`` (``C_ORIG`` keeps the original row numbers)."""
    n = side.rows.shape[0]
    value = np.ascontiguousarray(side.value[order]) if side.value.shape[0] == n else side.value
    ptr, pack = side.prop_ptr, side.prop_pack
    if len(pack):
        counts = np.diff(ptr)[order]
        starts = ptr[:-1][order]
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        take = np.repeat(starts - ptr[:-1], counts) + np.arange(ptr[-1])
        pack = np.ascontiguousarray(pack[take])
    elif ptr[-1] == 0:
        ptr = np.zeros(n + 1, dtype=np.int64)
    return Side(rows=np.ascontiguousarray(side.rows[order]), value=value, prop_ptr=ptr,
                prop_pack=pack)


def _csr(groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """(ptr, rows) listing the rows of each group, rows ascending within a group."""
    ptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(groups, minlength=n_groups), out=ptr[1:])
    return ptr, np.argsort(groups, kind="stable").astype(np.int64)


def _index(targets: Side, compatible: np.ndarray, n_sites: int, with_sites: bool) -> tuple[Side, Index]:
    """Sort the targets for the pruned search and build their :data:`Index`.

    ``compatible[query_type, target_type]`` is the type score; a query type meets the
    target types that score above 0, best first.
    """
    n_types = compatible.shape[1]
    types = targets.rows[:, C_TYPE].astype(np.int64)
    lat = np.ascontiguousarray(targets.rows[:, C_LAT])
    lon = targets.rows[:, C_LON]
    reach = pd.Series(targets.rows[:, C_KM]).groupby(types)
    median = reach.median().reindex(range(n_types)).fillna(MIN_BAND_KM).to_numpy()
    largest = reach.max().reindex(range(n_types)).fillna(0.0).to_numpy()
    band_h = np.clip(median, MIN_BAND_KM, math.pi * EARTH_RADIUS_KM) / EARTH_RADIUS_KM
    n_bands = (np.floor(math.pi / band_h) + 1).astype(np.int64)
    bands = np.empty(len(types), dtype=np.int64)
    assign_bands(lat, types, band_h, n_bands, bands)
    order = np.lexsort((lon, bands, types))
    sorted_targets = _permute(targets, order)
    type_ptr = np.zeros(n_types + 1, dtype=np.int64)
    np.cumsum(np.bincount(types, minlength=n_types), out=type_ptr[1:])
    comp_q, comp_t = np.nonzero(compatible > 0)
    best_first = np.lexsort((-compatible[comp_q, comp_t], comp_q))
    comp_q, comp_t = comp_q[best_first], comp_t[best_first]
    comp_ptr = np.zeros(compatible.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(comp_q, minlength=compatible.shape[0]), out=comp_ptr[1:])
    if with_sites:
        site_ptr, site_rows = _csr(sorted_targets.rows[:, C_SITE].astype(np.int64), n_sites)
    else:
        site_ptr, site_rows = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    index = Index(
        type_ptr=type_ptr,
        band=np.ascontiguousarray(bands[order]),
        lon=np.ascontiguousarray(lon[order]),
        band_h=band_h,
        n_bands=n_bands,
        reach_rad=np.minimum(largest / EARTH_RADIUS_KM, math.pi) + 1e-9,
        comp_ptr=comp_ptr,
        comp_type=comp_t.astype(np.int64),
        site_ptr=site_ptr,
        site_rows=site_rows,
    )
    return sorted_targets, index


def _unused_index() -> Index:
    """A placeholder :data:`Index` of the right types, for the exhaustive search."""
    ints, floats = np.zeros(1, dtype=np.int64), np.ones(1)
    return Index(type_ptr=ints, band=ints, lon=floats, band_h=floats, n_bands=ints, reach_rad=floats,
                 comp_ptr=ints, comp_type=ints, site_ptr=ints, site_rows=ints)


def _query_order(queries: Side, n_chunks: int) -> np.ndarray:
    """Queries sorted by type and place (neighbours share cached targets), then their chunks
    shuffled so that the slices handed to threads carry similar work."""
    rows = queries.rows
    near = np.lexsort((rows[:, C_LON], np.floor(rows[:, C_LAT] * 100.0), rows[:, C_TYPE]))
    chunks = np.random.default_rng(0).permutation(n_chunks)
    pos = (chunks[:, None] * CHUNK + np.arange(CHUNK)[None, :]).ravel()
    return np.ascontiguousarray(near[pos[pos < len(near)]])


# --------------------------------------------------------------------------- public wrappers


def search_top_k(arrays: MatchArrays, params: Params, top_k: int | None = None,
                 min_score: float | None = None, by: str = "want", exhaustive: bool = False,
                 threads: int | None = None, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Best K haves of each want (``by="want"``) or best K wants of each have (``by="have"``).

    Parameters
    ----------
    arrays : MatchArrays
    params : Params
        Scoring parameters; ``top_k`` and ``min_score`` when not given here.
    top_k : int, optional
        K (at least 1); rows are only as wide as the other side is long.
    min_score : float, optional
        Pairs scoring below this (in [0, 1]) are not kept.
    by : {"want", "have"}
    exhaustive : bool
        Score every pair instead of the pruned candidates (same result, slower).
    threads : int, optional
        Worker threads (default: all Numba may use, ``numba.get_num_threads()``).
    progress : bool
        Show a progress bar (tqdm) on stderr.

    Returns
    -------
    idx : ndarray of int64, shape (n_queries, K)
        Row numbers on the other side, best first, -1 past the last candidate.
    score : ndarray of float64, shape (n_queries, K)
        Their scores (0 past the last candidate).

    Raises
    ------
    ParamsError
        K, min_score, the weights or ``threads`` out of range, or an unknown ``by``.
    """
    if by not in ("want", "have"):
        raise ParamsError(f"match: by = {by!r}; use 'want' or 'have'.")
    params = check_match_params(params, top_k, min_score)
    haves, wants = _side(arrays, "h"), _side(arrays, "w")
    by_want = by == "want"
    queries, targets = (wants, haves) if by_want else (haves, wants)
    n_q, n_t = queries.rows.shape[0], targets.rows.shape[0]
    k = max(1, min(params.top_k, n_t))
    top_idx = np.full((n_q, k), -1, dtype=np.int64)
    top_score = np.zeros((n_q, k))
    if n_q == 0 or n_t == 0:
        return top_idx, top_score
    rules = build_rules(arrays, params)
    compatible = arrays.type_score.T if by_want else arrays.type_score
    with_sites = len(arrays.ov_site) > 0
    if exhaustive:
        index = _unused_index()
    else:
        targets, index = _index(targets, compatible, len(arrays.site_ids), with_sites)
    n_chunks = -(-n_q // CHUNK)
    q_order = _query_order(queries, n_chunks)
    n_threads = _thread_count(threads)
    t0 = time.perf_counter()

    def kernel(c0: int, c1: int) -> None:
        search(by_want, exhaustive, q_order, CHUNK, c0, c1, *((targets, queries) if by_want
               else (queries, targets)), rules, index, float(params.min_score), top_score, top_idx)

    with tqdm(total=n_chunks * CHUNK, unit=by, desc=f"matching {by}s", disable=not progress,
              leave=False, delay=0.5) as bar:
        _run_parallel(kernel, n_chunks, n_threads, bar, per_task=CHUNK)
    log.info("best %d of %d %ss for each of %d %ss (%s) in %.2f s", k, n_t,
             "have" if by_want else "want", n_q, by, "exhaustive" if exhaustive else "pruned",
             time.perf_counter() - t0)
    return top_idx, top_score


def pair_scores(arrays: MatchArrays, params: Params, have_idx: np.ndarray,
                want_idx: np.ndarray, threads: int | None = None) -> pd.DataFrame:
    """Sub-scores, distance and score of the given (have row, want row) pairs.

    Parameters
    ----------
    arrays : MatchArrays
    params : Params
    have_idx, want_idx : array-like of int
        Row numbers into ``arrays``' haves and wants, same length.
    threads : int, optional
        Worker threads (default: all Numba may use).

    Returns
    -------
    pandas.DataFrame
        :data:`SUBSCORE_COLUMNS`; a pair that is not a candidate (type, reach,
        months, hazard or a failed range) has score 0 and NaN sub-scores.
    """
    params = check_match_params(params, None, None)
    h = np.ascontiguousarray(have_idx, dtype=np.int64)
    w = np.ascontiguousarray(want_idx, dtype=np.int64)
    if h.shape != w.shape or h.ndim != 1:
        raise ValueError("have_idx and want_idx must be 1-D and of the same length")
    if len(h) and (h.min() < 0 or h.max() >= arrays.n_haves or w.min() < 0 or w.max() >= arrays.n_wants):
        raise IndexError("a have or want row number is out of range")
    out = np.empty((len(h), len(SUBSCORE_COLUMNS)))
    haves, wants, rules = _side(arrays, "h"), _side(arrays, "w"), build_rules(arrays, params)

    def kernel(i0: int, i1: int) -> None:
        pair_details(h, w, i0, i1, haves, wants, rules, out)

    _run_parallel(kernel, len(h), _thread_count(threads))
    return pd.DataFrame(out, columns=SUBSCORE_COLUMNS)
