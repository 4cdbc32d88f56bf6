"""Synthetic inventories: realistic, deterministic, fast (10^6 resources in seconds).

The generator builds a country of industrial parks the way Chinese parks look:

- **parks** are clustered by province around real-ish provincial industrial
  centroids, weighted by each province's share of industrial output;
- **sites** sit within a few km of their park's centre; a park has a dominant
  sector, often a combined heat-and-power plant, and a mix of others (NACE Rev.2
  codes);
- a site's **sector** decides which resources it has and wants: wastes from the
  List of Wastes sub-chapters of that industry (types the knowledge base knows
  are drawn more often, so that documented exchanges actually occur), surplus
  water and heat, and the raw materials, water and energy it buys;
- **quantities** are log-normal around a sector-specific scale; units vary (t,
  kg, t/h, m3, m3/h, MWh, GJ, MW...) so that readers exercise normalisation;
- **quality** properties: ``moisture_pct``, ``purity_pct``, ``chloride_ppm`` for
  materials, ``cod_mg_l``, ``chloride_ppm``, ``tss_ppm`` for water, and
  ``temperature_c`` / ``target_temperature_c`` for heat (stream and level form,
  see the inventory format);
- **frequencies**, seasonal **months** (cane sugar crushes from November to
  April, space heating is wanted in winter), **costs** and **CO2** per unit.

The sectors, provinces and distributions, and the resource templates built
from them, are in :mod:`flowmatch.inputs.synth_world`; this module samples them.

Everything is vectorised NumPy: the only Python loops run over the small tables
of sectors, provinces and resource templates, never over rows. The same
``(n_resources, seed)`` always gives the same tables.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from flowmatch.errors import FlowmatchError, ParamsError
from flowmatch.files import write_table
from flowmatch.inputs.params import Params
from flowmatch.inputs.synth_world import (
    _CATEGORIES,
    _FREQ_P,
    _FREQUENCIES,
    _SEASONS,
    _SIGMA,
    _UNITS,
    _WINTER,
    PROVINCES,
    SECTORS,
    _Templates,
    _templates,
)
from flowmatch.inputs.units import to_base_factor, unit_factor_per_unit

__all__ = ["synth", "synth_tables", "part_sites", "WHOLE_MAX"]

log = logging.getLogger(__name__)

#: The most resources ``synth`` generates as one table; above it, with ``partitions`` > 1, each
#: part is generated and written in turn (other rows than one table would give: see :func:`synth`).
WHOLE_MAX = 2_000_000


# --------------------------------------------------------------------------- helpers


def _ids(prefix: str, n: int, width: int, start: int = 0) -> np.ndarray:
    """``prefix`` + zero-padded start..start+n-1 as an object array of str, without a Python loop."""
    a = np.arange(start, start + n, dtype=np.int64)
    digits = (a[:, None] // (10 ** np.arange(width - 1, -1, -1, dtype=np.int64))) % 10
    buf = np.empty((n, len(prefix) + width), dtype=np.uint8)
    buf[:, : len(prefix)] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    buf[:, len(prefix):] = digits + ord("0")
    return buf.view(f"S{buf.shape[1]}").ravel().astype(f"U{buf.shape[1]}").astype(object)


def _choice(rng: np.random.Generator, options: tuple, p, n: int) -> np.ndarray:
    """``n`` draws of ``options`` (as an object array) with probabilities ``p``."""
    p = np.asarray(p, dtype=float)
    idx = np.searchsorted(np.cumsum(p / p.sum()), rng.random(n), side="right")
    return np.array(options, dtype=object)[np.minimum(idx, len(options) - 1)]


def _sizes(rng: np.random.Generator, total: int, bins: int, sigma: float) -> np.ndarray:
    """Split ``total`` items into ``bins`` of at least one, log-normally uneven."""
    w = rng.lognormal(0.0, sigma, bins)
    return 1 + rng.multinomial(total - bins, w / w.sum())


# --------------------------------------------------------------------------- generator


def synth_tables(n_resources: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Generate a synthetic inventory as DataFrames (nothing is written).

    Parameters
    ----------
    n_resources : int
        Number of resources (haves and wants together), at least 1.
    seed : int
        Seed of the random generator; the same seed gives the same tables.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``sites``, ``resources`` and ``properties`` in the inventory format.

    Raises
    ------
    ParamsError
        When ``n_resources`` is below 1 or ``seed`` is negative.
    """
    n = _check_counts(n_resources, seed)
    rng = np.random.default_rng(int(seed))
    world = _world(rng, n)
    resources, properties = _block(rng, world, np.repeat(np.arange(len(world.site_ids)), world.sizes), 0)
    return {"sites": world.sites, "resources": resources, "properties": properties}


