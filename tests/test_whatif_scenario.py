"""Scenario files: parsing, each kind of change, and clear errors for bad files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from flowmatch.errors import FlowmatchError, ScenarioError
from flowmatch.inputs.inventory import build_inventory, read_inventory
from flowmatch.inputs.scenario import INFRASTRUCTURE_DEFAULTS, apply_scenario, load_scenario


def _tables() -> dict[str, pd.DataFrame]:
    sites = pd.DataFrame({"site_id": ["A", "B", "C"], "lat": [36.0, 36.01, 36.02],
                          "lon": [117.0, 117.01, 117.02]})
    resources = pd.DataFrame({
        "resource_id": ["HA", "HB", "WC", "WW"],
        "site_id": ["A", "B", "C", "C"],
        "role": ["have", "have", "want", "want"],
        "category": ["material", "material", "material", "water"],
        "type": ["ewc:100105", "ewc:100102", "raw:gypsum", "water:grey"],
        "quantity": [100.0, 50.0, 80.0, 1000.0],
        "unit": ["t", "t", "t", "m3"],
        "cost": [40.0, 40.0, 120.0, 4.0],
    })
    properties = pd.DataFrame({"resource_id": ["HA", "WC"], "property": ["purity_pct", "purity_pct"],
                               "value": [95.0, None], "min": [None, 90.0], "max": [None, None]})
    distances = pd.DataFrame({"from_site": ["A", "B"], "to_site": ["C", "C"], "km": [3.0, 4.0]})
    return {"sites": sites, "resources": resources, "properties": properties, "distances": distances}


@pytest.fixture()
def inv():
    return build_inventory(_tables(), source="test")


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def _scenario(tmp_path: Path, text: str, name: str = "s.toml"):
    return load_scenario(_write(tmp_path, text, name))


# --------------------------------------------------------------------------- features


def test_name_defaults_to_file_stem_and_can_be_given(tmp_path):
    assert _scenario(tmp_path, "", "tax_up.toml").name == "tax_up"
    s = _scenario(tmp_path, 'name = "Tax up"\ndescription = "more tax"\n')
    assert (s.name, s.description) == ("Tax up", "more tax")


def test_params_are_overridden_and_the_original_is_unchanged(tmp_path, inv):
    s = _scenario(tmp_path, """
        [params]
        landfill_tax = 150
        carbon_price = 120.5
        fresh_water_price = 6
    """)
    new = apply_scenario(inv, s)
    assert new.params.landfill_tax == 150.0
    assert new.params.carbon_price == 120.5
    assert new.params.fresh_water_price == 6.0
    assert new.params.landfill_price == inv.params.landfill_price
    assert inv.params.landfill_tax == 0.0
    assert "s" in new.source


def test_add_site_resource_and_property_are_normalised(tmp_path, inv):
    s = _scenario(tmp_path, """
        [[add.sites]]
        site_id = "D"
        lat = 36.03
        lon = 117.03

        [[add.resources]]
        resource_id = "HD"
        site_id = "D"
        role = "have"
        category = "material"
        type = "ewc:100105"
        quantity = 2500
        unit = "kg"
        months = "4-9"

        [[add.properties]]
        resource_id = "HD"
        property = "Purity_pct"
        value = 97
    """)
    new = apply_scenario(inv, s)
    assert "D" in set(new.sites["site_id"])
    row = new.resources.set_index("resource_id").loc["HD"]
    assert row["quantity"] == pytest.approx(2.5)  # kg -> t
    assert row["unit"] == "t"
    assert row["month_mask"] == sum(1 << (m - 1) for m in range(4, 10))
    assert len(new.resources) == len(inv.resources) + 1
    prop = new.properties[new.properties["resource_id"] == "HD"]
    assert prop["property"].tolist() == ["purity_pct"] and prop["value"].tolist() == [97.0]
    # existing rows keep their normalised values
    pd.testing.assert_series_equal(new.resources.set_index("resource_id").loc[["HA", "WC"], "cost"],
                                   inv.resources.set_index("resource_id").loc[["HA", "WC"], "cost"])


def test_add_to_a_csv_inventory_mixes_text_and_numbers(tmp_path, mini):
    s = _scenario(tmp_path, """
        [[add.resources]]
        resource_id = "H3"
        site_id = "CM1"
        role = "have"
        category = "material"
        type = "ewc:100105"
        quantity = 10
        unit = "t"
        hazardous = false
    """)
    new = apply_scenario(mini, s)
    r = new.resources.set_index("resource_id")
    assert r.loc["H3", "quantity"] == 10.0 and r.loc["H3", "months"] == "1-12"
    assert r.loc["H3", "hazardous"] == False  # noqa: E712 - a numpy bool
    assert r.loc["H1", "cost"] == 40.0


def test_remove_site_takes_its_resources_properties_and_distances(tmp_path, inv):
    new = apply_scenario(inv, _scenario(tmp_path, '[remove]\nsites = ["A"]\n'))
    assert "A" not in set(new.sites["site_id"])
    assert "HA" not in set(new.resources["resource_id"])
    assert "HA" not in set(new.properties["resource_id"])
    assert "A" not in set(new.distances["from_site"]) | set(new.distances["to_site"])
    assert len(new.resources) == len(inv.resources) - 1
    assert len(new.distances) == 1


def test_remove_resource_takes_its_properties(tmp_path, inv):
    new = apply_scenario(inv, _scenario(tmp_path, '[remove]\nresources = ["WC", "HB"]\n'))
    assert set(new.resources["resource_id"]) == {"HA", "WW"}
    assert set(new.properties["resource_id"]) == {"HA"}
    assert set(new.sites["site_id"]) == {"A", "B", "C"}


def test_byproduct_reclassifies_a_have(tmp_path, inv):
    new = apply_scenario(inv, _scenario(tmp_path, 'byproducts = ["HB"]\n'))
    flag = new.resources.set_index("resource_id")["byproduct"]
    assert flag["HB"] and not flag["HA"]
    assert not inv.resources["byproduct"].any()


def test_byproduct_of_an_added_have(tmp_path, inv):
    s = _scenario(tmp_path, """
        byproducts = ["HX"]
        [[add.resources]]
        resource_id = "HX"
        site_id = "B"
        role = "have"
        category = "material"
        type = "ewc:100102"
        quantity = 5
        unit = "t"
    """)
    assert apply_scenario(inv, s).resources.set_index("resource_id").at["HX", "byproduct"]


def test_infrastructure_links_every_pair_of_named_sites(tmp_path, inv):
    s = _scenario(tmp_path, """
        [[infrastructure]]
        sites = ["A", "B", "C"]
        category = "water"

        [[infrastructure]]
        sites = ["C", "A"]
        category = "water"
        transport_cost_factor = 0.1
        fixed_cost_factor = 0.2

        [[infrastructure]]
        sites = ["A", "C"]
        category = "energy"
        transport_cost_factor = 0.3
    """)
    infra = apply_scenario(inv, s).infrastructure
    assert len(infra) == 4  # A-B, B-C water; A-C water (the later entry wins); A-C energy
    pairs = {(frozenset((r.from_site, r.to_site)), r.category): (r.transport_cost_factor, r.fixed_cost_factor)
             for r in infra.itertuples()}
    assert pairs[(frozenset("AB"), "water")] == tuple(INFRASTRUCTURE_DEFAULTS.values())
    assert pairs[(frozenset("AC"), "water")] == (0.1, 0.2)
    assert pairs[(frozenset("AC"), "energy")] == (0.3, INFRASTRUCTURE_DEFAULTS["fixed_cost_factor"])
    assert inv.infrastructure.empty


def test_scenarios_compose_and_removal_drops_infrastructure(tmp_path, inv):
    first = apply_scenario(inv, _scenario(tmp_path, """
        [[infrastructure]]
        sites = ["A", "B", "C"]
        category = "energy"
    """, "a.toml"))
    second = apply_scenario(first, _scenario(tmp_path, '[remove]\nsites = ["B"]\n', "b.toml"))
    infra = second.infrastructure
    assert len(first.infrastructure) == 3
    assert len(infra) == 1 and {infra.at[0, "from_site"], infra.at[0, "to_site"]} == {"A", "C"}


def test_parquet_typed_tables(tmp_path):
    folder = tmp_path / "inv"
    folder.mkdir()
    for name, df in _tables().items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    inv = read_inventory(folder)
    s = _scenario(tmp_path, """
        byproducts = ["HA"]
        [[add.resources]]
        resource_id = "HN"
        site_id = "A"
        role = "have"
        category = "material"
        type = "ewc:100105"
        quantity = 1.5
        unit = "t"
    """)
    new = apply_scenario(inv, s)
    r = new.resources.set_index("resource_id")
    assert r.at["HN", "quantity"] == 1.5 and r.at["HA", "byproduct"] and not r.at["HN", "byproduct"]


def test_an_inventory_without_source_tables_takes_only_params_and_infrastructure(tmp_path, inv):
    from dataclasses import replace

    bare = replace(inv, tables={})
    new = apply_scenario(bare, _scenario(tmp_path, """
        [params]
        landfill_tax = 1
        [[infrastructure]]
        sites = ["A", "B"]
        category = "water"
    """))
    assert new.params.landfill_tax == 1.0 and len(new.infrastructure) == 1
    with pytest.raises(ScenarioError, match="source tables"):
        apply_scenario(bare, _scenario(tmp_path, '[remove]\nresources = ["HA"]\n'))


def test_params_only_scenarios_skip_the_rebuild_unless_hours_change(tmp_path):
    tables = _tables()
    tables["resources"].loc[3, ["quantity", "unit"]] = [10.0, "m3/h"]
    inv = build_inventory(tables, source="test")
    prices = apply_scenario(inv, _scenario(tmp_path, "[params]\ncarbon_price = 90\n"))
    assert prices.resources is inv.resources and prices.params.carbon_price == 90.0
    hours = apply_scenario(inv, _scenario(tmp_path, "[params]\nhours_per_year = 4000\n"))
    ww = hours.resources.set_index("resource_id").at["WW", "quantity"]
    assert ww == pytest.approx(40000.0) and inv.resources.set_index("resource_id").at["WW", "quantity"] == 80000.0


# --------------------------------------------------------------------------- bad files


def _load_error(tmp_path, text) -> ScenarioError:
    with pytest.raises(ScenarioError) as ei:
        _scenario(tmp_path, text)
    return ei.value


def _apply_error(tmp_path, inv, text) -> ScenarioError:
    s = _scenario(tmp_path, text)
    with pytest.raises(ScenarioError) as ei:
        apply_scenario(inv, s)
    return ei.value


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="cannot be read") as ei:
        load_scenario(tmp_path / "nope.toml")
    assert ei.value.file.endswith("nope.toml")
    assert issubclass(ScenarioError, FlowmatchError)


def test_invalid_toml_names_the_file(tmp_path):
    e = _load_error(tmp_path, "[params\nlandfill_tax = 1\n")
    assert e.file.endswith("s.toml") and "not valid TOML" in str(e)


@pytest.mark.parametrize("text, key, words", [
    ("colour = 1\n", "colour", "not a scenario key"),
    ("name = 3\n", "name", "non-empty string"),
    ("[params]\ncarbn_price = 3\n", "params.carbn_price", "is not a parameter"),
    ("[params]\nlandfill_tax = -5\n", "params.landfill_tax", "out of range"),
    ('[params]\nlandfill_tax = "lots"\n', "params.landfill_tax", "not a finite"),
    ("params = 3\n", "params", "not a table"),
    ('[remove]\nsites = "A"\n', "remove.sites", "not a list of ids"),
    ('[remove]\nfactories = ["A"]\n', "remove.factories", "not a known key"),
    ('byproducts = [1]\n', "byproducts", "not a list of ids"),
    ('[[add.machines]]\nid = "x"\n', "add.machines", "not an inventory table"),
    ('[[add.resources]]\nquantity = [1, 2]\n', "add.resources (entry 1), quantity", "not a single value"),
    ('[[infrastructure]]\nsites = ["A"]\ncategory = "water"\n', "infrastructure (entry 1), sites", "two or more"),
    ('[[infrastructure]]\nsites = ["A", "B"]\ncategory = "steam"\n', "infrastructure (entry 1), category",
     "not a category"),
    ('[[infrastructure]]\nsites = ["A", "B"]\ncategory = "water"\ntransport_cost_factor = -1\n',
     "infrastructure (entry 1), transport_cost_factor", "number >= 0"),
    ('[[infrastructure]]\nsites = ["A", "B"]\ncategory = "water"\nlength = 3\n',
     "infrastructure (entry 1), length", "not a known key"),
])
def test_bad_structure_names_file_and_key(tmp_path, text, key, words):
    e = _load_error(tmp_path, text)
    assert key in e.keys, e.keys
    assert words in str(e) and str(tmp_path / "s.toml") in str(e)


def test_every_problem_is_reported_at_once(tmp_path):
    e = _load_error(tmp_path, "colour = 1\n[params]\ncarbn_price = 3\nlandfill_tax = -1\n")
    assert e.keys == ["colour", "params.carbn_price", "params.landfill_tax"]
    assert str(e).startswith("3 problems in scenario")


@pytest.mark.parametrize("text, key, words", [
    ('[remove]\nsites = ["Z"]\n', "remove.sites", "site 'Z' is not in the inventory"),
    ('[remove]\nresources = ["Z"]\n', "remove.resources", "resource 'Z' is not in the inventory"),
    ('byproducts = ["WC"]\n', "byproducts", "is a want, not a have"),
    ('byproducts = ["Z"]\n', "byproducts", "'Z' is not in the inventory"),
    ('[[infrastructure]]\nsites = ["A", "Q"]\ncategory = "water"\n', "infrastructure (entry 1), sites",
     "Q are not in the inventory"),
    ('[remove]\nsites = ["A"]\n[[infrastructure]]\nsites = ["A", "B"]\ncategory = "water"\n',
     "infrastructure (entry 1), sites", "A are not in the inventory"),
    ('[[add.sites]]\nsite_id = "D"\nlat = 1\nlon = 2\nheight = 3\n', "add.sites (entry 1), height",
     "not a column"),
])
def test_bad_references_name_file_and_key(tmp_path, inv, text, key, words):
    e = _apply_error(tmp_path, inv, text)
    assert key in e.keys, e.keys
    assert words in str(e)


def test_bad_added_rows_name_the_entry_and_column(tmp_path, inv):
    e = _apply_error(tmp_path, inv, """
        [[add.resources]]
        resource_id = "HN"
        site_id = "A"
        role = "have"
        category = "material"
        type = "ewc:100105"
        quantity = 1
        unit = "t"

        [[add.resources]]
        resource_id = "HA"
        site_id = "Z"
        role = "gift"
        category = "material"
        type = "ewc:100105"
        quantity = "lots"
        unit = "t"
        months = "13"
    """)
    keys = set(e.keys)
    for col in ("resource_id", "site_id", "role", "quantity", "months"):
        assert f"add.resources (entry 2), {col}" in keys, keys
    assert not any("entry 1" in k for k in keys)
    assert "duplicate resource_id 'HA'" in str(e) and "'lots' is not a number" in str(e)


def test_an_added_row_missing_a_required_value(tmp_path, inv):
    e = _apply_error(tmp_path, inv, '[[add.sites]]\nsite_id = "D"\nlat = 36.0\n')
    assert "add.sites (entry 1), lon" in e.keys and "required value is empty" in str(e)
