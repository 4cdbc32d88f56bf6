"""A small park with a cost-CO2 trade-off, for the what-if and Pareto tests (not a test module).

Four haves of 1,000 t of fly ash sit at one hub; four gypsum buyers of 1,000 t
each sit 30, 100, 140 and 200 km north of it. With the default prices a
synergy pays (disposal 40 + virgin 30 per t against 0.45 per t-km of freight
and 20,000 a year fixed) below about 111 km, so the cheapest plan serves the
two nearest buyers; every synergy saves CO2 (20 + 300 kg/t against 0.1 kg per
t-km), so the greenest plan serves all four. A landfill tax above about 13 per t
makes the 140 km synergy pay, above about 40 the 200 km one.
"""

from __future__ import annotations

import pandas as pd

from flowmatch.inputs.inventory import Inventory, build_inventory

KM_PER_DEG_LAT = 111.195
DISTANCES_KM = (30.0, 100.0, 140.0, 200.0)


def trade_off_tables() -> dict[str, pd.DataFrame]:
    """The park's source tables (sites, resources)."""
    sites = [{"site_id": "HUB", "lat": 36.0, "lon": 117.0}]
    sites += [{"site_id": f"B{i}", "lat": 36.0 + d / KM_PER_DEG_LAT, "lon": 117.0}
              for i, d in enumerate(DISTANCES_KM)]
    res = [{"resource_id": f"H{i}", "site_id": "HUB", "role": "have", "type": "ewc:100105", "cost": 40.0,
            "co2": 20.0, "route": "landfill"} for i in range(len(DISTANCES_KM))]
    res += [{"resource_id": f"W{i}", "site_id": f"B{i}", "role": "want", "type": "raw:gypsum", "cost": 30.0,
             "co2": 300.0, "route": ""} for i in range(len(DISTANCES_KM))]
    resources = pd.DataFrame(res).assign(category="material", quantity=1000.0, unit="t")
    return {"sites": pd.DataFrame(sites), "resources": resources}


def trade_off_park(**params) -> Inventory:
    """The park as an inventory; ``params`` override the defaults (carbon price 0 unless given)."""
    from flowmatch.inputs.params import Params

    return build_inventory(trade_off_tables(), params=Params().replace(**{"carbon_price": 0.0, **params}),
                           source="trade-off park")