def _check_counts(n_resources: int, seed: int) -> int:
    n = int(n_resources)
    if n < 1:
        raise ParamsError(f"synth: --resources must be at least 1, not {n_resources}.")
    if int(seed) < 0:
        raise ParamsError(f"synth: --seed must be 0 or more, not {seed}.")
    return n


@dataclass(frozen=True)
class _World:
    """The parks and sites of a synthetic country, and how many resources each site has."""

    n: int  # resources in all
    tpl: _Templates
    sites: pd.DataFrame
    site_ids: np.ndarray
    site_sector: np.ndarray
    sizes: np.ndarray  # resources per site (they sum to n)


def _world(rng: np.random.Generator, n: int) -> _World:
    """Parks, sites and resources per site: the draws before any resource's own."""
    tpl = _templates()
    n_sectors = len(SECTORS)
    sector_w = np.array([s.weight for s in SECTORS])
    power = next(i for i, s in enumerate(SECTORS) if s.code.startswith("D35"))

    # parks and sites
    n_sites = max(1, round(n / 8))
    n_parks = max(1, round(n_sites / 25))
    prov_w = np.array([p[3] for p in PROVINCES])
    park_prov = _choice(rng, tuple(range(len(PROVINCES))), prov_w, n_parks).astype(np.int64)
    prov_lat = np.array([p[1] for p in PROVINCES])
    prov_lon = np.array([p[2] for p in PROVINCES])
    prov_spread = np.array([p[4] for p in PROVINCES])
    park_lat = prov_lat[park_prov] + rng.normal(0.0, 1.0, n_parks) * prov_spread[park_prov] * 0.7
    park_lon = prov_lon[park_prov] + rng.normal(0.0, 1.0, n_parks) * prov_spread[park_prov]
    park_main = _choice(rng, tuple(range(n_sectors)), sector_w, n_parks).astype(np.int64)
    prov_names = np.array([p[0] for p in PROVINCES], dtype=object)
    park_names = prov_names[park_prov] + _ids("-P", n_parks, max(4, len(str(n_parks))))

    sites_per_park = _sizes(rng, n_sites, n_parks, 0.6)
    site_park = np.repeat(np.arange(n_parks), sites_per_park)
    site_sector = np.where(rng.random(n_sites) < 0.4, park_main[site_park],
                           _choice(rng, tuple(range(n_sectors)), sector_w, n_sites).astype(np.int64))
    first_site = np.concatenate(([0], np.cumsum(sites_per_park)[:-1]))
    chp = first_site[rng.random(n_parks) < 0.6]  # many parks are built around a CHP plant
    site_sector[chp] = power
    site_lat = np.clip(park_lat[site_park] + rng.normal(0.0, 0.02, n_sites), -89.9, 89.9)
    site_lon = np.clip(park_lon[site_park] + rng.normal(0.0, 0.025, n_sites), -179.9, 179.9)
    site_ids = _ids("S", n_sites, max(6, len(str(n_sites))))
    labels = np.array([s.label for s in SECTORS], dtype=object)
    codes = np.array([s.code for s in SECTORS], dtype=object)
    sites = pd.DataFrame({
        "site_id": site_ids,
        "name": labels[site_sector] + " " + site_ids,
        "park": park_names[site_park],
        "sector": codes[site_sector],
        "lat": np.round(site_lat, 5),
        "lon": np.round(site_lon, 5),
    })

    return _World(n, tpl, sites, site_ids, site_sector, _sizes(rng, n, n_sites, 0.7))


