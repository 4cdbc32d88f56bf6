"""Registry benchmarks: importing a snapshot, and searching registered resources, on SQLite and PostgreSQL.

Run:  .venv/bin/pytest benchmarks/bench_registry.py --benchmark-only
The issue's sizes (a 10^5-resource snapshot, a search over 10^6 resources) only with
FLOWMATCH_BENCH_LARGE=1:
      FLOWMATCH_BENCH_LARGE=1 .venv/bin/pytest benchmarks/bench_registry.py --benchmark-only

PostgreSQL comes from ``tests/registry_helpers.py`` (``$FLOWMATCH_TEST_POSTGRES_URL`` or a
throwaway cluster); without one its cases are skipped.

Baselines in the same run: for import, ``read_inventory`` of the same folder (the
validation every import pays, so the difference is the database's share); for search,
the same search without the latitude/longitude box in SQL (every row of the type read,
then the great-circle filter in NumPy), which must find the same resources.
"""

from __future__ import annotations

import itertools
import os
import secrets

import numpy as np
import pytest
from registry_helpers import _admin, _with_database, pg_server  # noqa: F401

from flowmatch.geo import great_circle_km
from flowmatch.inputs.inventory import read_inventory
from flowmatch.inputs.synth import synth
from flowmatch.registry.db import open_registry
from flowmatch.registry.search import SearchQuery, search

LARGE = bool(os.environ.get("FLOWMATCH_BENCH_LARGE"))
IMPORT_SIZES = [10_000] + ([100_000] if LARGE else [])
SEARCH_SIZES = [100_000] + ([1_000_000] if LARGE else [])
BACKENDS = ["sqlite", "postgresql"]
N_PARKS, N_SITES = 10, 2_000
TYPES = ["ewc:100101", "ewc:100102", "ewc:100105", "ewc:100202", "ewc:100207", "ewc:170101", "ewc:170504",
         "ewc:190805", "ewc:020304", "raw:gypsum", "raw:cement-additive", "raw:aggregate", "energy:heat",
         "water:process"]
QUERY = SearchQuery(type="ewc:10*", near="S0000", within_km=50.0)


