"""Benchmarks of matching by phase, and the Numba kernel against a vectorised NumPy reference.

Run:  .venv/bin/pytest benchmarks/bench_matching.py --benchmark-only --benchmark-json=bench-matching.json
The national set (2 * 10^6 resources from ``flowmatch.inputs.synth``: about 1.1 * 10^6
haves and 0.9 * 10^6 wants) only with FLOWMATCH_BENCH_LARGE=1; it needs a few
GiB and about a minute per phase on two cores:
      FLOWMATCH_BENCH_LARGE=1 .venv/bin/pytest benchmarks/bench_matching.py --benchmark-only -k national

Phases, each timed on its own (Numba compilation happens in a warm-up call
outside the timing): ``load`` (read the inventory written by ``synth``),
``prepare`` (``freeze``: the arrays and the type-score matrix), ``score``
(the pruned search with the top-K heaps inside the kernel), ``candidates``
(sub-scores of the kept pairs and the output table) and ``match`` (all of it
after the load). The baseline of ``score`` is :func:`numpy_top_k`, the same
scoring as blocked NumPy broadcasting (a block of wants against all haves),
run on the same inventories up to 10^4 x 10^4 pairs and checked to keep the
same candidates. ``cli-warm`` times a second ``flowmatch match`` process on a
park (3,000 resources), the compile cache on disk.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from flowmatch.inputs.inventory import read_inventory
from flowmatch.inputs.synth import synth
from flowmatch.inputs.units import CATEGORIES
from flowmatch.matching.frozen import freeze
from flowmatch.matching.search import build_rules, match, pair_scores, search_top_k

SIZES = [1_000, 20_000, 200_000]  # resources: 20,000 is about 10^4 haves x 10^4 wants
NUMPY_SIZES = [1_000, 20_000]
if os.environ.get("FLOWMATCH_BENCH_LARGE"):
    SIZES += [2_000_000]


def _rounds(n: int) -> dict:
    return dict(rounds=1 if n >= 1_000_000 else 3, iterations=1, warmup_rounds=0)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("match")
    return {n: synth(n, seed=0, out=root / f"n{n}") for n in SIZES}


@pytest.fixture(scope="module")
def inventories(written):
    return {n: read_inventory(p) for n, p in written.items()}


@pytest.fixture(scope="module")
def frozen(inventories):
    return {n: freeze(inv) for n, inv in inventories.items()}


# --------------------------------------------------------------------------- the NumPy reference


def numpy_top_k(arrays, params, k: int, min_score: float, block: int = 512):
    """Best ``k`` haves per want by blocked NumPy broadcasting (no measured distances).

    The same formulas as the kernels (``docs/matching.md``), evaluated for a
    block of wants against every have at once, then ``argpartition``. Returns
    ``(idx, score)`` like :func:`flowmatch.matching.search.search_top_k`.
    """
    if len(arrays.ov_site):
        raise ValueError("the NumPy reference does not do measured distances")
    rules = build_rules(arrays, params)
    c = rules.consts
    w_t, w_ql, w_q, w_d, w_f = c[:5]
    coef = c[5:5 + len(CATEGORIES)]
    pop = np.array([bin(m).count("1") for m in range(1 << 12)])
    with np.errstate(divide="ignore"):
        ln_qh, ln_qw = np.log(arrays.h_qty), np.log(arrays.w_qty)
    hm, wm = arrays.h_months, arrays.w_months
    n_h, n_w = arrays.n_haves, arrays.n_wants
    kk = min(k, n_h)
    out_idx = np.full((n_w, kk), -1)
    out_score = np.zeros((n_w, kk))
    reach_h = arrays.h_max_km[:, None]
    for j0 in range(0, n_w, block):
        j = np.arange(j0, min(n_w, j0 + block))
        with np.errstate(divide="ignore", invalid="ignore"):
            lt = rules.log_type[arrays.h_type[:, None], arrays.w_type[None, j]]
            both = hm[:, None] & wm[None, j]
            lf = (rules.log_fit[arrays.h_freq[:, None], arrays.w_freq[None, j]]
                  + rules.log_count[pop[both]]
                  - 0.5 * (rules.log_count[pop[hm]][:, None] + rules.log_count[pop[wm[j]]][None, :]))
            lq = -0.5 * np.abs(ln_qh[:, None] - ln_qw[None, j])
            c2 = ((arrays.h_xyz[:, None, :] - arrays.w_xyz[None, j, :]) ** 2).sum(axis=2)
            d = 2.0 * 6371.0088 * np.arcsin(np.minimum(1.0, np.sqrt(c2) / 2.0))
            ld = d * coef[arrays.w_cat[j]][None, :]
            lql = np.zeros_like(ld)
            for p in range(len(arrays.property_names)):
                lo, hi = arrays.w_min[j, p][None, :], arrays.w_max[j, p][None, :]
                ranged = ~(np.isnan(lo) & np.isnan(hi))
                v = arrays.h_value[:, p][:, None]
                excess = np.where(v < lo, lo - v, np.where(v > hi, v - hi, 0.0))
                scale = np.fmax(np.fmax(np.abs(lo), np.abs(hi)), hi - lo)
                scale = np.where(np.isnan(scale) | (scale == 0), 1.0, scale)
                f = 1.0 - excess / (c[9] * scale)
                term = np.where(np.isnan(v), c[8], np.where(f > 0, np.log(np.where(f > 0, f, 1.0)), -np.inf))
                lql += np.where(ranged, term, 0.0)
            ok = ((arrays.h_cat[:, None] == arrays.w_cat[None, j])
                  & (arrays.h_haz[:, None] <= arrays.w_haz[None, j])
                  & np.isfinite(lt) & (both != 0) & np.isfinite(lf)
                  & np.isfinite(lq) & (d <= np.minimum(reach_h, arrays.w_max_km[None, j]))
                  & np.isfinite(lql))
            ls = np.where(ok, w_t * lt + w_q * lq + w_f * lf + w_d * ld + w_ql * lql, -np.inf)
            score = np.where(ls >= -700.0, np.exp(ls), 0.0)
        score[score < max(min_score, np.finfo(float).tiny)] = 0.0
        top = np.argpartition(-score, kk - 1, axis=0)[:kk] if kk < n_h else np.arange(n_h)[:, None] + 0 * j
        s = np.take_along_axis(score, top, axis=0)
        order = np.lexsort((top, -s), axis=0)
        top, s = np.take_along_axis(top, order, axis=0), np.take_along_axis(s, order, axis=0)
        out_idx[j] = np.where(s > 0, top, -1).T
        out_score[j] = s.T
    return out_idx, out_score


def _same_candidates(idx_a, score_a, idx_b, score_b) -> None:
    np.testing.assert_allclose(score_a, score_b, rtol=1e-9, atol=1e-12)
    differ = idx_a != idx_b
    assert np.all(np.isclose(score_a[differ], score_b[differ], rtol=1e-9)), "only ties may differ"


# --------------------------------------------------------------------------- phases


@pytest.mark.parametrize("n", SIZES)
def test_load(benchmark, written, n):
    benchmark.group = f"match {n}: load"
    benchmark.pedantic(read_inventory, args=(written[n],), **_rounds(n))


@pytest.mark.parametrize("n", SIZES)
def test_prepare(benchmark, inventories, n):
    benchmark.group = f"match {n}: prepare"
    arrays = benchmark.pedantic(freeze, args=(inventories[n],), **_rounds(n))
    assert arrays.n_haves + arrays.n_wants == n


@pytest.mark.parametrize("n", SIZES)
def test_score(benchmark, inventories, frozen, n):
    benchmark.group = f"match {n}: score"
    params = inventories[n].params
    search_top_k(frozen[n], params)  # compile (or load from the cache) outside the timing
    idx, _ = benchmark.pedantic(search_top_k, args=(frozen[n], params), **_rounds(n))
    assert (idx >= 0).any()


@pytest.mark.parametrize("n", NUMPY_SIZES)
def test_score_numpy_reference(benchmark, inventories, frozen, n):
    benchmark.group = f"match {n}: score"
    params = inventories[n].params
    idx, score = benchmark.pedantic(numpy_top_k, args=(frozen[n], params, params.top_k, params.min_score),
                                    rounds=1, iterations=1)
    _same_candidates(idx, score, *search_top_k(frozen[n], params))


@pytest.mark.parametrize("n", NUMPY_SIZES)
def test_score_exhaustive(benchmark, inventories, frozen, n):
    benchmark.group = f"match {n}: score"
    params = inventories[n].params
    idx, score = benchmark.pedantic(search_top_k, args=(frozen[n], params), kwargs=dict(exhaustive=True),
                                    rounds=1, iterations=1)
    _same_candidates(idx, score, *search_top_k(frozen[n], params))


@pytest.mark.parametrize("n", SIZES)
def test_candidates(benchmark, inventories, frozen, n):
    benchmark.group = f"match {n}: candidates"
    params = inventories[n].params
    idx, _ = search_top_k(frozen[n], params)
    w, slot = np.nonzero(idx >= 0)
    details = benchmark.pedantic(pair_scores, args=(frozen[n], params, idx[w, slot], w), **_rounds(n))
    assert (details["score"] > 0).all()


@pytest.mark.parametrize("n", SIZES)
def test_match(benchmark, inventories, n):
    benchmark.group = f"match {n}: match"
    cands = benchmark.pedantic(match, args=(inventories[n],), **_rounds(n))
    assert len(cands) > 0


def test_cli_warm(benchmark, tmp_path):
    """A second CLI run on a park: imports, reading, compiled kernels loaded from the disk cache."""
    park = synth(3_000, seed=0, out=tmp_path / "park")
    cmd = [sys.executable, "-m", "flowmatch.cli", "match", str(park), "-o", str(tmp_path / "out"), "-q"]
    subprocess.run(cmd, check=True, capture_output=True)  # fills the cache if it is cold
    benchmark.group = "match: CLI second run"
    benchmark.pedantic(subprocess.run, args=(cmd,), kwargs=dict(check=True, capture_output=True),
                       rounds=3, iterations=1)
    assert math.isfinite(benchmark.stats["mean"])
