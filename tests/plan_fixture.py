"""Write plan folders by hand, in the exact layout ``flowmatch.plans.folder.write_plan`` writes.

Each folder is sealed with ``manifest.json`` (:func:`seal`), as flowmatch seals the folders it writes.

The tables are generated so that they agree with each other the way a real plan
does: every have's flows add up to its supply, every want's to its demand, and
``summary.json`` holds the totals of ``flows.csv``. ``hostile=True`` puts
formula-like and HTML strings into names, parks, sectors, ids and types.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

SECTORS = ["C23.5", "C23.6", "C24.1", "C10.8", "C11.0", "C17.1", "D35.1", "E38.2", "C20.1", "C16.2"]
HAVE_TYPES = {
    "material": ["ewc:100105", "ewc:100102", "ewc:100202", "ewc:020704", "ewc:030301", "ewc:170504"],
    "water": ["water:effluent", "water:condensate", "water:cooling:blowdown"],
    "energy": ["energy:steam:lp", "energy:heat:low", "energy:hot-water"],
}
WANT_TYPES = {
    "material": ["raw:gypsum", "raw:cement-additive", "raw:aggregate", "raw:fuel"],
    "water": ["water:cooling", "water:boiler-feed", "water:process"],
    "energy": ["energy:steam:lp", "energy:heat:low"],
}
UNIT = {"material": "t", "water": "m3", "energy": "MWh"}
COST = {"material": 40.0, "water": 3.0, "energy": 15.0}
VIRGIN_COST = {"material": 60.0, "water": 4.0, "energy": 220.0}
CO2 = {"material": 20.0, "water": 0.5, "energy": 5.0}
LOGMEAN = {"material": 6.5, "water": 9.0, "energy": 7.5}
HOSTILE = ["=HYPERLINK(\"http://example.invalid\",\"click\")", "<script>alert('x')</script>",
           "+SUM(1,2)", "-3+4", "@cmd|' /C calc'!A0", "<b>bold</b> & \"quoted\""]


def _km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(lon2 - lon1)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def make_plan_folder(out: str | Path, n_sites: int = 14, n_haves: int = 30, n_wants: int = 16,
                     seed: int = 0, hostile: bool = False, fmt: int = 1) -> Path:
    """Write a consistent plan folder to ``out`` and return its path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_parks = int(np.clip(n_sites // 40, 2, 60))
    park_lat = 29.0 + rng.uniform(0, 0.6 * np.sqrt(n_parks), n_parks)
    park_lon = 106.0 + rng.uniform(0, 0.8 * np.sqrt(n_parks), n_parks)
    park_names = np.array([f"Park {chr(65 + i % 26)}{i // 26 or ''}" for i in range(n_parks)], dtype=object)
    s_park = rng.integers(0, n_parks, n_sites)
    s_park[:n_parks] = np.arange(n_parks)
    sites = pd.DataFrame({
        "site_id": [f"S{i:05d}" for i in range(n_sites)],
        "name": [f"Company {i}" for i in range(n_sites)],
        "park": park_names[s_park],
        "sector": np.array(SECTORS, dtype=object)[rng.integers(0, len(SECTORS), n_sites)],
        "lat": park_lat[s_park] + rng.normal(0, 0.02, n_sites),
        "lon": park_lon[s_park] + rng.normal(0, 0.02, n_sites),
    })
    if hostile:
        for i, text in enumerate(HOSTILE[: min(len(HOSTILE), n_sites)]):
            sites.loc[i, "name"] = text
        sites.loc[0, "park"] = HOSTILE[5]
        sites.loc[1, "sector"] = HOSTILE[2]
        sites.loc[2, "site_id"] = "=S-two"

    cats = np.array(["material", "water", "energy"], dtype=object)

    def resources(n, role, prefix):
        cat = cats[rng.choice(3, n, p=[0.6, 0.25, 0.15])]
        table = HAVE_TYPES if role == "have" else WANT_TYPES
        types = np.array([table[c][rng.integers(0, len(table[c]))] for c in cat], dtype=object)
        q = np.exp(rng.normal([LOGMEAN[c] for c in cat], 1.0))
        route = np.where(cat == "material", np.where(rng.random(n) < 0.8, "landfill", "incineration"),
                         np.where(cat == "water", "discharge", "")) if role == "have" else ""
        return pd.DataFrame({
            "resource_id": [f"{prefix}{i:06d}" for i in range(n)],
            "site_id": sites["site_id"].to_numpy()[rng.integers(0, n_sites, n)],
            "role": role, "category": cat, "type": types, "quantity": q,
            "unit": [UNIT[c] for c in cat],
            "cost": [(COST if role == "have" else VIRGIN_COST)[c] for c in cat],
            "co2": [CO2[c] for c in cat], "route": route, "hazardous": False,
        })

    haves = resources(n_haves, "have", "H")
    wants = resources(n_wants, "want", "W")
    if hostile:
        haves.loc[0, "type"] = "@evil:type"
        haves.loc[1, "resource_id"] = "-H1"
        haves.loc[2, "site_id"] = "=S-two"

    # reuse: about 75% of haves send part of their supply to one want of their category
    cat_h = haves["category"].to_numpy()
    hi, wi = [], []
    for c in cats:
        pool = wants.index[wants["category"] == c].to_numpy()
        mine = np.flatnonzero((cat_h == c) & (rng.random(n_haves) >= 0.25))
        if len(pool):
            hi.append(mine)
            wi.append(pool[rng.integers(0, len(pool), len(mine))])
    hi, wi = np.concatenate(hi), np.concatenate(wi)
    order = np.argsort(hi, kind="stable")
    links = pd.DataFrame({"hi": hi[order], "wi": wi[order]})
    links["quantity"] = haves["quantity"].to_numpy()[links["hi"]] * rng.uniform(0.3, 1.0, len(links))
    cat_l = cat_h[links["hi"]]
    links["mode"] = np.where(cat_l != "material", "cascade",
                             np.where(rng.random(len(links)) < 0.3, "milk_round", "direct"))
    reused = np.bincount(links["hi"], weights=links["quantity"], minlength=n_haves)
    loc = sites.set_index("site_id")[["lat", "lon"]]
    hs = loc.loc[haves["site_id"].to_numpy()[links["hi"]]].to_numpy()
    ws = loc.loc[wants["site_id"].to_numpy()[links["wi"]]].to_numpy()
    links["distance_km"] = _km(hs[:, 0], hs[:, 1], ws[:, 0], ws[:, 1])

    # milk rounds: the milk-round haves of one want, in groups of up to 5 stops
    links["route_id"] = ""
    milk = links[links["mode"] == "milk_round"].sort_values("wi", kind="stable")
    group = milk.groupby("wi").cumcount().to_numpy() // 5
    key = pd.Series(list(zip(milk["wi"], group, strict=True)), index=milk.index)
    codes = pd.factorize(key)[0]
    links.loc[milk.index, "route_id"] = [f"R{k + 1:05d}" for k in codes]
    routes = []
    h_site, w_site = haves["site_id"].to_numpy(), wants["site_id"].to_numpy()
    site_pos = {s: k for k, s in enumerate(sites["site_id"])}
    lat, lon = sites["lat"].to_numpy(), sites["lon"].to_numpy()
    for rid, part in links.loc[milk.index].groupby("route_id", sort=True):
        stops = list(dict.fromkeys(h_site[part["hi"].to_numpy()]))
        stops.append(w_site[part["wi"].iloc[0]])
        k = [site_pos[s] for s in stops]
        ll = np.column_stack([lat[k], lon[k]])
        km = float(_km(ll[:-1, 0], ll[:-1, 1], ll[1:, 0], ll[1:, 1]).sum())
        routes.append((rid, ";".join(stops), km, float(rng.choice([12, 26, 52]))))
    routes = pd.DataFrame(routes, columns=["route_id", "sites", "km", "collections_per_year"])

    # want demand = what it receives plus a virgin remainder
    incoming = np.bincount(links["wi"], weights=links["quantity"], minlength=n_wants)
    virgin = np.exp(rng.normal([LOGMEAN[c] - 1 for c in wants["category"]], 1.0))
    wants["quantity"] = incoming + virgin

    transport = np.array([{"material": 0.45, "water": 0.02, "energy": 2.0}[c] for c in cat_l])
    reuse = pd.DataFrame({
        "have_id": haves["resource_id"].to_numpy()[links["hi"]],
        "want_id": wants["resource_id"].to_numpy()[links["wi"]],
        "quantity": links["quantity"], "unit": [UNIT[c] for c in cat_l], "mode": links["mode"],
        "route_id": links["route_id"], "distance_km": links["distance_km"],
        "cost": links["quantity"] * links["distance_km"] * transport,
        "co2_kg": links["quantity"] * links["distance_km"] * 0.1,
    })
    left = haves["quantity"].to_numpy() - reused
    disp = pd.DataFrame({
        "have_id": haves["resource_id"], "want_id": "DISPOSAL", "quantity": left, "unit": haves["unit"],
        "mode": "disposal", "route_id": "", "distance_km": 0.0,
        "cost": left * haves["cost"], "co2_kg": left * haves["co2"],
    })[left > 0]
    virg = pd.DataFrame({
        "have_id": "VIRGIN", "want_id": wants["resource_id"], "quantity": virgin, "unit": wants["unit"],
        "mode": "virgin", "route_id": "", "distance_km": 0.0,
        "cost": virgin * wants["cost"], "co2_kg": virgin * wants["co2"],
    })
    flows = pd.concat([reuse, disp, virg], ignore_index=True)

    # candidates: each reuse link scores well; a few more per want score less; some haves have none
    cand = [pd.DataFrame({"have_id": reuse["have_id"], "want_id": reuse["want_id"],
                          "score": rng.uniform(0.6, 1.0, len(reuse))})]
    extra_h = rng.integers(0, n_haves, n_wants * 2)
    extra_w = np.repeat(np.arange(n_wants), 2)
    keep = cat_h[extra_h] == wants["category"].to_numpy()[extra_w]
    cand.append(pd.DataFrame({"have_id": haves["resource_id"].to_numpy()[extra_h[keep]],
                              "want_id": wants["resource_id"].to_numpy()[extra_w[keep]],
                              "score": rng.uniform(0.05, 0.45, int(keep.sum()))}))
    cands = pd.concat(cand, ignore_index=True).drop_duplicates(["have_id", "want_id"])
    for c in ("s_type", "s_quality", "s_quantity", "s_distance", "s_frequency"):
        cands[c] = np.clip(cands["score"] + rng.normal(0, 0.05, len(cands)), 0, 1)
    cands["distance_km"] = rng.uniform(0, 50, len(cands))
    cands = cands.sort_values(["want_id", "score"], ascending=[True, False])
    cands["rank"] = cands.groupby("want_id").cumcount() + 1

    # summary: totals of flows.csv
    res = pd.concat([haves, wants], ignore_index=True)
    cat_of = res.set_index("resource_id")["category"]
    by_category = {}
    for c in cats:
        h, w = haves[haves["category"] == c], wants[wants["category"] == c]
        f_h = flows["have_id"].map(cat_of) == c
        f_w = flows["want_id"].map(cat_of) == c
        by_category[c] = {
            "supply": float(h["quantity"].sum()), "demand": float(w["quantity"].sum()),
            "reused": float(flows.loc[f_h & flows["mode"].isin(["direct", "milk_round", "cascade"]), "quantity"].sum()),
            "disposed": float(flows.loc[f_h & (flows["mode"] == "disposal"), "quantity"].sum()),
            "virgin": float(flows.loc[f_w & (flows["mode"] == "virgin"), "quantity"].sum()),
        }
    landfill = haves[(haves["category"] == "material") & (haves["route"] == "landfill")]
    landfill_left = disp[disp["have_id"].isin(landfill["resource_id"])]["quantity"].sum()
    n_syn = int((reuse["mode"] == "direct").sum())  # as the optimiser counts them
    base_cost = float((haves["quantity"] * haves["cost"]).sum() + (wants["quantity"] * wants["cost"]).sum())
    base_co2 = float((haves["quantity"] * haves["co2"]).sum() + (wants["quantity"] * wants["co2"]).sum()) / 1000
    summary = {
        "status": "optimal", "gap": 0.0,
        "objective": {"cost": float(flows["cost"].sum()) + 20000.0 * n_syn,
                      "co2_t": float(flows["co2_kg"].sum()) / 1000, "landfill_t": float(landfill_left)},
        "baseline": {"cost": base_cost, "co2_t": base_co2, "landfill_t": float(landfill["quantity"].sum())},
        "by_category": by_category,
        "n_synergies": n_syn, "n_milk_rounds": len(routes),
        "flowmatch_version": "0.1.0", "format": fmt, "currency": "CNY",
        "timings": {"match": 0.5, "build": 0.2, "solve": 1.5},
    }

    sites.to_csv(out / "sites.csv", index=False)
    res.to_csv(out / "resources.csv", index=False)
    flows.to_csv(out / "flows.csv", index=False)
    routes.to_csv(out / "routes.csv", index=False)
    cands[["have_id", "want_id", "score", "s_type", "s_quality", "s_quantity", "s_distance",
           "s_frequency", "distance_km", "rank"]].to_parquet(out / "candidates.parquet", index=False)
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return seal(out)


def seal(folder: str | Path, kind: str = "plan") -> Path:
    """Write ``manifest.json`` for what ``folder`` holds now, as flowmatch does last.

    For tests that edit a plan folder on purpose and then read it as if
    flowmatch had written it so (a reader checks the manifest first).
    """
    from flowmatch.plans.manifest import RunInfo, write_manifest

    folder = Path(folder)
    write_manifest(folder, kind, RunInfo(command=["tests/plan_fixture.py"]))
    return folder


#: The carbon price (per t CO2e) of the cash / carbon split :func:`add_synergies` writes.
CARBON_PRICE = 60.0


def add_synergies(folder: str | Path) -> pd.DataFrame:
    """Write ``synergies.csv`` and the summary's cash / carbon split as flowmatch does, consistent with the plan.

    One row per reuse flow (direct, milk round, cascade); the carbon value is at ``CARBON_PRICE``. Seals the folder.
    """
    folder = Path(folder)
    flows = pd.read_csv(folder / "flows.csv", dtype={"have_id": str, "want_id": str}, keep_default_na=False)
    res = pd.read_csv(folder / "resources.csv", dtype={"resource_id": str}, keep_default_na=False)
    res = res.set_index("resource_id")
    f = flows[flows["mode"].isin(["direct", "milk_round", "cascade"])].reset_index(drop=True)
    q = f["quantity"].to_numpy(float)
    price = res["cost"].astype(float)
    co2 = res["co2"].astype(float)
    avoided_d = q * price.reindex(f["have_id"]).to_numpy()
    avoided_v = q * price.reindex(f["want_id"]).to_numpy()
    fixed = np.where(f["mode"] == "direct", 20000.0, 0.0)
    capex = np.where(f["mode"] == "cascade", 1500.0, 0.0)
    avoided_t = (q * (co2.reindex(f["have_id"]).to_numpy() + co2.reindex(f["want_id"]).to_numpy())
                 - f["co2_kg"].to_numpy(float)) / 1000
    carbon = avoided_t * CARBON_PRICE
    net_cash = avoided_d + avoided_v - f["cost"].to_numpy(float) - fixed - capex
    syn = pd.DataFrame({
        "synergy_id": [f"SYN{i + 1:03d}" for i in range(len(f))], "have_id": f["have_id"], "want_id": f["want_id"],
        "mode": f["mode"], "quantity": q, "unit": f["unit"], "avoided_disposal": avoided_d,
        "avoided_virgin": avoided_v, "transport": f["cost"].to_numpy(float), "fixed": fixed, "capex_annual": capex,
        "carbon_value": carbon, "net_cash": net_cash, "net_total": net_cash + carbon})
    syn.to_csv(folder / "synergies.csv", index=False)
    s = json.loads((folder / "summary.json").read_text())
    for key in ("objective", "baseline"):
        carbon_cost = s[key]["co2_t"] * CARBON_PRICE
        s[key]["carbon_cost"] = carbon_cost
        s[key]["cash"] = s[key]["cost"] - carbon_cost
    (folder / "summary.json").write_text(json.dumps(s, indent=2))
    seal(folder)
    return syn
