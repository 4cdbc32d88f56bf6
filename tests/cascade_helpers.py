"""Helpers the cascade tests share: build inventories from small tables and
solve one model part on its own."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

from flowmatch.inventory import build_inventory
from flowmatch.model import ModelBuilder
from flowmatch.params import Params


def inventory(sites, resources, properties, **params):
    """An inventory from lists of dicts (sites need only site_id, lat, lon)."""
    tables = {"sites": pd.DataFrame(sites), "resources": pd.DataFrame(resources)}
    if properties:
        tables["properties"] = pd.DataFrame(properties)
    return build_inventory(tables, params=Params().replace(**params) if params else Params())


def solve_part(part, weights=None):
    """Build ``part`` alone, solve it to optimality; return (x, model, objective)."""
    mb = ModelBuilder()
    part.add_to(mb)
    model = mb.build()
    c, k = model.objective(weights or {"cost": 1.0})
    res = milp(c, constraints=LinearConstraint(model.A, model.row_lb, model.row_ub),
               bounds=Bounds(model.lb, model.ub), integrality=model.integrality.astype(int),
               options={"mip_rel_gap": 1e-9})
    assert res.status == 0, res.message
    return res.x, model, float(res.fun + k)


def totals(flows: pd.DataFrame) -> dict:
    """Quantity by mode."""
    return flows.groupby("mode")["quantity"].sum().to_dict()
