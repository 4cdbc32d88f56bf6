"""Distances between given pairs of sites (the cascades' pipes and heat links).

Great-circle kilometres from the sites' coordinates (the chord formula of
:mod:`flowmatch.kernels.geo`, on :func:`flowmatch.frozen.unit_vectors`),
replaced by the inventory's ``distances`` table where it names the pair; a
row serves the reverse pair too unless that is given itself. Matching scores
pairs in bulk with its own kernels; this is for the few pairs a model part
prices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .frozen import unit_vectors
from .inventory import Inventory

__all__ = ["site_pair_km"]


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
    from .kernels.geo import EARTH_RADIUS_KM  # loads Numba: only when distances are needed

    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    sites = inv.sites.set_index("site_id")
    pos = sites.index.get_indexer(np.concatenate([a, b]))
    u = unit_vectors(np.radians(sites["lat"].to_numpy(dtype=float)),
                     np.radians(sites["lon"].to_numpy(dtype=float)))[pos]
    chord = np.linalg.norm(u[: len(a)] - u[len(a):], axis=1)
    km = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, chord / 2.0))
    measured = _measured(inv.distances, a, b)
    km = np.where(np.isnan(measured), km, measured)
    km[a == b] = 0.0
    return km
