"""A heat link's rows per temperature slot (flowmatch.milp.heat.part): valid, and they cut.

Each export arc of a heat link (heat leaving one zone in one temperature slot) is bounded
by the heat the sending zone's hot streams give at or above the slot and what the receiving
zone's cold streams take at or below it, times the link's binary. A park built for it: a
small hot stream at 300 C in zone A can serve a small 200-240 C demand in zone B, while both
zones have large low-temperature streams that make the link's capacity large. Without the
rows the LP relaxation opens the link by a twentieth; with them, fully. (The rows are off by
default, `SLOT_ROWS_MAX_ARCS = 0`: they slowed the search; on here.)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import flowmatch.milp.heat.part as heat_part
from flowmatch.inputs.inventory import build_inventory
from flowmatch.matching.candidates import match
from flowmatch.milp.highs import new_highs, pass_highs
from flowmatch.milp.optimise import build_model, build_parts, optimise

SITES = pd.DataFrame({"site_id": ["A", "B"], "lat": [39.0, 39.0], "lon": [118.0, 118.01]})
STREAMS = [  # id, site, role, MWh a year, from C, to C
    ("HA1", "A", "have", 1000.0, 300.0, 260.0),
    ("HA2", "A", "have", 20000.0, 100.0, 60.0),
    ("CB1", "B", "want", 1000.0, 200.0, 240.0),
    ("CB2", "B", "want", 20000.0, 20.0, 50.0),
    ("HB", "B", "have", 25000.0, 90.0, 60.0),
]


def _park():
    res = [{"resource_id": r, "site_id": s, "role": role, "category": "energy", "type": "energy:heat",
            "quantity": q, "unit": "MWh", "cost": 300.0 if role == "want" else 0.0, "co2": 0.0}
           for r, s, role, q, _, _ in STREAMS]
    props = [{"resource_id": r, "property": p, "value": v} for r, _, _, _, a, b in STREAMS
             for p, v in (("temperature_c", a), ("target_temperature_c", b))]
    return build_inventory({"sites": SITES, "resources": pd.DataFrame(res), "properties": pd.DataFrame(props)})


@pytest.fixture(autouse=True)
def slot_rows_on(monkeypatch):
    """The rows are off by default (they slowed the search; see SLOT_ROWS_MAX_ARCS): on here."""
    monkeypatch.setattr(heat_part, "SLOT_ROWS_MAX_ARCS", 10_000)


def _model(inv, rows: bool, monkeypatch):
    monkeypatch.setattr(heat_part, "SLOT_ROWS_MAX_ARCS", 10_000 if rows else 0)
    model = build_model(build_parts(inv, match(inv)))
    return model


def _solve(model, relax: bool = False, fix: dict[int, float] | None = None) -> float:
    c, k = model.objective({"cost": 1.0})
    lb, ub = model.lb.copy(), model.ub.copy()
    for j, v in (fix or {}).items():
        lb[j] = ub[j] = v
    m = replace(model, lb=lb, ub=ub, integrality=np.zeros(model.n_vars, bool) if relax else model.integrality)
    h = new_highs(gap=0.0)
    pass_highs(h, m, c, k)
    h.run()
    assert h.modelStatusToString(h.getModelStatus()) == "Optimal"
    return float(h.getInfo().objective_function_value)


def test_slot_rows_cut_the_lp_and_keep_the_optimum(monkeypatch):
    inv = _park()
    tight, loose = _model(inv, True, monkeypatch), _model(inv, False, monkeypatch)
    assert any(n.startswith("heat_slot_link_use[") for n in tight.row_names)
    assert not any(n.startswith("heat_slot_link_use[") for n in loose.row_names)
    links = np.flatnonzero(tight.integrality)
    assert len(links) == 1  # one heat link, A-B
    # brute force over the link: the tight model's best with the link shut and built
    best = min(_solve(tight, relax=True, fix={int(links[0]): v}) for v in (0.0, 1.0))
    assert _solve(tight) == pytest.approx(best, rel=1e-7)
    assert _solve(loose) == pytest.approx(best, rel=1e-7)  # the rows cut off no plan the optimum needs
    # the link is worth building (1,000 MWh at 300 a MWh against about 84,000 a year) ...
    assert _solve(tight, relax=True, fix={int(links[0]): 0.0}) > best + 1e5
    # ... and the LP relaxation pays for it in full with the rows, a sliver without
    lp_tight, lp_loose = _solve(tight, relax=True), _solve(loose, relax=True)
    assert lp_tight == pytest.approx(best, rel=1e-7)
    assert lp_loose < best - 5e4


def test_the_plan_is_the_same_with_and_without_the_rows(monkeypatch):
    inv = _park()
    with_rows = optimise(inv, gap=0.0, time_limit=20)
    monkeypatch.setattr(heat_part, "SLOT_ROWS_MAX_ARCS", 0)
    without = optimise(inv, gap=0.0, time_limit=20)
    assert with_rows.summary["objective"]["cost"] == pytest.approx(without.summary["objective"]["cost"], rel=1e-7)
    cascade = with_rows.flows[with_rows.flows["mode"] == "cascade"]
    assert set(zip(cascade["have_id"], cascade["want_id"], strict=True)) >= {("HA1", "CB1")}
