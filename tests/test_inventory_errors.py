"""Every mistake a user can make in an inventory ends in one InventoryError that
names file, row and column (and the fix), and in exit code 2 from the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from inventory_cases import tables, write_csv, write_xlsx

from flowmatch.cli import main
from flowmatch.errors import InputProblem, InventoryError
from flowmatch.inputs.inventory import build_inventory, read_inventory
from flowmatch.inputs.problems import MAX_ROWS_PER_PROBLEM


def problems_of(path: Path) -> list[InputProblem]:
    with pytest.raises(InventoryError) as info:
        read_inventory(path)
    assert info.value.problems, "an InventoryError must list its problems"
    for p in info.value.problems:
        assert p.message and p.fix, f"problem without message or fix: {p}"
    return info.value.problems


def only(problems: list[InputProblem], **where) -> InputProblem:
    """The one problem matching ``where`` (file may be given as a name suffix)."""
    hits = [p for p in problems
            if all((str(getattr(p, k)).endswith(v) if k == "file" else getattr(p, k) == v)
                   for k, v in where.items())]
    assert len(hits) == 1, f"expected one problem with {where}, got {hits} of {problems}"
    return hits[0]


def broken(tmp_path: Path, table: str, row: int, column: str, value: str, **kw) -> Path:
    """The valid inventory with one cell changed (row 1 is the first data row)."""
    tabs = tables()
    tabs[table].loc[row - 1, column] = value
    return write_csv(tmp_path / "inv", tabs, **kw)


def test_the_valid_inventory_is_valid(tmp_path):
    inv = read_inventory(write_csv(tmp_path / "inv"))
    assert len(inv.resources) == 8 and len(inv.sites) == 4


# ----------------------------------------------------------------- files and columns


def test_missing_path(tmp_path):
    p = only(problems_of(tmp_path / "nope"))
    assert "does not exist" in p.message


def test_path_that_is_not_an_inventory(tmp_path):
    f = tmp_path / "inv.txt"
    f.write_text("hello")
    assert "neither a folder nor an .xlsx" in only(problems_of(f)).message


def test_missing_required_file(tmp_path):
    inv = write_csv(tmp_path / "inv")
    (inv / "resources.csv").unlink()
    p = only(problems_of(inv), file="resources.csv")
    assert "required table 'resources' is missing" in p.message
    assert p.row is None and "resources.csv" in p.fix


def test_empty_folder_reports_both_required_tables(tmp_path):
    (tmp_path / "inv").mkdir()
    probs = problems_of(tmp_path / "inv")
    assert {Path(p.file).name for p in probs} == {"sites.csv", "resources.csv"}


def test_missing_column(tmp_path):
    tabs = tables()
    tabs["resources"] = tabs["resources"].drop(columns=["quantity"])
    p = only(problems_of(write_csv(tmp_path / "inv", tabs)), column="quantity")
    assert p.file.endswith("resources.csv") and p.row is None
    assert "required column is missing" in p.message


def test_duplicate_column(tmp_path):
    inv = write_csv(tmp_path / "inv")
    text = (inv / "sites.csv").read_text().splitlines()
    text = [text[0] + ",lat"] + [ln + ",1" for ln in text[1:]]
    (inv / "sites.csv").write_text("\n".join(text) + "\n")
    p = only(problems_of(inv), column="lat")
    assert "more than once" in p.message


def test_column_with_values_but_no_name(tmp_path):
    inv = write_csv(tmp_path / "inv")
    text = (inv / "sites.csv").read_text().splitlines()
    text = [text[0] + ","] + [ln + ",x" for ln in text[1:]]
    (inv / "sites.csv").write_text("\n".join(text) + "\n")
    p = only(problems_of(inv), file="sites.csv")
    assert "no name" in p.message


def test_both_csv_and_parquet(tmp_path):
    inv = write_csv(tmp_path / "inv")
    tables()["sites"].to_parquet(inv / "sites.parquet")
    p = only(problems_of(inv))
    assert "more than once" in p.message and "sites" in p.message


# ----------------------------------------------------------------- unreadable files


def test_not_utf8(tmp_path):
    inv = write_csv(tmp_path / "inv")
    (inv / "sites.csv").write_bytes("site_id,name,lat,lon\nS1,热电厂,1,2\n".encode("gbk"))
    p = only(problems_of(inv), file="sites.csv")
    assert "UTF-8" in p.message and "UTF-8" in p.fix


def test_ragged_csv(tmp_path):
    inv = write_csv(tmp_path / "inv")
    (inv / "distances.csv").write_text("from_site,to_site,km\nPP1,PB1,3\nPP1,CM1,4,5,6\n")
    p = only(problems_of(inv), file="distances.csv")
    assert "well-formed" in p.message and "line 3" in p.message


def test_empty_file(tmp_path):
    inv = write_csv(tmp_path / "inv")
    (inv / "types.csv").write_text("")
    assert "is empty" in only(problems_of(inv), file="types.csv").message


def test_corrupt_parquet(tmp_path):
    inv = write_csv(tmp_path / "inv")
    (inv / "properties.csv").unlink()
    (inv / "properties.parquet").write_bytes(b"PAR1 this is not parquet")
    assert "not a readable Parquet" in only(problems_of(inv), file="properties.parquet").message


def test_folder_in_place_of_a_file(tmp_path):
    inv = write_csv(tmp_path / "inv")
    (inv / "distances.csv").unlink()
    (inv / "distances.csv").mkdir()
    assert "cannot be read" in only(problems_of(inv), file="distances.csv").message


def test_corrupt_xlsx(tmp_path):
    book = tmp_path / "inv.xlsx"
    book.write_bytes(b"not a zip file")
    assert "cannot be read as an .xlsx workbook" in only(problems_of(book)).message


def test_xlsx_without_required_sheet(tmp_path):
    tabs = tables()
    del tabs["sites"]
    p = only(problems_of(write_xlsx(tmp_path / "inv.xlsx", tabs)), file="inv.xlsx[sites]")
    assert "missing" in p.message and "sheet" in p.fix


# ----------------------------------------------------------------- cells


@pytest.mark.parametrize(("table", "row", "column", "value", "words"), [
    ("resources", 3, "quantity", "abc", "'abc' is not a number"),
    ("resources", 3, "quantity", "12 t", "is not a number"),
    ("resources", 3, "quantity", "1,5", "is not a number"),  # a decimal comma is not read as 15
    ("resources", 2, "quantity", "-4", "-4 is negative"),
    ("resources", 2, "quantity", "", "required value is empty"),
    ("resources", 4, "role", "give", "'give' is not allowed"),
    ("resources", 4, "category", "solid", "'solid' is not allowed"),
    ("resources", 1, "frequency", "sometimes", "not allowed"),
    ("resources", 5, "months", "13-2", "not a month range"),
    ("resources", 5, "months", "2024-11-02 00:00:00", "is a date"),
    ("resources", 6, "max_distance_km", "-1", "negative"),
    ("resources", 6, "unit", "furlong", "unit 'furlong' is not known"),
    ("resources", 6, "unit", "MWh", "does not fit category 'material'"),
    ("resources", 7, "category", "material", "does not fit the type"),
    ("resources", 2, "site_id", "XX9", "site 'XX9' is not in the sites table"),
    ("resources", 8, "resource_id", "", "required value is empty"),
    ("sites", 2, "lat", "95", "95 is above 90"),
    ("sites", 2, "lon", "-181", "below -180"),
    ("sites", 4, "lat", "north", "'north' is not a number"),
    ("properties", 2, "resource_id", "H99", "resource 'H99' is not in the resources table"),
    ("properties", 5, "min", "200", "min 200 is greater than max"),
    ("properties", 1, "value", "", "no value, min or max"),
    ("types", 1, "parent", "raw:unobtainium", "parent type 'raw:unobtainium' is not known"),
    ("types", 2, "hazardous", "perhaps", "'perhaps' is not true or false"),
    ("types", 1, "type", "", "required value is empty"),
    ("compatibility", 1, "score", "1.5", "above 1"),
    ("compatibility", 2, "score", "0", "not above 0"),
    ("distances", 1, "to_site", "ZZ", "site 'ZZ' is not in the sites table"),
    ("distances", 2, "km", "-3", "negative"),
])
def test_bad_cell_names_file_row_and_column(tmp_path, table, row, column, value, words):
    p = only(problems_of(broken(tmp_path, table, row, column, value)), row=row, column=column)
    assert p.file.endswith(f"{table}.csv")
    assert words in p.message
    assert p.line == row + 1  # header on line 1, no blank lines
    assert f"row {row} (line {row + 1})" in str(p)


def test_duplicate_id_names_both_rows(tmp_path):
    p = only(problems_of(broken(tmp_path, "resources", 6, "resource_id", "H2")), column="resource_id")
    assert p.row == 6 and "duplicate resource_id 'H2' (first in row 2)" in p.message


def test_duplicate_composite_key(tmp_path):
    p = only(problems_of(broken(tmp_path, "properties", 2, "property", "moisture_pct")), row=2)
    assert "duplicate resource_id, property 'H1 / moisture_pct' (first in row 1)" in p.message


def test_duplicate_pair_in_compatibility(tmp_path):
    tabs = tables()
    tabs["compatibility"] = pd.concat([tabs["compatibility"]] * 2, ignore_index=True)
    probs = problems_of(write_csv(tmp_path / "inv", tabs))
    assert {(p.row, p.column) for p in probs} == {(3, "want_type"), (4, "want_type")}


def test_type_loop(tmp_path):
    tabs = tables()
    tabs["types"] = pd.DataFrame({"type": ["a:x", "a:y"], "parent": ["a:y", "a:x"], "label": ["x", "y"]})
    probs = problems_of(write_csv(tmp_path / "inv", tabs))
    assert {p.row for p in probs if "its own ancestor" in p.message} == {1, 2}


def test_every_problem_of_every_file_in_one_error(tmp_path):
    tabs = tables()
    tabs["sites"].loc[0, "lat"] = "100"
    tabs["resources"].loc[1, "quantity"] = "-1"
    tabs["resources"].loc[2, "unit"] = "bogus"
    tabs["properties"].loc[0, "resource_id"] = "nobody"
    inv = write_csv(tmp_path / "inv", tabs, params="hours_per_year = 99999\ncolour = 'red'\n")
    probs = problems_of(inv)
    files = {Path(p.file).name for p in probs}
    assert files == {"sites.csv", "resources.csv", "properties.csv", "params.toml"}
    assert len(probs) == 6


def test_many_bad_rows_are_summarised(tmp_path):
    tabs = tables()
    res = pd.concat([tabs["resources"]] * 100, ignore_index=True)
    res["resource_id"] = [f"R{i}" for i in range(len(res))]
    res["quantity"] = "x"
    tabs["resources"], tabs["properties"] = res, tabs["properties"].iloc[:0]
    probs = problems_of(write_csv(tmp_path / "inv", tabs))
    rows = [p for p in probs if p.column == "quantity" and p.row is not None]
    assert len(rows) == MAX_ROWS_PER_PROBLEM
    summary = only(probs, column="quantity", row=None)
    assert summary.message.startswith(f"{800 - MAX_ROWS_PER_PROBLEM} more rows")


# ----------------------------------------------------------------- row numbers


def test_csv_line_numbers_count_blank_lines_and_multiline_cells(tmp_path):
    inv = write_csv(tmp_path / "inv")
    (inv / "sites.csv").write_text(
        "site_id,name,lat,lon\n"
        "PP1,\"Power\nplant\",36.1,117\n"  # data row 1 on lines 2-3
        "\n"                               # blank line 4: not a row
        "PB1,Plasterboard,36.1,117\n"      # row 2, line 5
        "CM1,Cement,99,117\n"              # row 3, line 6
        "BR1,Brewery,36.3,117.2\n")
    p = only(problems_of(inv), column="lat")
    assert (p.row, p.line) == (3, 6)


def test_empty_rows_are_skipped_but_keep_numbering(tmp_path):
    inv = write_csv(tmp_path / "inv")
    text = (inv / "sites.csv").read_text().splitlines()
    text.insert(2, ",,,,,")  # an empty row 2 (Excel exports these)
    text[4] = text[4].replace("36.05", "-91")  # CM1 is now row 4
    (inv / "sites.csv").write_text("\n".join(text) + "\n")
    p = only(problems_of(inv), column="lat")
    assert (p.row, p.line) == (4, 5)


def test_xlsx_problems_name_sheet_row(tmp_path):
    tabs = tables()
    tabs["resources"].loc[2, "quantity"] = "lots"
    book = write_xlsx(tmp_path / "inv.xlsx", tabs, params={"hours_per_year": "0", "carbon_price": "80"})
    probs = problems_of(book)
    q = only(probs, column="quantity")
    assert q.file.endswith("inv.xlsx[resources]") and (q.row, q.line) == (3, 4)
    assert "sheet row 4" in str(q)
    par = only(probs, file="inv.xlsx[params]")
    assert (par.row, par.column) == (1, "value") and "hours_per_year" in par.message


def test_frames_number_rows_from_one(tmp_path):
    tabs = tables()
    tabs["sites"].loc[1, "lat"] = "x"
    with pytest.raises(InventoryError) as info:
        build_inventory(tabs, source="mem")
    p = only(info.value.problems)
    assert (p.file, p.row, p.column, p.line) == ("mem/sites", 2, "lat", None)


# ----------------------------------------------------------------- params


@pytest.mark.parametrize(("toml", "words", "line"), [
    ("hours_per_year = [", "not valid TOML", None),
    ("carbon_prise = 60\n", "unknown parameter 'carbon_prise'", 1),
    ("currency = 'CNY'\nhours_per_year = 10000\n", "out of range", 2),
    ("carbon_price = 'cheap'\n", "is not a finite number", 1),
    ("top_k = 2.5\n", "is not a whole number", 1),
    ("[a]\ncarbon_price = 1\n[b]\ncarbon_price = 2\n", "given more than once", 2),
])
def test_bad_params_toml(tmp_path, toml, words, line):
    p = only(problems_of(write_csv(tmp_path / "inv", params=toml)), file="params.toml")
    assert words in p.message and p.row is None and p.line == line


def test_unknown_parameter_suggests_the_right_name(tmp_path):
    p = only(problems_of(write_csv(tmp_path / "inv", params="carbon_prise = 60\n")))
    assert "carbon_price" in p.fix


def test_params_sheet_without_value_column(tmp_path):
    book = write_xlsx(tmp_path / "inv.xlsx")
    with pd.ExcelWriter(book, engine="openpyxl", mode="a") as xw:
        pd.DataFrame({"name": ["carbon_price"]}).to_excel(xw, sheet_name="params", index=False)
    assert {p.column for p in problems_of(book)} == {"key", "value"}


# ----------------------------------------------------------------- typed inputs


def test_parquet_with_wrong_column_types(tmp_path):
    inv = write_csv(tmp_path / "inv")
    (inv / "resources.csv").unlink()
    res = tables()["resources"]
    res["quantity"] = [True, False, True, False, True, False, True, False]  # booleans are no amounts
    res.to_parquet(inv / "resources.parquet")
    probs = problems_of(inv)
    assert {p.column for p in probs} == {"quantity"} and {p.row for p in probs} == set(range(1, 9))


def test_build_inventory_with_a_non_frame():
    with pytest.raises(InventoryError) as info:
        build_inventory({"sites": "sites.csv", "resources": tables()["resources"]})
    assert any("not a table" in p.message for p in info.value.problems)


# ----------------------------------------------------------------- the CLI


CLI_CASES = {
    "missing path": lambda d: d / "nope",
    "missing file": lambda d: (write_csv(d / "inv"), (d / "inv" / "sites.csv").unlink())[0],
    "bad cell": lambda d: broken(d, "resources", 2, "quantity", "-5"),
    "unknown unit": lambda d: broken(d, "resources", 2, "unit", "bags"),
    "unknown site": lambda d: broken(d, "resources", 2, "site_id", "nowhere"),
    "latitude": lambda d: broken(d, "sites", 1, "lat", "123"),
    "min > max": lambda d: broken(d, "properties", 5, "max", "1"),
    "unknown resource": lambda d: broken(d, "properties", 1, "resource_id", "R0"),
    "duplicate id": lambda d: broken(d, "sites", 2, "site_id", "PP1"),
    "wrong type": lambda d: broken(d, "resources", 2, "quantity", "many"),
    "bad params": lambda d: write_csv(d / "inv", params="x = = 1"),
    "bad xlsx": lambda d: (d / "b.xlsx").write_bytes(b"junk") and d / "b.xlsx",
    "unreadable": lambda d: (write_csv(d / "inv"), (d / "inv" / "sites.csv").write_bytes(b"\xff\xfe\x00a"))[0],
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
@pytest.mark.parametrize("command", ["validate", "describe"])
def test_cli_exits_2_without_traceback(tmp_path, capsys, case, command):
    path = CLI_CASES[case](tmp_path)
    assert main([command, str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"flowmatch {command}: error:" in err and "Fix:" in err


def test_cli_validate_ok(tmp_path, capsys):
    assert main(["validate", str(write_csv(tmp_path / "inv"))]) == 0
    assert "valid (4 sites, 8 resources)" in capsys.readouterr().out
    # validate checks what optimise needs (issue 11): a water source that states no
    # contaminant could not be planned by the water network, so it is refused here
    tabs = tables()
    tabs["properties"] = tabs["properties"][tabs["properties"]["resource_id"] != "H4"]
    assert main(["validate", str(write_csv(tmp_path / "bare", tabs))]) == 2
    assert "water source 'H4' (site BR1) has no contaminant concentration" in capsys.readouterr().err


def test_problem_rows_are_plain_ints(tmp_path):
    probs = problems_of(broken(tmp_path, "resources", 2, "quantity", "x"))
    assert all(p.row is None or type(p.row) is int for p in probs)
    assert all(p.line is None or type(p.line) is int for p in probs)
    assert not any(isinstance(p.row, np.integer) for p in probs)


def test_parquet_with_a_repeated_column_name(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    inv = write_csv(tmp_path / "inv")
    (inv / "distances.csv").unlink()
    d = tables()["distances"]
    arrays = [pa.array(d[c].tolist()) for c in d.columns] + [pa.array(d["km"].tolist())]
    pq.write_table(pa.Table.from_arrays(arrays, names=[*d.columns, "km"]), inv / "distances.parquet")
    p = only(problems_of(inv), file="distances.parquet")
    assert (p.column, p.row) == ("km", None) and "more than once" in p.message
