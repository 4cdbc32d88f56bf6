"""Helpers the cascade tests share: build inventories from small tables and
solve one model part on its own."""

from __future__ import annotations

import pandas as pd

from flowmatch.inputs.inventory import build_inventory
from flowmatch.inputs.params import Params
from flowmatch.milp.builder import ModelBuilder
from flowmatch.milp.solvers import solve


def inventory(sites, resources, properties, **params):
    """An inventory from lists of dicts (sites need only site_id, lat, lon)."""
    tables = {"sites": pd.DataFrame(sites), "resources": pd.DataFrame(resources)}
    if properties:
        tables["properties"] = pd.DataFrame(properties)
    return build_inventory(tables, params=Params().replace(**params) if params else Params())


def solve_part(part, weights=None):
    """Build ``part`` alone, solve it to optimality with HiGHS; return (x, model, objective)."""
    mb = ModelBuilder()
    part.add_to(mb)
    model = mb.build()
    res = solve(model, weights or {"cost": 1.0}, gap=1e-9)
    assert res.status == "optimal", res.message
    return res.x, model, res.objective


def totals(flows: pd.DataFrame) -> dict:
    """Quantity by mode."""
    return flows.groupby("mode")["quantity"].sum().to_dict()
