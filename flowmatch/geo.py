"""Distances on the Earth: one great-circle formula for every stage.

Sites are unit vectors (:func:`unit_vectors`); the distance between two is the
chord formula of the kernel :func:`flowmatch.kernels.geo.great_circle_km`, the
one definition matching's kernels use too. :func:`great_circle_km` wraps it for
points in degrees. :func:`site_pair_km` and :func:`site_pairs_within` measure
given pairs of an inventory's sites (the cascades' pipes and heat links, milk
rounds), taking the inventory's ``distances`` table where it names the pair (a
row serves the reverse pair too unless that is given itself). Matching scores
pairs in bulk with its own kernels; this is for the pairs a model part prices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from flowmatch.inputs.inventory import Inventory

__all__ = ["great_circle_km", "unit_vectors", "unit_km", "chord_of_km", "site_pair_km",
           "site_pairs_within"]


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Unit vectors, shape (n, 3), of points given in radians."""
    c = np.cos(lat)
    return np.ascontiguousarray(np.stack([c * np.cos(lon), c * np.sin(lon), np.sin(lat)], axis=1))


def unit_km(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Great-circle km between rows of unit vectors ``u`` and ``v`` (same shape (n, 3))."""
    from flowmatch.kernels.geo import great_circle_km as kernel  # loads Numba: only when needed

    u = np.ascontiguousarray(u, dtype=float)
    v = np.ascontiguousarray(v, dtype=float)
    if u.shape != v.shape or u.ndim != 2 or u.shape[1] != 3:
        raise ValueError(f"unit vectors of shape (n, 3) expected, got {u.shape} and {v.shape}")
    out = np.empty(len(u))
    kernel(u, v, out)
    return out


def great_circle_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (broadcast)."""
    a, b, c, d = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (lat1, lon1, lat2, lon2)))
    shape = a.shape
    u = unit_vectors(np.radians(a.ravel()), np.radians(b.ravel()))
    v = unit_vectors(np.radians(c.ravel()), np.radians(d.ravel()))
    return unit_km(u, v).reshape(shape)


def chord_of_km(km: float) -> float:
    """Chord between unit vectors ``km`` apart (capped at half the circumference), with slack."""
    from flowmatch.kernels.geo import CHORD_SLACK, EARTH_RADIUS_KM

    return 2.0 * float(np.sin(min(km / EARTH_RADIUS_KM, np.pi) / 2.0)) * (1 + CHORD_SLACK) + 1e-12


def _measured(dist: pd.DataFrame, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Measured km for each (a, b) pair named in ``dist`` (either direction), else NaN."""
    out = np.full(len(a), np.nan)
    if len(dist) == 0 or len(a) == 0:
        return out
    t = dist[["from_site", "to_site", "km"]]
    both = pd.concat([t, t.rename(columns={"from_site": "to_site", "to_site": "from_site"})],
                     ignore_index=True).drop_duplicates(["from_site", "to_site"], keep="first")
    key = pd.MultiIndex.from_arrays([both["from_site"].astype(str), both["to_site"].astype(str)])
    pos = key.get_indexer(pd.MultiIndex.from_arrays([pd.Index(a, dtype=str), pd.Index(b, dtype=str)]))
    hit = pos >= 0
    out[hit] = both["km"].to_numpy(dtype=float)[pos[hit]]
    return out


def _site_units(inv: Inventory) -> tuple[pd.Index, np.ndarray]:
    """The inventory's site ids as an index and their unit vectors, built once per inventory.

    Kept on the (frozen) inventory beside its ``sites`` table, so the many
    small searches of a large park's model (one per heat part, per milk-round
    type group) do not each rebuild them from every site.
    """
    memo = inv.__dict__.get("_site_units_memo")
    if memo is None or memo[0] is not inv.sites:
        table = inv.sites
        units = unit_vectors(np.radians(table["lat"].to_numpy(dtype=float)),
                             np.radians(table["lon"].to_numpy(dtype=float)))
        memo = (table, pd.Index(table["site_id"]), units)
        object.__setattr__(inv, "_site_units_memo", memo)
    return memo[1], memo[2]


def _unit(inv: Inventory, sites: np.ndarray) -> np.ndarray:
    index, units = _site_units(inv)
    return units[index.get_indexer(sites)]


def site_pairs_within(inv: Inventory, a: np.ndarray, b: np.ndarray,
                      max_km: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of a site in ``a`` and a site in ``b`` at most ``max_km`` apart.

    A k-d tree on the sites' unit vectors finds the pairs by chord length, so
    only near pairs are ever measured; pairs the ``distances`` table names are
    taken at their measured distance.

    Parameters
    ----------
    inv : Inventory
    a, b : array of str
        Site ids (each without repeats).
    max_km : float

    Returns
    -------
    ia, ib, km : ndarray
        Positions in ``a`` and ``b`` and the distance of each pair found.
    """
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    if len(a) == 0 or len(b) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    chord = chord_of_km(max_km)
    near = cKDTree(_unit(inv, a)).sparse_distance_matrix(cKDTree(_unit(inv, b)), chord,
                                                         output_type="coo_matrix")
    ia, ib = near.row.astype(np.int64), near.col.astype(np.int64)
    dist = inv.distances
    if len(dist):  # measured pairs count whatever their great-circle distance
        pa, pb = pd.Index(a, dtype=str), pd.Index(b, dtype=str)
        fa, fb = dist["from_site"].astype(str), dist["to_site"].astype(str)
        ma = np.concatenate([pa.get_indexer(fa), pa.get_indexer(fb)])
        mb = np.concatenate([pb.get_indexer(fb), pb.get_indexer(fa)])
        hit = (ma >= 0) & (mb >= 0)
        ia, ib = np.concatenate([ia, ma[hit]]), np.concatenate([ib, mb[hit]])
        key = np.unique(ia * len(b) + ib)
        ia, ib = key // len(b), key % len(b)
    km = site_pair_km(inv, a[ia], b[ib])
    keep = km <= max_km + 1e-9
    return ia[keep], ib[keep], km[keep]


def site_pair_km(inv: Inventory, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in km from each site in ``a`` to the site at the same position in ``b``.

    Parameters
    ----------
    inv : Inventory
    a, b : array of str
        Site ids, same length.

    Returns
    -------
    ndarray of float
        Measured where ``inv.distances`` names the pair, great-circle
        otherwise; 0 between a site and itself.
    """
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    u = _unit(inv, np.concatenate([a, b]))
    km = unit_km(u[: len(a)], u[len(a):]) if len(a) else np.zeros(0)
    measured = _measured(inv.distances, a, b)
    km = np.where(np.isnan(measured), km, measured)
    km[a == b] = 0.0
    return km
