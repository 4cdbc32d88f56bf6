"""Make ``flowmatch/data/basemap.geojson``, the report map's offline base layer (run once, by hand).

Source: Natural Earth 1:50m (public domain, https://www.naturalearthdata.com/about/terms-of-use/),
as shipped in Debian's ``r-cran-rnaturalearthdata`` 0.1.0 (CC0): ``countries50`` (country
outlines, coastlines included) and ``states50`` (first-level administrative divisions, which
Natural Earth gives at 1:50m for four countries only: the USA, Canada, Brazil and Australia;
China's provinces are not among them). Lines are simplified to 0.015 degrees
(about 1.5 km) and rounded to 0.001 degrees, giving about 1.3 MB.

    apt-get download r-cran-rnaturalearthdata && dpkg-deb -x r-cran-rnaturalearthdata_*.deb x
    pip install rdata shapely   # only for this script
    python docs/make_basemap.py x/usr/lib/R/site-library/rnaturalearthdata/data flowmatch/data/basemap.geojson

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


def main() -> None:
    folder, target = Path(sys.argv[1]), Path(sys.argv[2])
    features = [{"type": "Feature", "properties": {"layer": layer},
                 "geometry": {"type": "MultiLineString", "coordinates": _lines(_rings(_load(folder, name)))}}
                for layer, name in LAYERS.items()]
    target.write_text(json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")))


if __name__ == "__main__":
    main()
