"""The matching drivers: best K targets per query, pruned or exhaustive, and pair details.

A *query* is a want (``by_want``) or a have; its *targets* are the other side.
Queries are taken in chunks, the chunks spread over Numba's threads
(``prange``); each query owns one row of the output, a top-K heap
(:mod:`.topk`), so no full score matrix is ever built and no two threads write
the same row.

The pruned search visits, for each query, only the target types with a
positive type score, and in each only the latitude bands and longitude windows
within reach (:mod:`.grid`); each row there passes the chord test before
:func:`.scoring.score_pair` is called. Site pairs with a measured distance are
skipped there and visited through the measured-distance table instead, so a
measured distance shorter than the great circle is never missed. The
exhaustive search calls the same :func:`.scoring.score_pair` on every pair;
both keep exactly the same K (:mod:`.topk` breaks ties by target row).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from flowmatch.config import NJIT, NJIT_PARALLEL

from .geo import EARTH_RADIUS_KM, chord2, lon_halfwidth
from .grid import band_range, lon_bounds, lower_bound
from .scoring import N_SUB, NEG, override_km, score_pair
from .topk import heap_push, heap_sort

__all__ = ["search", "pair_details"]

_LOG_SLACK = 1e-12


@njit(**NJIT)
def _offer(by_want, q, t, queries, targets, rules, ov, thr, min_score, srow, irow, cnt, sub):
    """Score target ``t`` for query ``q`` and offer it to the row's heap; return the new count."""
    if by_want:
        ls = score_pair(t, q, targets, queries, rules, thr, ov, sub)
    else:
        ls = score_pair(q, t, queries, targets, rules, thr, ov, sub)
    if ls == NEG:
        return cnt
    s = math.exp(ls)
    if s < min_score:
        return cnt
    return heap_push(srow, irow, cnt, s, targets.orig[t])


@njit(**NJIT)
def _threshold(min_log, srow, cnt):
    """Log score a pair must reach to enter a row holding ``cnt`` entries."""
    if cnt < srow.shape[0]:
        return min_log
    return max(min_log, math.log(srow[0]) - _LOG_SLACK)


@njit(**NJIT)
def _site_pair_km(by_want, q, t, queries, targets, rules):
    if by_want:
        return override_km(rules, targets.site[t], queries.site[q])
    return override_km(rules, queries.site[q], targets.site[t])


@njit(**NJIT)
def _scan(by_want, q, k0, k1, has_ov, queries, targets, rules, min_log, min_score,
          srow, irow, cnt, sub):
    """Offer rows ``k0:k1`` of the targets that pass the chord test; return the new count."""
    qc2 = queries.chord2[q]
    for t in range(k0, k1):
        if chord2(queries.xyz, q, targets.xyz, t) > qc2:
            continue
        if has_ov and _site_pair_km(by_want, q, t, queries, targets, rules) >= 0.0:
            continue  # visited through the measured distances
        thr = _threshold(min_log, srow, cnt)
        cnt = _offer(by_want, q, t, queries, targets, rules, -1.0, thr, min_score,
                     srow, irow, cnt, sub)
    return cnt


