"""What a plan amounts to: baseline, totals by category, the balance check, ``summary.json``.

The *baseline* is today's state priced like the plan (:mod:`flowmatch.milp.costs`):
every have disposed of, every want served with virgin input.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from flowmatch.errors import ModelError
from flowmatch.inputs.inventory import Inventory
from flowmatch.inputs.units import CATEGORIES
from flowmatch.metrics import summary_values
from flowmatch.milp.costs import carbon_cost, disposal_terms, virgin_terms
from flowmatch.plans.plan import DISPOSAL, VIRGIN

__all__ = ["baseline", "by_category", "check_balance", "metrics_dict", "build_summary", "row_metrics",
           "SUMMARY_FORMAT", "BALANCE_RTOL", "with_cash"]

SUMMARY_FORMAT = 1
#: Relative tolerance of the balance check (of the supply or demand, at least 1 base unit).
BALANCE_RTOL = 1e-6


def metrics_dict(cost: float, co2_kg: float, landfill_t: float) -> dict[str, float]:
    """``{"cost", "co2_t", "landfill_t"}`` as ``summary.json`` writes them."""
    return summary_values({"cost": cost, "co2": co2_kg, "landfill": landfill_t})


def with_cash(values: dict[str, float], carbon_price: float) -> dict[str, float]:
    """``values`` plus ``cash`` and ``carbon_cost`` (``cost`` = cash + carbon at ``carbon_price``).

    ``carbon_cost`` is ``co2_t * carbon_price``; ``cash`` the rest of ``cost``:
    what the park pays (disposal, virgin input, transport, fixed and capital).
    """
    out = dict(values)
    if "cost" in out and "co2_t" in out:
        out["carbon_cost"] = float(out["co2_t"]) * carbon_price
        out["cash"] = float(out["cost"]) - out["carbon_cost"]
    return out


def baseline(inventory: Inventory) -> dict[str, float]:
    """Cost (carbon included; ``cash`` and ``carbon_cost`` apart), CO2 (t) and landfill (t) of today.

    Today: every have disposed of, every want served virgin.
    """
    p = inventory.params
    hv, wt = inventory.haves, inventory.wants
    s, dm = hv["quantity"].to_numpy(float), wt["quantity"].to_numpy(float)
    dc, dco2, land = disposal_terms(hv, p)
    vc, vco2 = virgin_terms(wt, p)
    co2 = float(s @ dco2 + dm @ vco2)
    cost = float(s @ dc + dm @ vc) + carbon_cost(co2, p)
    return with_cash(metrics_dict(cost, co2, float(s @ land)), p.carbon_price)


def _flow_category(flows: pd.DataFrame, inventory: Inventory) -> pd.Series:
    cat = inventory.resources.set_index("resource_id")["category"]
    by_have = flows["have_id"].map(cat)
    return by_have.fillna(flows["want_id"].map(cat))


def by_category(flows: pd.DataFrame, inventory: Inventory) -> dict[str, dict[str, float]]:
    """Supply, demand, reused, disposed and virgin per category, in base units.

    For water ``virgin`` is fresh water and ``disposed`` wastewater; for energy
    hot and cold utility (as the cascade part writes them).
    """
    res = inventory.resources
    cat = _flow_category(flows, inventory)
    out: dict[str, dict[str, float]] = {}
    for c in CATEGORIES:
        r = res[res["category"] == c]
        f = flows[(cat == c).to_numpy()]
        disp = (f["want_id"] == DISPOSAL).to_numpy()
        virg = (f["have_id"] == VIRGIN).to_numpy()
        q = f["quantity"].to_numpy(float)
        out[c] = {
            "supply": float(r.loc[r["role"] == "have", "quantity"].sum()),
            "demand": float(r.loc[r["role"] == "want", "quantity"].sum()),
            "reused": float(q[~disp & ~virg].sum()),
            "disposed": float(q[disp].sum()),
            "virgin": float(q[virg].sum()),
        }
    return out


def check_balance(flows: pd.DataFrame, inventory: Inventory, rtol: float = BALANCE_RTOL) -> None:
    """Raise :class:`ModelError` unless every have and want balances.

    For every have, its flows (reused, milk rounds, cascades and disposal) sum
    to its supply; for every want, its flows (virgin included) to its demand;
    within ``rtol`` of the amount (at least 1 base unit). Quantities must not
    be negative.
    """
    res = inventory.resources.set_index("resource_id")
    problems = []
    neg = flows["quantity"].to_numpy(float) < -rtol
    if neg.any():
        r = flows[neg].iloc[0]
        problems.append(f"negative flow {r['quantity']:g} from {r['have_id']} to {r['want_id']}")
    for role, col in (("have", "have_id"), ("want", "want_id")):
        target = res.loc[res["role"] == role, "quantity"].astype(float)
        got = flows.groupby(col)["quantity"].sum().reindex(target.index, fill_value=0.0)
        err = np.abs(got.to_numpy() - target.to_numpy())
        bad = err > rtol * np.maximum(np.abs(target.to_numpy()), 1.0)
        for rid in target.index[bad][:10]:
            what = "reused + disposed" if role == "have" else "reused + virgin"
            amount = "supply" if role == "have" else "demand"
            problems.append(f"{role} {rid}: {what} = {got[rid]:.9g} but {amount} = {target[rid]:.9g}")
        if bad.sum() > 10:
            problems.append(f"... and {int(bad.sum()) - 10} more {role}s")
    if problems:
        raise ModelError("the plan does not balance (a bug: please report it): " + "; ".join(problems))


def row_metrics(flows: pd.DataFrame, model_values: dict[str, float]) -> dict[str, float]:
    """The plan's metrics as its rows give them: cost and CO2 are the sums of ``flows``.

    The solver's value of a time-limited plan can count what no row carries: a
    water pipe or heat link (or a synergy's fixed cost) the incumbent opened
    but sends nothing through. The plan written is the rows, so its summary is
    their sum; ``landfill`` (no flows column) keeps the model's value.
    """
    out = dict(model_values)
    if len(flows):
        out["cost"] = float(flows["cost"].to_numpy(float).sum())
        out["co2"] = float(flows["co2_kg"].to_numpy(float).sum())
    else:
        out["cost"] = out["co2"] = 0.0
    return out


def _finite_or_none(v: float) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def build_summary(*, status: str, gap: float, metrics: dict[str, float], inventory: Inventory,
                  flows: pd.DataFrame, routes: pd.DataFrame, objective: str, weights: dict[str, float],
                  solver: str, bound: float, n_components: int, timings: dict[str, float],
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``summary.json`` dict: the spec's keys first, then documented extras."""
    from flowmatch import __version__

    direct = int((flows["mode"] == "direct").sum()) if len(flows) else 0
    out: dict[str, Any] = {
        "status": status,
        "gap": _finite_or_none(gap),
        "objective": with_cash(summary_values(metrics), inventory.params.carbon_price),
        "baseline": baseline(inventory),
        "by_category": by_category(flows, inventory),
        "format": SUMMARY_FORMAT,
        "flowmatch_version": __version__,
        "minimised": objective,
        "weights": {k: float(v) for k, v in weights.items()},
        "bound": _finite_or_none(bound),
        "solver": solver,
        "n_synergies": direct,
        "n_milk_rounds": int(len(routes)),
        "n_components": int(n_components),
        "currency": inventory.params.currency,
        "timings": {k: round(float(v), 4) for k, v in timings.items()},
    }
    out.update(extra or {})
    return out
