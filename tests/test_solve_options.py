"""One solve budget: SolveOptions validated in one place, and a time limit that bounds
every solve of a run after matching (model parts, blocks, explanations)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from cascade_helpers import inventory
from optimise_cases import make_candidates, make_inventory, random_case

import flowmatch.milp.blocks as blocks_mod
import flowmatch.milp.optimise as optimise_mod
import flowmatch.milp.water_check as water_check_mod
from flowmatch.cli import main
from flowmatch.errors import ModelError, ParamsError, SolveOptionsError, SolverError
from flowmatch.milp.optimise import optimise
from flowmatch.milp.options import SolveBudget, SolveOptions
from flowmatch.milp.solvers import solve as real_solve
from flowmatch.studies.pareto import pareto_front
from flowmatch.studies.whatif import run_whatif


@pytest.mark.parametrize("field,value,words", [
    ("objective", "speed", "unknown objective"),
    ("time_limit", 0, "time_limit must be a positive"),
    ("time_limit", -1.0, "time_limit must be a positive"),
    ("time_limit", math.inf, "time_limit must be a positive"),
    ("time_limit", math.nan, "time_limit must be a positive"),
    ("time_limit", "60", "time_limit must be a positive"),
    ("gap", -0.1, "gap must be"),
    ("gap", math.nan, "gap must be"),
    ("solver", "gurobi-please", "unknown solver"),
    ("jobs", 0, "jobs"),
    ("threads", 0, "threads"),
    ("threads", 1.5, "threads"),
    ("weights", {"cost": -1.0}, "weights"),
    ("weights", {"speed": 1.0}, "weights"),
    ("weights", {"cost": 0.0, "co2": 0.0}, "weights"),
])
def test_every_option_is_checked_in_one_place(field, value, words):
    with pytest.raises(SolveOptionsError, match=words) as info:
        SolveOptions(**{field: value})
    # one error type that both the library's old callers and the CLI understand
    assert isinstance(info.value, ParamsError) and isinstance(info.value, SolverError)


def test_options_replace_validates_again():
    o = SolveOptions(time_limit=5.0)
    assert o.replace(gap=0.0).gap == 0.0 and o.replace(gap=0.0).time_limit == 5.0
    with pytest.raises(SolveOptionsError):
        o.replace(time_limit=0.0)


def test_library_cli_and_studies_reject_the_same_value(tmp_path, capsys):
    inv, cands = random_case(3, 3, 1.0, 0)
    for call in (lambda: optimise(inv, candidates=cands, gap=-1.0),
                 lambda: run_whatif(inv, gap=-1.0),
                 lambda: pareto_front(inv, gap=-1.0),
                 lambda: real_solve(optimise_mod.build_model(optimise_mod.build_parts(inv, cands)),
                                    {"cost": 1.0}, gap=-1.0)):
        with pytest.raises(SolveOptionsError, match="gap must be a relative gap >= 0"):
            call()
    assert main(["optimise", "datasets/mini", "-o", str(tmp_path / "o"), "--gap", "-1"]) == 2
    assert "gap must be a relative gap >= 0" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # refused before anything was read or written


def test_budget_shares_what_is_left():
    b = SolveBudget(10.0)
    assert 9.0 < b.left() <= 10.0
    assert b.share(0.5) == pytest.approx(b.left() * 0.5, rel=1e-3)
    spent = SolveBudget(1e-9)
    assert spent.left() == 0.0 and spent.share() == pytest.approx(0.1)  # a solve still gets a moment
    assert spent.share(at_least=0.0) == 0.0


def _recording(target, calls):
    def wrapped(*args, **kwargs):
        calls.append(kwargs.get("time_limit"))
        return target(*args, **kwargs)
    return wrapped


def _dirty_fresh_water():
    """A water sink whose own fresh water is too dirty: the water part must pre-check it."""
    sites = [{"site_id": "A", "lat": 30.0, "lon": 120.0}, {"site_id": "B", "lat": 30.01, "lon": 120.0}]
    res = [{"resource_id": "S", "site_id": "A", "role": "have", "category": "water", "type": "water",
            "quantity": 1000.0, "unit": "m3"},
           {"resource_id": "K", "site_id": "B", "role": "want", "category": "water", "type": "water",
            "quantity": 500.0, "unit": "m3"}]
    props = [{"resource_id": "S", "property": "cod_mg_l", "value": 5},
             {"resource_id": "K", "property": "cod_mg_l", "value": 50, "max": 10}]
    return inventory(sites, res, props)


def test_water_pre_check_and_blocks_draw_on_the_run_budget(monkeypatch):
    inv = _dirty_fresh_water()
    pre, blk = [], []
    monkeypatch.setattr(water_check_mod, "solve", _recording(water_check_mod.solve, pre))
    monkeypatch.setattr(blocks_mod, "solve", _recording(blocks_mod.solve, blk))
    plan = optimise(inv, candidates=pd.DataFrame(columns=["have_id", "want_id", "distance_km"]),
                    time_limit=2.0)
    assert plan.status == "optimal"
    assert pre, "the dirty-fresh-water sink was pre-checked"
    # each pre-check gets a share of the 2 s (it took 60 s before the budget), each block the rest
    assert all(t is not None and 0 < t <= 2.0 for t in pre + blk), (pre, blk)


def test_infeasibility_explanation_draws_on_the_run_budget(monkeypatch):
    inv = make_inventory([{"id": "H1", "role": "have", "quantity": 100.0, "cost": 50.0},
                          {"id": "W1", "role": "want", "quantity": 100.0, "cost": 10.0}])
    cands = make_candidates([("H1", "W1", 10.0)])
    got = []

    def explain(model, time_limit, meanings):
        got.append(time_limit)
        return "explained"

    monkeypatch.setattr(optimise_mod, "explain_infeasible", explain)
    with pytest.raises(ModelError, match="explained"):
        optimise(inv, candidates=cands, time_limit=3.0, metric_caps={"landfill_t": -1.0})
    assert len(got) == 1 and 0 < got[0] <= 3.0


def test_writing_the_model_does_not_change_how_it_is_solved(tmp_path, monkeypatch):
    res = [{"id": f"H{i}", "role": "have", "quantity": 10.0 * (i + 1), "cost": 50.0} for i in range(3)]
    res += [{"id": f"W{i}", "role": "want", "quantity": 15.0 * (i + 1), "cost": 30.0} for i in range(3)]
    inv = make_inventory(res, fixed_cost_synergy=100.0)
    cands = make_candidates([(f"H{i}", f"W{i}", 5.0) for i in range(3)])  # three independent pairs
    monkeypatch.setattr(blocks_mod, "BUNDLE_MAX_INT", -1)  # each component its own solve
    plain = optimise(inv, candidates=cands, gap=0.0, jobs=1)
    assert plain.summary["n_solves"] == plain.summary["n_components"] == 3
    written = optimise(inv, candidates=cands, gap=0.0, jobs=1, write_lp=tmp_path / "m.lp",
                       write_mps=tmp_path / "m.mps")
    assert written.summary["n_solves"] == plain.summary["n_solves"]
    assert written.summary["n_components"] == plain.summary["n_components"]
    assert written.summary["objective"]["cost"] == pytest.approx(plain.summary["objective"]["cost"], rel=1e-9)
    lp = (tmp_path / "m.lp").read_text()
    # the whole model is in the file: every candidate pair's flow variable
    for h, w in cands[["have_id", "want_id"]].itertuples(index=False):
        assert f"flow_{h}_{w}_" in lp
    assert (tmp_path / "m.mps").stat().st_size > 0


def test_one_options_object_serves_optimise_and_its_keywords_override_it():
    inv, cands = random_case(6, 6, 0.5, 1)
    opts = SolveOptions(objective="co2", gap=0.0, time_limit=20.0)
    by_opts = optimise(inv, candidates=cands, options=opts)
    by_kw = optimise(inv, candidates=cands, objective="co2", gap=0.0, time_limit=20.0)
    assert by_opts.summary["minimised"] == by_kw.summary["minimised"] == "co2"
    assert by_opts.summary["objective"] == pytest.approx(by_kw.summary["objective"])
    overridden = optimise(inv, candidates=cands, options=opts, objective="cost")
    assert overridden.summary["minimised"] == "cost"
    assert np.isfinite(overridden.gap)


def test_blocks_left_when_the_budget_is_spent_are_solved_together(monkeypatch):
    """A tiny time limit is not overrun by a floor paid once per block: once the budget is
    spent, the remaining blocks are one solve, and the plan still balances."""
    res = [{"id": f"H{i}", "role": "have", "quantity": 10.0 + i, "cost": 50.0} for i in range(12)]
    res += [{"id": f"W{i}", "role": "want", "quantity": 12.0 + i, "cost": 30.0} for i in range(12)]
    inv = make_inventory(res, fixed_cost_synergy=100.0)
    cands = make_candidates([(f"H{i}", f"W{i}", 5.0) for i in range(12)])
    monkeypatch.setattr(blocks_mod, "BUNDLE_MAX_INT", -1)  # twelve components, twelve blocks
    roomy = optimise(inv, candidates=cands, gap=0.0, jobs=1)
    assert roomy.summary["n_solves"] == roomy.summary["n_components"] == 12
    spent = SolveOptions(time_limit=1e-6, gap=0.0, jobs=1)
    tight = optimise(inv, candidates=cands, options=spent)
    assert tight.summary["n_components"] == 12 and tight.summary["n_solves"] < 12
    check = tight.flows.groupby("have_id")["quantity"].sum()
    assert all(check[f"H{i}"] == pytest.approx(10.0 + i) for i in range(12))
