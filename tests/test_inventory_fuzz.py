"""Property-based test: whatever is done to a valid inventory (cells, columns,
rows, column types, whole files, parameters), reading it either succeeds with a
sane result or raises InventoryError, and nothing else ever comes out.

Set FLOWMATCH_FUZZ_EXAMPLES to run more examples than the default.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inventory_cases import tables, write_csv, write_xlsx

from flowmatch.errors import InventoryError
from flowmatch.inputs.describe import describe
from flowmatch.inputs.inventory import ALL_MONTHS, read_inventory
from flowmatch.inputs.schema import TABLES

EXAMPLES = int(os.environ.get("FLOWMATCH_FUZZ_EXAMPLES", "120"))
NAMES = sorted(TABLES)

# text a spreadsheet can hold (no control characters), biased towards tricky values
_TRICKY = ["", " ", "\u00a0", "nan", "NaN", "None", "NULL", "inf", "-inf", "-1", "0", "1e309", "1e-320",
           "1,000", "1,5", "12 t", "true", "FALSE", "yes", "11-2", "0-3", "2024-11-02 00:00:00", "t/h",
           "MW", "kg", "furlong", "have", "want", "water", "energy", "material", "ewc:100105",
           "raw:gypsum", "energy:steam:lp", "PP1", "H1", "W1", "x" * 300, "热电厂", "=1+1", '"', "'"]
TEXT = st.one_of(st.sampled_from(_TRICKY),
                 st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=10))
VALUES = st.one_of(TEXT, st.floats(allow_nan=True, allow_infinity=True),
                   st.integers(-10**12, 10**12), st.booleans(), st.none())

cell = st.tuples(st.just("cell"), st.sampled_from(NAMES), st.integers(0, 20), st.integers(0, 20), VALUES)
column = st.tuples(st.just("column"), st.sampled_from(NAMES),
                   st.sampled_from(["drop", "rename", "duplicate", "add", "upper", "empty"]),
                   st.integers(0, 20), TEXT)
row = st.tuples(st.just("row"), st.sampled_from(NAMES),
                st.sampled_from(["drop", "duplicate", "blank", "reverse", "clear"]), st.integers(0, 20))
retype = st.tuples(st.just("retype"), st.sampled_from(NAMES), st.integers(0, 20),
                   st.sampled_from(["int", "float", "bool", "datetime", "category", "mixed"]))
table = st.tuples(st.just("table"), st.sampled_from(NAMES), st.sampled_from(["drop", "header-only", "swap"]),
                  st.sampled_from(NAMES))
MUTATION = st.one_of(cell, cell, column, row, retype, table)

FILE_MUTATION = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(["truncate", "garbage", "append", "gbk", "dir", "delete", "both"]),
              st.sampled_from(NAMES), st.integers(0, 400), st.binary(max_size=40)),
)
PARAMS = st.one_of(
    st.none(),
    st.just('currency = "CNY"\n'),
    st.text(max_size=40),
    st.builds(lambda k, v: f"{k} = {v}\n",
              st.sampled_from(["hours_per_year", "carbon_price", "top_k", "currency", "nope", "dt_min_k"]),
              st.sampled_from(["0", "-1", "8760", "1e9", "'x'", "true", "[1]", "{a=1}", "2.5", "nan"])),
)


def _apply(tabs: dict[str, pd.DataFrame], m: tuple) -> None:
    kind, name = m[0], m[1]
    if name not in tabs:
        return
    df = tabs[name]
    ncol = len(df.columns)
    if kind == "cell" and len(df) and ncol:
        df = df.astype(object)
        df.iat[m[2] % len(df), m[3] % ncol] = m[4]
    elif kind == "column" and ncol:
        c = df.columns[m[3] % ncol]
        op = m[2]
        if op == "drop":
            df = df.drop(columns=[c])
        elif op == "rename":
            df = df.rename(columns={c: m[4]})
        elif op == "duplicate":
            df = pd.concat([df, df[[c]]], axis=1)
        elif op == "add":
            df = df.assign(**{f"extra_{len(df.columns)}": m[4]})
        elif op == "upper":
            df = df.rename(columns={c: f" {c.upper()} "})
        else:
            df = df.assign(**{c: ""})
    elif kind == "row" and len(df):
        i = m[3] % len(df)
        if m[2] == "drop":
            df = df.drop(index=df.index[i])
        elif m[2] == "duplicate":
            df = pd.concat([df, df.iloc[[i]]])
        elif m[2] == "blank":
            blank = pd.DataFrame([[""] * ncol], columns=df.columns)
            df = pd.concat([df.iloc[:i], blank, df.iloc[i:]])
        elif m[2] == "reverse":
            df = df.iloc[::-1]
        else:
            df = df.iloc[:0]
    elif kind == "retype" and ncol:
        pos = m[2] % ncol
        s = df.iloc[:, pos]
        conv = {
            # beyond int64 a number has no integer column to live in: it becomes a missing cell
            "int": lambda: (lambda v: v.where(v.abs() < 2.0**62).astype("Int64"))(
                pd.to_numeric(s, errors="coerce").round()),
            "float": lambda: pd.to_numeric(s, errors="coerce"),
            "bool": lambda: pd.Series([bool(i % 2) for i in range(len(s))], index=s.index),
            "datetime": lambda: pd.Series(pd.Timestamp("2024-01-01"), index=s.index),
            "category": lambda: s.astype("category"),
            "mixed": lambda: pd.Series([1.5 if i % 2 else "a" for i in range(len(s))], index=s.index,
                                       dtype=object),
        }[m[3]]
        df = df.copy()
        df.isetitem(pos, conv())
    elif kind == "table":
        if m[2] == "drop":
            del tabs[name]
            return
        df = df.iloc[:0] if m[2] == "header-only" else tabs.get(m[3], df).copy()
    tabs[name] = df.reset_index(drop=True)


def _write(folder: Path, tabs: dict[str, pd.DataFrame], fmt: str, params: str | None) -> Path:
    if fmt == "xlsx":
        clean = {k: v.astype(object).where(v.notna(), None).map(
            lambda x: str(x) if isinstance(x, pd.Timestamp) else x) for k, v in tabs.items()}
        return write_xlsx(folder / "inv.xlsx", clean)
    if fmt == "parquet":
        folder.mkdir(parents=True, exist_ok=True)
        for name, df in tabs.items():
            try:
                df.to_parquet(folder / f"{name}.parquet")
            except Exception:  # noqa: BLE001 - odd columns (or names pandas refuses) go as text
                arrays = [pa.array(["" if pd.isna(v) else str(v) for v in df.iloc[:, j]])
                          for j in range(df.shape[1])]
                pq.write_table(pa.Table.from_arrays(arrays, names=[str(c) for c in df.columns]),
                               folder / f"{name}.parquet")
        if params is not None:
            (folder / "params.toml").write_text(params, encoding="utf-8")
        return folder
    return write_csv(folder, tabs, params=params)


def _break_file(path: Path, fm: tuple | None) -> None:
    if fm is None:
        return
    op, name, k, junk = fm
    files = [p for p in ([path] if path.is_file() else sorted(path.iterdir()))
             if p.is_file() and (p.stem == name or path.is_file())]
    if not files:
        return
    f = files[0]
    data = f.read_bytes()
    if op == "truncate":
        f.write_bytes(data[: k % (len(data) + 1)])
    elif op == "garbage":
        f.write_bytes(junk)
    elif op == "append":
        f.write_bytes(data + junk)
    elif op == "gbk":
        f.write_bytes(data.decode("utf-8", errors="replace").replace("Coal", "热电").encode("gbk", errors="replace"))
    elif op == "dir":
        f.unlink()
        f.mkdir()
    elif op == "delete":
        f.unlink()
    elif op == "both" and f.suffix in (".csv", ".parquet"):
        other = f.with_suffix(".parquet" if f.suffix == ".csv" else ".csv")
        other.write_bytes(data)


def _check_success(inv) -> None:
    r = inv.resources
    q = r["quantity"].to_numpy(dtype=float)
    assert np.isfinite(q).all() and (q >= 0).all()
    assert set(r["unit"]) <= {"t", "m3", "MWh"}
    assert set(r["role"]) <= {"have", "want"}
    m = r["month_mask"].to_numpy()
    assert ((m > 0) & (m <= ALL_MONTHS)).all()
    assert r["hazardous"].dtype == bool and r["type_known"].dtype == bool
    assert not r["resource_id"].duplicated().any() and (r["resource_id"] != "").all()
    assert r["site_id"].isin(inv.sites["site_id"]).all()
    lat = inv.sites["lat"].to_numpy(dtype=float)
    assert (np.abs(lat) <= 90).all()
    p = inv.properties
    assert p["resource_id"].isin(r["resource_id"]).all()
    assert not (p["min"] > p["max"]).any()
    describe(inv)


def _check_error(err: InventoryError) -> None:
    assert err.problems and str(err)
    for p in err.problems:
        assert isinstance(p.file, str) and p.file and p.message and p.fix
        assert p.row is None or (type(p.row) is int and p.row >= 1)
        assert p.line is None or (type(p.line) is int and p.line >= 1)
        str(p)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(fmt=st.sampled_from(["csv", "csv", "parquet", "xlsx"]),
       mutations=st.lists(MUTATION, max_size=4), file_mutation=FILE_MUTATION, params=PARAMS)
def test_only_inventory_error_comes_out(fmt, mutations, file_mutation, params):
    tabs = tables()
    for m in mutations:
        _apply(tabs, m)
    with tempfile.TemporaryDirectory() as d:
        path = _write(Path(d) / "inv", tabs, fmt, params)
        _break_file(path, file_mutation)
        try:
            inv = read_inventory(path)
        except InventoryError as err:
            _check_error(err)
        else:
            _check_success(inv)


def test_the_plannable_inventory_plans(tmp_path, capsys):
    from flowmatch.cli import main

    path = _write(tmp_path / "inv", _plannable(), "csv", "milk_round_max_stops = 0\n")
    assert main(["optimise", str(path), "-o", str(tmp_path / "out"), "--time-limit", "5"]) == 0
    _check_plan_folder(tmp_path / "out")


def test_unmutated_inventory_reads_in_every_format():
    with tempfile.TemporaryDirectory() as d:
        for fmt in ("csv", "parquet", "xlsx"):
            _check_success(read_inventory(_write(Path(d) / fmt, tables(), fmt, None)))


# ----------------------------------------------------------------- hostile cells, through the CLI

CLI_EXAMPLES = int(os.environ.get("FLOWMATCH_FUZZ_CLI_EXAMPLES", "40"))
#: text a hostile or careless file may hold: control characters, a lone CR, formulas, very long text
HOSTILE_TEXT = ["\r", "a\rb", "a\nb", "a\tb", "\x00", "x\x1by", "\u2028", "\x85", "=1+2", "@SUM(A1)",
                "+cmd|' /C calc'!A0", "-2+3", "x" * 5000, "PP1\r", " PP1 ", "PP1;PB1", '"', "1;2", "H1,H2"]
#: numbers at the edges: zero, tiny, huge, infinite, not a number, negative
HOSTILE_NUMBERS = ["0", "-0", "1e-300", "1e-7", "5e-324", "1e308", "1e20", "1e12", "2e9", "inf", "-inf",
                   "nan", "-1", "1,5", 0.0, 1e-300, 1e300, float("inf"), float("nan"), -5.0, 1e-9, 4e8]
CLI_TABLES = ["sites", "resources", "properties", "distances"]
hostile_cell = st.tuples(st.sampled_from(CLI_TABLES), st.integers(0, 20), st.integers(0, 20),
                         st.one_of(st.sampled_from(HOSTILE_TEXT), st.sampled_from(HOSTILE_NUMBERS),
                                   st.text(st.characters(max_codepoint=0x2030), max_size=6)))
# aimed at cells where odd values may be right: free text (names) and the numbers of resources
hostile_cell = st.one_of(
    hostile_cell,
    st.tuples(st.just("sites"), st.integers(0, 20), st.sampled_from([1, 2, 3]), st.sampled_from(HOSTILE_TEXT)),
    st.tuples(st.just("resources"), st.integers(0, 20), st.sampled_from([5, 9, 10, 11]),
              st.sampled_from(HOSTILE_NUMBERS)),
)


def _plannable() -> dict[str, pd.DataFrame]:
    """The valid inventory: materials, water (with its contaminants) and heat, all of which plan."""
    return tables()


def _check_plan_folder(out: Path) -> None:
    """The plan balances and its summary equals the sums of its flows."""
    import json

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    flows = pd.read_csv(out / "flows.csv", keep_default_na=False, dtype={"have_id": str, "want_id": str})
    res = pd.read_csv(out / "resources.csv", keep_default_na=False, dtype={"resource_id": str})
    obj = summary["objective"]
    assert flows["cost"].sum() == pytest.approx(obj["cost"], rel=1e-6, abs=1e-6)
    assert flows["co2_kg"].sum() / 1000 == pytest.approx(obj["co2_t"], rel=1e-6, abs=1e-9)
    q = flows["quantity"].to_numpy(dtype=float)
    assert np.isfinite(q).all() and (q >= -1e-9).all()
    for role, col in (("have", "have_id"), ("want", "want_id")):
        target = res[res["role"] == role].set_index("resource_id")["quantity"].astype(float)
        got = flows.groupby(col)["quantity"].sum().reindex(target.index, fill_value=0.0)
        assert np.allclose(got.to_numpy(), target.to_numpy(), rtol=1e-6, atol=1e-6), (role, got, target)
    for cat, figures in summary["by_category"].items():
        supply = res[(res["role"] == "have") & (res["category"] == cat)]["quantity"].astype(float).sum()
        assert figures["supply"] == pytest.approx(supply, rel=1e-9, abs=1e-9)


@settings(max_examples=CLI_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(["csv", "csv", "parquet"]), cells=st.lists(hostile_cell, min_size=1, max_size=3))
def test_cli_optimise_plans_balanced_or_exits_2(capsys, fmt, cells):
    """``flowmatch optimise`` on hostile cells: exit 0 with a balanced plan whose summary is the sum of
    its flows, or exit 2 with a message; never a traceback (exit 1) or a plan that does not balance."""
    from flowmatch.cli import main

    tabs = _plannable()
    for name, i, j, value in cells:
        df = tabs[name].astype(object)
        df.iat[i % len(df), j % df.shape[1]] = value
        tabs[name] = df
    with tempfile.TemporaryDirectory() as d:
        path = _write(Path(d) / "inv", tabs, fmt, "milk_round_max_stops = 0\n")
        capsys.readouterr()
        rc = main(["optimise", str(path), "-o", str(Path(d) / "out"), "--time-limit", "5"])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        if rc == 0:
            _check_plan_folder(Path(d) / "out")
        else:
            assert rc == 2, (rc, err)
            assert err.startswith("flowmatch optimise: error:") and "report it" not in err, err
