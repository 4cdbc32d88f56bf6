"""What each synergy is worth: the plan's saving attributed synergy by synergy.

One row per chosen synergy (a direct exchange, a have collected on a milk
round, a water or a heat flow between two resources), in the inventory's
currency per year (``SYNERGY_COLUMNS``):

``avoided_disposal``
    the synergy's quantity times what disposing of its have costs today
    (:func:`flowmatch.milp.costs.disposal_terms`, carbon excluded);
``avoided_virgin``
    its quantity times what serving its want with virgin input costs today
    (:func:`flowmatch.milp.costs.virgin_terms`, carbon excluded);
``transport``
    moving it: road freight, pumping or heat transport per unit-km (with the
    infrastructure's transport factor); on a milk round the route's vehicle
    cost (km and stops), shared among the route's stops in proportion to load;
``operating``
    what using it costs besides moving it: treatment of a ``regenerated``
    water flow (``regeneration_cost_m3``) and a hot stream's
    ``opportunity_cost`` on every MWh it gives;
``fixed``
    the yearly fixed cost (contract and handling of a direct synergy; a water
    pipe's or heat link's yearly cost, shared among the flows over that link in
    proportion to volume);
``capex_annual``
    the annualised capital cost (:mod:`flowmatch.milp.capex`) of what the
    synergy needs built: its have's ``capex`` on a direct synergy or a milk
    round (a route's transport is then its vehicle cost alone), its share of a
    pipe's or heat link's capital, and its share of an expert rule's
    ``capex`` (a rule paid once for several synergies splits it among the
    synergies it covers in proportion to quantity, so the rows still add up);
``carbon_value``
    the CO2 it saves (``co2_saved_t``: disposal and virgin emissions avoided,
    less its transport's) at ``carbon_price``;
``net_cash = avoided_disposal + avoided_virgin - transport - operating - fixed - capex_annual``
    and ``net_total = net_cash + carbon_value``;
``payback_years``
    capital over yearly net cash before capital, where a capital cost is given.

The attribution is exact: the plan's disposal and virgin rows are priced as
the baseline prices them, so ``sum(net_total)`` is baseline cost minus plan
cost and ``sum(co2_saved_t)`` baseline CO2 minus plan CO2. Where a disposal
or virgin row is priced otherwise (heat rejected through another stream's
cooler, say) the difference goes into ``avoided_disposal`` (or
``avoided_virgin``) and ``co2_saved_t`` of the synergies of that have (or
want) in proportion to quantity, or of every synergy when it has none.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flowmatch.inputs.inventory import Inventory
from flowmatch.milp.capex import (
    capital_recovery_factor,
    have_capex,
    link_capex_annual,
    rule_capex_shares,
)
from flowmatch.milp.costs import (
    carbon_cost,
    disposal_terms,
    infrastructure_factors,
    link_fixed_cost,
    transport_rates,
    virgin_terms,
)
from flowmatch.plans.plan import DISPOSAL, VIRGIN

__all__ = ["SYNERGY_COLUMNS", "SYNERGY_REQUIRED", "SYNERGY_MONEY", "synergy_table", "check_synergy_sums"]

#: Money columns of ``synergies.csv`` (currency per year), in order.
SYNERGY_MONEY = ["avoided_disposal", "avoided_virgin", "transport", "operating", "fixed", "capex_annual",
                 "carbon_value", "net_cash", "net_total"]
#: Columns a ``synergies.csv`` must have (the issue's; ``route_id``, ``operating``,
#: ``co2_saved_t`` and ``payback_years`` are written too, and read when present).
SYNERGY_REQUIRED = ["synergy_id", "have_id", "want_id", "mode", "quantity", "unit", "avoided_disposal",
                    "avoided_virgin", "transport", "fixed", "capex_annual", "carbon_value", "net_cash", "net_total"]
#: Columns of ``synergies.csv``.
SYNERGY_COLUMNS = ["synergy_id", "have_id", "want_id", "mode", "route_id", "quantity", "unit",
                   *SYNERGY_MONEY, "co2_saved_t", "payback_years"]


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object if c in ("synergy_id", "have_id", "want_id", "mode",
                                                           "route_id", "unit") else float)
                         for c in SYNERGY_COLUMNS})


def _opportunity(inventory: Inventory, ids: np.ndarray) -> np.ndarray:
    props = inventory.properties
    if props is None or len(props) == 0:
        return np.zeros(len(ids))
    sel = props[props["property"] == "opportunity_cost"].drop_duplicates("resource_id")
    v = sel.set_index("resource_id")["value"].astype(float).reindex(ids).to_numpy(dtype=float)
    return np.where(np.isnan(v), 0.0, v)


def synergy_table(flows: pd.DataFrame, inventory: Inventory) -> pd.DataFrame:
    """The ``synergies.csv`` table of a plan's ``flows`` (see the module's docstring)."""
    p = inventory.params
    res = inventory.resources.set_index("resource_id")
    hv, wt = inventory.haves, inventory.wants
    dc, dco2, _ = disposal_terms(hv, p)
    vc, vco2 = virgin_terms(wt, p)
    d_cash = pd.Series(dc, index=hv["resource_id"].to_numpy())
    d_co2 = pd.Series(dco2, index=hv["resource_id"].to_numpy())
    v_cash = pd.Series(vc, index=wt["resource_id"].to_numpy())
    v_co2 = pd.Series(vco2, index=wt["resource_id"].to_numpy())
    f = flows.reset_index(drop=True)
    if not len(f):
        return _empty()
    is_disp = (f["want_id"] == DISPOSAL).to_numpy()
    is_virg = (f["have_id"] == VIRGIN).to_numpy()
    syn = f[~is_disp & ~is_virg].copy()
    if not len(syn):
        return _empty()
    q = syn["quantity"].to_numpy(float)
    cost = syn["cost"].to_numpy(float)
    co2 = syn["co2_kg"].to_numpy(float)
    hid, wid = syn["have_id"].to_numpy(dtype=object), syn["want_id"].to_numpy(dtype=object)
    mode = syn["mode"].to_numpy(dtype=object)
    avoided_d = q * d_cash.reindex(hid).to_numpy(float)
    avoided_v = q * v_cash.reindex(wid).to_numpy(float)
    saved_kg = q * (d_co2.reindex(hid).to_numpy(float) + v_co2.reindex(wid).to_numpy(float)) - co2
    cash_cost = cost - carbon_cost(co2, p)
    # transport: per unit-km rates with the infrastructure's factor; a milk round's is all its cost
    cat = res["category"].reindex(hid).to_numpy(dtype=object)
    rate, _ = transport_rates(cat, p)
    tf, _ = infrastructure_factors(inventory, res["site_id"].reindex(hid).to_numpy(dtype=object),
                                   res["site_id"].reindex(wid).to_numpy(dtype=object), cat)
    km = np.nan_to_num(syn["distance_km"].to_numpy(float))
    milk = mode == "milk_round"
    # a have's capital: charged on its direct synergies (milp/synergies.py) and on the round collecting it
    capex, capex_ann = have_capex(inventory, hid)
    own = (mode == "direct") | milk
    capex_ann = np.where(own, capex_ann, 0.0)
    capex = np.where(own, capex, 0.0)
    # a rule's capital, shared among the synergies it covers by quantity (milp/capex.py)
    rule_cap, rule_ann = rule_capex_shares(syn, inventory)
    cash_cost = cash_cost - rule_ann
    transport = np.where(milk, cash_cost - capex_ann, q * rate * km * tf)
    operating = np.where(mode == "regenerated", q * p.regeneration_cost_m3, 0.0)
    heat = (mode == "cascade") & (cat == "energy")
    operating = operating + np.where(heat, q * _opportunity(inventory, hid), 0.0)
    # a pipe's or heat link's share of its yearly cost: the part that is annualised capital
    piped = ~milk & np.isin(cat, ["water", "energy"])
    if piped.any():
        link_year = link_fixed_cost(cat[piped], km[piped], p)
        link_cap = link_capex_annual(cat[piped], km[piped], p)
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(link_year > 0, link_cap / link_year, 0.0)
        share = (cash_cost - transport - operating - capex_ann)[piped] * frac
        crf = float(capital_recovery_factor(p.discount_rate, p.link_lifetime_years))
        capex_ann = capex_ann.copy()
        capex_ann[piped] += share
        capex = capex.copy()
        capex[piped] += share / crf
    fixed = np.where(milk, 0.0, cash_cost - transport - operating - capex_ann)
    fixed = np.where(np.abs(fixed) < 1e-9 * np.maximum(np.abs(cash_cost), 1.0), 0.0, fixed)
    capex_ann = capex_ann + rule_ann
    capex = capex + rule_cap
    # disposal and virgin rows priced otherwise than the baseline: to their synergies by quantity
    extra_cash = {"disp": np.zeros(len(syn)), "virg": np.zeros(len(syn))}
    extra_kg = np.zeros(len(syn))
    for kind, mask, col, unit_cash, unit_co2, ids in (("disp", is_disp, "have_id", d_cash, d_co2, hid),
                                                      ("virg", is_virg, "want_id", v_cash, v_co2, wid)):
        rows = f[mask]
        if not len(rows):
            continue
        rq = rows["quantity"].to_numpy(float)
        rco2 = rows["co2_kg"].to_numpy(float)
        r_ids = rows[col].to_numpy(dtype=object)
        diff_kg = rq * unit_co2.reindex(r_ids).to_numpy(float) - rco2
        diff_cash = rq * unit_cash.reindex(r_ids).to_numpy(float) - (rows["cost"].to_numpy(float)
                                                                     - carbon_cost(rco2, p))
        off = (np.abs(diff_cash) > 1e-9 * np.maximum(np.abs(rows["cost"].to_numpy(float)), 1.0)) | (
            np.abs(diff_kg) > 1e-9 * np.maximum(np.abs(rco2), 1.0))
        if not off.any():
            continue
        resid = pd.DataFrame({"id": r_ids[off], "cash": diff_cash[off], "kg": diff_kg[off]}).groupby("id").sum()
        q_by_id = pd.Series(q, index=ids).groupby(level=0).sum()
        mine = resid.index.isin(q_by_id.index[q_by_id > 0])
        got = resid[mine]
        per = got.div(q_by_id.reindex(got.index), axis=0)  # per unit of that id's synergies
        extra_cash[kind] += q * per["cash"].reindex(ids).fillna(0.0).to_numpy(float)
        extra_kg += q * per["kg"].reindex(ids).fillna(0.0).to_numpy(float)
        lone = resid[~mine].sum()  # ids with no synergy: spread over every synergy by quantity
        w = q / q.sum() if q.sum() > 0 else np.full(len(q), 1.0 / len(q))
        extra_cash[kind] += w * float(lone["cash"])
        extra_kg += w * float(lone["kg"])
    avoided_d = avoided_d + extra_cash["disp"]
    avoided_v = avoided_v + extra_cash["virg"]
    saved_kg = saved_kg + extra_kg
    carbon_value = carbon_cost(saved_kg, p)
    net_cash = avoided_d + avoided_v - transport - operating - fixed - capex_ann
    before_capital = net_cash + capex_ann
    with np.errstate(divide="ignore", invalid="ignore"):
        payback = np.where((capex > 0) & (before_capital > 0), capex / before_capital, np.nan)
    out = pd.DataFrame({
        "synergy_id": [f"S{i + 1:03d}" for i in range(len(syn))],
        "have_id": hid, "want_id": wid, "mode": mode,
        "route_id": syn["route_id"].fillna("").astype(str).to_numpy() if "route_id" in syn else "",
        "quantity": q, "unit": syn["unit"].to_numpy(dtype=object),
        "avoided_disposal": avoided_d, "avoided_virgin": avoided_v, "transport": transport,
        "operating": operating, "fixed": fixed, "capex_annual": capex_ann, "carbon_value": carbon_value,
        "net_cash": net_cash, "net_total": net_cash + carbon_value,
        "co2_saved_t": saved_kg / 1000.0, "payback_years": payback,
    })
    out = out.sort_values("net_total", ascending=False, kind="stable").reset_index(drop=True)
    out["synergy_id"] = [f"S{i + 1:03d}" for i in range(len(out))]
    return out[SYNERGY_COLUMNS]


def check_synergy_sums(synergies: pd.DataFrame, summary: dict, rtol: float = 1e-6) -> list[str]:
    """Problems with ``synergies`` adding up to the summary's saving (empty when it does).

    ``sum(net_total)`` must equal ``baseline.cost - objective.cost`` and
    ``sum(co2_saved_t)`` ``baseline.co2_t - objective.co2_t``, within ``rtol``
    of the baseline (at least 1 unit).
    """
    out = []
    base, obj = summary.get("baseline", {}), summary.get("objective", {})
    for col, key in (("net_total", "cost"), ("co2_saved_t", "co2_t")):
        if key not in base or key not in obj or col not in synergies:
            continue
        want = float(base[key]) - float(obj[key])
        got = float(synergies[col].sum()) if len(synergies) else 0.0
        if abs(got - want) > rtol * max(abs(float(base[key])), 1.0):
            out.append(f"the synergies' {col} add up to {got:,.2f} but baseline minus plan {key} is {want:,.2f}")
    return out
