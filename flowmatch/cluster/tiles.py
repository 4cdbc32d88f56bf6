"""Split matching into tasks by geographic tile and want type, each with the haves within reach.

A task holds the wants of one tile (a ``tile_deg`` x ``tile_deg`` cell of
latitude and longitude) and one group of want types, and every have that could
be a candidate of any of them: a have whose type scores above 0 for one of the
task's want types (:func:`flowmatch.matching.frozen.type_scores`) and whose site
lies within the halo, the largest reach (``max_distance_km``) of the task's
wants, of the tile. The halo test is a lower bound of the great-circle
distance from the site to the tile, so it never leaves a candidate out; a site
with a measured distance (the ``distances`` table) to one of the task's want
sites is always in. Each want lies in exactly one task and sees all its possible
haves there, so its best K, and their ranks (ties broken by inventory order,
which a task keeps), are the single-process run's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from flowmatch.inputs.inventory import Inventory
from flowmatch.kernels.geo import EARTH_RADIUS_KM
from flowmatch.matching.frozen import _reach_km, type_scores

__all__ = ["MatchTile", "plan_tiles", "choose_tile_deg", "TILE_DEG", "TILE_CHOICES", "WANTS_PER_TASK"]

#: Default tile edge, degrees of latitude and longitude (when no worker count is known).
TILE_DEG = 2.0
#: Tile edges :func:`choose_tile_deg` tries, largest first.
TILE_CHOICES = (32.0, 16.0, 8.0, 4.0, 2.0, 1.0, 0.5)
#: Most wants in one task (a tile's want types are grouped up to this many).
WANTS_PER_TASK = 200_000
#: Slack added to every halo, km (rounding of the bound below).
_SLACK_KM = 1e-3


@dataclass(frozen=True)
class MatchTile:
    """One task: ``rows`` are positions in ``inventory.resources`` (ascending), haves and wants."""

    tile: tuple[int, int]
    want_types: tuple[str, ...]
    rows: np.ndarray
    n_wants: int
    n_haves: int


def _min_km_to_tile(lat: np.ndarray, lon: np.ndarray, lat0: float, lat1: float, lon0: float,
                    lon1: float) -> np.ndarray:
    """A lower bound of the great-circle km from each point (radians) to the cell [lat0, lat1] x [lon0, lon1].

    Latitude: the distance is at least R |delta latitude|. Longitude: a point
    outside the cell's longitudes is at least ``asin(cos(lat) sin(dlon))`` from
    the plane of the nearest edge meridian (``dlon`` capped at pi/2).
    """
    dlat = np.maximum(np.maximum(lat0 - lat, lat - lat1), 0.0)
    width = lon1 - lon0
    off = np.mod(lon - lon0, 2 * math.pi)  # 0..2pi east of the west edge
    inside = off <= width
    dlon = np.where(inside, 0.0, np.minimum(off - width, 2 * math.pi - off))
    plane = np.arcsin(np.clip(np.cos(lat) * np.sin(np.minimum(dlon, math.pi / 2)), 0.0, 1.0))
    return EARTH_RADIUS_KM * np.maximum(dlat, plane)


def plan_tiles(inventory: Inventory, tile_deg: float = TILE_DEG,
               wants_per_task: int = WANTS_PER_TASK) -> list[MatchTile]:
    """The matching tasks of ``inventory`` (module docstring); wants with no possible have get none.

    Parameters
    ----------
    inventory : Inventory
    tile_deg : float
        Tile edge in degrees (0 < tile_deg <= 180).
    wants_per_task : int
        Most wants per task; a tile's want types are grouped, in name order, up to this.
    """
    if not 0 < tile_deg <= 180 or wants_per_task < 1:
        raise ValueError("tile_deg must be in (0, 180] and wants_per_task at least 1")
    res = inventory.resources
    sites = inventory.sites.assign(site_id=inventory.sites["site_id"].astype(str)).set_index("site_id")
    site_of = res["site_id"].astype(str)
    lat = np.radians(sites["lat"].reindex(site_of).to_numpy(dtype=float))
    lon = np.radians(sites["lon"].reindex(site_of).to_numpy(dtype=float))
    reach = _reach_km(res, inventory.params)
    is_want = (res["role"] == "want").to_numpy()
    types = res["type"].astype(str).to_numpy()
    have_types = sorted(set(types[~is_want]))
    want_types = sorted(set(types[is_want]))
    if not have_types or not want_types:
        return []
    score, _ = type_scores(have_types, want_types, inventory.taxonomy, inventory.compatibility,
                           inventory.params)
    compatible = score > 0  # (have type, want type)
    h_code = pd.Index(have_types).get_indexer(types)  # -1 for wants' types only
    w_code = pd.Index(want_types).get_indexer(types)
    step = math.radians(tile_deg)
    t_lat = np.floor((lat + math.pi / 2) / step).astype(np.int64)
    t_lon = np.floor((np.mod(lon + math.pi, 2 * math.pi)) / step).astype(np.int64)
    pos = np.arange(len(res))
    haves = pos[~is_want]
    want_site = site_of.to_numpy()
    measured = _measured_pairs(inventory)
    wants = pd.DataFrame({"pos": pos[is_want], "ty": t_lat[is_want], "tx": t_lon[is_want],
                          "type": types[is_want], "code": w_code[is_want]})
    tasks: list[MatchTile] = []
    for (ty, tx), cell in wants.groupby(["ty", "tx"], sort=True):
        lat0 = ty * step - math.pi / 2
        lon0 = tx * step - math.pi
        for group in _type_groups(cell, wants_per_task):
            w_pos = group["pos"].to_numpy()
            codes = np.unique(group["code"].to_numpy())
            ok_type = np.asarray(compatible[:, codes].any(axis=1), dtype=bool)
            cand = haves[(h_code[haves] >= 0) & ok_type[np.maximum(h_code[haves], 0)]]
            if len(cand) == 0:
                continue
            halo = float(reach[w_pos].max()) + _SLACK_KM
            near = _min_km_to_tile(lat[cand], lon[cand], lat0, lat0 + step, lon0, lon0 + step) <= halo
            if measured:
                near |= _has_measured(site_of.to_numpy()[cand], set(want_site[w_pos]), measured)
            h_pos = cand[near]
            if len(h_pos) == 0:
                continue
            tasks.append(MatchTile(tile=(int(ty), int(tx)),
                                   want_types=tuple(sorted(set(group["type"]))),
                                   rows=np.sort(np.concatenate([w_pos, h_pos])),
                                   n_wants=len(w_pos), n_haves=len(h_pos)))
    return tasks


def choose_tile_deg(inventory: Inventory, tasks: int) -> float:
    """The largest tile edge of :data:`TILE_CHOICES` giving at least ``tasks`` non-empty tiles of wants
    (the smallest when none does): few, big tasks cost less overhead and halo, enough keep workers busy."""
    wants = inventory.wants
    sites = inventory.sites.assign(site_id=inventory.sites["site_id"].astype(str)).set_index("site_id")
    site_of = wants["site_id"].astype(str)
    lat = sites["lat"].reindex(site_of).to_numpy(dtype=float)
    lon = sites["lon"].reindex(site_of).to_numpy(dtype=float)
    for deg in TILE_CHOICES:
        cells = np.unique(np.floor((lat + 90.0) / deg) * 1e4 + np.floor(np.mod(lon + 180.0, 360.0) / deg))
        if len(cells) >= tasks:
            return deg
    return TILE_CHOICES[-1]


def _type_groups(cell: pd.DataFrame, most: int) -> list[pd.DataFrame]:
    """The wants of one tile in groups of whole types (name order), up to ``most`` wants a group
    (one type with more wants than that is a group of its own)."""
    groups: list[pd.DataFrame] = []
    current: list[pd.DataFrame] = []
    size = 0
    for _, part in cell.groupby("type", sort=True):
        if current and size + len(part) > most:
            groups.append(pd.concat(current))
            current, size = [], 0
        current.append(part)
        size += len(part)
    if current:
        groups.append(pd.concat(current))
    return groups


def _measured_pairs(inventory: Inventory) -> dict[str, set[str]]:
    """Sites with a measured distance to each site (both directions)."""
    d = inventory.distances
    out: dict[str, set[str]] = {}
    if d is None or len(d) == 0:
        return out
    for a, b in zip(d["from_site"].astype(str), d["to_site"].astype(str), strict=True):
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return out


def _has_measured(have_sites: np.ndarray, want_sites: set[str], measured: dict[str, set[str]]) -> np.ndarray:
    linked: set[str] = set()
    for s in want_sites:
        linked |= measured.get(s, set())
    return np.isin(have_sites, list(linked)) if linked else np.zeros(len(have_sites), dtype=bool)
