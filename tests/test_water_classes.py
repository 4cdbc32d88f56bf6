"""Water-use classes: the data, the rules, and the cascade that must obey them.

The test of record is issue 11's absurdity in miniature: untreated
pharmaceutical wastewater, one contaminant stated, a boiler-feed want and a
process-water want. Before the classes the cascade diluted the effluent into
process water down to the one limit written; now it cannot, and with a
regeneration unit on offer the water reaches process use only through it, priced.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from cascade_helpers import inventory, solve_part
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowmatch.inputs.taxonomy import builtin_taxonomy
from flowmatch.inputs.water_classes import (
    ALLOWED,
    FORBIDDEN,
    RULES,
    TREATMENT,
    class_limits,
    class_rules,
    water_classes,
    water_limits,
)
from flowmatch.matching.candidates import match
from flowmatch.milp.optimise import optimise
from flowmatch.milp.water import WaterPart

TAX = builtin_taxonomy()
SITES = [{"site_id": "PARK", "lat": 30.0, "lon": 120.0}]


def _water_type(t: str) -> bool:
    return t in TAX and TAX.ancestors(t)[-1] == "water"


# --------------------------------------------------------------------------- the data


def test_every_class_rule_is_valid_and_cited():
    t = water_classes()
    assert len(t) >= 10
    for row in t.itertuples(index=False):
        assert _water_type(row.source_type) and _water_type(row.sink_type), row
        assert row.rule in RULES, row
        assert len(row.source.strip()) > 20, row
    assert not t.duplicated(["source_type", "sink_type"]).any()


def test_every_default_limit_is_valid_and_cited():
    t = water_limits()
    assert len(t) >= 5
    for row in t.itertuples(index=False):
        assert _water_type(row.sink_type), row
        assert re.fullmatch(r"[a-z][a-z0-9_]*", row.contaminant), row
        assert np.isfinite(row.max) and row.max > 0, row
        assert row.unit.startswith("mg/l"), row
        assert re.search(r"\bGB(/T)? \d+-\d{4}\b", row.source), row  # standard number and year
        assert "table" in row.source, row
    assert not t.duplicated(["sink_type", "contaminant"]).any()


def test_rules_of_the_issue():
    src = ["water:effluent:raw", "water:effluent", "water:condensate", "water:cooling:blowdown",
           "water", "ewc:070501", "water:reclaimed"]
    snk = ["water:boiler-feed", "water:process", "water:potable", "water:cooling", "water"]
    r = pd.DataFrame(class_rules(src, snk, TAX), index=src, columns=snk)
    assert r.loc["water:effluent:raw", "water:boiler-feed"] == TREATMENT
    assert r.loc["water:effluent:raw", "water:process"] == TREATMENT
    assert r.loc["water:effluent:raw", "water:potable"] == FORBIDDEN
    assert r.loc["ewc:070501", "water:process"] == TREATMENT  # a waste code is untreated wastewater
    assert r.loc["water:effluent", "water:process"] == ALLOWED  # Wang and Smith's types
    assert r.loc["water:effluent", "water:boiler-feed"] == TREATMENT
    assert r.loc["water:condensate", "water:boiler-feed"] == ALLOWED
    assert r.loc["water:cooling:blowdown", "water:cooling"] == ALLOWED
    assert r.loc["water:reclaimed", "water:cooling"] == ALLOWED
    assert (r.loc["water"] == ALLOWED).all()  # generic water is decided by its limits alone
    assert class_limits("water:process", TAX).empty
    assert set(class_limits("water:boiler-feed", TAX)["contaminant"]) >= {"hardness", "oil", "iron"}


# --------------------------------------------------------------------------- the issue, in miniature


def _pharma(**params):
    res = [{"resource_id": "PHARMA-EFF", "site_id": "PARK", "role": "have", "category": "water",
            "type": "water:effluent:raw", "quantity": 100000, "unit": "m3"},
           {"resource_id": "BOILER", "site_id": "PARK", "role": "want", "category": "water",
            "type": "water:boiler-feed", "quantity": 20000, "unit": "m3"},
           {"resource_id": "PROCESS", "site_id": "PARK", "role": "want", "category": "water",
            "type": "water:process", "quantity": 50000, "unit": "m3"}]
    props = [{"resource_id": "PHARMA-EFF", "property": "cod_mg_l", "value": 800},
             {"resource_id": "BOILER", "property": "cod_mg_l", "max": 10},
             {"resource_id": "PROCESS", "property": "cod_mg_l", "max": 100}]
    return inventory(SITES, res, props, **params)


def _reuse(plan):
    f = plan.flows
    return f[f["have_id"].eq("PHARMA-EFF") & ~f["want_id"].eq("DISPOSAL")]


def test_raw_effluent_never_reaches_boiler_or_process_water_untreated():
    plan = optimise(_pharma())
    assert _reuse(plan).empty  # before: 6,250 m3 diluted into process water to exactly 100 mg/l COD
    f = plan.flows
    assert f.loc[f["want_id"].eq("DISPOSAL"), "quantity"].sum() == pytest.approx(100000)
    assert f.loc[f["have_id"].eq("VIRGIN"), "quantity"].sum() == pytest.approx(70000)


def test_with_treatment_the_effluent_is_regenerated_and_priced():
    plan = optimise(_pharma(regeneration_cost_m3=1.5, regeneration_removal=0.9))
    reuse = _reuse(plan)
    # 800 mg/l less 90 % is 80 mg/l, within process water's 100: all 50,000 m3, through the unit
    assert reuse["want_id"].tolist() == ["PROCESS"]
    assert reuse["mode"].tolist() == ["regenerated"]
    assert reuse["quantity"].sum() == pytest.approx(50000)
    assert reuse["cost"].sum() == pytest.approx(50000 * 1.5)  # same site: no pipe, no pumping
    # the boiler's class limits (hardness, oil, iron) are not stated by the effluent: not fed
    assert not plan.flows["want_id"].eq("BOILER").any() or \
        plan.flows.loc[plan.flows["want_id"].eq("BOILER"), "have_id"].eq("VIRGIN").all()


def test_assumed_unstated_values_are_taken_at_the_limit_and_logged(caplog):
    inv = _pharma(regeneration_cost_m3=1.5, regeneration_removal=0.9, water_assume_unstated=1)
    part = WaterPart(inv)
    x, _, _ = solve_part(part)
    with caplog.at_level("WARNING", logger="flowmatch.milp.water"):
        flows = part.flows(x)
    reuse = flows[flows["have_id"].eq("PHARMA-EFF") & ~flows["want_id"].eq("DISPOSAL")]
    assert set(reuse["mode"]) == {"regenerated"}
    boiler = reuse[reuse["want_id"].eq("BOILER")]
    # 80 mg/l after the unit into a 10 mg/l boiler: at most an eighth, diluted by fresh water
    assert 0 < boiler["quantity"].sum() <= 20000 / 8 + 1e-6
    assert "PHARMA-EFF -> BOILER assumes hardness, iron, oil" in caplog.text


def test_matching_offers_no_forbidden_water_pair():
    res = [{"resource_id": "EFF", "site_id": "PARK", "role": "have", "category": "water",
            "type": "water:effluent:raw", "quantity": 1000, "unit": "m3"},
           {"resource_id": "DRINK", "site_id": "PARK", "role": "want", "category": "water",
            "type": "water:potable", "quantity": 1000, "unit": "m3"},
           {"resource_id": "PROC", "site_id": "PARK", "role": "want", "category": "water",
            "type": "water:process", "quantity": 1000, "unit": "m3"}]
    cands = match(inventory(SITES, res, []))
    assert ("EFF", "DRINK") not in set(zip(cands["have_id"], cands["want_id"], strict=True))
    assert ("EFF", "PROC") in set(zip(cands["have_id"], cands["want_id"], strict=True))


def test_class_limits_fill_in_and_user_limits_override():
    res = [{"resource_id": "BD", "site_id": "PARK", "role": "have", "category": "water",
            "type": "water:cooling:blowdown", "quantity": 1000, "unit": "m3"},
           {"resource_id": "CT", "site_id": "PARK", "role": "want", "category": "water",
            "type": "water:cooling", "quantity": 1000, "unit": "m3"}]
    props = [{"resource_id": "BD", "property": "chloride_mg_l", "value": 180},
             {"resource_id": "CT", "property": "chloride_mg_l", "max": 200}]
    part = WaterPart(inventory(SITES, res, props))
    ws = part.streams
    lim = dict(zip(ws.contaminants, ws.snk_max[0], strict=True))
    assert lim["chloride"] == 200  # the user's own limit, not the class's 250
    assert lim["cod"] == 60 and lim["ammonia_n"] == 10  # GB/T 19923-2005 defaults
    assert len(part.pairs.src) == 0  # the blowdown states only chloride: it cannot feed the tower


# --------------------------------------------------------------------------- property-based

TYPES_SRC = ["water", "water:effluent:raw", "water:effluent", "water:condensate", "water:reclaimed",
             "water:cooling:blowdown", "water:grey", "water:brine", "water:seawater"]
TYPES_SNK = ["water", "water:process", "water:boiler-feed", "water:cooling", "water:potable",
             "water:seawater"]
CONTAMINANTS = ["cod", "chloride", "hardness", "iron"]


@st.composite
def _water_park(draw):
    n_src, n_snk = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    res, props = [], []
    for i in range(n_src):
        res.append({"resource_id": f"S{i}", "site_id": "PARK", "role": "have", "category": "water",
                    "type": draw(st.sampled_from(TYPES_SRC)), "quantity": draw(st.integers(10, 1000)),
                    "unit": "m3"})
        stated = draw(st.lists(st.sampled_from(CONTAMINANTS), min_size=1, max_size=4, unique=True))
        props += [{"resource_id": f"S{i}", "property": f"{c}_mg_l", "value": draw(st.integers(0, 500))}
                  for c in stated]
    for j in range(n_snk):
        res.append({"resource_id": f"K{j}", "site_id": "PARK", "role": "want", "category": "water",
                    "type": draw(st.sampled_from(TYPES_SNK)), "quantity": draw(st.integers(10, 1000)),
                    "unit": "m3"})
        limited = draw(st.lists(st.sampled_from(CONTAMINANTS), min_size=1, max_size=3, unique=True))
        props += [{"resource_id": f"K{j}", "property": f"{c}_mg_l", "max": draw(st.integers(1, 300))}
                  for c in limited]
    params = {"water_assume_unstated": draw(st.integers(0, 1))}
    if draw(st.booleans()):
        params |= {"regeneration_cost_m3": 0.5, "regeneration_removal": draw(st.sampled_from([0.5, 0.9]))}
    return res, props, params


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_water_park())
def test_every_cascade_flow_respects_classes_and_limits(park):
    res, props, params = park
    inv = inventory(SITES, res, props, **params)
    part = WaterPart(inv)
    x, _, _ = solve_part(part)
    flows = part.flows(x)
    ws = part.streams
    types = {r["resource_id"]: r["type"] for r in res}
    src_at = {str(r): i for i, r in enumerate(ws.src_ids)}
    snk_at = {str(r): j for j, r in enumerate(ws.snk_ids)}
    removal = params.get("regeneration_removal", 0.0)
    reuse = flows[flows["mode"].isin(["cascade", "regenerated"])]
    for have, want, mode in reuse[["have_id", "want_id", "mode"]].itertuples(index=False):
        rule = class_rules([types[have]], [types[want]], TAX)[0, 0]
        assert rule != FORBIDDEN, (have, want)
        assert mode == "regenerated" or rule == ALLOWED, (have, want, mode)
        if not params["water_assume_unstated"]:
            i, j = src_at[have], snk_at[want]
            assert not (np.isnan(ws.src_conc[i]) & np.isfinite(ws.snk_max[j])).any(), (have, want)
    # the mix at every sink keeps every limited contaminant within its maximum
    for want, j in snk_at.items():
        inflow = flows[flows["want_id"] == want]
        assert inflow["quantity"].sum() == pytest.approx(ws.snk_flow[j], rel=1e-6)
        for c in np.flatnonzero(np.isfinite(ws.snk_max[j])):
            load = 0.0
            for have, q, mode in inflow[["have_id", "quantity", "mode"]].itertuples(index=False):
                if have == "VIRGIN":
                    conc = ws.snk_fresh[j, c]
                else:
                    conc = ws.src_conc[src_at[have], c]
                    conc = ws.snk_max[j, c] if np.isnan(conc) else conc
                    conc *= (1 - removal) if mode == "regenerated" else 1.0
                load += q * conc
            assert load <= ws.snk_max[j, c] * ws.snk_flow[j] * (1 + 1e-6) + 1e-6, (want, ws.contaminants[c])
