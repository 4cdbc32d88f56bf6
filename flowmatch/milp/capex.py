"""Capital costs turned into yearly ones, the one place the optimiser annualises.

A capital cost ``C`` spent once and serving ``n`` years is charged every year
as ``C * CRF(r, n)``, the capital recovery factor

    CRF(r, n) = r (1 + r)^n / ((1 + r)^n - 1)     (CRF(0, n) = 1 / n)

at the yearly discount rate ``r`` (``discount_rate``): the equal yearly
payment that repays ``C`` with interest over ``n`` years (Peters, Timmerhaus
and West, *Plant Design and Economics for Chemical Engineers*, 5th ed.,
McGraw-Hill 2003, ch. 7 "Interest and investment costs", the capital-recovery
factor).

Where capital may be given:

* a have's ``capex`` (with ``lifetime_years``, else ``capex_lifetime_years``):
  what using it in a synergy needs built (a dryer, a treatment unit); it is
  charged, annualised, on the binary of every direct synergy of that have
  (each link builds its own) and on every milk round that collects it (a have
  is collected by at most one round, so once per have collected);
* an expert rule's ``capex`` (with ``lifetime_years``): what the flows the
  rule covers need built together (a treatment unit for H3 -> W7), paid once
  on a binary that any of those flows switches on (:mod:`flowmatch.milp.rules`);
  in the plan's rows it is shared among the synergies the rule covers in
  proportion to quantity (:func:`rule_capex_shares`);
* ``pipe_capex_km`` and ``heat_link_capex_km``: capital per km of a water pipe
  or heat link, annualised over ``link_lifetime_years`` and added to the
  link's yearly fixed cost (:func:`flowmatch.milp.costs.link_fixed_cost`),
  whose ``*_fixed_cost`` and ``*_cost_km`` are already yearly figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flowmatch.inputs.inventory import Inventory
from flowmatch.inputs.params import Params
from flowmatch.plans.plan import DISPOSAL, VIRGIN

__all__ = ["capital_recovery_factor", "have_capex", "link_capex_annual", "rule_capex", "rule_capex_shares"]

#: A flow row below this quantity (base units a year) takes no share of a rule's capital.
_RULE_FLOW_TOL = 1e-6


def capital_recovery_factor(rate: float | np.ndarray, years: float | np.ndarray) -> np.ndarray:
    """``r (1+r)^n / ((1+r)^n - 1)``; ``1 / n`` at ``r = 0``."""
    r = np.asarray(rate, dtype=float)
    n = np.asarray(years, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        g = (1.0 + r) ** n
        crf = np.where(r > 0, r * g / (g - 1.0), 1.0 / n)
    return np.asarray(crf, dtype=float)


def have_capex(inventory: Inventory, have_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(capital, yearly capital charge) of each have in ``have_ids`` (0 where none is given)."""
    p = inventory.params
    res = inventory.resources.set_index("resource_id")
    ids = np.asarray(have_ids, dtype=object)
    if "capex" not in res.columns or len(ids) == 0:
        return np.zeros(len(ids)), np.zeros(len(ids))
    cap = np.nan_to_num(res["capex"].astype(float).reindex(ids).to_numpy(dtype=float))
    life = (res["lifetime_years"].astype(float).reindex(ids).to_numpy(dtype=float)
            if "lifetime_years" in res.columns else np.full(len(ids), np.nan))
    life = np.where(np.isnan(life) | (life <= 0), p.capex_lifetime_years, life)
    return cap, np.where(cap > 0, cap * capital_recovery_factor(p.discount_rate, life), 0.0)


def link_capex_annual(category: np.ndarray, km: np.ndarray, params: Params) -> np.ndarray:
    """Yearly capital charge of a pipe (``water``) or heat link (``energy``) ``km`` long; 0 otherwise."""
    km = np.asarray(km, dtype=float)
    cat = np.broadcast_to(np.asarray(category, dtype=object), km.shape)
    per_km = np.where(cat == "water", params.pipe_capex_km, np.where(cat == "energy", params.heat_link_capex_km,
                                                                        0.0))
    crf = float(capital_recovery_factor(params.discount_rate, params.link_lifetime_years))
    return per_km * km * crf


def rule_capex(rules: pd.DataFrame | None, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """(capital, yearly capital charge) of each rule of the normalised ``rules`` (0 where none is given)."""
    if rules is None or not len(rules) or "capex" not in rules.columns:
        n = 0 if rules is None else len(rules)
        return np.zeros(n), np.zeros(n)
    cap = np.nan_to_num(rules["capex"].to_numpy(dtype=float))
    life = rules["lifetime_years"].to_numpy(dtype=float) if "lifetime_years" in rules.columns \
        else np.full(len(rules), np.nan)
    life = np.where(np.isnan(life) | (life <= 0), params.capex_lifetime_years, life)
    return cap, np.where(cap > 0, cap * capital_recovery_factor(params.discount_rate, life), 0.0)


def rule_capex_shares(flows: pd.DataFrame, inventory: Inventory) -> tuple[np.ndarray, np.ndarray]:
    """(capital, yearly capital charge) of the rules' capex that falls on each row of ``flows``.

    A rule with ``capex`` is built when any synergy row it covers (a have it
    names to a want it names, not disposal or virgin input) carries more than
    a trace; its yearly charge is then split among those rows in proportion to
    quantity. A row covered by several such rules takes a share of each.
    """
    n = len(flows)
    cap_out, ann_out = np.zeros(n), np.zeros(n)
    rules = inventory.rules
    if not n or rules is None or not len(rules):
        return cap_out, ann_out
    cap, ann = rule_capex(rules, inventory.params)
    if not (ann > 0).any():
        return cap_out, ann_out
    hid = flows["have_id"].to_numpy(dtype=object)
    wid = flows["want_id"].to_numpy(dtype=object)
    q = flows["quantity"].to_numpy(float)
    synergy = (wid != DISPOSAL) & (hid != VIRGIN) & (q > _RULE_FLOW_TOL)
    for k in np.flatnonzero(ann > 0):
        r = rules.iloc[k]
        on = synergy & np.isin(hid, list(r["have_ids"])) & np.isin(wid, list(r["want_ids"]))
        if not on.any():
            continue
        w = np.where(on, q, 0.0) / q[on].sum()
        cap_out += w * cap[k]
        ann_out += w * ann[k]
    return cap_out, ann_out
