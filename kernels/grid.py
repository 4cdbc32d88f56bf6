"""Spatial blocking: latitude bands, sorted by longitude, per target type.

The targets (the side being searched) are sorted by type, then by latitude
band, then by longitude; each type has its own band height (about its typical
reach), so a query scans a few bands and, in each, one or two longitude windows
found by binary search. The window of a query at latitude ``lat`` with angular
reach ``rho`` is ``lon +- asin(sin rho / cos lat)`` (the widest a spherical cap
gets), split in two where it crosses the antimeridian, and the whole band where
the cap holds a pole. What the windows return is a superset of the pairs in
reach; the chord test and the exact distance decide.
"""

from __future__ import annotations

import math
from collections import namedtuple

from numba import njit

from .config import NJIT

__all__ = ["Index", "lower_bound", "upper_bound", "band_of", "band_range", "lon_bounds", "assign_bands"]

#: The target side's blocking: ``type_ptr`` (CSR of rows by type),
#: ``band`` and ``lon`` (each row's band and longitude, the sort keys), ``band_h`` / ``n_bands`` / ``reach_rad`` per type
#: (band height, number of bands, largest reach in radians), ``comp_ptr`` /
#: ``comp_type`` (CSR: target types with a positive type score for each query
#: type) and ``site_ptr`` / ``site_rows`` (CSR of rows by site, for measured
#: distances; one empty row when there are none).
Index = namedtuple("Index", [
    "type_ptr", "band", "lon", "band_h", "n_bands", "reach_rad", "comp_ptr", "comp_type",
    "site_ptr", "site_rows",
])


@njit(**NJIT)
def lower_bound(a, lo, hi, x):
    """First position in ``a[lo:hi]`` (sorted) whose value is not below ``x``; ``hi`` if none."""
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(**NJIT)
def upper_bound(a, lo, hi, x):
    """First position in ``a[lo:hi]`` (sorted) whose value is above ``x``; ``hi`` if none."""
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(**NJIT)
def band_of(lat, height, n_bands):
    """Band of latitude ``lat`` (radians) for bands of ``height`` from the south pole."""
    b = int(math.floor((lat + math.pi / 2.0) / height))
    return min(max(b, 0), n_bands - 1)


@njit(**NJIT)
def band_range(lat, rho, height, n_bands):
    """First and last band holding a point within angle ``rho`` of latitude ``lat``."""
    return band_of(lat - rho, height, n_bands), band_of(lat + rho, height, n_bands)


@njit(**NJIT)
def lon_bounds(lon, lo, hi, a, z):
    """Rows of ``lon[lo:hi]`` (sorted) with ``a <= lon <= z``, as ``(start, stop)``."""
    return lower_bound(lon, lo, hi, a), upper_bound(lon, lo, hi, z)


@njit(**NJIT)
def assign_bands(lat, types, band_h, n_bands, out):
    """Band of each row (``lat`` radians) for its type's band height, into ``out``."""
    for i in range(lat.shape[0]):
        t = types[i]
        out[i] = band_of(lat[i], band_h[t], n_bands[t])
