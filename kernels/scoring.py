"""Scoring one have against one want, in log space, with early exits.

All sub-scores are in (0, 1]; a pair is a candidate only when every one is
positive. The combined score is the weighted geometric mean
``exp(sum_i w_i ln s_i)`` with weights normalised to sum 1, so a zero anywhere
is fatal and a weight is an exponent. Working in logs makes every sub-score
but the distance cheap (table look-ups and differences of precomputed logs),
and since every ``ln s_i <= 0`` a partial sum bounds the final score: a pair is
dropped as soon as it cannot beat the row's current K-th best or the minimum
score. The formulas are in ``docs/matching.md``.

Each side (haves, wants) is a :data:`Side`: one float64 row of
:data:`N_COLS` columns per resource (the ``C_*`` constants), so a pair reads
two cache lines, not one per attribute, plus the property matrices. The hot
functions take plain arrays, never tuples: Numba reference-counts every array
it takes out of a tuple, which costs more than the scoring itself.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from .config import NJIT_INLINE
from .geo import km_of_chord2

__all__ = ["Side", "Rules", "NEG", "MIN_LOG_SCORE", "N_COLS", "N_CONSTS", "override_km", "score_pair",
           "log_quality", "add_quality", "C_X", "C_Y", "C_Z", "C_LAT", "C_LON", "C_KM", "C_C2", "C_LOGQ", "C_TYPE",
           "C_CAT", "C_SITE", "C_MONTHS", "C_FREQ", "C_HAZ", "C_ORIG", "K_WEIGHTS", "K_DIST",
           "K_MISSING", "K_TOL"]

# Columns of a side's ``rows`` (integers are stored exactly as floats). The unit
# vector comes first so ``geo.chord2`` reads it directly.
C_X, C_Y, C_Z = 0, 1, 2  #: unit vector of the site
C_LAT, C_LON = 3, 4  #: radians
C_KM = 5  #: reach, km
C_C2 = 6  #: squared chord of the reach (``geo.chord2_of_km``)
C_LOGQ = 7  #: ln quantity (-inf for 0)
C_TYPE = 8  #: type index
C_CAT = 9  #: category index
C_SITE = 10  #: site index
C_MONTHS = 11  #: 12-bit month mask
C_FREQ = 12  #: frequency index
C_HAZ = 13  #: 1 for a hazardous have / a want licensed for hazardous input
C_ORIG = 14  #: row number before any reordering (the tie-break)
N_COLS = 15

# Positions in ``Rules.consts``.
K_WEIGHTS = 0  #: five normalised weights, in the order of SUBSCORES
K_DIST = 5  #: -ln 2 / distance scale, one per category
K_MISSING = 8  #: ln quality_missing
K_TOL = 9  #: quality_tolerance
N_CONSTS = 10

#: One side of the matching: ``rows`` (n, N_COLS); ``value`` (n, n_properties)
#: for haves, empty for wants; for wants the ranges as CSR, ``prop_ptr`` (n + 1)
#: into ``prop_pack`` rows ``(property, min, max, hard)`` (NaN for an open side;
#: ``hard`` 1.0 when a value outside the range excludes the pair, 0.0 when it
#: only lowers the score); all-zero ``prop_ptr`` and an empty ``prop_pack`` for haves.
Side = namedtuple("Side", ["rows", "value", "prop_ptr", "prop_pack"])

#: Scoring tables: ``log_type[have_type, want_type]``, ``log_fit[f_have, f_want]``
#: (rhythm fit), ``log_count[n] = ln n`` for 0..12, ``consts`` (the ``K_*``
#: positions) and the CSR of measured distances ``ov_ptr, ov_site, ov_km``.
Rules = namedtuple("Rules", ["log_type", "log_fit", "log_count", "consts", "ov_ptr", "ov_site",
                             "ov_km"])

#: Order of the sub-scores in the weights.
SUBSCORES = ("type", "quality", "quantity", "distance", "frequency")
NEG = -np.inf
#: A pair whose log score is below this (a score under 1e-304, which would print
#: as 0) is not a candidate.
MIN_LOG_SCORE = -700.0


@njit(**NJIT_INLINE)
def override_km(ov_ptr, ov_site, ov_km, have_site, want_site):
    """Measured km from ``have_site`` to ``want_site``, or -1 when none is given."""
    lo = ov_ptr[have_site]
    end = ov_ptr[have_site + 1]
    hi = end
    while lo < hi:
        mid = (lo + hi) // 2
        if ov_site[mid] < want_site:
            lo = mid + 1
        else:
            hi = mid
    km = -1.0
    if lo < end and ov_site[lo] == want_site:
        km = ov_km[lo]
    return km


@njit(**NJIT_INLINE)
def _bits(m):
    n = 0
    while m:
        m &= m - 1
        n += 1
    return n


# Numba increfs every array a function takes on entry and decrefs it after its
# last use; the pair is only removed when both fall in one basic block, and
# otherwise costs two atomic operations per array per pair. So the per-pair
# functions load everything they need from their arrays unconditionally at the
# top and then work on scalars, return tuples instead of writing arrays, and
# leave the (rare) property loop to a function of its own.


@njit(**NJIT_INLINE)
def log_quality(h, w, value, prop_ptr, prop_pack, log_missing, tolerance):
    """``ln s_quality``: want ``w``'s ranges (``prop_pack`` rows ``property, min, max, hard`` from
    ``prop_ptr[w]``) against have ``h``'s ``value`` row; ``-inf`` if a value is too far out, or
    out at all of a hard range (a missing value scores ``log_missing`` either way)."""
    total = 0.0
    for k in range(prop_ptr[w], prop_ptr[w + 1]):
        v = value[h, int(prop_pack[k, 0])]
        lo = prop_pack[k, 1]
        hi = prop_pack[k, 2]
        if math.isnan(v):
            total += log_missing
            continue
        excess = 0.0
        if not math.isnan(lo) and v < lo:
            excess = lo - v
        elif not math.isnan(hi) and v > hi:
            excess = v - hi
        if excess > 0.0 and prop_pack[k, 3] != 0.0:
            return NEG
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
            f = 1.0 - excess / (tolerance * scale)
            total += math.log(f) if f > 0.0 else NEG
    return total


@njit(**NJIT_INLINE)
def score_pair(h, w, hr, wr, log_type, log_fit, log_count, consts, thr, ov):
    """Everything but quality of have ``h`` for want ``w``.

    Parameters
    ----------
    h, w : int
        Rows of the haves' ``hr`` and the wants' ``wr`` (``Side.rows``).
    log_type, log_fit, log_count, consts : ndarray
        From :data:`Rules`.
    thr : float
        Give up as soon as the log score is certainly below this.
    ov : float
        Measured km between the two sites (``override_km``), or -1 for great-circle.

    Returns
    -------
    tuple of float
        ``(partial, ln s_type, ln s_quantity, ln s_distance, ln s_frequency, km)``
        where ``partial`` is the weighted sum of the four logs, ``-inf`` when the
        pair is not a candidate or cannot reach ``thr``.
    """
    cat = wr[w, C_CAT]
    same_cat = hr[h, C_CAT] == cat
    haz_ok = hr[h, C_HAZ] <= wr[w, C_HAZ]
    lt = log_type[int(hr[h, C_TYPE]), int(wr[w, C_TYPE])]
    mh = int(hr[h, C_MONTHS])
    mw = int(wr[w, C_MONTHS])
    both = mh & mw
    lf = log_fit[int(hr[h, C_FREQ]), int(wr[w, C_FREQ])] + log_count[_bits(both)] - 0.5 * (
        log_count[_bits(mh)] + log_count[_bits(mw)])
    qh = hr[h, C_LOGQ]
    qw = wr[w, C_LOGQ]
    reach = min(hr[h, C_KM], wr[w, C_KM])
    c2_max = min(hr[h, C_C2], wr[w, C_C2])
    dx = hr[h, C_X] - wr[w, C_X]
    dy = hr[h, C_Y] - wr[w, C_Y]
    dz = hr[h, C_Z] - wr[w, C_Z]
    w_type = consts[K_WEIGHTS]
    w_qty = consts[K_WEIGHTS + 2]
    w_dist = consts[K_WEIGHTS + 3]
    w_freq = consts[K_WEIGHTS + 4]
    coef = consts[K_DIST + min(max(int(cat), 0), 2)]
    part = NEG
    lq = NEG
    ld = NEG
    d = np.inf
    if same_cat and haz_ok and lt != NEG and both != 0 and lf != NEG and qh != NEG and qw != NEG:
        lq = -0.5 * abs(qh - qw)
        part = w_type * lt + w_qty * lq + w_freq * lf
        if part >= thr:
            if ov >= 0.0:
                d = ov
            else:
                c2 = dx * dx + dy * dy + dz * dz
                if c2 <= c2_max:
                    d = km_of_chord2(c2)
            if d <= reach:
                ld = d * coef
                part += w_dist * ld
            else:
                part = NEG
        if part < thr:
            part = NEG
    return part, lt, lq, ld, lf, d


@njit(**NJIT_INLINE)
def add_quality(part, lql, w_quality, thr):
    """The log score once ``ln s_quality`` is added; ``-inf`` if failed, below ``thr`` or
    below :data:`MIN_LOG_SCORE`."""
    out = NEG
    if lql != NEG:
        out = part + w_quality * lql
        if out < thr or out < MIN_LOG_SCORE:
            out = NEG
    return out
