"""Small hand-built inventories and candidates for the optimiser tests (not a test module)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from flowmatch.inputs.inventory import build_inventory
from flowmatch.inputs.params import Params


def make_inventory(resources: list[dict], properties: list[dict] | None = None, **params):
    """An inventory with one site per resource (``site`` key, default the resource id).

    Each resource dict: id, role, quantity, and optionally category, type, cost, co2,
    route, byproduct, site.
    """
    rows = []
    sites = {}
    for r in resources:
        cat = r.get("category", "material")
        default_type = {"material": "ewc:100105" if r["role"] == "have" else "raw:gypsum",
                        "water": "water", "energy": "energy:heat"}[cat]
        site = r.get("site", f"S{r['id']}")
        sites[site] = (36.0 + 0.01 * len(sites), 117.0)
        rows.append({"resource_id": r["id"], "site_id": site, "role": r["role"], "category": cat,
                     "type": r.get("type", default_type), "quantity": r["quantity"],
                     "unit": {"material": "t", "water": "m3", "energy": "MWh"}[cat],
                     "cost": r.get("cost", ""), "co2": r.get("co2", ""), "route": r.get("route", ""),
                     "byproduct": r.get("byproduct", "")})
    tables = {
        "sites": pd.DataFrame([{"site_id": s, "lat": la, "lon": lo} for s, (la, lo) in sites.items()]),
        "resources": pd.DataFrame(rows),
    }
    if properties:
        tables["properties"] = pd.DataFrame(properties)
    # direct synergies alone (brute force knows no routes); milk rounds: tests/test_milkrounds.py
    params = {"milk_round_max_stops": 0, **params}
    return build_inventory(tables, params=Params().replace(**params))


def make_candidates(pairs: list[tuple[str, str, float]]) -> pd.DataFrame:
    """Candidates (have_id, want_id, distance_km) with neutral scores."""
    df = pd.DataFrame(pairs, columns=["have_id", "want_id", "distance_km"])
    df["score"] = 1.0
    df["rank"] = df.groupby("want_id").cumcount() + 1
    return df


def random_case(n_have: int, n_want: int, density: float, seed: int, **params):
    """A random fixed-charge instance: (inventory, candidates)."""
    rng = np.random.default_rng(seed)
    res = [{"id": f"H{i}", "role": "have", "quantity": float(rng.integers(5, 60)),
            "cost": float(rng.integers(20, 120)), "co2": float(rng.integers(0, 40)), "route": "landfill"}
           for i in range(n_have)]
    res += [{"id": f"W{j}", "role": "want", "quantity": float(rng.integers(5, 60)),
             "cost": float(rng.integers(10, 150)), "co2": float(rng.integers(0, 80))}
            for j in range(n_want)]
    pairs = [(f"H{i}", f"W{j}", float(rng.uniform(1, 150)))
             for i in range(n_have) for j in range(n_want) if rng.random() < density]
    return make_inventory(res, **params), make_candidates(pairs)


def unit_terms(inv, cands):
    """Per-unit objective terms computed independently of flowmatch.milp.synergies (costs by hand)."""
    p = inv.params
    res = inv.resources.set_index("resource_id")
    cp = p.carbon_price / 1000.0
    hv = res[res["role"] == "have"]
    wt = res[res["role"] == "want"]
    land = hv["route"].isin(["landfill", ""]).to_numpy()
    disp = hv["cost"].fillna(p.landfill_price).to_numpy() + land * p.landfill_tax \
        + cp * hv["co2"].fillna(p.landfill_co2_kg_t).to_numpy()
    virg = wt["cost"].fillna(p.virgin_price_t).to_numpy() + cp * wt["co2"].fillna(0.0).to_numpy()
    d = cands["distance_km"].to_numpy(float)
    trans = d * (p.transport_cost_t_km + cp * p.co2_kg_t_km)
    return hv, wt, disp, virg, trans


def brute_force_cost(inv, cands, rules=None) -> float:
    """Optimal cost by enumerating every set of open synergies and solving the LP for each.

    ``rules`` (an inventory's ``rules`` table, optional) act as bounds and rows: a
    forbidden pair never opens, a minimum size raises an open pair's lower bound, a cap
    or force is a row over its pairs' flows, and a rule's ``capex`` is paid (annualised
    by hand: r (1+r)^n / ((1+r)^n - 1)) when any pair it covers is open. ``inf`` when no
    set of open pairs is feasible.
    """
    p = inv.params
    hv, wt, disp, virg, trans = unit_terms(inv, cands)
    H, W, n = len(hv), len(wt), len(cands)
    hi = pd.Index(hv.index).get_indexer(cands["have_id"])
    wi = pd.Index(wt.index).get_indexer(cands["want_id"])
    s, dm = hv["quantity"].to_numpy(), wt["quantity"].to_numpy()
    m = np.minimum(s[hi], dm[wi])
    # variables: flows (n), disposal (H), virgin (W)
    c = np.concatenate([trans, disp, virg])
    A_eq = np.zeros((H + W, n + H + W))
    A_eq[hi, np.arange(n)] = 1
    A_eq[H + wi, np.arange(n)] = 1
    A_eq[np.arange(H), n + np.arange(H)] = 1
    A_eq[H + np.arange(W), n + H + np.arange(W)] = 1
    b_eq = np.concatenate([s, dm])
    hid, wid = cands["have_id"].to_numpy(), cands["want_id"].to_numpy()
    allowed, min_size, rows, rhs = np.ones(n, bool), np.zeros(n), [], []
    built = []  # (pairs a rule with capital covers, its yearly charge)
    for r in (rules.itertuples(index=False) if rules is not None else ()):
        on = np.isin(hid, r.have_ids) & np.isin(wid, r.want_ids)
        capex = getattr(r, "capex", 0.0)
        if capex == capex and capex > 0:
            life = r.lifetime_years if r.lifetime_years == r.lifetime_years else p.capex_lifetime_years
            g = (1 + p.discount_rate) ** life
            built.append((on, capex * (p.discount_rate * g / (g - 1) if p.discount_rate > 0 else 1 / life)))
        if r.action == "forbid":
            allowed &= ~on
        elif r.action == "min_size":
            min_size = np.where(on, np.maximum(min_size, r.value), min_size)
        elif r.action in ("cap", "force"):
            sign = 1.0 if r.action == "cap" else -1.0
            least = r.value if r.value == r.value else min(max(p.min_synergy_flow, 1.0), m[on].max())
            rows.append(np.concatenate([sign * on, np.zeros(H + W)]))
            rhs.append(sign * (r.value if r.action == "cap" else least))
    best = np.inf
    for opened in itertools.product([0, 1], repeat=n):
        o = np.array(opened, bool)
        lo = np.where(o, np.maximum(p.min_synergy_flow, min_size), 0.0)
        if np.any(o & ((m < lo) | ~allowed)):
            continue
        bounds = list(zip(lo, np.where(o, m, 0.0), strict=True)) + [(0, None)] * (H + W)
        r = linprog(c, A_ub=np.array(rows) if rows else None, b_ub=np.array(rhs) if rows else None,
                    A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if r.status == 0:
            best = min(best, r.fun + p.fixed_cost_synergy * o.sum() + sum(a for on, a in built if (o & on).any()))
    return float(best)
