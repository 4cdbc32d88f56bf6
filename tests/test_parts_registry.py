"""Model parts plug in: a new kind of part is one module and one registration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from optimise_cases import make_candidates, make_inventory

import flowmatch.milp.part as part_mod
from flowmatch.errors import ModelError
from flowmatch.milp.builder import ModelBuilder
from flowmatch.milp.optimise import optimise
from flowmatch.milp.part import ModelPart, PartContext, PartKind, build_parts, part_kinds
from flowmatch.plans.plan import DISPOSAL, FLOW_COLUMNS, ROUTE_COLUMNS, VIRGIN
from flowmatch.plans.summary import check_balance


class GridPart:
    """A toy part: electricity haves feed electricity wants over a grid at a price per MWh.

    Written the way docs/architecture.md tells a contributor to write one.
    """

    name = "grid"
    row_meaning = {"grid_have": "the supply of", "grid_want": "the demand of"}

    def __init__(self, inventory, resource_ids):
        res = inventory.resources.set_index("resource_id").loc[resource_ids]
        self.haves = res[res["role"] == "have"]
        self.wants = res[res["role"] == "want"]

    def resource_ids(self):
        return [*self.haves.index, *self.wants.index]

    def add_to(self, mb: ModelBuilder) -> None:
        H, W = len(self.haves), len(self.wants)
        self.flow = mb.add_vars(H * W, name="grid_flow", cost=1.0)
        self.spill = mb.add_vars(H, name="grid_spill", cost=5.0)
        self.buy = mb.add_vars(W, name="grid_buy", cost=100.0, co2=500.0)
        hi = np.repeat(np.arange(H), W)
        wi = np.tile(np.arange(W), H)
        q_h, q_w = self.haves["quantity"].to_numpy(float), self.wants["quantity"].to_numpy(float)
        mb.add_rows(np.r_[hi, np.arange(H)], np.r_[self.flow, self.spill], np.ones(H * W + H), q_h, q_h,
                    name=[f"grid_have[{h}]" for h in self.haves.index])
        mb.add_rows(np.r_[wi, np.arange(W)], np.r_[self.flow, self.buy], np.ones(H * W + W), q_w, q_w,
                    name=[f"grid_want[{w}]" for w in self.wants.index])

    def warm_start(self, x):
        x[self.flow] = 0.0
        x[self.spill] = self.haves["quantity"].to_numpy(float)
        x[self.buy] = self.wants["quantity"].to_numpy(float)

    def flows(self, x):
        rows = []
        W = len(self.wants)
        for k, q in enumerate(x[self.flow]):
            if q > 1e-9:
                rows.append((self.haves.index[k // W], self.wants.index[k % W], q, "MWh", "direct", "", 0.0,
                             q * 1.0, 0.0))
        for h, q in zip(self.haves.index, x[self.spill], strict=True):
            if q > 1e-9:
                rows.append((h, DISPOSAL, q, "MWh", "disposal", "", 0.0, 5.0 * q, 0.0))
        for w, q in zip(self.wants.index, x[self.buy], strict=True):
            if q > 1e-9:
                rows.append((VIRGIN, w, q, "MWh", "virgin", "", 0.0, 100.0 * q, 500.0 * q))
        return pd.DataFrame(rows, columns=FLOW_COLUMNS)

    def routes(self, x):
        return pd.DataFrame(columns=ROUTE_COLUMNS)


def _electricity(inventory):
    res = inventory.resources
    return res.loc[res["type"] == "energy:electricity", "resource_id"].tolist()


def _build(ctx: PartContext, ids: list[str]):
    return [GridPart(ctx.inventory, ids)] if ids else []


GRID = PartKind("grid", build=_build, takes=_electricity)


@pytest.fixture
def with_grid(monkeypatch):
    """The registry with the toy grid kind added (one registration), restored afterwards."""
    monkeypatch.setattr(part_mod, "_KINDS", list(part_kinds()))
    part_mod.register_part(GRID)


def _park():
    res = [{"id": "H1", "role": "have", "quantity": 100.0, "cost": 50.0},
           {"id": "W1", "role": "want", "quantity": 80.0, "cost": 10.0},
           {"id": "E1", "role": "have", "quantity": 30.0, "category": "energy", "type": "energy:electricity"},
           {"id": "E2", "role": "want", "quantity": 50.0, "category": "energy", "type": "energy:electricity"}]
    return make_inventory(res), make_candidates([("H1", "W1", 10.0)])


def test_builtin_kinds_in_model_order():
    names = [k.name for k in part_kinds()]
    assert names[:2] == ["synergies", "milk_rounds"]  # milk rounds join the balances synergies declare
    assert {"water", "heat"} <= set(names)


def test_a_registered_kind_owns_its_resources_and_plans_them(with_grid):
    inv, cands = _park()
    parts = build_parts(inv, cands)
    assert all(isinstance(p, ModelPart) for p in parts)
    owner = {rid: p.name for p in parts for rid in p.resource_ids()}
    assert owner == {"H1": "synergies", "W1": "synergies", "E1": "grid", "E2": "grid"}
    plan = optimise(inv, candidates=cands, gap=0.0)
    grid = plan.flows[plan.flows["have_id"].eq("E1") | plan.flows["want_id"].eq("E2")]
    assert grid.groupby("mode")["quantity"].sum().to_dict() == pytest.approx(
        {"direct": 30.0, "virgin": 20.0})
    check_balance(plan.flows, inv)


def test_the_explanation_uses_the_rows_meaning_the_part_declares(with_grid):
    inv, cands = _park()
    with pytest.raises(ModelError, match=r"the demand of E2 \(grid_want\[E2\]\)"):
        optimise(inv, candidates=cands, metric_caps={"cost": 0.0})


def test_two_kinds_taking_one_resource_is_a_named_bug(monkeypatch):
    monkeypatch.setattr(part_mod, "_KINDS", list(part_kinds()))
    part_mod.register_part(PartKind("greedy", build=lambda ctx, ids: [], takes=lambda inv: ["H1"]))
    part_mod.register_part(PartKind("greedier", build=lambda ctx, ids: [], takes=lambda inv: ["H1"]))
    inv, cands = _park()
    with pytest.raises(ModelError, match="H1 is taken by both the greedy and the greedier"):
        build_parts(inv, cands)


def test_a_kind_must_say_what_it_owns():
    with pytest.raises(ValueError, match="exactly one"):
        PartKind("vague", build=lambda ctx, ids: [])
    with pytest.raises(ValueError, match="registered already"):
        part_mod.register_part(PartKind("synergies", build=lambda ctx, ids: [], joins=True))
