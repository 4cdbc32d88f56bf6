"""Plans an engineer signs (issue 11): heat flows downhill, exergy counts, hard limits exclude,
and ``validate`` checks what ``optimise`` needs.

Each absurdity the issue reports is rebuilt in miniature and asserted impossible; a
property-based test checks that every heat candidate and every heat flow of random
inventories runs from hotter to colder by at least ``dt_min_k``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowmatch import match, optimise
from flowmatch.cli import main
from flowmatch.errors import InventoryError
from flowmatch.inputs.heat_levels import required_temperature, supply_temperature, temperature_table
from flowmatch.inputs.inventory import build_inventory
from flowmatch.inputs.property_limits import default_limit, hard_mask
from flowmatch.inputs.requirements import check_requirements

SITES = pd.DataFrame({"site_id": ["P", "F", "T"], "lat": [39.0, 39.0, 39.2], "lon": [118.0, 118.0, 118.0]})


def _inv(resources: list[dict], properties: list[dict], **params) -> object:
    from flowmatch.inputs.params import Params

    return build_inventory({"sites": SITES, "resources": pd.DataFrame(resources),
                            "properties": pd.DataFrame(properties)}, params=Params().replace(**params))


def _res(rid: str, site: str, role: str, typ: str, mwh: float, cost: float = 0.0) -> dict:
    return {"resource_id": rid, "site_id": site, "role": role, "category": "energy", "type": typ,
            "quantity": mwh, "unit": "MWh", "cost": cost, "co2": 0.0}


def _cascade(plan) -> pd.DataFrame:
    f = plan.flows
    return f[f["mode"] == "cascade"]


# --------------------------------------------------------------------------- the fish farm


def _fish_farm(opportunity: float | None):
    """Extraction steam at 220 C, plenty of 35 C warm water dumped, and a fish farm warmed
    from 12 to 24 C, all at one site (recovery is free there)."""
    res = [_res("STEAM", "F", "have", "energy:steam:mp", 20000.0),
           _res("WARM", "F", "have", "energy:heat:low", 5000.0),
           _res("FISH", "F", "want", "energy:heat:low", 1000.0, cost=220.0)]
    props = [{"resource_id": "STEAM", "property": "temperature_c", "value": 220.0},
             {"resource_id": "WARM", "property": "temperature_c", "value": 35.0},
             {"resource_id": "WARM", "property": "target_temperature_c", "value": 20.0},
             {"resource_id": "FISH", "property": "temperature_c", "value": 12.0},
             {"resource_id": "FISH", "property": "target_temperature_c", "value": 24.0}]
    if opportunity is not None:
        props.append({"resource_id": "STEAM", "property": "opportunity_cost", "value": opportunity})
    return _inv(res, props)


def test_fish_farm_takes_the_warm_water_not_the_extraction_steam():
    inv = _fish_farm(opportunity=75.0)  # electricity lost per MWh of steam extracted
    plan = optimise(inv)
    casc = _cascade(plan)
    into_fish = casc[casc["want_id"] == "FISH"].groupby("have_id")["quantity"].sum()
    assert into_fish.get("STEAM", 0.0) == pytest.approx(0.0, abs=1e-6)
    assert into_fish.get("WARM", 0.0) == pytest.approx(1000.0, rel=1e-6)
    # the steam stays in the turbine: all of it is 'rejected' at no opportunity cost
    steam = plan.flows[plan.flows["have_id"] == "STEAM"]
    assert steam["want_id"].eq("DISPOSAL").all()
    # the plan's cost is the sum of its flows' costs
    assert plan.summary["objective"]["cost"] == pytest.approx(plan.flows["cost"].sum(), rel=1e-9, abs=1e-6)


def test_opportunity_cost_is_paid_on_the_heat_a_hot_stream_gives():
    # steam only, no warm water: using it is still worth it (220 a MWh of boiler heat saved),
    # and each MWh it gives carries its opportunity cost in the flow's cost
    res = [_res("STEAM", "F", "have", "energy:steam:mp", 2000.0),
           _res("FISH", "F", "want", "energy:heat:low", 1000.0, cost=220.0)]
    props = [{"resource_id": "STEAM", "property": "temperature_c", "value": 220.0},
             {"resource_id": "STEAM", "property": "opportunity_cost", "value": 75.0},
             {"resource_id": "FISH", "property": "temperature_c", "value": 12.0},
             {"resource_id": "FISH", "property": "target_temperature_c", "value": 24.0}]
    plan = optimise(_inv(res, props))
    row = _cascade(plan).set_index(["have_id", "want_id"]).loc[("STEAM", "FISH")]
    assert row["quantity"] == pytest.approx(1000.0)
    assert row["cost"] == pytest.approx(75.0 * 1000.0)
    assert plan.summary["objective"]["cost"] == pytest.approx(plan.flows["cost"].sum(), rel=1e-9, abs=1e-6)


def test_district_heating_takes_its_own_water_before_steam():
    # steam served district heating while 90 C district-heat return water was rejected
    res = [_res("STEAM", "P", "have", "energy:steam:lp", 50000.0),
           _res("DHW", "P", "have", "energy:heat:low", 30000.0, cost=15.0),
           _res("DH", "P", "want", "energy:heat:low", 20000.0, cost=220.0)]
    props = [{"resource_id": "STEAM", "property": "temperature_c", "value": 160.0},
             {"resource_id": "STEAM", "property": "opportunity_cost", "value": 50.0},
             {"resource_id": "DHW", "property": "temperature_c", "value": 90.0},
             {"resource_id": "DHW", "property": "target_temperature_c", "value": 40.0},
             {"resource_id": "DH", "property": "temperature_c", "value": 30.0},
             {"resource_id": "DH", "property": "target_temperature_c", "value": 60.0}]
    casc = _cascade(optimise(_inv(res, props)))
    into = casc[casc["want_id"] == "DH"].groupby("have_id")["quantity"].sum()
    assert into.get("DHW", 0.0) == pytest.approx(20000.0, rel=1e-6)
    assert into.get("STEAM", 0.0) == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------- hot water for steam


def _water_for_steam():
    res = [_res("HOTW", "F", "have", "energy:heat:low", 8000.0),
           _res("LPS", "F", "have", "energy:steam:lp", 8000.0),
           _res("W140", "F", "want", "energy:steam:lp", 5000.0, cost=200.0),
           _res("W180", "F", "want", "energy:steam:mp", 5000.0, cost=200.0)]
    props = [{"resource_id": "HOTW", "property": "temperature_c", "value": 95.0},
             {"resource_id": "LPS", "property": "temperature_c", "value": 155.0},
             {"resource_id": "W140", "property": "temperature_c", "min": 140.0},
             {"resource_id": "W180", "property": "temperature_c", "min": 180.0}]
    return _inv(res, props)


def test_hot_water_is_no_candidate_for_steam_wants():
    cand = match(_water_for_steam(), min_score=0.0)
    pairs = set(zip(cand["have_id"], cand["want_id"], strict=True))
    assert ("HOTW", "W140") not in pairs and ("HOTW", "W180") not in pairs
    assert ("LPS", "W140") in pairs  # 155 C >= 140 C + 10 K
    assert ("LPS", "W180") not in pairs  # 155 C < 180 C + 10 K


def test_hot_water_never_flows_to_steam_wants():
    plan = optimise(_water_for_steam())
    casc = _cascade(plan)
    assert casc[casc["have_id"] == "HOTW"].empty
    assert set(casc["want_id"]) <= {"W140"}


def test_steam_let_down_keeps_dt_min():
    # 145 C steam is of the right pressure level for a 140 C steam want but not dt_min_k hotter
    res = [_res("LPS", "F", "have", "energy:steam:lp", 8000.0),
           _res("W140", "F", "want", "energy:steam:lp", 5000.0, cost=200.0)]
    props = [{"resource_id": "LPS", "property": "temperature_c", "value": 145.0},
             {"resource_id": "W140", "property": "temperature_c", "min": 140.0}]
    plan = optimise(_inv(res, props))
    assert _cascade(plan).empty
    assert plan.flows.loc[plan.flows["want_id"] == "W140", "have_id"].eq("VIRGIN").all()


# --------------------------------------------------------------------------- hard and soft


def test_hard_and_soft_defaults_and_overrides():
    assert default_limit("temperature_c") == "hard"
    assert default_limit("moisture_pct") == "soft"
    assert default_limit("my_own_property") == "soft"
    props = pd.DataFrame({"property": ["moisture_pct", "moisture_pct", "temperature_c", "temperature_c"],
                          "limit": ["", "hard", "", "soft"]})
    assert hard_mask(props).tolist() == [False, True, True, False]


def test_a_hard_limit_excludes_and_a_soft_one_scores():
    sites = SITES
    res = pd.DataFrame([
        {"resource_id": "H", "site_id": "P", "role": "have", "category": "material", "type": "ewc:100105",
         "quantity": 100.0, "unit": "t"},
        {"resource_id": "SOFT", "site_id": "P", "role": "want", "category": "material", "type": "ewc:100105",
         "quantity": 100.0, "unit": "t"},
        {"resource_id": "HARD", "site_id": "P", "role": "want", "category": "material", "type": "ewc:100105",
         "quantity": 100.0, "unit": "t"}])
    props = pd.DataFrame([{"resource_id": "H", "property": "moisture_pct", "value": 13.0},
                          {"resource_id": "SOFT", "property": "moisture_pct", "max": 12.0},
                          {"resource_id": "HARD", "property": "moisture_pct", "max": 12.0, "limit": "hard"}])
    inv = build_inventory({"sites": sites, "resources": res, "properties": props})
    cand = match(inv, min_score=0.0)
    assert set(cand["want_id"]) == {"SOFT"}
    assert cand["s_quality"].iloc[0] == pytest.approx(1 - 1 / (0.5 * 12))


# --------------------------------------------------------------------------- sulphur


def test_sulphur_is_no_soil_nutrient():
    res = pd.DataFrame([
        {"resource_id": "S", "site_id": "P", "role": "have", "category": "material", "type": "ewc:050116",
         "quantity": 5000.0, "unit": "t"},
        {"resource_id": "SOIL", "site_id": "F", "role": "want", "category": "material",
         "type": "raw:soil-conditioner", "quantity": 5000.0, "unit": "t"},
        {"resource_id": "ACID", "site_id": "T", "role": "want", "category": "material", "type": "raw:sulphur",
         "quantity": 5000.0, "unit": "t"}])
    cand = match(build_inventory({"sites": SITES, "resources": res}), min_score=0.0)
    assert set(cand["want_id"]) == {"ACID"}


# --------------------------------------------------------------------------- validate == optimise


def _write(tmp_path, resources: list[dict], properties: list[dict]):
    SITES.to_csv(tmp_path / "sites.csv", index=False)
    pd.DataFrame(resources).to_csv(tmp_path / "resources.csv", index=False)
    pd.DataFrame(properties).to_csv(tmp_path / "properties.csv", index=False)
    return tmp_path


def test_validate_catches_a_misspelt_temperature_with_a_did_you_mean(tmp_path, capsys):
    folder = _write(tmp_path, [_res("STEAM", "P", "have", "energy:steam:lp", 1000.0),
                               _res("DRYER", "P", "want", "energy:heat", 800.0, cost=200.0)],
                    [{"resource_id": "STEAM", "property": "temperature_c", "value": 180.0},
                     {"resource_id": "DRYER", "property": "temperatur_c", "min": 120.0}])
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'temperature_c'" in err
    assert "properties.csv" in err and "row 2" in err and "property" in err
    assert "cold stream 'DRYER'" in err  # and the heat network's own complaint, with the same hint
    assert main(["optimise", str(folder), "-o", str(tmp_path / "plan")]) == 2  # the same reason


def test_an_inventory_that_validates_optimises(tmp_path, capsys):
    folder = _write(tmp_path, [_res("STEAM", "P", "have", "energy:steam:lp", 1000.0),
                               _res("DRYER", "P", "want", "energy:heat", 800.0, cost=200.0)],
                    [{"resource_id": "STEAM", "property": "temperature_c", "value": 180.0},
                     {"resource_id": "DRYER", "property": "temperature_c", "min": 120.0}])
    assert main(["validate", str(folder)]) == 0
    assert main(["optimise", str(folder), "-o", str(tmp_path / "plan")]) == 0


def test_every_input_check_of_the_parts_is_a_requirement():
    # a water sink without a maximum and a hot stream running the wrong way: both named by
    # check_requirements, before optimise builds anything
    res = [_res("HOT", "P", "have", "energy:heat:low", 100.0),
           {"resource_id": "SINK", "site_id": "P", "role": "want", "category": "water",
            "type": "water:process", "quantity": 100.0, "unit": "m3"}]
    props = [{"resource_id": "HOT", "property": "temperature_c", "value": 40.0},
             {"resource_id": "HOT", "property": "target_temperature_c", "value": 60.0},
             {"resource_id": "SINK", "property": "cod_mg_l", "value": 5.0}]
    inv = _inv(res, props)
    with pytest.raises(InventoryError) as err:
        check_requirements(inv)
    text = str(err.value)
    assert "colder than its target" in text and "water sink 'SINK'" in text
    with pytest.raises(InventoryError, match="colder than its target"):
        optimise(inv)


# --------------------------------------------------------------------------- property-based


@st.composite
def heat_inventories(draw):
    n_have, n_want = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    res, props = [], []
    for i in range(n_have + n_want):
        have = i < n_have
        rid = f"{'H' if have else 'W'}{i}"
        steam = draw(st.booleans())
        typ = draw(st.sampled_from(["energy:steam:lp", "energy:steam:mp"])) if steam else "energy:heat:low"
        res.append(_res(rid, draw(st.sampled_from(["P", "F"])), "have" if have else "want", typ,
                        draw(st.floats(10.0, 5000.0)), cost=0.0 if have else 220.0))
        t = draw(st.floats(20.0, 300.0))
        if steam or draw(st.booleans()):  # a level
            props.append({"resource_id": rid, "property": "temperature_c",
                          **({"value": t} if have else {"min": t})})
        else:  # a stream: a hot one cools, a cold one warms
            dt = draw(st.floats(5.0, 80.0))
            props += [{"resource_id": rid, "property": "temperature_c", "value": t},
                      {"resource_id": rid, "property": "target_temperature_c",
                       "value": t - dt if have else t + dt}]
        if have and draw(st.booleans()):
            props.append({"resource_id": rid, "property": "opportunity_cost", "value": draw(st.floats(0, 100))})
    return _inv(res, props, dt_min_k=draw(st.sampled_from([5.0, 10.0, 20.0])))


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(heat_inventories())
def test_heat_runs_downhill_in_candidates_and_flows(inv):
    temps = temperature_table(inv)
    supply, need = supply_temperature(temps), required_temperature(temps)
    dt = inv.params.dt_min_k
    cand = match(inv, min_score=0.0)
    for h, w in zip(cand["have_id"], cand["want_id"], strict=True):
        assert supply[h] >= need[w] + dt - 1e-9, (h, w, supply[h], need[w])
    plan = optimise(inv)
    for h, w in zip(*(_cascade(plan)[c] for c in ("have_id", "want_id")), strict=True):
        assert supply[h] >= need[w] + dt - 1e-9, (h, w, supply[h], need[w])
    assert np.isclose(plan.summary["objective"]["cost"], plan.flows["cost"].sum(), rtol=1e-6, atol=1e-3)


def test_the_report_shows_the_grade_of_heat(tmp_path):
    from flowmatch.plans.folder import read_plan_folder, write_plan
    from flowmatch.report.page import write_report

    inv = _fish_farm(opportunity=None)
    write_plan(optimise(inv), tmp_path / "plan", inventory=inv)
    res = read_plan_folder(tmp_path / "plan").resources.set_index("resource_id")
    grade = pd.to_numeric(res["exergy_grade"], errors="coerce")
    assert grade["STEAM"] == pytest.approx(1 - 293.15 / 493.15)  # Carnot factor at 220 C, T0 20 C
    assert grade["STEAM"] > grade["WARM"] > grade["FISH"] == 0  # the pond needs heat from 12 C: below T0
    html = write_report(tmp_path / "plan").read_text(encoding="utf-8")
    table = html[html.index('id="t-cascades"'):]
    assert "exergy grade" in table and "needs C" in table
