"""What ``flowmatch bench`` adds to a run, side by side with the matching it measures.

Run:  .venv/bin/pytest benchmarks/bench_bench.py --benchmark-only

Per size, one group: ``match`` (the baseline: :func:`flowmatch.matching.candidates.match`
on the inventory, the kernels compiled outside the timing), then what ``bench``
does once per inventory on top of its timed runs: ``pairs_in_reach`` (the k-d
tree count behind pairs scored per second, on the frozen arrays) and
``checksum`` (the inventory's SHA-256). The warm-up (a 200-resource pipeline)
is timed on its own, in a fresh process, the compile cache on disk.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from flowmatch.bench.pairs import pairs_in_reach
from flowmatch.bench.phases import inventory_checksum
from flowmatch.inputs.inventory import read_inventory
from flowmatch.inputs.synth import synth
from flowmatch.matching.candidates import match
from flowmatch.matching.frozen import freeze

SIZES = [3_000, 100_000]


@pytest.fixture(scope="module")
def inventories(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    return {n: read_inventory(synth(n, seed=0, out=root / f"n{n}")) for n in SIZES}


@pytest.mark.parametrize("n", SIZES)
def test_match_baseline(benchmark, inventories, n):
    benchmark.group = f"bench overhead {n}"
    match(inventories[n])  # compile (or load from the cache) outside the timing
    cands = benchmark.pedantic(match, args=(inventories[n],), rounds=3, iterations=1)
    assert len(cands) > 0


@pytest.mark.parametrize("n", SIZES)
def test_pairs_in_reach(benchmark, inventories, n):
    benchmark.group = f"bench overhead {n}"
    arrays = freeze(inventories[n])
    count = benchmark.pedantic(pairs_in_reach, args=(arrays,), rounds=3, iterations=1)
    assert count > 0


@pytest.mark.parametrize("n", SIZES)
def test_checksum(benchmark, inventories, n):
    benchmark.group = f"bench overhead {n}"
    digest = benchmark.pedantic(inventory_checksum, args=(inventories[n],), rounds=3, iterations=1)
    assert len(digest) == 64


def test_warm_up_process(benchmark):
    """The warm-up in a fresh process (imports, kernels loaded from the disk cache, a small pipeline)."""
    code = "from flowmatch.bench.phases import warm_up; warm_up()"
    subprocess.run([sys.executable, "-c", code], check=True)  # fills the cache if it is cold
    benchmark.group = "bench warm-up"
    benchmark.pedantic(subprocess.run, args=([sys.executable, "-c", code],), kwargs={"check": True},
                       rounds=2, iterations=1)
