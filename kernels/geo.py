"""Great-circle geometry on unit vectors: chord tests before any trigonometry.

A site is a unit vector ``u``; two sites ``d`` km apart on a sphere of radius
``R`` have a chord ``|u1 - u2| = 2 sin(d / 2R)``, so "within ``r`` km" is
``|u1 - u2|^2 <= (2 sin(r / 2R))^2``: six flops and no trigonometry. Only pairs
that pass the chord test get their distance, ``2R asin(|u1 - u2| / 2)``, which
is accurate at every scale (unlike the law of cosines) and needs no special case
at the poles or across the antimeridian.
"""

from __future__ import annotations

import math

from numba import njit

from .config import NJIT, NJIT_INLINE

__all__ = ["EARTH_RADIUS_KM", "CHORD_SLACK", "chord2", "chord2_of_km", "chord2_of_km_array", "km_of_chord2",
           "lon_halfwidth", "great_circle_km"]

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088
#: Relative slack on a chord threshold so the cheap test never rejects a pair
#: the exact distance test would accept (rounding); the exact test decides.
CHORD_SLACK = 1e-9


@njit(**NJIT_INLINE)
def chord2(a, i, b, j):
    """Squared chord between row ``i`` of unit vectors ``a`` and row ``j`` of ``b``."""
    dx = a[i, 0] - b[j, 0]
    dy = a[i, 1] - b[j, 1]
    dz = a[i, 2] - b[j, 2]
    return dx * dx + dy * dy + dz * dz


@njit(**NJIT)
def chord2_of_km(km):
    """Squared chord of an arc of ``km`` (capped at half the circumference), with slack."""
    half = min(km / EARTH_RADIUS_KM, math.pi) / 2.0
    c = 2.0 * math.sin(half)
    return c * c * (1.0 + CHORD_SLACK) + 1e-15


@njit(**NJIT)
def chord2_of_km_array(km, out):
    """:func:`chord2_of_km` of each value of ``km`` into ``out``."""
    for i in range(km.shape[0]):
        out[i] = chord2_of_km(km[i])


@njit(**NJIT_INLINE)
def km_of_chord2(c2):
    """Great-circle km of a squared chord."""
    return 2.0 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(c2) / 2.0))


@njit(**NJIT)
def lon_halfwidth(lat, rho):
    """Largest longitude difference of a point within angle ``rho`` of latitude ``lat``.

    Returns a value ``>= pi`` when the cap around the point holds a pole (every
    longitude is then in reach). Both angles in radians.
    """
    if rho >= math.pi / 2.0 or abs(lat) + rho >= math.pi / 2.0:
        return 4.0
    s = math.sin(rho) / math.cos(lat)
    if s >= 1.0:
        return 4.0
    return math.asin(s) + 1e-9


@njit(**NJIT)
def great_circle_km(a, b, out):
    """Great-circle km between rows of unit vectors ``a`` and ``b`` (same length) into ``out``."""
    for i in range(a.shape[0]):
        out[i] = km_of_chord2(chord2(a, i, b, i))
