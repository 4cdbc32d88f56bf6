"""Polish's tie-break (``LinearModel.prefer``): of equally cheap plans the preferred one, never a dearer one.

The water part marks a pair a sink takes only by blending (its source over one of
the sink's limits); caofeidian's steel works has two such choices of the same
cost, and an engineer sends the treated effluent to the slag quench (which takes it
as it is), not into the high-quality process water.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import flowmatch as fm
from flowmatch.milp import polish as polish_mod
from flowmatch.milp.builder import LinearModel
from flowmatch.milp.polish import polish


def _two_routes(cost_b: float) -> LinearModel:
    """x_a + x_b = 10 through one link y (fixed cost 5): x_a costs 1, x_b ``cost_b``; prefer x_a less."""
    A = sp.csc_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, -10.0]]))
    return LinearModel(lb=np.zeros(3), ub=np.array([np.inf, np.inf, 1.0]),
                       integrality=np.array([False, False, True]), A=A,
                       row_lb=np.array([10.0, -np.inf]), row_ub=np.array([10.0, 0.0]),
                       metrics={"cost": np.array([1.0, cost_b, 5.0])}, metric_const={"cost": 0.0},
                       var_names=["x_a", "x_b", "y"], row_names=["demand", "link"],
                       prefer=np.array([1.0, 0.0, 0.0]))


def test_equal_cost_plans_take_the_preferred():
    model = _two_routes(1.0)
    c, k = model.objective({"cost": 1.0})
    p = polish(model, c, k, np.array([10.0, 0.0, 1.0]))
    assert p.x[:2] == pytest.approx([0.0, 10.0])
    assert p.objective == pytest.approx(15.0)


def test_the_tie_break_never_buys_a_dearer_plan():
    model = _two_routes(1.001)  # 0.01 a year dearer in all: not a tie
    c, k = model.objective({"cost": 1.0})
    p = polish(model, c, k, np.array([10.0, 0.0, 1.0]))
    assert p.x[:2] == pytest.approx([10.0, 0.0])
    assert p.objective == pytest.approx(15.0)


def _steel_works_water(flows):
    w = flows[flows["want_id"].isin(["SJT-PROCESS-W", "SJT-SLAGWATER"])]
    return w.set_index(["have_id", "want_id"])["quantity"].to_dict()


def test_caofeidian_effluent_goes_to_the_slag_quench(data_dir, monkeypatch):
    inv = fm.read_inventory(data_dir.parent.parent / "datasets" / "caofeidian")
    plan = fm.optimise(inv)
    water = _steel_works_water(plan.flows)
    # the slag quench takes the effluent as it is (TDS 1,800 against its 5,000 mg/l); the process
    # water (500 mg/l) only what is left, blended with desalinated water
    assert water[("SJT-EFF", "SJT-SLAGWATER")] == pytest.approx(3_000_000)
    assert water[("SJT-EFF", "SJT-PROCESS-W")] == pytest.approx(1_000_000)
    monkeypatch.setattr(polish_mod, "PREFER_WEIGHT", 0.0)  # no tie-break: the same cost either way
    other = fm.optimise(inv)
    assert plan.summary["objective"]["cost"] == pytest.approx(other.summary["objective"]["cost"], rel=1e-9)