@njit(**NJIT)
def _pruned(by_want, q, queries, targets, rules, index, min_log, min_score, srow, irow, cnt, sub,
            has_ov):
    qlat = queries.lat[q]
    qlon = queries.lon[q]
    qrho = min(queries.max_km[q] / EARTH_RADIUS_KM, math.pi) + 1e-9
    qt = queries.type[q]
    for kk in range(index.comp_ptr[qt], index.comp_ptr[qt + 1]):
        tt = index.comp_type[kk]
        s0 = index.type_ptr[tt]
        s1 = index.type_ptr[tt + 1]
        if s0 == s1:
            continue
        rho = min(qrho, index.reach_rad[tt])
        half = lon_halfwidth(qlat, rho)
        b0, b1 = band_range(qlat, rho, index.band_h[tt], index.n_bands[tt])
        lo = lower_bound(index.band, s0, s1, b0)
        for b in range(b0, b1 + 1):
            hi = lower_bound(index.band, lo, s1, b + 1)
            if lo < hi:
                if half >= math.pi:
                    cnt = _scan(by_want, q, lo, hi, has_ov, queries, targets, rules, min_log,
                                min_score, srow, irow, cnt, sub)
                else:
                    a = qlon - half
                    z = qlon + half
                    if a < -math.pi:
                        k0, k1 = lon_bounds(targets.lon, lo, hi, -math.pi, z)
                        cnt = _scan(by_want, q, k0, k1, has_ov, queries, targets, rules,
                                    min_log, min_score, srow, irow, cnt, sub)
                        a += 2.0 * math.pi
                        z = math.pi
                    elif z > math.pi:
                        k0, k1 = lon_bounds(targets.lon, lo, hi, z - 2.0 * math.pi, math.pi)
                        cnt = _scan(by_want, q, k0, k1, has_ov, queries, targets, rules,
                                    min_log, min_score, srow, irow, cnt, sub)
                        z = math.pi
                    k0, k1 = lon_bounds(targets.lon, lo, hi, a, z)
                    cnt = _scan(by_want, q, k0, k1, has_ov, queries, targets, rules, min_log,
                                min_score, srow, irow, cnt, sub)
            lo = hi
    if has_ov:
        qs = queries.site[q]
        for m in range(rules.ov_ptr[qs], rules.ov_ptr[qs + 1]):
            other = rules.ov_site[m]
            for r in range(index.site_ptr[other], index.site_ptr[other + 1]):
                t = index.site_rows[r]
                ov = _site_pair_km(by_want, q, t, queries, targets, rules)
                thr = _threshold(min_log, srow, cnt)
                cnt = _offer(by_want, q, t, queries, targets, rules, ov, thr, min_score,
                             srow, irow, cnt, sub)
    return cnt


@njit(**NJIT_PARALLEL)
def search(by_want, exhaustive, q_order, chunk, c_start, c_stop, queries, targets, rules, index,
           min_score, top_score, top_idx):
    """Best K targets of each query in chunks ``c_start:c_stop`` of ``q_order``.

    Parameters
    ----------
    by_want : bool
        Queries are wants (targets haves) or the reverse.
    exhaustive : bool
        Score every pair instead of the pruned candidates.
    q_order : ndarray of int64
        The queries to process, chunk ``c`` being ``q_order[c * chunk:(c + 1) * chunk]``.
    chunk, c_start, c_stop : int
    queries, targets : Side
    rules : Rules
    index : Index
        The targets' blocking (unused when ``exhaustive``).
    min_score : float
        Pairs scoring below this are not kept.
    top_score : ndarray of float64, shape (n_queries, K)
    top_idx : ndarray of int64, shape (n_queries, K)
        Output rows (``targets.orig`` of the best K, best first, -1 past the
        last); only the processed queries' rows are written.
    """
    n = q_order.shape[0]
    n_t = targets.type.shape[0]
    min_log = math.log(min_score) - _LOG_SLACK if min_score > 0.0 else NEG
    for c in prange(c_start, c_stop):
        sub = np.empty(N_SUB)
        for ii in range(c * chunk, min(n, (c + 1) * chunk)):
            q = q_order[ii]
            srow = top_score[q]
            irow = top_idx[q]
            irow[:] = -1
            srow[:] = 0.0
            qs = queries.site[q]
            has_ov = rules.ov_ptr[qs + 1] > rules.ov_ptr[qs]
            cnt = 0
            if exhaustive:
                for t in range(n_t):
                    ov = _site_pair_km(by_want, q, t, queries, targets, rules) if has_ov else -1.0
                    thr = _threshold(min_log, srow, cnt)
                    cnt = _offer(by_want, q, t, queries, targets, rules, ov, thr, min_score,
                                 srow, irow, cnt, sub)
            else:
                cnt = _pruned(by_want, q, queries, targets, rules, index, min_log, min_score,
                              srow, irow, cnt, sub, has_ov)
            heap_sort(srow, irow, cnt)


@njit(**NJIT_PARALLEL)
def pair_details(h_idx, w_idx, haves, wants, rules, out):
    """Sub-scores of given pairs: ``out[i]`` = s_type, s_quality, s_quantity,
    s_distance, s_frequency, distance_km, score; NaN sub-scores and score 0
    for a pair that is not a candidate."""
    for i in prange(h_idx.shape[0]):
        h = h_idx[i]
        w = w_idx[i]
        sub = np.empty(N_SUB)
        ov = override_km(rules, haves.site[h], wants.site[w])
        ls = score_pair(h, w, haves, wants, rules, NEG, ov, sub)
        if ls == NEG:
            out[i, :] = np.nan
            out[i, 6] = 0.0
        else:
            for j in range(5):
                out[i, j] = math.exp(sub[j])
            out[i, 5] = sub[5]
            out[i, 6] = math.exp(ls)
