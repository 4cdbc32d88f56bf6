"""Disaggregated linking rows (flowmatch.milp.tighten): valid, added only where they cut deep,
and they raise the LP relaxation's bound of a water park without changing its optimum."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import flowmatch.milp.water_periods as water_periods
from flowmatch.matching.candidates import match
from flowmatch.milp.builder import ModelBuilder
from flowmatch.milp.heuristics import slope_scaling_start
from flowmatch.milp.optimise import build_model, build_parts, optimise
from flowmatch.milp.tighten import add_group_link_rows, add_pair_link_rows


def water_park(n: int, seed: int):
    """The cascade benchmark's synthetic water park (benchmarks/bench_cascades.py), at a test's size."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_cascades.py"
    spec = importlib.util.spec_from_file_location("bench_cascades_for_tests", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.water_park(n, seed=seed)


def test_rows_only_where_a_pair_is_at_most_half_its_link():
    mb = ModelBuilder()
    f = mb.add_vars(4, name=["f0", "f1", "f2", "f3"])
    link = mb.add_vars(2, ub=1.0, integer=True, name=["L0", "L1"])
    n = add_pair_link_rows(mb, f, np.array([0, 0, 0, -1]), np.array([10.0, 100.0, 75.0, 5.0]), link,
                           np.array([150.0, 1.0]), ["a", "b", "c", "d"], "pipe_pair")
    m = mb.build()
    assert n == 2 and m.row_names == ["pipe_pair[a]", "pipe_pair[c]"]
    A = m.A.toarray()
    assert A[0].tolist() == [1, 0, 0, 0, -10, 0] and A[1].tolist() == [0, 0, 1, 0, -75, 0]
    assert m.row_ub.tolist() == [0.0, 0.0] and np.isneginf(m.row_lb).all()


def test_group_rows_sum_a_members_pairs_on_a_link_where_it_is_small():
    mb = ModelBuilder()
    f = mb.add_vars(5, name=[f"f{k}" for k in range(5)])
    link = mb.add_vars(2, ub=1.0, integer=True, name=["L0", "L1"])
    # pairs 0, 1: source 0 on link 0; pair 2: source 1 on link 0; pair 3: source 0 on link 1; pair 4: no link
    n = add_group_link_rows(mb, f, np.array([0, 0, 0, 1, -1]), np.array([0, 0, 1, 0, 1]),
                            np.array([40.0, 95.0]), link, np.array([100.0, 30.0]), ["s0", "s1"],
                            ["A>B", "A>C"], "pipe_source", margin=0.9)
    m = mb.build()
    # source 1 (95 of 100) and source 0 on link 1 (40 > 30) do not cut
    assert n == 1 and m.row_names == ["pipe_source[s0,A>B]"]
    assert m.A.toarray()[0].tolist() == [1, 1, 0, 0, 0, -40, 0] and m.row_ub.tolist() == [0.0]


def _lp_bound(inv, cands, tighten: bool, monkeypatch):
    if not tighten:
        monkeypatch.setattr(water_periods, "add_group_link_rows", lambda *a, **k: 0)  # the water rows are built there
    model = build_model(build_parts(inv, cands))
    c, k = model.objective({"cost": 1.0})
    return slope_scaling_start(model, c, k, time_limit=20.0, max_rounds=1).lp_bound, model.n_rows


def test_link_rows_raise_the_lp_bound_of_a_water_park(monkeypatch):
    inv = water_park(20, seed=1)
    cands = match(inv)
    tight, rows_t = _lp_bound(inv, cands, True, monkeypatch)
    plain, rows_p = _lp_bound(inv, cands, False, monkeypatch)
    assert rows_t > rows_p and tight > plain * (1 + 1e-3)  # they cut (1.1122e7 -> 1.1149e7 when written)
    opt_p = optimise(inv, candidates=cands, gap=0.0, time_limit=20)
    monkeypatch.undo()
    opt_t = optimise(inv, candidates=cands, gap=0.0, time_limit=20)
    if opt_p.status == opt_t.status == "optimal":  # the rows are valid: the same optimum
        assert opt_t.summary["objective"]["cost"] == pytest.approx(opt_p.summary["objective"]["cost"], rel=1e-6)
    assert tight <= opt_t.summary["objective"]["cost"] + 1e-6 * abs(tight)