def _url(request, tmp_path_factory, tag: str) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp(tag) / 'registry.db'}"
    server = request.getfixturevalue("pg_server")
    name = f"fm_bench_{secrets.token_hex(6)}"
    _admin(server, f'CREATE DATABASE "{name}"')
    request.addfinalizer(lambda: _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return _with_database(server, name)


@pytest.fixture(scope="module")
def inventories(tmp_path_factory):
    root = tmp_path_factory.mktemp("inv")
    return {n: synth(n, seed=0, out=root / f"n{n}") for n in IMPORT_SIZES}


@pytest.fixture(scope="module", params=BACKENDS)
def import_db(request, tmp_path_factory):
    reg = open_registry(_url(request, tmp_path_factory, "import"), create=True)
    reg.upgrade()
    return request.param, reg


@pytest.mark.parametrize("n", IMPORT_SIZES)
def test_import_snapshot(benchmark, import_db, inventories, n):
    from flowmatch.registry.snapshots import import_inventory

    backend, reg = import_db
    benchmark.group = f"import {n}"
    benchmark.name = f"import {n} {backend}"
    parks = (f"P{n}-{k}" for k in itertools.count())
    res = benchmark.pedantic(lambda: import_inventory(reg, inventories[n], next(parks), 2025),
                             rounds=1 if n >= 100_000 else 3, iterations=1, warmup_rounds=0)
    assert res.n_resources == n


@pytest.mark.parametrize("n", IMPORT_SIZES)
def test_baseline_read_inventory(benchmark, inventories, n):
    benchmark.group = f"import {n}"
    inv = benchmark.pedantic(read_inventory, args=(inventories[n],), rounds=1 if n >= 100_000 else 3,
                             iterations=1, warmup_rounds=0)
    assert len(inv.resources) == n


def _seed(reg, n: int, seed: int = 0) -> None:
    """``n`` resources over ``N_PARKS`` parks' one snapshot each, written in bulk (COPY on PostgreSQL)."""
    from sqlalchemy import insert

    from flowmatch.registry.models import Company, Park, Snapshot

    rng = np.random.default_rng(seed)
    lat = rng.uniform(22.0, 42.0, N_SITES)
    lon = rng.uniform(105.0, 122.0, N_SITES)
    park_of_site = np.arange(N_SITES) % N_PARKS
    with reg.connect(write=True) as conn:
        conn.execute(insert(Park), [{"id": p + 1, "name": f"Park{p}"} for p in range(N_PARKS)])
        conn.execute(insert(Company), [{"id": s + 1, "park_id": int(park_of_site[s]) + 1, "site_id": f"S{s:04d}",
                                        "name": f"S{s:04d}", "sector": "C23", "lat": float(lat[s]),
                                        "lon": float(lon[s])} for s in range(N_SITES)])
        conn.execute(insert(Snapshot), [{"id": p + 1, "park_id": p + 1, "year": 2025, "version": 1,
                                         "source": "bench", "checksum": f"c{p}", "n_sites": N_SITES // N_PARKS,
                                         "n_resources": n // N_PARKS, "tables_json": "{}"}
                                        for p in range(N_PARKS)])
    site = rng.integers(0, N_SITES, n)
    typ = rng.integers(0, len(TYPES), n)
    role = rng.integers(0, 2, n)
    qty = np.round(rng.lognormal(7.0, 2.0, n), 1)
    cols = ["snapshot_id", "company_id", "resource_id", "role", "type", "quantity", "unit", "lat", "lon", "row_json"]

    def rows(lo: int, hi: int):
        for i in range(lo, hi):
            s = int(site[i])
            yield (int(park_of_site[s]) + 1, s + 1, f"R{i:07d}", "want" if role[i] else "have", TYPES[typ[i]],
                   float(qty[i]), "t", float(lat[s]), float(lon[s]), "{}")

    if reg.dialect == "postgresql":
        raw = reg.engine.raw_connection()
        try:
            with raw.cursor() as cur, cur.copy(f"COPY resources ({', '.join(cols)}) FROM STDIN") as cp:
                for r in rows(0, n):
                    cp.write_row(r)
            raw.commit()
        finally:
            raw.close()
        with reg.connect(write=True) as conn:
            conn.exec_driver_sql("ANALYZE resources")
        return
    from flowmatch.registry.models import Resource

    with reg.connect(write=True) as conn:
        for lo in range(0, n, 50_000):
            conn.execute(insert(Resource), [dict(zip(cols, r, strict=True)) for r in rows(lo, min(n, lo + 50_000))])
        conn.exec_driver_sql("ANALYZE")


@pytest.fixture(scope="module", params=[(b, n) for b in BACKENDS for n in SEARCH_SIZES],
                ids=lambda p: f"{p[0]}-{p[1]}")
def seeded(request, tmp_path_factory):
    backend, n = request.param
    request.param = backend  # _url reads the backend
    reg = open_registry(_url(request, tmp_path_factory, "search"), create=True)
    reg.upgrade()
    _seed(reg, n)
    return backend, n, reg


def test_search_near(benchmark, seeded):
    backend, n, reg = seeded
    benchmark.group = f"search {n} {backend}"
    df = benchmark.pedantic(lambda: reg.read(lambda s: search(s, QUERY)), rounds=5, iterations=1,
                            warmup_rounds=1)
    assert len(df) > 0 and (df["distance_km"] <= 50).all()
    assert sorted(df["resource_id"]) == sorted(_without_box(reg)["resource_id"])


def _without_box(reg):
    every = reg.read(lambda s: search(s, SearchQuery(type=QUERY.type)))
    lat0, lon0 = reg.read(lambda s: s.execute(
        __import__("sqlalchemy").text("SELECT lat, lon FROM companies WHERE site_id = 'S0000'")).one())
    km = great_circle_km(lat0, lon0, every["lat"].to_numpy(float), every["lon"].to_numpy(float))
    return every[km <= QUERY.within_km]


def test_baseline_search_without_box(benchmark, seeded):
    backend, n, reg = seeded
    benchmark.group = f"search {n} {backend}"
    df = benchmark.pedantic(lambda: _without_box(reg), rounds=3, iterations=1, warmup_rounds=0)
    assert len(df) > 0
