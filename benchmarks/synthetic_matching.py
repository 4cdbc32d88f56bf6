"""Random inventories for the matching benchmarks (until ``flowmatch.synth`` is on main).

``national(n_haves, n_wants, seed)`` spreads sites over a country-sized box
(20-45 N, 100-125 E), two thirds of them in industrial parks (clusters of about
20 km), and draws resources whose types, quantities, months, rhythms and
properties look like an inventory's: material wastes (EWC codes) for raw-material
wants with a knowledge base of a few hundred exchanges, water and heat.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flowmatch.inventory import Inventory, build_inventory
from flowmatch.taxonomy import builtin_taxonomy

_WATER = ["water:effluent", "water:process", "water:cooling", "water:cooling:blowdown", "water:grey",
          "water:condensate", "water:boiler-feed", "water:reclaimed"]
_ENERGY = ["energy:heat", "energy:steam:lp", "energy:steam:mp", "energy:steam:hp", "energy:hot-water",
           "energy:heat:low", "energy:heat:medium", "energy:flue-gas"]
_FREQ = np.array(["continuous", "daily", "weekly", "monthly", "batch"])
_MONTHS = np.array(["1-12", "1-12", "1-12", "4-9", "10-3", "1-6"])


def _pools(rng: np.random.Generator) -> tuple[list[str], list[str], pd.DataFrame]:
    tax = builtin_taxonomy().table
    ewc = [t for t in tax.index if t.startswith("ewc:") and len(t) == 10 and not tax.at[t, "hazardous"]]
    have_types = sorted(rng.choice(ewc, 120, replace=False).tolist())
    raw = [t for t in tax.index if t.startswith("raw:")]
    comp = pd.DataFrame({"have_type": rng.choice(have_types, 400),
                         "want_type": rng.choice(raw, 400),
                         "score": rng.uniform(0.3, 1.0, 400).round(2)})
    comp = comp.drop_duplicates(["have_type", "want_type"])
    want_types = raw + have_types[:20]  # recyclers want some wastes as such
    return have_types, want_types, comp


def national(n_haves: int, n_wants: int, seed: int = 0) -> Inventory:
    """A random national inventory of ``n_haves`` haves and ``n_wants`` wants."""
    rng = np.random.default_rng(seed)
    n = n_haves + n_wants
    n_sites = max(2, n // 8)
    n_parks = max(1, n_sites // 300)
    park_lat = rng.uniform(20, 45, n_parks)
    park_lon = rng.uniform(100, 125, n_parks)
    in_park = rng.random(n_sites) < 2 / 3
    park = rng.integers(0, n_parks, n_sites)
    lat = np.where(in_park, park_lat[park] + rng.normal(0, 0.15, n_sites), rng.uniform(20, 45, n_sites))
    lon = np.where(in_park, park_lon[park] + rng.normal(0, 0.15, n_sites), rng.uniform(100, 125, n_sites))
    sites = pd.DataFrame({"site_id": "S" + pd.Series(np.arange(n_sites)).astype(str),
                          "lat": lat.clip(-90, 90), "lon": lon})

    have_types, want_types, comp = _pools(rng)
    role = np.r_[np.full(n_haves, "have"), np.full(n_wants, "want")]
    cat = rng.choice(np.array(["material", "water", "energy"]), n, p=[0.6, 0.25, 0.15])
    typ = np.empty(n, dtype=object)
    mat = cat == "material"
    typ[mat & (role == "have")] = rng.choice(have_types, (mat & (role == "have")).sum())
    typ[mat & (role == "want")] = rng.choice(want_types, (mat & (role == "want")).sum())
    typ[cat == "water"] = rng.choice(_WATER, (cat == "water").sum())
    typ[cat == "energy"] = rng.choice(_ENERGY, (cat == "energy").sum())
    unit = np.select([cat == "material", cat == "water"], ["t", "m3"], "MWh")
    res = pd.DataFrame({
        "resource_id": "R" + pd.Series(np.arange(n)).astype(str),
        "site_id": sites["site_id"].to_numpy()[rng.integers(0, n_sites, n)],
        "role": role, "category": cat, "type": typ,
        "quantity": np.exp(rng.normal(7, 2, n)).round(1), "unit": unit,
        "frequency": rng.choice(_FREQ, n, p=[0.7, 0.1, 0.1, 0.05, 0.05]),
        "months": rng.choice(_MONTHS, n),
    })
    water = np.flatnonzero(cat == "water")
    heat = np.flatnonzero(cat == "energy")
    props = pd.concat([
        pd.DataFrame({"resource_id": res["resource_id"].to_numpy()[water], "property": "cod_mg_l",
                      "value": np.where(role[water] == "have", rng.uniform(5, 200, len(water)), np.nan),
                      "max": np.where(role[water] == "want", rng.uniform(20, 150, len(water)), np.nan)}),
        pd.DataFrame({"resource_id": res["resource_id"].to_numpy()[heat], "property": "temperature_c",
                      "value": np.where(role[heat] == "have", rng.uniform(60, 300, len(heat)), np.nan),
                      "min": np.where(role[heat] == "want", rng.uniform(50, 200, len(heat)), np.nan)}),
    ], ignore_index=True)
    return build_inventory({"sites": sites, "resources": res, "properties": props,
                            "compatibility": comp}, source=f"national({n_haves}, {n_wants}, {seed})")
