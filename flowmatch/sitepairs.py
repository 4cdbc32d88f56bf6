"""Distances and infrastructure factors between pairs of sites.

Distances are great-circle kilometres from the sites' coordinates, replaced by
the inventory's ``distances`` table where it names the pair (either direction).
Infrastructure factors come from ``Inventory.infrastructure`` (a what-if
scenario's shared networks): between the named sites, either direction,
transport cost is multiplied by ``transport_cost_factor`` and the fixed cost of
a synergy or link by ``fixed_cost_factor``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .inventory import Inventory

__all__ = ["EARTH_RADIUS_KM", "great_circle_km", "site_pair_km", "site_pair_factors"]

EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Haversine distance in km between points given in WGS84 degrees (arrays broadcast)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlam = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _pair_lookup(table: pd.DataFrame, a: np.ndarray, b: np.ndarray, column: str) -> np.ndarray:
    """Value of ``column`` for each (a, b) pair named in ``table`` (either direction), else NaN."""
    out = np.full(len(a), np.nan)
    if len(table) == 0 or len(a) == 0:
        return out
    t = table[["from_site", "to_site", column]].astype({column: float})
    both = pd.concat([t, t.rename(columns={"from_site": "to_site", "to_site": "from_site"})],
                     ignore_index=True).drop_duplicates(["from_site", "to_site"], keep="first")
    key = pd.MultiIndex.from_arrays([both["from_site"].astype(str), both["to_site"].astype(str)])
    values = pd.Series(both[column].to_numpy(), index=key)
    pos = key.get_indexer(pd.MultiIndex.from_arrays([pd.Index(a, dtype=str), pd.Index(b, dtype=str)]))
    hit = pos >= 0
    out[hit] = values.to_numpy()[pos[hit]]
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
        Measured distance where ``inv.distances`` names the pair, great-circle
        distance otherwise; 0 for a site and itself.
    """
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    sites = inv.sites.set_index("site_id")
    lat = sites["lat"].astype(float)
    lon = sites["lon"].astype(float)
    km = great_circle_km(lat.reindex(a).to_numpy(), lon.reindex(a).to_numpy(),
                         lat.reindex(b).to_numpy(), lon.reindex(b).to_numpy())
    measured = _pair_lookup(inv.distances, a, b, "km")
    km = np.where(np.isnan(measured), km, measured)
    km[a == b] = 0.0
    return km


def site_pair_factors(inv: Inventory, a: np.ndarray, b: np.ndarray,
                      category: str) -> tuple[np.ndarray, np.ndarray]:
    """Infrastructure ``(transport_cost_factor, fixed_cost_factor)`` per site pair.

    Rows of ``inv.infrastructure`` whose ``category`` is empty or equals
    ``category`` apply; pairs no row names get 1.0.
    """
    infra = inv.infrastructure
    n = len(a)
    if infra is None or len(infra) == 0:
        return np.ones(n), np.ones(n)
    cat = infra["category"].astype(str).str.strip().str.lower() if "category" in infra else ""
    rows = infra[(cat == "") | (cat == category) | (cat == "nan")]
    out = []
    for col in ("transport_cost_factor", "fixed_cost_factor"):
        if col not in rows:
            out.append(np.ones(n))
            continue
        f = _pair_lookup(rows.assign(**{col: rows[col].astype(float).fillna(1.0)}),
                         np.asarray(a, dtype=object), np.asarray(b, dtype=object), col)
        out.append(np.where(np.isnan(f), 1.0, f))
    return out[0], out[1]
