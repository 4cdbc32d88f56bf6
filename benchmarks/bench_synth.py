"""Benchmarks of the synthetic generator and of reading what it writes.

Run:  .venv/bin/pytest benchmarks/bench_synth.py --benchmark-only
Large sizes (10^6 resources) only with FLOWMATCH_BENCH_LARGE=1:
      FLOWMATCH_BENCH_LARGE=1 .venv/bin/pytest benchmarks/bench_synth.py --benchmark-only

Each size has a baseline in the same run: for generation, writing the same
tables with ``DataFrame.to_parquet`` (the I/O floor of ``synth``); for reading,
``pandas.read_parquet`` of the same files (the I/O floor of ``read_inventory``).
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

from flowmatch.inputs.inventory import read_inventory
from flowmatch.inputs.synth import synth, synth_tables

SIZES = [1_000, 10_000, 100_000]
if os.environ.get("FLOWMATCH_BENCH_LARGE"):
    SIZES += [1_000_000]


def _rounds(n: int) -> dict:
    return dict(rounds=1 if n >= 1_000_000 else 3, iterations=1, warmup_rounds=0)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One synthetic inventory per size, written as Parquet."""
    root = tmp_path_factory.mktemp("synth")
    return {n: synth(n, seed=0, out=root / f"n{n}") for n in SIZES}


@pytest.mark.parametrize("n", SIZES)
def test_synth_write_parquet(benchmark, tmp_path, n):
    benchmark.group = f"generate {n}"
    path = benchmark.pedantic(synth, args=(n,), kwargs=dict(seed=0, out=tmp_path / "out"), **_rounds(n))
    assert (path / "resources.parquet").exists()


@pytest.mark.parametrize("n", SIZES)
def test_baseline_to_parquet(benchmark, tmp_path, n):
    benchmark.group = f"generate {n}"
    tables = synth_tables(n, seed=0)

    def write():
        for name, df in tables.items():
            df.to_parquet(tmp_path / f"{name}.parquet", index=False)

    benchmark.pedantic(write, **_rounds(n))


@pytest.mark.parametrize("n", SIZES)
def test_read_inventory(benchmark, written, n):
    benchmark.group = f"read {n}"
    inv = benchmark.pedantic(read_inventory, args=(written[n],), **_rounds(n))
    assert len(inv.resources) == n


@pytest.mark.parametrize("n", SIZES)
def test_baseline_read_parquet(benchmark, written, n):
    benchmark.group = f"read {n}"

    def read():
        return {name: pd.read_parquet(written[n] / f"{name}.parquet")
                for name in ("sites", "resources", "properties")}

    benchmark.pedantic(read, **_rounds(n))