def _block(rng: np.random.Generator, world: _World, res_site: np.ndarray, first: int
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The resources of the sites ``res_site`` (one entry a resource, grouped by site), numbered from
    ``first``, and their properties."""
    n = len(res_site)
    tpl, site_ids = world.tpl, world.site_ids
    # resources: a site, then a template of the site's sector
    res_sector = world.site_sector[res_site]
    ti = np.searchsorted(tpl.cdf, res_sector + rng.random(n), side="right")
    ti = np.minimum(ti, np.searchsorted(tpl.cdf, res_sector + 1.0, side="left"))
    have = tpl.have[ti]
    cat = tpl.category[ti]
    cat_names = np.array(_CATEGORIES, dtype=object)
    base_qty = tpl.median[ti] * rng.lognormal(0.0, _SIGMA, n)

    # units, and quantities, prices and emissions per unit given
    unit = np.empty(n, dtype=object)
    factor = np.ones(n)
    per_unit = np.ones(n)
    hours = Params().hours_per_year
    for c, cname in enumerate(_CATEGORIES):
        sel = np.flatnonzero(cat == c)
        names, probs = zip(*_UNITS[cname], strict=True)
        k = np.searchsorted(np.cumsum(probs), rng.random(len(sel)), side="right")
        k = np.minimum(k, len(names) - 1)
        unit[sel] = np.array(names, dtype=object)[k]
        factor[sel] = np.array([to_base_factor(u, cname, hours) for u in names])[k]
        per_unit[sel] = np.array([unit_factor_per_unit(u, cname) for u in names])[k]
    quantity = base_qty / factor
    quantity = np.where(quantity >= 100, np.round(quantity, 1), np.round(quantity, 4))
    price_noise = rng.lognormal(0.0, 0.25, n)
    cost = np.round(tpl.cost[ti] * price_noise * per_unit, 6)
    co2 = np.round(tpl.co2[ti] * rng.lognormal(0.0, 0.15, n) * per_unit, 6)

    # frequencies, months, reach, route, by-product flag
    flow = cat != 0
    freq = np.where(flow, _choice(rng, _FREQUENCIES, _FREQ_P["flow"], n),
                    np.where(have, _choice(rng, _FREQUENCIES, _FREQ_P[("have", "material")], n),
                             _choice(rng, _FREQUENCIES, _FREQ_P[("want", "material")], n)))
    season = np.array([s.season or "1-12" for s in SECTORS], dtype=object)[res_sector]
    u = rng.random(n)
    months = np.where(u < 0.08, _choice(rng, _SEASONS, np.ones(len(_SEASONS)), n), "1-12").astype(object)
    seasonal = tpl.seasonal[ti]
    months = np.where((seasonal == 1) & (u < 0.8), season, months)
    months = np.where((seasonal == 2) & (u < 0.7), _WINTER, months)
    reach_median = np.where(flow, 10.0, 120.0)
    reach = np.where(rng.random(n) < 0.3, np.round(reach_median * rng.lognormal(0.0, 0.5, n), 1), np.nan)
    haz = tpl.hazardous[ti]
    route = np.where(~have, "", np.where(
        cat == 0,
        np.where(haz, "incineration", _choice(rng, ("landfill", "incineration", "recovered"),
                                              (0.85, 0.08, 0.07), n)),
        np.where(cat == 1, "discharge", "dissipated"))).astype(object)
    byproduct = have & (cat == 0) & ~haz & (rng.random(n) < 0.05)

    res_ids = _ids("R", n, max(7, len(str(world.n))), first)
    resources = pd.DataFrame({
        "resource_id": res_ids,
        "site_id": site_ids[res_site],
        "role": np.where(have, "have", "want").astype(object),
        "category": cat_names[cat],
        "type": tpl.type[ti],
        "quantity": quantity,
        "unit": unit,
        "frequency": freq,
        "months": months,
        "max_distance_km": reach,
        "cost": cost,
        "co2": co2,
        "route": route,
        "byproduct": byproduct,
    })
    return resources, _properties(rng, res_ids, ti, tpl, have, cat)


def _properties(rng: np.random.Generator, res_ids: np.ndarray, ti: np.ndarray, tpl: _Templates,
                have: np.ndarray, cat: np.ndarray) -> pd.DataFrame:
    """Quality properties, long form, grouped by resource."""
    n = len(ti)
    parts: list[tuple[np.ndarray, str, np.ndarray, np.ndarray, np.ndarray]] = []
    nan = np.full(n, np.nan)

    def add(mask: np.ndarray, name: str, value: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        idx = np.flatnonzero(mask)
        parts.append((idx, name, value[idx], lo[idx], hi[idx]))

    def logn(median: float, sigma: float) -> np.ndarray:
        return rng.lognormal(np.log(median), sigma, n)

    material = cat == 0
    water = cat == 1
    energy = cat == 2
    # materials: a have states its value, a want its accepted range
    moist = material & (rng.random(n) < 0.6)
    add(moist & have, "moisture_pct", np.round(np.clip(logn(8.0, 0.7), 0.1, 90.0), 2), nan, nan)
    add(moist & ~have, "moisture_pct", nan, nan, np.round(rng.uniform(10.0, 40.0, n), 1))
    pure = material & (rng.random(n) < 0.4)
    add(pure & have, "purity_pct", np.round(np.clip(100.0 - logn(8.0, 0.8), 40.0, 99.9), 2), nan, nan)
    add(pure & ~have, "purity_pct", nan, np.round(rng.uniform(60.0, 90.0, n), 1), nan)
    chlor = material & (rng.random(n) < 0.3)
    add(chlor & have, "chloride_ppm", np.round(logn(300.0, 1.0), 1), nan, nan)
    add(chlor & ~have, "chloride_ppm", nan, nan, np.round(rng.uniform(300.0, 3000.0, n), 0))
    # water: contaminant concentrations (a have's value, a want's max)
    strict = tpl.water_strict[ti]
    for name, median, p, lo_max, hi_max in (("cod_mg_l", 60.0, 0.8, 30.0, 150.0),
                                             ("chloride_ppm", 250.0, 0.6, 200.0, 1000.0),
                                             ("tss_ppm", 30.0, 0.5, 10.0, 100.0)):
        # every water resource states COD (it is always measured); the others at random
        sel = water & ((rng.random(n) < p) | (name == "cod_mg_l"))
        add(sel & have, name, np.round(logn(median, 0.8), 2), nan, nan)
        add(sel & ~have, name, nan, nan, np.round(rng.uniform(lo_max, hi_max, n) * strict, 3))
    # energy: stream (supply and target temperature) or level (temperature only)
    form = tpl.heat_form[ti]
    lo, hi = np.nan_to_num(tpl.heat_lo[ti]), np.nan_to_num(tpl.heat_hi[ti])
    t = np.round(lo + rng.random(n) * (hi - lo), 1)
    level, stream = energy & (form == 1), energy & (form == 2)
    target_hot = np.round(t - rng.uniform(0.3, 0.7, n) * np.maximum(t - 30.0, 0.0), 1)
    add(level & have, "temperature_c", t, nan, nan)
    add(stream & have, "temperature_c", t, nan, nan)
    add(stream & have, "target_temperature_c", target_hot, nan, nan)
    t_max = np.where(rng.random(n) < 0.5, np.round(t + rng.uniform(20.0, 80.0, n), 1), np.nan)
    add(level & ~have, "temperature_c", nan, t, t_max)
    cold_supply = np.minimum(np.round(rng.uniform(10.0, 45.0, n), 1), t - 5.0)  # heats up to t
    add(stream & ~have, "temperature_c", cold_supply, nan, nan)
    add(stream & ~have, "target_temperature_c", t, nan, nan)

    idx = np.concatenate([p[0] for p in parts])
    order = np.argsort(idx, kind="stable")
    names = np.concatenate([np.full(len(p[0]), i, dtype=np.int64) for i, p in enumerate(parts)])
    name_table = np.array([p[1] for p in parts], dtype=object)
    return pd.DataFrame({
        "resource_id": res_ids[idx[order]],
        "property": name_table[names[order]],
        "value": np.concatenate([p[2] for p in parts])[order],
        "min": np.concatenate([p[3] for p in parts])[order],
        "max": np.concatenate([p[4] for p in parts])[order],
    })


def synth(n_resources: int, seed: int = 0, out: str | Path | None = None,
          fmt: str = "parquet", partitions: int = 1) -> Path:
    """Write a synthetic inventory folder (``sites``, ``resources``, ``properties``).

    Parameters
    ----------
    n_resources : int
        Number of resources, at least 1 (100 to 2,000,000 is the tested range).
    seed : int
        Random seed; the same seed gives the same files.
    out : path-like, optional
        Folder to write (created if missing); default ``./synth-N-sSEED``.
    fmt : {"parquet", "csv"}
        Table format.
    partitions : int
        Above 1 (Parquet only), ``resources`` and ``properties`` are written as
        partitioned datasets: folders ``resources.parquet/`` and
        ``properties.parquet/`` of that many part files (by resource), which
        every flowmatch reader takes like one file. Above :data:`WHOLE_MAX`
        resources each part is generated and written in turn, never the whole
        table in memory (10^7 resources and more): the sites and each site's
        count of resources are those of the whole table, but each part's
        resources come from a random stream of their own, so the rows differ
        from what one table of that size would hold (still the same for the
        same seed and partitions). Up to :data:`WHOLE_MAX` the files hold
        exactly the rows of :func:`synth_tables`.

    Returns
    -------
    pathlib.Path
        The folder written, readable by :func:`flowmatch.read_inventory`.

    Raises
    ------
    ParamsError
        For a bad count, seed or format.
    FlowmatchError
        When the folder cannot be written, or already holds the same tables in the
        other format (the reader would refuse the folder).
    """
    if fmt not in ("parquet", "csv"):
        raise ParamsError(f"synth: format must be 'parquet' or 'csv', not {fmt!r}.")
    if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1 or \
            (partitions > 1 and fmt != "parquet"):
        raise ParamsError(f"synth: --partitions {partitions!r}: give a whole number of at least 1 "
                          "(above 1 only with --format parquet).")
    folder = Path(out) if out is not None else Path(f"synth-{int(n_resources)}-s{int(seed)}")
    other = "csv" if fmt == "parquet" else "parquet"
    clash = [folder / f"{name}.{other}" for name in ("sites", "resources", "properties")
             if (folder / f"{name}.{other}").exists()]
    if clash:
        raise FlowmatchError(f"{clash[0]} already exists: the folder would hold both formats. "
                             "Write to another folder or remove the old tables.")
    if partitions > 1 and int(n_resources) > WHOLE_MAX:
        return _synth_by_part(_check_counts(n_resources, seed), int(seed), folder, partitions)
    tables = synth_tables(n_resources, seed)
    for name, df in tables.items():
        if partitions > 1 and name in ("resources", "properties"):
            _write_parts(df, folder / f"{name}.{fmt}", partitions, tables["resources"]["resource_id"])
        else:
            write_table(df, folder / f"{name}.{fmt}")
    log.info("wrote %d resources at %d sites to %s", len(tables["resources"]),
             len(tables["sites"]), folder)
    return folder


def _write_parts(df: pd.DataFrame, path: Path, k: int, ids: pd.Series) -> Path:
    """``df`` as the folder ``path`` of ``k`` Parquet part files split by resource (in resource order),
    written beside it and swapped in whole (any earlier file or folder there is replaced)."""
    part_of = pd.Series(np.arange(len(ids)) * k // max(1, len(ids)), index=ids.to_numpy())
    which = part_of.reindex(df["resource_id"].to_numpy()).to_numpy()
    with _parts_folder(path) as tmp:
        for i in range(k):
            df[which == i].to_parquet(tmp / f"part-{i:05d}.parquet", index=False)
    return path


@contextlib.contextmanager
def _parts_folder(path: Path) -> Iterator[Path]:
    """A temporary folder beside ``path`` to write part files in, swapped in whole for ``path`` when
    the block ends without an error (any earlier file or folder there is replaced); removed if not."""
    import os
    import shutil
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        old = None
        if path.exists():
            old = path.parent / f".{path.name}.old-{os.getpid()}"
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None and old.is_dir():
            shutil.rmtree(old)
        elif old is not None:
            old.unlink()
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def part_sites(sizes: np.ndarray, k: int) -> np.ndarray:
    """The first site of each of ``k`` parts of about equal resource counts, and the end (``k + 1``
    entries): part ``i`` holds the sites ``[out[i], out[i + 1])`` (a part may hold none)."""
    ends = np.cumsum(sizes)
    cut = np.searchsorted(ends, np.arange(1, k) * (ends[-1] / k), side="right")
    return np.concatenate([[0], cut, [len(sizes)]]).astype(np.int64)


def _synth_by_part(n: int, seed: int, folder: Path, k: int) -> Path:
    """``synth`` above :data:`WHOLE_MAX` resources in ``k`` parts: the sites (and each site's count of
    resources) as for the whole table, then each part's resources and properties generated and
    written in turn from a random stream of its own, so only one part is ever in memory."""
    rng = np.random.default_rng(seed)
    world = _world(rng, n)
    bounds = part_sites(world.sizes, k)
    first = np.concatenate([[0], np.cumsum(world.sizes)])
    with _parts_folder(folder / "resources.parquet") as res_tmp, \
            _parts_folder(folder / "properties.parquet") as prop_tmp:
        for i in range(k):
            a, b = int(bounds[i]), int(bounds[i + 1])
            if a == b:
                continue
            res_site = np.repeat(np.arange(a, b), world.sizes[a:b])
            part_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
            resources, properties = _block(part_rng, world, res_site, int(first[a]))
            resources.to_parquet(res_tmp / f"part-{i:05d}.parquet", index=False)
            properties.to_parquet(prop_tmp / f"part-{i:05d}.parquet", index=False)
            log.info("part %d of %d: %d resources", i + 1, k, len(resources))
            del resources, properties
    write_table(world.sites, folder / "sites.parquet")
    log.info("wrote %d resources at %d sites to %s, part by part", n, len(world.sites), folder)
    return folder
