"""Hostile input, through the CLI in-process: every case ends in exit 2 with a
message naming file, row and column where there is one, or in a correct answer;
never a traceback, a hang or a silent wrong answer (issue 17)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from inventory_cases import tables, write_csv, write_xlsx

from flowmatch.cli import main
from flowmatch.errors import ScenarioError
from flowmatch.inputs.inventory import read_inventory
from flowmatch.inputs.scenario import load_scenario

MINI = Path(__file__).resolve().parents[1] / "datasets" / "mini"
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")


def validate(path: Path, capsys) -> tuple[int, str, str]:
    rc = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err + out
    return rc, out, err


def refused(path: Path, capsys, *words: str) -> str:
    """Exit 2 and every one of ``words`` in the message."""
    rc, out, err = validate(path, capsys)
    assert rc == 2, out + err
    for w in words:
        assert w in err, f"{w!r} not in {err}"
    return err


def with_cell(tmp_path: Path, table: str, row: int, column: str, value, **kw) -> Path:
    tabs = tables()
    tabs[table].loc[row - 1, column] = value
    return write_csv(tmp_path / "inv", tabs, **kw)


# ----------------------------------------------------------------- files that cannot be read


def test_unreadable_folder_in_process(tmp_path, capsys, monkeypatch):
    inv = write_csv(tmp_path / "inv")
    real_iterdir = Path.iterdir

    def denied(self):
        if self == inv:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", denied)
    refused(inv, capsys, str(inv), "cannot be listed", "Permission denied")


def test_path_that_cannot_be_looked_at_in_process(tmp_path, capsys, monkeypatch):
    inv = write_csv(tmp_path / "inv")
    real_stat = os.stat

    def denied(p, *a, **kw):
        if Path(p) in (inv, inv / "sites.csv"):
            raise PermissionError(13, "Permission denied", str(p))
        return real_stat(p, *a, **kw)

    monkeypatch.setattr(os, "stat", denied)
    refused(inv, capsys, str(inv), "cannot be read (Permission denied)")


def test_unreadable_file_in_process(tmp_path, capsys, monkeypatch):
    inv = write_csv(tmp_path / "inv")
    real = Path.read_bytes

    def denied(self):
        if self.name == "sites.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    refused(inv, capsys, "sites.csv: cannot be read (Permission denied)")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="root (or Windows) reads a folder whatever its mode; the in-process tests cover it")
def test_unreadable_folder_for_real(tmp_path, capsys):
    inv = write_csv(tmp_path / "inv")
    inv.chmod(0)
    try:
        refused(inv, capsys, "Permission denied")
        refused(inv / "sites.csv", capsys)
    finally:
        inv.chmod(0o755)


@needs_fifo
@pytest.mark.parametrize("name", ["types.csv", "sites.csv", "params.toml"])
def test_a_fifo_is_refused_not_read(tmp_path, capsys, name):
    inv = write_csv(tmp_path / "inv")
    (inv / name).unlink()
    os.mkfifo(inv / name)  # reading it would wait for a writer for ever
    refused(inv, capsys, f"{name}: cannot be read: it is a named pipe (FIFO), not a regular file")


@needs_fifo
def test_a_fifo_workbook_is_refused(tmp_path, capsys):
    os.mkfifo(tmp_path / "inv.xlsx")
    refused(tmp_path / "inv.xlsx", capsys, "named pipe (FIFO)")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_as_a_table_is_refused(tmp_path, capsys):
    inv = write_csv(tmp_path / "inv")
    (inv / "types.csv").unlink()
    (inv / "types.csv").symlink_to("/dev/zero")  # endless: reading it fills memory
    refused(inv, capsys, "types.csv: cannot be read: it is a character device")


def test_params_toml_that_is_a_folder_is_refused(tmp_path, capsys):
    inv = write_csv(tmp_path / "inv", params=None)
    (inv / "params.toml").mkdir()
    refused(inv, capsys, "params.toml: cannot be read: it is a folder")


# ----------------------------------------------------------------- encodings, BOM, delimiters


def test_params_toml_not_utf8(tmp_path, capsys):
    inv = write_csv(tmp_path / "inv", params=None)
    (inv / "params.toml").write_bytes('currency = "CNY"\nlandfill_tax = 5 # 垃圾税\n'.encode("gbk"))
    refused(inv, capsys, "params.toml: is not UTF-8 text", "on line 2", "Save it as UTF-8")


def test_params_toml_with_bom_is_read(tmp_path, capsys):
    inv = write_csv(tmp_path / "inv", params=None)
    (inv / "params.toml").write_bytes(b"\xef\xbb\xbfcarbon_price = 75\n")
    assert validate(inv, capsys)[0] == 0
    assert read_inventory(inv).params.carbon_price == 75


def test_scenario_not_utf8(tmp_path, capsys):
    sc = tmp_path / "tax.toml"
    sc.write_bytes('name = "Café"\n[params]\nlandfill_tax = 100\n'.encode("latin-1"))
    with pytest.raises(ScenarioError, match="is not UTF-8 text"):
        load_scenario(sc)
    assert main(["whatif", str(MINI), str(sc), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "tax.toml" in err and "not UTF-8" in err and "Traceback" not in err


def test_scenario_with_bom_is_read(tmp_path):
    sc = tmp_path / "tax.toml"
    sc.write_bytes(b'\xef\xbb\xbfname = "tax"\n[params]\nlandfill_tax = 100\n')
    assert load_scenario(sc).params == {"landfill_tax": 100}


@needs_fifo
def test_scenario_fifo_is_refused(tmp_path):
    os.mkfifo(tmp_path / "s.toml")
    with pytest.raises(ScenarioError, match="named pipe"):
        load_scenario(tmp_path / "s.toml")


def _semicolon(inv: Path, name: str, **cells: dict[int, str]) -> None:
    """Write table ``name`` with ';' as delimiter, as a European Excel does, with cells changed."""
    df = tables()[name]
    for column, changes in cells.items():
        for row, value in changes.items():
            df.loc[row - 1, column] = value
    df.to_csv(inv / f"{name}.csv", sep=";", index=False)


def test_semicolon_csv_with_decimal_commas_reads_correctly(tmp_path, capsys):
    inv = write_csv(tmp_path / "inv")
    tabs = tables()["sites"]
    _semicolon(inv, "sites", lat={i + 1: v.replace(".", ",") for i, v in enumerate(tabs["lat"])},
               lon={i + 1: v.replace(".", ",") for i, v in enumerate(tabs["lon"])})  # 36,10: a European export
    _semicolon(inv, "resources", cost={2: "0,05"}, quantity={1: "120.000,0"})
    assert validate(inv, capsys)[0] == 0
    got = read_inventory(inv)
    assert got.sites.set_index("site_id")["lat"].to_dict()["PP1"] == pytest.approx(36.10)
    r = got.resources.set_index("resource_id")
    assert r.at["H1", "quantity"] == 120000.0
    assert r.at["H2", "cost"] == pytest.approx(0.05)  # per t/h given; 0,05 read as 0.05 not 5


def test_semicolon_csv_one_comma_is_a_decimal_comma(tmp_path):
    inv = write_csv(tmp_path / "inv")
    _semicolon(inv, "distances", km={1: "1,500"})
    d = read_inventory(inv).distances
    assert d["km"].iloc[0] == pytest.approx(1.5)  # never 1500


def test_comma_csv_keeps_thousands(tmp_path):
    inv = with_cell(tmp_path, "resources", 1, "quantity", "120,000")
    assert read_inventory(inv).resources["quantity"].iloc[0] == 120000.0


def test_tab_separated_file_reads(tmp_path, capsys):
    inv = write_csv(tmp_path / "inv")
    tables()["sites"].to_csv(inv / "sites.csv", sep="\t", index=False)
    assert validate(inv, capsys)[0] == 0


def test_semicolon_file_with_a_broken_line_names_the_delimiter(tmp_path, capsys):
    inv = write_csv(tmp_path / "inv")
    _semicolon(inv, "sites")
    with open(inv / "sites.csv", "a", encoding="utf-8") as fh:
        fh.write("X1;a;b;c;1;2;3;4\n")
    refused(inv, capsys, "sites.csv", "';'-separated fields")


# ----------------------------------------------------------------- text cells


def test_bare_cr_in_a_csv_cell_is_refused_with_its_line(tmp_path, capsys):
    inv = write_csv(tmp_path / "inv")
    f = inv / "sites.csv"
    f.write_bytes(f.read_bytes().replace(b"Cement works", b"Cement\rworks"))
    err = refused(inv, capsys, "sites.csv, line 4", "carriage return", "field 2")
    assert "column 'lat'" not in err and "column 'lon'" not in err  # not blamed on the shifted cells


@pytest.mark.parametrize(("table", "column", "value", "shown"), [
    ("sites", "site_id", "PP\r1", "PP\\r1"),
    ("sites", "site_id", "PP\x001", "PP\\x001"),
    ("resources", "resource_id", "H\t1", "H\\t1"),
    ("resources", "type", "ewc:\x1b100105", "ewc:\\x1b100105"),
    ("resources", "role", "ha\u2028ve", "ha\\u2028ve"),
    ("properties", "property", "moist\nure", "moist\\nure"),
    ("sites", "name", "Coal\x07plant", "Coal\\x07plant"),
])
def test_control_characters_in_text_cells_are_refused(tmp_path, capsys, table, column, value, shown):
    tabs = tables()
    tabs[table].loc[0, column] = value
    inv = tmp_path / "inv"
    inv.mkdir()
    for name, df in tabs.items():  # Parquet keeps any character in a cell (a workbook refuses most)
        df.to_parquet(inv / f"{name}.parquet")
    err = refused(inv, capsys, f"{table}.parquet, row 1, column '{column}'", "control character", shown)
    assert value not in err  # shown escaped, never raw


def test_line_breaks_in_free_text_become_spaces(tmp_path, capsys):
    tabs = tables()
    tabs["sites"].loc[0, "name"] = "Coal power\r\nplant"
    book = write_xlsx(tmp_path / "inv.xlsx", tabs)
    assert validate(book, capsys)[0] == 0
    assert read_inventory(book).sites["name"].iloc[0] == "Coal power plant"


@pytest.mark.parametrize("value", ["=1+2", "@SUM(A1)", "+cmd|' /C calc'!A0"])
def test_formula_like_ids_are_refused(tmp_path, capsys, value):
    inv = with_cell(tmp_path, "resources", 2, "resource_id", value)
    refused(inv, capsys, "resources.csv, row 2 (line 3), column 'resource_id'", "formula")


def test_formula_without_computed_value_in_xlsx(tmp_path, capsys):
    book = write_xlsx(tmp_path / "inv.xlsx")
    wb = openpyxl.load_workbook(book)
    ws = wb["resources"]
    col = [c.value for c in ws[1]].index("quantity") + 1
    ws.cell(row=3, column=col, value="=100*3")  # openpyxl writes no cached value
    wb.save(book)
    err = refused(book, capsys, "inv.xlsx[resources], row 2 (sheet row 3), column 'quantity'",
                  "formula '=100*3' with no computed value", "Open the workbook in Excel or LibreOffice and save it")
    assert "required value is empty" not in err


# ----------------------------------------------------------------- rows that contradict


def test_property_names_differing_by_case_are_refused(tmp_path, capsys):
    tabs = tables()
    tabs["properties"].loc[len(tabs["properties"])] = ["H1", "Moisture_PCT", "12", "", ""]
    inv = write_csv(tmp_path / "inv", tabs)
    refused(inv, capsys, "properties.csv, row 8 (line 9), column 'property'", "'Moisture_PCT'",
            "'moisture_pct' in row 1", "ignore case")


def test_reverse_distance_that_differs_warns_naming_both_rows(tmp_path, capsys):
    tabs = tables()
    tabs["distances"].loc[2] = ["PB1", "PP1", "9"]
    inv = write_csv(tmp_path / "inv", tabs)
    rc, out, _err = validate(inv, capsys)
    assert rc == 0
    assert "distances.csv, row 3 (line 4), column 'km': PB1 to PP1 is 9 km here but PP1 to PB1 is 3.5 km in row 1" in out
    tabs["distances"].loc[2] = ["PB1", "PP1", "3.5"]
    rc, out, _err = validate(write_csv(tmp_path / "inv2", tabs), capsys)
    assert rc == 0 and "km here" not in out


# ----------------------------------------------------------------- magnitudes


@pytest.mark.parametrize(("table", "row", "column", "value", "words"), [
    ("resources", 1, "quantity", "1e20", "more than the whole world's yearly total"),
    ("resources", 1, "quantity", "1e-9", "too small to be an industrial flow"),
    ("resources", 2, "quantity", "1e12", "more than the whole world's yearly total"),  # t/h: 8e15 t a year
    ("resources", 1, "cost", "1e15", "not a plausible price"),
    ("resources", 1, "cost", "-1e15", "not a plausible price"),
    ("resources", 1, "co2", "1e9", "not a plausible emission factor"),
    ("resources", 1, "max_distance_km", "50000", "not a plausible distance"),
    ("resources", 1, "quantity", "inf", "is not a number"),
    ("resources", 1, "quantity", "nan", "is not a number"),
    ("resources", 1, "quantity", "-5", "negative"),
    ("distances", 1, "km", "1e6", "not a plausible distance"),
    ("properties", 1, "value", "1e300", "not a plausible property value"),
])
def test_implausible_numbers_are_refused(tmp_path, capsys, table, row, column, value, words):
    inv = with_cell(tmp_path, table, row, column, value)
    refused(inv, capsys, f"{table}.csv, row {row} (line {row + 1}), column '{column}'", words)


def test_kilograms_judged_in_tonnes(tmp_path, capsys):
    tabs = tables()
    tabs["resources"].loc[0, ["quantity", "unit"]] = ["1e15", "kg"]  # 1e12 t
    refused(write_csv(tmp_path / "inv", tabs), capsys, "1e+12 t a year is more than the whole world's")


@pytest.mark.parametrize(("column", "value", "words"), [
    ("quantity", "2e9", "more than the largest single plants handle"),
    ("cost", "5e7", "very large price"),
    ("co2", "2e5", "very large emission factor"),
])
def test_large_but_possible_numbers_warn(tmp_path, capsys, column, value, words):
    inv = with_cell(tmp_path, "resources", 1, column, value)
    rc, out, _err = validate(inv, capsys)
    assert rc == 0
    assert f"warning: {inv / 'resources.csv'}, row 1 (line 2), column '{column}'" in out and words in out


def test_absurd_parameter_is_refused(tmp_path, capsys):
    inv = write_csv(tmp_path / "inv", params="carbon_price = 1e16\n")
    refused(inv, capsys, "params.toml", "carbon_price", "not plausible")


def test_a_real_large_inventory_still_reads(tmp_path, capsys):
    inv = with_cell(tmp_path, "resources", 1, "quantity", "4e8")  # a big cement works' slag: fine
    rc, out, _ = validate(inv, capsys)
    assert rc == 0 and "warning" not in out.replace("type(s) not in the taxonomy", "")


def test_mini_dataset_has_no_warnings(tmp_path):
    inv = tmp_path / "mini"
    shutil.copytree(MINI, inv)
    assert read_inventory(inv).warnings == []


def test_a_heat_want_of_zero_mwh_plans(tmp_path, capsys):
    # found by the CLI fuzz: a heat network whose only cold stream needs 0 MWh has no
    # temperature slot, and the heat part used to fail on an empty argmax
    tabs = tables()
    r = tabs["resources"]
    tabs["resources"] = r[r["category"] != "water"].reset_index(drop=True)
    p = tabs["properties"]
    tabs["properties"] = p[p["resource_id"].isin(tabs["resources"]["resource_id"])]
    tabs["resources"].loc[tabs["resources"]["resource_id"] == "W3", "quantity"] = "0"
    inv = write_csv(tmp_path / "inv", tabs, params="milk_round_max_stops = 0\n")
    assert main(["optimise", str(inv), "-o", str(tmp_path / "out"), "--time-limit", "5"]) == 0
    flows = pd.read_csv(tmp_path / "out" / "flows.csv")
    assert not ((flows["want_id"] == "W3") & (flows["quantity"] > 0)).any()


def test_control_characters_in_a_number_cell_are_shown_escaped(tmp_path, capsys):
    tabs = tables()
    tabs["resources"].loc[0, "quantity"] = "12\x1b[31m"  # a terminal escape sequence
    inv = tmp_path / "inv"
    inv.mkdir()
    for name, df in tabs.items():
        df.to_parquet(inv / f"{name}.parquet")
    err = refused(inv, capsys, "resources.parquet, row 1, column 'quantity'", "'12\\x1b[31m' is not a number")
    assert "\x1b" not in err
