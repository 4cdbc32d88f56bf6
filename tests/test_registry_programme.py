"""learn, search and the programme report on a small registry (tests/programme_cases.py)."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from programme_cases import seed
from registry_helpers import db_url, pg_server  # noqa: F401

from flowmatch.registry.db import open_registry
from flowmatch.registry.errors import UnknownIdError
from flowmatch.registry.learn import evidence_table, learn
from flowmatch.registry.report import MEASURES, TOTAL, programme_tables
from flowmatch.registry.search import SearchError, SearchQuery, search, type_codes
from flowmatch.report.programme import write_programme


@pytest.fixture
def reg(db_url):  # noqa: F811
    r = open_registry(db_url, create=True)
    r.upgrade()
    r.write(seed)
    return r


def test_learn_counts_pairs_per_park_and_is_a_recount(reg):
    res = reg.write(learn)
    assert (res.pairs, res.completed, res.abandoned, res.untyped) == (3, 2, 1, 1)
    ev = reg.read(evidence_table)
    rows = {(r.programme, r.have_type, r.want_type): (r.completed, r.abandoned, r.abandon_reasons)
            for r in ev.itertuples()}
    assert rows == {("Demo", "ewc:100105", "raw:gypsum"): (1, 0, ""),
                    ("Demo", "ewc:100102", "raw:cement-additive"): (0, 1, "quality too variable"),
                    ("North", "ewc:100202", "raw:cement-additive"): (1, 0, "")}
    again = reg.write(learn)
    assert again == res and len(reg.read(evidence_table)) == 3  # replaced, not added


def _ids(df):
    return sorted(df["resource_id"])


def test_search_filters(reg):
    latest = reg.read(lambda s: search(s, SearchQuery()))
    assert len(latest) == 6 and set(latest["version"]) == {1, 2}
    assert set(latest.loc[latest["park"] == "Demo", ["year", "version"]].itertuples(index=False)) == {(2025, 2)}
    every = reg.read(lambda s: search(s, SearchQuery(all_snapshots=True)))
    assert len(every) == 14
    assert _ids(reg.read(lambda s: search(s, SearchQuery(type="ewc:1001*")))) == ["H1", "H2"]
    assert _ids(reg.read(lambda s: search(s, SearchQuery(type="ewc:10")))) == ["H1", "H2", "S1"]  # children
    assert "ewc:100105" in type_codes("ewc:1001") and "ewc:1001" in type_codes("ewc:1001")
    assert _ids(reg.read(lambda s: search(s, SearchQuery(role="want", park="North")))) == ["W9"]
    big = reg.read(lambda s: search(s, SearchQuery(min_qty=300000, max_qty=800000)))
    assert _ids(big) == ["H1", "W1", "W2"]  # v2 of Demo holds 3x
    near = reg.read(lambda s: search(s, SearchQuery(near="PP1", within_km=5)))
    assert _ids(near) == ["H1", "H2", "W1"] and near["distance_km"].is_monotonic_increasing
    assert near["distance_km"].max() < 5
    far = reg.read(lambda s: search(s, SearchQuery(near="PP1", within_km=600)))
    assert "S1" in set(far["resource_id"])


@pytest.mark.parametrize("query, words", [
    (SearchQuery(near="XX", within_km=3), "site 'XX'"),
    (SearchQuery(near="PP1"), "go together"),
    (SearchQuery(min_qty=5, max_qty=1), "Swap"),
    (SearchQuery(limit=0), "1 or more"),  # said "no resource matches." though six did
])
def test_search_errors_name_the_fix(reg, query, words):
    with pytest.raises(SearchError, match=words):
        reg.read(lambda s: search(s, query))


def test_programme_tables_totals_are_the_sums(reg):
    t = reg.read(programme_tables)
    for name, df in t.tables().items():
        body, total = df.iloc[:-1], df.iloc[-1]
        assert total.iloc[0] == TOTAL, name
        for c in df.columns[1:]:
            assert total[c] == pytest.approx(body[c].sum()), (name, c)
    y = t.by_year.set_index("year")
    assert y.loc["2024", "landfill_diverted_t"] == 1000 and y.loc["2025", "landfill_diverted_t"] == 1900
    assert y.loc[TOTAL, "cost_saved"] == 55000
    p = t.by_park.set_index("park")
    assert (p.loc["Demo", "synergies"], p.loc["Demo", "completed"], p.loc["Demo", "abandoned"]) == (3, 1, 1)
    assert t.by_sector.set_index("sector").loc["D35.1", "co2_saved_t"] == 120  # the power plant gave
    st = t.by_state.set_index("status")
    assert st.loc["completed", "synergies"] == 2 and st.loc["abandoned", "synergies"] == 2
    one = reg.read(lambda s: programme_tables(s, park="North"))
    assert one.by_year.iloc[-1]["landfill_diverted_t"] == 400
    with pytest.raises(UnknownIdError, match=r"no park named 'Nowhere' in the registry \(parks: 'Demo', 'North'\)"):
        reg.read(lambda s: programme_tables(s, park="Nowhere"))


def test_programme_workbook_and_page(reg, tmp_path):
    t = reg.read(programme_tables)
    xlsx = write_programme(t, tmp_path / "programme.xlsx")
    wb = openpyxl.load_workbook(xlsx)
    assert {"by_year", "by_park", "by_sector", "by_state", "synergies"} <= set(wb.sheetnames)
    ws = wb["by_year"]
    header = [c.value for c in ws[1]]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    j = header.index("landfill_diverted_t")
    assert all(isinstance(r[j], int | float) for r in rows)  # numbers, not text
    assert rows[-1][0] == TOTAL and rows[-1][j] == sum(r[j] for r in rows[:-1])
    assert len(ws._charts) == 1
    html = write_programme(t, tmp_path / "programme.html").read_text(encoding="utf-8")
    assert "Plotly.newPlot" in html and "cdn.plot.ly" not in html.split("<script>var F")[1]
    data = json.loads(html.split('id="programme-data">')[1].split("</script>")[0])
    assert data["by_state"][-1]["synergies"] == 5
    assert set(MEASURES) <= set(data["by_year"][0])
    with pytest.raises(Exception, match=r"\.xlsx or \.html"):
        write_programme(t, tmp_path / "programme.pdf")
    assert not (tmp_path / "programme.pdf").exists()
    assert isinstance(pd.read_excel(xlsx, sheet_name="by_park"), pd.DataFrame)


@pytest.mark.parametrize("action", [["search"], ["report", "-o", "p.html"], ["synergies"], ["notes"],
                                    ["export", "-o", "x"], ["note", "x"]])
def test_an_unknown_park_is_the_same_message_in_every_action(reg, action, tmp_path, monkeypatch, capsys):
    # search and report each worded it their own way ("Known parks: ...", "no such park")
    from flowmatch.cli import main

    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    argv = ["registry", action[0], "--db", reg.url, *(["Nowhere"] if action[0] == "export" else
                                                       ["--park", "Nowhere"]), *action[1:]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no park named 'Nowhere' in the registry (parks: 'Demo', 'North')" in err, err
    assert not list(here.iterdir())


def test_search_says_when_limit_cut_the_list(reg, capsys):
    from flowmatch.cli import main
    from flowmatch.registry.search import format_results

    cut = reg.read(lambda s: search(s, SearchQuery(type="ewc:10", limit=2)))
    assert len(cut) == 2 and cut.attrs["matched"] == 3
    assert format_results(cut).splitlines()[-1] == "the first 2 of 3 resources (--limit 2)"
    whole = reg.read(lambda s: search(s, SearchQuery(type="ewc:10", limit=3)))
    assert format_results(whole).splitlines()[-1] == "3 resource(s)"
    assert main(["registry", "search", "--db", reg.url, "--type", "ewc:10", "--limit", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "the first 1 of 3 resources (--limit 1)"


def test_cli_learn_search_report(reg, tmp_path, capsys):
    from flowmatch.cli import main

    db = ["--db", reg.url]
    assert main(["registry", "learn", *db]) == 0
    assert "learned 3 exchange pair(s)" in capsys.readouterr().out
    assert main(["registry", "search", *db, "--type", "ewc:10*", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["resource_id"] for r in rows) == ["H1", "H2", "S1"]
    assert main(["registry", "search", *db, "--near", "PP1", "--within", "5", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("park,year,version")
    assert main(["registry", "report", *db, "-o", str(tmp_path / "p.xlsx")]) == 0
    assert "2,900 t diverted" in capsys.readouterr().out and (tmp_path / "p.xlsx").exists()
    assert main(["registry", "search", *db, "--park", "Nowhere"]) == 2
    err = capsys.readouterr().err
    assert "no park named 'Nowhere' in the registry (parks: 'Demo', 'North')" in err and "Traceback" not in err
    assert main(["registry", "report", *db, "-o", str(tmp_path / "p.txt")]) == 2
    assert ".xlsx or .html" in capsys.readouterr().err


def test_an_empty_registry_reports_zeros(db_url, tmp_path):  # noqa: F811
    reg = open_registry(db_url, create=True)
    reg.upgrade()
    t = reg.read(programme_tables)
    for df in t.tables().values():
        assert len(df) == 1 and df.iloc[0, 0] == TOTAL and (df.iloc[0, 1:] == 0).all()
    for name in ("p.xlsx", "p.html"):
        assert write_programme(t, tmp_path / name).stat().st_size > 0
    assert reg.read(lambda s: search(s, SearchQuery(type="ewc:*"))).empty
    assert reg.write(learn).pairs == 0 and reg.read(evidence_table).empty
