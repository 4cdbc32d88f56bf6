"""Scoring one have against one want, in log space, with early exits.

All sub-scores are in (0, 1]; a pair is a candidate only when every one is
positive. The combined score is the weighted geometric mean
``exp(sum_i w_i ln s_i)`` with weights normalised to sum 1, so a zero anywhere
is fatal and a weight is an exponent. Working in logs makes every sub-score
but the distance cheap (table look-ups and differences of precomputed logs),
and since every ``ln s_i <= 0`` a partial sum bounds the final score: a pair is
dropped as soon as it cannot beat the row's current K-th best or the minimum
score. The formulas are in ``docs/matching.md``.

The kernels take the two sides as :data:`Side` tuples (the same type for haves
and for wants, so one compiled search serves both directions) and the scoring
constants as one :data:`Rules` tuple.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from flowmatch.config import NJIT

from .geo import chord2, km_of_chord2

__all__ = ["Side", "Rules", "NEG", "N_SUB", "override_km", "score_pair"]

#: One side (haves or wants) of the matching, one row per resource. A have
#: side leaves ``vmin``/``vmax`` empty (0 rows) and ``prop_ptr`` all 0; a want
#: side leaves ``value`` empty. ``chord2`` is the squared chord of the reach
#: (``geo.chord2_of_km``), ``log_qty`` is ``ln quantity`` (``-inf`` for 0),
#: ``orig`` the row's index before any reordering (the tie-break).
Side = namedtuple("Side", [
    "type", "cat", "site", "lat", "lon", "xyz", "max_km", "chord2", "log_qty", "months",
    "freq", "haz", "orig", "value", "vmin", "vmax", "prop_ptr", "prop_idx",
])

#: Scoring constants: ``log_type[have_type, want_type]``; ``log_fit[f_have, f_want]``
#: the log rhythm fit; ``log_count[n]`` is ``ln n`` and ``popcount[mask]`` the
#: bits set in a 12-bit mask; ``weights`` the five normalised weights in the order
#: of :data:`SUBSCORES`; ``dist_coef[cat]`` is ``-ln 2 / distance_scale``;
#: ``log_missing`` and ``tolerance`` the quality parameters; ``ov_*`` the CSR of
#: measured distances (see ``MatchArrays``).
Rules = namedtuple("Rules", [
    "log_type", "log_fit", "log_count", "popcount", "weights", "dist_coef", "log_missing",
    "tolerance", "ov_ptr", "ov_site", "ov_km",
])

#: Order of the sub-scores in ``weights`` and in a ``sub`` output row (then distance km).
SUBSCORES = ("type", "quality", "quantity", "distance", "frequency")
N_SUB = 6
NEG = -np.inf


@njit(**NJIT)
def override_km(rules, have_site, want_site):
    """Measured km from ``have_site`` to ``want_site``, or -1 when none is given."""
    lo = rules.ov_ptr[have_site]
    end = rules.ov_ptr[have_site + 1]
    hi = end
    while lo < hi:
        mid = (lo + hi) // 2
        if rules.ov_site[mid] < want_site:
            lo = mid + 1
        else:
            hi = mid
    if lo < end and rules.ov_site[lo] == want_site:
        return rules.ov_km[lo]
    return -1.0


@njit(**NJIT)
def log_quality(h, w, haves, wants, rules):
    """``ln s_quality``: each of the want's ranges against the have's value (``-inf`` if failed)."""
    total = 0.0
    for k in range(wants.prop_ptr[w], wants.prop_ptr[w + 1]):
        p = wants.prop_idx[k]
        v = haves.value[h, p]
        if math.isnan(v):
            total += rules.log_missing
            continue
        lo = wants.vmin[w, p]
        hi = wants.vmax[w, p]
        excess = 0.0
        if not math.isnan(lo) and v < lo:
            excess = lo - v
        elif not math.isnan(hi) and v > hi:
            excess = v - hi
        if excess > 0.0:
            scale = 0.0
            if not math.isnan(lo):
                scale = max(scale, abs(lo))
            if not math.isnan(hi):
                scale = max(scale, abs(hi))
                if not math.isnan(lo):
                    scale = max(scale, hi - lo)
            if scale == 0.0:
                scale = 1.0
            f = 1.0 - excess / (rules.tolerance * scale)
            if f <= 0.0:
                return NEG
            total += math.log(f)
    return total


@njit(**NJIT)
def score_pair(h, w, haves, wants, rules, thr, ov, sub):
    """``ln score`` of have ``h`` for want ``w``, or ``-inf`` when not a candidate.

    Parameters
    ----------
    h, w : int
        Rows of ``haves`` and ``wants``.
    haves, wants : Side
    rules : Rules
    thr : float
        Give up (return ``-inf``) as soon as the log score is certainly below this.
    ov : float
        Measured km between the two sites (``override_km``), or -1 for great-circle.
    sub : ndarray of float64, shape (6,)
        Receives ``ln`` of the five sub-scores and the distance in km when the
        pair is a candidate.
    """
    if haves.cat[h] != wants.cat[w]:
        return NEG
    if haves.haz[h] and not wants.haz[w]:
        return NEG
    lt = rules.log_type[haves.type[h], wants.type[w]]
    if lt == NEG:
        return NEG
    mh = haves.months[h]
    mw = wants.months[w]
    both = mh & mw
    if both == 0:
        return NEG
    lf = rules.log_fit[haves.freq[h], wants.freq[w]]
    if lf == NEG:
        return NEG
    lf += rules.log_count[rules.popcount[both]] - 0.5 * (
        rules.log_count[rules.popcount[mh]] + rules.log_count[rules.popcount[mw]])
    qh = haves.log_qty[h]
    qw = wants.log_qty[w]
    if qh == NEG or qw == NEG:
        return NEG
    lq = -0.5 * abs(qh - qw)
    wt = rules.weights
    part = wt[0] * lt + wt[2] * lq + wt[4] * lf
    if part < thr:
        return NEG
    reach = min(haves.max_km[h], wants.max_km[w])
    if ov >= 0.0:
        d = ov
    else:
        c2 = chord2(haves.xyz, h, wants.xyz, w)
        if c2 > min(haves.chord2[h], wants.chord2[w]):
            return NEG
        d = km_of_chord2(c2)
    if d > reach:
        return NEG
    ld = d * rules.dist_coef[haves.cat[h]]
    part += wt[3] * ld
    if part < thr:
        return NEG
    lql = log_quality(h, w, haves, wants, rules)
    if lql == NEG:
        return NEG
    part += wt[1] * lql
    if part < thr:
        return NEG
    sub[0] = lt
    sub[1] = lql
    sub[2] = lq
    sub[3] = ld
    sub[4] = lf
    sub[5] = d
    return part
