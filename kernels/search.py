"""The matching drivers: best K targets per query, pruned or exhaustive, and pair details.

A *query* is a want (``by_want``) or a have; its *targets* are the other side.
Queries are taken in chunks; the kernels release the GIL, and the caller runs
ranges of chunks on a pool of threads, pulled as threads come free (balanced
without a ``prange``, whose compilation costs more than the rest of the
kernels). Each query owns one row of the output, a top-K heap (:mod:`.topk`),
so no full score matrix is ever built and no two threads write the same row.

The pruned search visits, for each query, only the target types with a
positive type score, and in each only the latitude bands and longitude windows
within reach (:mod:`.grid`); each row there passes the chord test before
:func:`.scoring.score_pair` is called. Site pairs with a measured distance are
skipped there and visited through the measured-distance table instead, so a
measured distance shorter than the great circle is never missed. The
exhaustive search calls the same :func:`.scoring.score_pair` on every pair;
both keep exactly the same K (:mod:`.topk` breaks ties by target row).

A pair whose have lies outside a want's *hard* range (``prop_pack`` column 3,
:func:`.scoring.log_quality`) is never pushed. Numba caches this module's
kernels by this file's stamp only, though they inline :mod:`.scoring`: a change
there must come with a change here, or a cache built before it is reused.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .config import NJIT
from .geo import CHORD_SLACK, EARTH_RADIUS_KM, lon_halfwidth
from .grid import band_of, band_range, lon_bounds, lower_bound
from .scoring import (
    C_C2,
    C_CAT,
    C_KM,
    C_LAT,
    C_LON,
    C_ORIG,
    C_SITE,
    C_TYPE,
    C_X,
    C_Y,
    C_Z,
    K_DIST,
    K_MISSING,
    K_TOL,
    K_WEIGHTS,
    NEG,
    add_quality,
    log_quality,
    override_km,
    score_pair,
)
from .topk import heap_push, heap_sort

__all__ = ["search", "pair_details"]

_LOG_SLACK = 1e-12


@njit(**NJIT)
def _windows(qlat, qlon, rho, s0, s1, tt, index, ranges):
    """Fill ``ranges`` with the row ranges of target type ``tt`` (rows ``s0:s1``) that may
    lie within angle ``rho`` of the query; return how many.

    A range is ``(start, stop, 0, band)``; bands come nearest first (the query's
    own band, then outwards), so the heap fills with near targets early.
    """
    lon = index.lon
    band = index.band
    m = 0
    half = lon_halfwidth(qlat, rho)
    height = index.band_h[tt]
    b0, b1 = band_range(qlat, rho, height, index.n_bands[tt])
    qb = band_of(qlat, height, index.n_bands[tt])
    for step in range(2 * (b1 - b0) + 1):
        b = qb + (step + 1) // 2 if step % 2 else qb - step // 2
        if b < b0 or b > b1:
            continue
        lo = lower_bound(band, s0, s1, b)
        hi = lower_bound(band, lo, s1, b + 1)
        if lo == hi:
            continue
        if half >= math.pi:
            ranges[m, 0], ranges[m, 1], ranges[m, 2], ranges[m, 3] = lo, hi, 0, b
            m += 1
            continue
        a = qlon - half
        z = qlon + half
        if a < -math.pi:  # across the antimeridian: two windows
            k0, k1 = lon_bounds(lon, lo, hi, -math.pi, z)
            ranges[m, 0], ranges[m, 1], ranges[m, 2], ranges[m, 3] = k0, k1, 0, b
            m += 1
            a += 2.0 * math.pi
            z = math.pi
        elif z > math.pi:
            k0, k1 = lon_bounds(lon, lo, hi, -math.pi, z - 2.0 * math.pi)
            ranges[m, 0], ranges[m, 1], ranges[m, 2], ranges[m, 3] = k0, k1, 0, b
            m += 1
            z = math.pi
        k0, k1 = lon_bounds(lon, lo, hi, a, z)
        ranges[m, 0], ranges[m, 1], ranges[m, 2], ranges[m, 3] = k0, k1, 0, b
        m += 1
    return m


@njit(**NJIT)
def _run_chunk(by_want, exhaustive, q_order, i0, i1, hr, wr, value, prop_ptr, prop_pack, log_type,
               log_fit, log_count, consts, ov_ptr, ov_site, ov_km, index, min_log, min_score,
               top_score, top_idx, ranges):
    """Fill the output rows of queries ``q_order[i0:i1]`` (one thread's share).

    Each query's work is a list of row ranges of the targets, visited in one
    loop (so the scoring is compiled once): all rows when ``exhaustive``;
    otherwise, per compatible target type (best type score first), the
    latitude-band and longitude windows in reach (``_windows``), then the
    sites with a measured distance to the query's site (``site_rows[lo:hi]`` of
    the index, kind 1 in column 2).

    Once the row holds K entries, the score to beat bounds the distance: a
    target of a type scoring ``s_t`` can only enter within ``d`` km where
    ``w_type ln s_t + w_distance ln s_distance(d)`` still reaches it (every
    other term is at most 0). A type that cannot reach it is skipped, and each
    window is checked against the current bound before it is scanned, nearest
    bands first. The pruning is exact: the exhaustive search keeps the same K.
    """
    qr = wr if by_want else hr
    tr = hr if by_want else wr
    n_t = tr.shape[0]
    comp_ptr = index.comp_ptr
    comp_type = index.comp_type
    type_ptr = index.type_ptr
    reach_rad = index.reach_rad
    band_h = index.band_h
    site_ptr = index.site_ptr
    site_rows = index.site_rows
    w_type = consts[K_WEIGHTS]
    w_quality = consts[K_WEIGHTS + 1]
    w_dist = consts[K_WEIGHTS + 3]
    log_missing = consts[K_MISSING]
    tolerance = consts[K_TOL]
    for ii in range(i0, i1):
        q = q_order[ii]
        srow = top_score[q]
        irow = top_idx[q]
        irow[:] = -1
        srow[:] = 0.0
        qs = int(qr[q, C_SITE])
        has_ov = ov_ptr[qs + 1] > ov_ptr[qs]
        qt = int(qr[q, C_TYPE])
        qlat = qr[q, C_LAT]
        qx = qr[q, C_X]
        qy = qr[q, C_Y]
        qz = qr[q, C_Z]
        q_rho = min(qr[q, C_KM] / EARTH_RADIUS_KM, math.pi)
        # ln s_distance per radian of arc, for the query's category (<= 0)
        per_rad = w_dist * consts[K_DIST + int(qr[q, C_CAT])] * EARTH_RADIUS_KM
        n_groups = 1 if exhaustive else comp_ptr[qt + 1] - comp_ptr[qt] + 1
        cnt = 0
        thr = min_log
        tt = 0
        for g in range(n_groups):
            m = 0
            bound = 0.0
            if exhaustive:
                ranges[0, 0], ranges[0, 1], ranges[0, 2], ranges[0, 3] = 0, n_t, 0, 0
                m = 1
            elif g < n_groups - 1:
                tt = comp_type[comp_ptr[qt] + g]
                s0 = type_ptr[tt]
                s1 = type_ptr[tt + 1]
                bound = w_type * (log_type[tt, qt] if by_want else log_type[qt, tt])
                if s0 < s1 and bound >= thr:
                    rho = _reach(min(q_rho, reach_rad[tt]), bound, thr, per_rad)
                    m = _windows(qlat, qr[q, C_LON], rho, s0, s1, tt, index, ranges)
            elif has_ov:
                for k in range(ov_ptr[qs], ov_ptr[qs + 1]):
                    other = ov_site[k]
                    ranges[m, 0], ranges[m, 1], ranges[m, 2], ranges[m, 3] = (
                        site_ptr[other], site_ptr[other + 1], 1, 0)
                    m += 1
            for r in range(m):
                via_site = ranges[r, 2] == 1
                c2_max = 4.0
                if not exhaustive and not via_site:
                    rho = _reach(min(q_rho, reach_rad[tt]), bound, thr, per_rad)
                    b = ranges[r, 3]
                    south = b * band_h[tt] - math.pi / 2.0
                    if max(south - qlat, qlat - south - band_h[tt]) > rho:
                        continue  # the whole band is now too far
                    c2_max = 2.0 * math.sin(min(rho, math.pi) / 2.0)
                    c2_max = min(qr[q, C_C2], c2_max * c2_max * (1.0 + CHORD_SLACK) + 1e-15)
                for p in range(ranges[r, 0], ranges[r, 1]):
                    t = site_rows[p] if via_site else p
                    ov = -1.0
                    if has_ov:
                        ts = int(tr[t, C_SITE])
                        if by_want:
                            ov = override_km(ov_ptr, ov_site, ov_km, ts, qs)
                        else:
                            ov = override_km(ov_ptr, ov_site, ov_km, qs, ts)
                    if not exhaustive and not via_site:
                        if ov >= 0.0:
                            continue  # visited through the measured distances
                        dx = tr[t, C_X] - qx
                        dy = tr[t, C_Y] - qy
                        dz = tr[t, C_Z] - qz
                        if dx * dx + dy * dy + dz * dz > c2_max:  # the chord test
                            continue
                    h = t if by_want else q
                    w = q if by_want else t
                    ls = score_pair(h, w, hr, wr, log_type, log_fit, log_count, consts, thr, ov)[0]
                    if ls == NEG:
                        continue
                    lql = log_quality(h, w, value, prop_ptr, prop_pack, log_missing, tolerance)
                    ls = add_quality(ls, lql, w_quality, thr)
                    if ls == NEG:
                        continue
                    s = math.exp(ls)
                    if s < min_score:
                        continue
                    cnt = heap_push(srow, irow, cnt, s, int(tr[t, C_ORIG]))
                    if cnt == srow.shape[0]:
                        thr = max(min_log, math.log(srow[0]) - _LOG_SLACK)
        heap_sort(srow, irow, cnt)


@njit(**NJIT)
def _reach(rho, bound, thr, per_rad):
    """Largest angle (radians, at most ``rho``) at which a target whose other terms add up to
    at most ``bound`` can still reach log score ``thr``; ``per_rad`` is the (negative)
    weighted log distance score per radian. Generous by a hair: pruning must stay exact."""
    if per_rad < 0.0 and thr > NEG:
        rho = min(rho, (bound - thr) / -per_rad * (1.0 + 1e-9) + 1e-12)
    return rho + 1e-9


@njit(**NJIT)
def search(by_want, exhaustive, q_order, chunk, c_start, c_stop, haves, wants, rules, index,
           min_score, top_score, top_idx):
    """Best K targets of each query in chunks ``c_start:c_stop`` of ``q_order``.

    Releases the GIL: callers run disjoint chunk ranges in several threads.

    Parameters
    ----------
    by_want : bool
        Queries are wants and targets haves, or the reverse.
    exhaustive : bool
        Score every pair instead of the pruned candidates.
    q_order : ndarray of int64
        The queries to process, chunk ``c`` being ``q_order[c * chunk:(c + 1) * chunk]``.
    chunk, c_start, c_stop : int
    haves, wants : Side
        The target side sorted for ``index`` (unless ``exhaustive``).
    rules : Rules
    index : Index
        The targets' blocking (unused when ``exhaustive``).
    min_score : float
        Pairs scoring below this are not kept.
    top_score : ndarray of float64, shape (n_queries, K)
    top_idx : ndarray of int64, shape (n_queries, K)
        Output rows (``C_ORIG`` of the best K targets, best first, -1 past the
        last); only the processed queries' rows are written.
    """
    n = q_order.shape[0]
    min_log = math.log(min_score) - _LOG_SLACK if min_score > 0.0 else NEG
    ranges = np.empty((max(2 * (index.n_bands.max() + 1), rules.ov_ptr.shape[0]), 4), dtype=np.int64)
    _run_chunk(by_want, exhaustive, q_order, c_start * chunk, min(n, c_stop * chunk), haves.rows,
               wants.rows, haves.value, wants.prop_ptr, wants.prop_pack, rules.log_type,
               rules.log_fit, rules.log_count, rules.consts, rules.ov_ptr, rules.ov_site,
               rules.ov_km, index, min_log, min_score, top_score, top_idx, ranges)


@njit(**NJIT)
def pair_details(h_idx, w_idx, i0, i1, haves, wants, rules, out):
    """Sub-scores of pairs ``i0:i1``: ``out[i]`` = s_type, s_quality, s_quantity,
    s_distance, s_frequency, distance_km, score; NaN sub-scores and score 0 for
    a pair that is not a candidate. Releases the GIL."""
    hr = haves.rows
    wr = wants.rows
    consts = rules.consts
    for i in range(i0, i1):
        h = h_idx[i]
        w = w_idx[i]
        ov = override_km(rules.ov_ptr, rules.ov_site, rules.ov_km, int(hr[h, C_SITE]),
                         int(wr[w, C_SITE]))
        ls, lt, lq, ld, lf, d = score_pair(h, w, hr, wr, rules.log_type, rules.log_fit,
                                           rules.log_count, consts, NEG, ov)
        lql = NEG
        if ls != NEG:
            lql = log_quality(h, w, haves.value, wants.prop_ptr, wants.prop_pack,
                              consts[K_MISSING], consts[K_TOL])
            ls = add_quality(ls, lql, consts[K_WEIGHTS + 1], NEG)
        if ls == NEG:
            out[i, :] = np.nan
            out[i, 6] = 0.0
        else:
            out[i, 0] = math.exp(lt)
            out[i, 1] = math.exp(lql)
            out[i, 2] = math.exp(lq)
            out[i, 3] = math.exp(ld)
            out[i, 4] = math.exp(lf)
            out[i, 5] = d
            out[i, 6] = math.exp(ls)
