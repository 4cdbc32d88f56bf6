"""Reading an inventory: formats, units, prices, months, hazardous flags, types and
knowledge merged over the built-ins, and the summary of ``describe``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from inventory_cases import tables, write_csv, write_xlsx

from flowmatch.inputs.describe import describe, describe_text
from flowmatch.inputs.inventory import ALL_MONTHS, build_inventory, parse_months, read_inventory
from flowmatch.inputs.params import Params
from flowmatch.inputs.units import canonical_unit, to_base_factor, unit_factor_per_unit


def res(inv, rid):
    return inv.resources.set_index("resource_id").loc[rid]


@pytest.fixture
def inv(tmp_path):
    return read_inventory(write_csv(tmp_path / "inv"))


# ----------------------------------------------------------------- units


def test_quantities_in_base_units_per_year(inv):
    hours = inv.params.hours_per_year
    assert res(inv, "H1").quantity == 120000 and res(inv, "H1").unit == "t"
    assert res(inv, "H2").quantity == pytest.approx(300 * hours)  # 300 t/h
    assert res(inv, "H3").quantity == pytest.approx(5 * hours)  # 5 MW -> MWh a year
    assert res(inv, "H2").quantity_in == 300 and res(inv, "H2").unit_in == "t/h"


def test_hours_per_year_from_params_changes_rates_only(tmp_path):
    inv = read_inventory(write_csv(tmp_path / "inv", params="hours_per_year = 6000\n"))
    assert res(inv, "H2").quantity == pytest.approx(300 * 6000)
    assert res(inv, "H1").quantity == 120000


def test_params_argument_overrides_params_toml(tmp_path):
    inv = read_inventory(write_csv(tmp_path / "inv", params="hours_per_year = 6000\n"),
                         params=Params(hours_per_year=7000))
    assert res(inv, "H2").quantity == pytest.approx(300 * 7000)


@pytest.mark.parametrize(("unit", "category", "per_year"), [
    ("kg", "material", 1e-3), ("kt", "material", 1e3), ("t/h", "material", 8000.0),
    ("t/d", "material", 8000.0 / 24), ("kg/s", "material", 3.6 * 8000), ("tonnes", "material", 1.0),
    ("t/a", "material", 1.0), ("T/YR", "material", 1.0),
    ("l", "water", 1e-3), ("m³", "water", 1.0), ("m3/h", "water", 8000.0), ("m3/d", "water", 8000 / 24),
    ("t", "water", 1.0), ("GJ", "energy", 1 / 3.6), ("kWh", "energy", 1e-3), ("mwh", "energy", 1.0),
    ("kW", "energy", 8.0), ("MW", "energy", 8000.0), ("GJ/h", "energy", 8000 / 3.6),
])
def test_unit_factors(unit, category, per_year):
    assert to_base_factor(unit, category, 8000.0) == pytest.approx(per_year)


@pytest.mark.parametrize(("unit", "category"), [
    ("MWh", "material"), ("t", "energy"), ("furlong", "water"), ("t/h/a", "material"), ("", "water"),
])
def test_units_that_do_not_fit(unit, category):
    assert to_base_factor(unit, category, 8000.0) is None


def test_canonical_units():
    assert canonical_unit(" mwh/a ") == "MWh" and canonical_unit("m^3/h") == "m3/h"
    assert canonical_unit("Tonne/d") == "t/d" and canonical_unit("parsec") is None


def test_prices_per_base_unit(inv):
    # H2 costs 0.05 per t (its rate unit t/h counts in t) and emits 0.02 kg per t
    assert res(inv, "H2").cost == pytest.approx(0.05)
    assert res(inv, "H1").cost == 40


def test_prices_given_per_kg_become_per_t(tmp_path):
    tabs = tables()
    tabs["resources"].loc[0, ["quantity", "unit", "cost", "co2"]] = ["5000", "kg", "0.04", "0.02"]
    inv = read_inventory(write_csv(tmp_path / "inv", tabs))
    h1 = res(inv, "H1")
    assert h1.quantity == pytest.approx(5.0) and h1.cost == pytest.approx(40.0)
    assert h1.co2 == pytest.approx(20.0)
    # the total cost is the same however it is written
    assert h1.quantity * h1.cost == pytest.approx(5000 * 0.04)


def test_price_per_gj_and_per_day_rates():
    assert 1 / unit_factor_per_unit("GJ", "energy") == pytest.approx(3.6)  # 10/GJ is 36/MWh
    assert unit_factor_per_unit("m3/d", "water") == pytest.approx(1.0)  # a price per m3
    assert unit_factor_per_unit("MW", "energy") == pytest.approx(1.0)  # per MWh


def test_thousands_separators_are_read(tmp_path):
    tabs = tables()
    tabs["resources"].loc[0, "quantity"] = "1,200,000.5"
    assert res(read_inventory(write_csv(tmp_path / "inv", tabs)), "H1").quantity == 1200000.5


# ----------------------------------------------------------------- months


@pytest.mark.parametrize(("text", "months"), [
    ("1-12", range(1, 13)), ("", range(1, 13)), ("4-9", range(4, 10)), ("11-2", [11, 12, 1, 2]),
    ("12-1", [12, 1]), ("1,3,5-7", [1, 3, 5, 6, 7]), ("7", [7]), (" 10 - 3 ", [10, 11, 12, 1, 2, 3]),
    ("6-6", [6]),
])
def test_month_masks(text, months):
    assert parse_months(text) == sum(1 << (m - 1) for m in months)


@pytest.mark.parametrize("text", ["0-3", "13", "1-", "a", "1;2", "1--2", "2024-11-02"])
def test_bad_months(text):
    assert parse_months(text) is None


def test_month_mask_column(inv):
    assert res(inv, "H3").month_mask == parse_months("11-2")
    assert res(inv, "H2").month_mask == ALL_MONTHS and res(inv, "H2").months == "1-12"
    assert res(inv, "W4").month_mask == 0b1110101


# ----------------------------------------------------------------- defaults and types


def test_defaults(inv):
    assert res(inv, "H3").frequency == "continuous"
    assert res(inv, "H2").route == "landfill"  # lower-cased
    assert math.isnan(res(inv, "H1").max_distance_km)
    assert not inv.resources["byproduct"].any()
    assert inv.resources["type_known"].all()


def test_hazardous_defaults_from_the_ewc_code(tmp_path):
    tabs = tables()
    r = tabs["resources"]
    r.loc[0, "type"] = "ewc:100104"  # oil fly ash: hazardous in the List of Wastes
    r["hazardous"] = ["", "yes", "", "", "", "", "", ""]  # H2 (coal fly ash) declared hazardous
    inv = read_inventory(write_csv(tmp_path / "inv", tabs))
    assert res(inv, "H1").hazardous and res(inv, "H2").hazardous
    assert not res(inv, "W1").hazardous
    r["hazardous"] = ["no", "", "", "", "", "", "", ""]  # the owner's flag wins over the code's
    assert not res(read_inventory(write_csv(tmp_path / "inv2", tabs)), "H1").hazardous


def test_hazardous_inherited_from_a_user_types_parent(tmp_path):
    tabs = tables()
    tabs["types"] = pd.DataFrame({"type": ["my:sludge", "my:sludge:oily"], "parent": ["raw", "my:sludge"],
                                  "label": ["", ""], "hazardous": ["true", ""]})
    tabs["resources"].loc[0, "type"] = "my:sludge:oily"
    inv = read_inventory(write_csv(tmp_path / "inv", tabs))
    assert res(inv, "H1").hazardous and res(inv, "H1").type_known
    assert inv.taxonomy.table.loc["my:sludge", "label"] == "my:sludge"  # empty label: the code


def test_user_types_merge_over_builtin(inv):
    tax = inv.taxonomy
    assert "my:slag-sand" in tax and tax.parent("my:slag-sand") == "raw:aggregate"
    assert tax.ancestors("raw:gypsum-board") == ["raw:gypsum-board", "raw:gypsum", "raw"]
    assert "ewc:100105" in tax and len(tax) > 842 + 80  # built-ins kept


def test_user_type_replaces_a_builtin_row(tmp_path):
    tabs = tables()
    tabs["types"] = pd.DataFrame({"type": ["ewc:100102"], "parent": ["ewc:1001"],
                                  "label": ["Fly ash (ours)"], "hazardous": ["true"]})
    inv = read_inventory(write_csv(tmp_path / "inv", tabs))
    assert inv.taxonomy.table.loc["ewc:100102", "label"] == "Fly ash (ours)"
    assert res(inv, "H2").hazardous


def test_unknown_types_are_a_warning(tmp_path):
    tabs = tables()
    tabs["resources"].loc[4, "type"] = "acme:widget-scrap"
    inv = read_inventory(write_csv(tmp_path / "inv", tabs))
    assert inv.unknown_types == ["acme:widget-scrap"] and not res(inv, "W1").type_known
    assert any("acme:widget-scrap" in w for w in inv.warnings)


def test_compatibility_merged_over_the_knowledge_base(inv):
    comp = inv.compatibility.set_index(["have_type", "want_type"])
    assert comp.loc[("ewc:100102", "raw:cement-additive"), "score"] == 0.7  # ours replaces built-in
    assert comp.loc[("ewc:100102", "raw:cement-additive"), "source"] == "our lab test"
    assert comp.loc[("ewc:100202", "my:slag-sand"), "source"] == "user"  # empty source
    assert comp.loc[("ewc:100105", "raw:gypsum"), "score"] == 1.0  # built-in kept
    assert not comp.index.duplicated().any()


def test_properties_normalised(inv):
    p = inv.properties
    assert list(p.columns[:5]) == ["resource_id", "property", "value", "min", "max"]
    w3 = p[(p.resource_id == "W3")].iloc[0]
    assert (w3["min"], w3["max"]) == (110, 180) and math.isnan(w3["value"])


def test_sites_defaults_and_extra_columns_pass_through(tmp_path):
    tabs = tables()
    tabs["sites"] = tabs["sites"].drop(columns=["name", "park"]).assign(owner=["a", "b", "c", "d"])
    tabs["sites"].columns = [c.upper() for c in tabs["sites"].columns]  # case of headers is free
    inv = read_inventory(write_csv(tmp_path / "inv", tabs))
    assert inv.sites["name"].tolist() == inv.sites["site_id"].tolist()
    assert (inv.sites["park"] == "").all() and inv.sites["owner"].tolist() == ["a", "b", "c", "d"]


# ----------------------------------------------------------------- formats


def _core(inv):
    cols = ["resource_id", "site_id", "role", "category", "type", "quantity", "unit", "cost", "co2",
            "month_mask", "hazardous", "frequency", "months", "route"]
    return inv.resources[cols].reset_index(drop=True)


def test_parquet_with_typed_columns_reads_like_csv(tmp_path, inv):
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, df in tables().items():
        typed = df.copy()
        for c in ("lat", "lon", "quantity", "cost", "co2", "score", "km", "value", "min", "max"):
            if c in typed:
                typed[c] = pd.to_numeric(typed[c].replace("", np.nan))
        typed.to_parquet(folder / f"{name}.parquet")
    (folder / "params.toml").write_text((tmp_path / "inv" / "params.toml").read_text())
    pd.testing.assert_frame_equal(_core(read_inventory(folder)), _core(inv))


def test_xlsx_reads_like_csv_with_params_sheet_over_toml(tmp_path, inv):
    book = write_xlsx(tmp_path / "book" / "inv.xlsx", params={"carbon_price": "80"})
    (book.parent / "params.toml").write_text("carbon_price = 70\ntransport_cost_t_km = 0.5\n")
    x = read_inventory(book)
    pd.testing.assert_frame_equal(_core(x), _core(inv))
    assert x.params.carbon_price == 80 and x.params.transport_cost_t_km == 0.5
    assert len(x.properties) == len(inv.properties)


def test_xlsx_header_below_blank_rows_and_case_of_sheet_names(tmp_path):
    book = tmp_path / "inv.xlsx"
    with pd.ExcelWriter(book, engine="openpyxl") as xw:
        for name, df in tables().items():
            df.to_excel(xw, sheet_name=name.capitalize(), index=False, startrow=2 if name == "sites" else 0)
    tabs = tables()
    tabs["sites"].loc[1, "lat"] = "x"
    inv = read_inventory(book)
    assert len(inv.sites) == 4
    with pd.ExcelWriter(book, engine="openpyxl") as xw:
        for name, df in tabs.items():
            df.to_excel(xw, sheet_name=name, index=False, startrow=2 if name == "sites" else 0)
    from flowmatch.errors import InventoryError
    with pytest.raises(InventoryError) as info:
        read_inventory(book)
    (p,) = info.value.problems
    assert (p.row, p.line) == (2, 5)  # header on sheet row 3


def test_build_inventory_from_typed_frames(inv):
    tabs = {k: v.copy() for k, v in tables().items()}
    tabs["resources"]["quantity"] = tabs["resources"]["quantity"].astype(float)
    built = build_inventory(tabs, params=inv.params)
    pd.testing.assert_frame_equal(_core(built), _core(inv))


def test_rebuild_from_tables_kept_in_the_inventory(inv):
    again = build_inventory(inv.tables, params=inv.params.replace(hours_per_year=4000))
    assert res(again, "H2").quantity == pytest.approx(300 * 4000)


# ----------------------------------------------------------------- describe


def test_describe_counts_and_totals(inv):
    d = describe(inv)
    assert (d["sites"], d["parks"], d["sectors"], d["resources"]) == (4, 2, 4, 8)
    assert d["haves"]["material"] == {"count": 2, "quantity": pytest.approx(120000 + 300 * 8000),
                                      "unit": "t", "types": 2}
    assert d["wants"]["water"]["quantity"] == 150000 and d["haves"]["energy"]["unit"] == "MWh"
    assert d["hazardous"] == 0 and d["seasonal"] == 3 and d["unknown_types"] == []
    assert d["largest_parks"][0] == {"park": "Demo", "sites": 3}


def test_describe_text_names_unknown_types(tmp_path):
    tabs = tables()
    tabs["resources"].loc[4, "type"] = "acme:widget-scrap"
    text = describe_text(read_inventory(write_csv(tmp_path / "inv", tabs)))
    assert "unknown types (1" in text and "acme:widget-scrap" in text
    assert "4 sites in 2 parks" in text and "2,520,000 t" in text
