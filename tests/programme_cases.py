"""A small registry, written straight through the ORM, for the learn/search/report tests.

Two parks; park ``Demo`` has two snapshots (2024 and 2025 v1, v2), the later
ones moving a resource; synergies in several states with outcomes in two years.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy.orm import Session

from flowmatch.registry.models import Company, Outcome, Park, Resource, Snapshot, Synergy

SITES = {  # park -> (site_id, sector, lat, lon)
    "Demo": [("PP1", "D35.1", 36.10, 117.00), ("CM1", "C23.5", 36.05, 117.10), ("PB1", "C23.6", 36.12, 117.03)],
    "North": [("ST1", "C24.1", 40.00, 116.00), ("CM9", "C23.5", 40.30, 116.20)],
}
RESOURCES = {  # park -> (resource_id, site_id, role, type, quantity, unit)
    "Demo": [("H1", "PP1", "have", "ewc:100105", 120000.0, "t"), ("H2", "PP1", "have", "ewc:100102", 300.0, "t"),
             ("W1", "PB1", "want", "raw:gypsum", 100000.0, "t"), ("W2", "CM1", "want", "raw:cement-additive",
                                                                    250000.0, "t")],
    "North": [("S1", "ST1", "have", "ewc:100202", 5000.0, "t"), ("W9", "CM9", "want", "raw:cement-additive",
                                                                  9000.0, "t")],
}
#: (park, have, want, have_type, want_type, status, reason)
SYNERGIES = [
    ("Demo", "H1", "W1", "ewc:100105", "raw:gypsum", "completed", None),
    ("Demo", "H2", "W2", "ewc:100102", "raw:cement-additive", "abandoned", "quality too variable"),
    ("Demo", "H2", "W1", "ewc:100102", "raw:gypsum", "contacted", None),
    ("North", "S1", "W9", "ewc:100202", "raw:cement-additive", "completed", None),
    ("North", "S1", "W9", None, None, "abandoned", "company closed"),
]
#: (synergy index, year, landfill diverted t, co2 saved t, cost saved)
OUTCOMES = [(0, 2024, 1000.0, 50.0, 20000.0), (0, 2025, 1500.0, 70.0, 30000.0), (3, 2025, 400.0, 10.0, 5000.0)]


def seed(session: Session) -> None:
    """Write the parks, snapshots, resources, synergies and outcomes above."""
    for pname, sites in SITES.items():
        park = Park(name=pname, country="CN")
        session.add(park)
        session.flush()
        comp = {}
        for sid, sector, lat, lon in sites:
            c = Company(park_id=park.id, site_id=sid, name=sid, sector=sector, lat=lat, lon=lon)
            session.add(c)
            session.flush()
            comp[sid] = c
        versions = [(2024, 1), (2025, 1), (2025, 2)] if pname == "Demo" else [(2025, 1)]
        for k, (year, version) in enumerate(versions):
            snap = Snapshot(park_id=park.id, year=year, version=version, source="test", checksum=f"{pname}{k}",
                            n_sites=len(sites), n_resources=len(RESOURCES[pname]), tables_json="{}")
            session.add(snap)
            session.flush()
            for rid, sid, role, typ, qty, unit in RESOURCES[pname]:
                c = comp[sid]
                q = qty * (1 + k)  # later snapshots hold more
                session.add(Resource(snapshot_id=snap.id, company_id=c.id, resource_id=rid, role=role, type=typ,
                                     quantity=q, unit=unit, lat=c.lat, lon=c.lon,
                                     row_json=json.dumps({"resource_id": rid})))
    session.flush()
    parks = {p.name: p.id for p in session.query(Park)}
    syns = []
    for pname, h, w, ht, wt, status, reason in SYNERGIES:
        s = Synergy(park_id=parks[pname], plan_source="plan", plan_synergy_id=f"{pname}-{h}-{w}-{len(syns)}",
                    have_ref=h, want_ref=w, have_type=ht, want_type=wt, status=status,
                    status_date=dt.date(2025, 6, 1), reason=reason)
        session.add(s)
        session.flush()
        syns.append(s)
    for i, year, landfill, co2, cost in OUTCOMES:
        session.add(Outcome(synergy_id=syns[i].id, year=year, landfill_diverted_t=landfill, co2_saved_t=co2,
                            cost_saved=cost, currency="CNY"))
