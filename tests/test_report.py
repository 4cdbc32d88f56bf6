"""report.html and plan.xlsx from a plan folder (no browser: see test_report_browser.py)."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from plan_fixture import HOSTILE, seal

from flowmatch.cli import main
from flowmatch.errors import FlowmatchError, PlanFolderError
from flowmatch.matching.gaps import gap_analysis
from flowmatch.plans.folder import PLAN_FILES, read_plan_folder
from flowmatch.report.charts import (
    comparison_figure,
    headline_figures,
    pareto_figure,
    sankey_figures,
)
from flowmatch.report.page import ReportLimits, render_report, write_report
from flowmatch.report.sitemap import site_map
from flowmatch.report.workbook import flatten_summary, write_plan_xlsx


@pytest.fixture(scope="module")
def plan_dir(plan_folder) -> Path:
    """A small hostile plan folder with its report, shared by this module: copy it to change it."""
    return plan_folder("plan", report=True, hostile=True, seed=3)


def _copy(plan_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(plan_dir, out)
    for f in ("report.html", "plan.xlsx"):
        (out / f).unlink(missing_ok=True)
    return seal(out)


def _kpis(html: str) -> dict[str, tuple[float, str]]:
    """data-key -> (data-value, the number shown) of each headline card."""
    out = {}
    for key, val, shown in re.findall(
            r'<div class="kpi" data-key="([^"]+)" data-value="([^"]+)">.*?<div class="value[^"]*">(.*?)</div>',
            html):
        out[key] = (float(val), re.sub(r"<[^>]+>", "", shown).strip())
    return out


def _shown_number(text: str) -> float:
    mult = {"million": 1e6, "billion": 1e9}
    parts = text.replace(",", "").split()
    return float(parts[0]) * (mult[parts[1]] if len(parts) > 1 else 1.0)


# --------------------------------------------------------------------------- report.html


def test_report_is_one_self_contained_file(plan_dir):
    html = (plan_dir / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    # nothing is fetched: no external script, stylesheet, image or frame
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=", html, re.I)
    assert not re.search(r"<link[^>]*href=", html, re.I)
    # plotly.js itself is in the page, once; the page draws 3 Sankeys, the synergies' worth and the map
    assert len(re.findall(r"plotly\.js v\d", html)) == 1 and len(html) > 3_000_000
    assert html.count("Plotly.newPlot(") == 5
    for fid in ("fig-sankey-material", "fig-sankey-water", "fig-sankey-energy", "fig-map", "fig-worth"):
        assert f'<div id="{fid}"' in html
    for tid in ("t-synergies", "t-cascades", "t-routes", "t-gaps"):
        assert f'id="{tid}"' in html


def test_headline_figures_equal_summary(plan_dir):
    s = json.loads((plan_dir / "summary.json").read_text())
    expected = {
        "landfill_diverted_t": s["baseline"]["landfill_t"] - s["objective"]["landfill_t"],
        "cost_saved": s["baseline"]["cost"] - s["objective"]["cost"],
        "co2_avoided_t": s["baseline"]["co2_t"] - s["objective"]["co2_t"],
        "fresh_water_saved_m3": s["by_category"]["water"]["demand"] - s["by_category"]["water"]["virgin"],
        "hot_utility_saved_mwh": s["by_category"]["energy"]["demand"] - s["by_category"]["energy"]["virgin"],
        "n_synergies": s["n_synergies"],
        "n_milk_rounds": s["n_milk_rounds"],
    }
    kpis = _kpis((plan_dir / "report.html").read_text(encoding="utf-8"))
    assert set(kpis) == set(expected)
    for key, want in expected.items():
        value, shown = kpis[key]
        assert value == pytest.approx(want, rel=1e-12, abs=1e-9), key
        assert _shown_number(shown) == pytest.approx(want, rel=5e-3, abs=0.06), (key, shown)


def test_headline_counts_fall_back_to_tables(plan_dir, tmp_path):
    d = _copy(plan_dir, tmp_path)
    s = json.loads((d / "summary.json").read_text())
    del s["n_synergies"], s["n_milk_rounds"]
    (d / "summary.json").write_text(json.dumps(s))
    seal(d)
    pf = read_plan_folder(d)
    h = {x.key: x.value for x in headline_figures(pf)}
    assert h["n_milk_rounds"] == len(pf.routes)
    assert h["n_synergies"] == int((pf.flows["mode"] == "direct").sum())


def test_user_strings_are_escaped(plan_dir):
    html = (plan_dir / "report.html").read_text(encoding="utf-8")
    for text in HOSTILE:
        if "<" in text:
            assert text not in html  # never raw, not even inside the figure JSON
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html  # shown, as text, in the tables
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;" in html


def test_sankey_follows_every_have_to_its_fate(plan_dir):
    pf = read_plan_folder(plan_dir)
    s = pf.summary["by_category"]
    for cat, fig, _ in sankey_figures(pf):
        sk = fig.data[0]
        src, tgt, val = np.asarray(sk.link.source), np.asarray(sk.link.target), np.asarray(sk.link.value)
        labels = list(sk.node.label)
        # pool -> types carries the whole supply; types -> fates carries the same total
        assert val[src == 0].sum() == pytest.approx(s[cat]["supply"], rel=1e-9)
        assert val[src != 0].sum() == pytest.approx(s[cat]["supply"], rel=1e-9)
        reused = sum(v for t, v in zip(tgt, val, strict=True) if any(
            labels[t].startswith(m) for m in ("direct synergy", "milk round", "cascade")))
        assert reused == pytest.approx(s[cat]["reused"], rel=1e-9)
        disposed = sum(v for t, v in zip(tgt, val, strict=True)
                       if labels[t].startswith(("still ", "wastewater", "rejected heat")))
        assert disposed == pytest.approx(s[cat]["disposed"], rel=1e-9)


def test_sankey_folds_small_types_and_says_so(plan_dir):
    pf = read_plan_folder(plan_dir)
    n_types = pf.resources[(pf.resources["role"] == "have") & (pf.resources["category"] == "material")][
        "type"].nunique()
    (cat, fig, note), *_ = sankey_figures(pf, max_types=2)
    assert cat == "material"
    assert f"2 largest of {n_types}" in note
    assert any(lbl.startswith(f"other types ({n_types - 2})") for lbl in fig.data[0].node.label)


def test_map_draws_every_site_and_link_of_a_small_plan(plan_dir):
    pf = read_plan_folder(plan_dir)
    fig, notes = site_map(pf)
    # nothing aggregated (a second park far from the main one is only pointed to: test_report_worth.py)
    assert [n for n in notes if "beyond the map" not in n] == []
    markers = [t for t in fig.data if t.mode == "markers" and t.x is not None and t.hoverinfo == "text"
               and t.legendgroup and t.legendgroup.startswith("park-")]
    assert sum(len(t.x) for t in markers) == len(pf.sites)
    res = pf.resources.set_index("resource_id")
    f = pf.flows[pf.flows["mode"].isin(["direct", "cascade"])]
    links = pd.DataFrame({"a": res["site_id"].reindex(f["have_id"]).to_numpy(),
                          "b": res["site_id"].reindex(f["want_id"]).to_numpy(),
                          "c": res["category"].reindex(f["have_id"]).to_numpy(), "m": f["mode"].to_numpy()})
    expected = len(links[links["a"] != links["b"]].drop_duplicates())
    lines = [t for t in fig.data if t.mode == "lines" and (t.legendgroup or "").startswith("links-")]
    assert sum(int(np.isnan(np.asarray(t.x, dtype=float)).sum()) for t in lines) == expected > 0
    routes = [t for t in fig.data if t.mode == "lines" and t.legendgroup == "milk"]
    assert sum(int(np.isnan(np.asarray(t.x, dtype=float)).sum()) for t in routes) == len(pf.routes)


def test_map_first_view_leaves_out_a_distant_site_and_says_so(plan_dir, tmp_path):
    d = _copy(plan_dir, tmp_path)
    sites = pd.read_csv(d / "sites.csv", dtype={"site_id": str}, keep_default_na=False)
    far = sites.index[-1]
    sites["lat"] = 29.0 + 0.01 * (sites.index % 4)  # one park, and one site 2,700 km away
    sites["lon"] = 106.0 + 0.01 * (sites.index // 4)
    sites.loc[far, ["lat", "lon"]] = [45.0, 130.0]
    sites.to_csv(d / "sites.csv", index=False)
    seal(d)
    fig, notes = site_map(read_plan_folder(d))
    assert len(notes) == 1 and re.fullmatch(
        r"1 site beyond the map: 1 to the NE \(2,\d{3} km\)\. The arrows at the map's edge point towards "
        r"them; double-click the map twice to see every site\.", notes[0]), notes
    x0, x1 = fig.layout.xaxis.range
    y0, y1 = fig.layout.yaxis.range
    near = sites.drop(index=far)
    assert x0 < near["lon"].min() and near["lon"].max() < x1 < 130.0
    assert y0 < near["lat"].min() and near["lat"].max() < y1 < 45.0


# --------------------------------------------------------------------------- huge plans


@pytest.fixture(scope="module")
def huge_dir(plan_folder) -> Path:
    return plan_folder("huge", n_sites=5000, n_haves=40000, n_wants=25000, seed=7)


@pytest.mark.slow
def test_huge_plan_is_aggregated_and_says_so(huge_dir):
    pf = read_plan_folder(huge_dir)
    assert len(pf.flows) >= 90_000
    lim = ReportLimits()
    html = render_report(pf, gap_analysis({"sites": pf.sites, "resources": pf.resources}, pf.candidates), lim)
    assert len(html) < 12_000_000  # plotly.js is about 4.8 MB of it
    assert f"The map draws the {lim.max_links:,} largest of" in html
    assert "summed by park" in html
    assert f"The map draws the {lim.max_routes:,} largest of {len(pf.routes):,} milk rounds" in html
    assert "too many to draw one by one" in html
    for tid in ("t-synergies", "t-cascades", "t-routes", "t-milk", "t-gaps"):
        body = html.split(f'id="{tid}"', 1)[1].split("</table>", 1)[0]
        assert body.count("<tr>") == lim.max_rows + 1  # heading + rows
    assert html.count("Showing the 500 largest of") == 5
    fig, _ = site_map(pf)
    drawn = sum(int(np.isnan(np.asarray(t.x, dtype=float)).sum()) for t in fig.data
                if t.mode == "lines" and (t.legendgroup or "").startswith("links-"))
    assert drawn == lim.max_links


# --------------------------------------------------------------------------- plan.xlsx


def test_excel_holds_the_plan_tables(plan_dir):
    pf = read_plan_folder(plan_dir)
    book = pd.read_excel(plan_dir / "plan.xlsx", sheet_name=None, keep_default_na=False,
                         na_values=[""])
    syn = ["synergies"] if pf.synergies is not None else []  # a hand-made folder may have none
    assert list(book) == ["summary", *syn, "sites", "resources", "candidates", "flows", "routes", "gaps"]
    for name, df in (("sites", pf.sites), ("flows", pf.flows), ("routes", pf.routes),
                     ("candidates", pf.candidates), ("resources", pf.resources), ("synergies", pf.synergies)):
        if df is None:
            continue
        got = book[name]
        # the folder's columns, in order, with a name beside each id (issue 13)
        assert [c for c in got.columns if not c.endswith("_name")] == list(df.columns), name
        assert len(got) == len(df), name
        for c in df.columns:
            text_numbers = (not pd.api.types.is_numeric_dtype(df[c]) and pd.api.types.is_numeric_dtype(got[c])
                            and not pd.api.types.is_bool_dtype(got[c]))
            if pd.api.types.is_numeric_dtype(df[c]) or text_numbers:  # numbers stored as numbers
                assert pd.api.types.is_numeric_dtype(got[c]), (name, c)
                want = pd.to_numeric(df[c].replace("", np.nan)).to_numpy(float)
                np.testing.assert_allclose(got[c].to_numpy(float), want, rtol=1e-12,
                                           equal_nan=True, err_msg=f"{name}.{c}")
            else:
                assert got[c].fillna("").astype(str).tolist() == df[c].astype(str).tolist(), (name, c)
    gaps = gap_analysis({"sites": pf.sites, "resources": pf.resources}, pf.candidates)
    assert book["gaps"]["resource_id"].astype(str).tolist() == gaps["resource_id"].tolist()
    np.testing.assert_allclose(book["gaps"]["quantity"].to_numpy(float), gaps["quantity"].to_numpy(float))
    summary = dict(zip(book["summary"]["key"], book["summary"]["value"], strict=True))
    for k, v in flatten_summary(pf.summary):
        if isinstance(v, int | float):
            assert float(summary[k]) == pytest.approx(v), k
        else:
            assert str(summary[k]) == str(v), k


def test_excel_never_writes_a_formula(plan_dir):
    wb = openpyxl.load_workbook(plan_dir / "plan.xlsx")
    seen = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str) and c.value in HOSTILE:
                    seen.add(c.value)
                    if c.value.startswith(("=", "+", "-", "@")):
                        assert c.quotePrefix, (ws.title, c.coordinate)
    assert {h for h in HOSTILE if h[0] in "=+-@"} <= seen
    with zipfile.ZipFile(plan_dir / "plan.xlsx") as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name), name


def test_excel_caps_long_sheets_and_says_so(plan_dir, tmp_path):
    pf = read_plan_folder(plan_dir)
    out = write_plan_xlsx(pf, None, tmp_path / "plan.xlsx", max_rows=11)
    book = pd.read_excel(out, sheet_name=None)
    assert len(book["flows"]) == 10 and len(book["candidates"]) == 10
    assert len(book["sites"]) == 10
    notes = book["summary"].loc[book["summary"]["key"] == "note", "value"].tolist()
    assert f"sheet flows holds the first 10 of {len(pf.flows):,} rows (Excel's row limit); all are in flows.csv" in notes
    assert book["flows"]["have_id"].astype(str).tolist() == pf.flows["have_id"].head(10).tolist()


# --------------------------------------------------------------------------- bad plan folders


@pytest.mark.parametrize("missing", PLAN_FILES)
def test_missing_file_is_named(plan_dir, tmp_path, missing):
    d = _copy(plan_dir, tmp_path)
    (d / missing).unlink()
    seal(d)
    with pytest.raises(PlanFolderError, match=re.escape(missing)) as e:
        write_report(d)
    assert "flowmatch optimise" in str(e.value)
    assert not (d / "report.html").exists() and not (d / "plan.xlsx").exists()


def test_plan_without_candidates_has_no_gap_analysis(plan_dir, tmp_path):
    d = _copy(plan_dir, tmp_path)
    (d / "candidates.parquet").unlink()
    seal(d)
    html = write_report(d).read_text(encoding="utf-8")
    assert "has no candidates.parquet, so there is no gap analysis" in html
    assert 'id="t-gaps"' not in html
    assert list(pd.read_excel(d / "plan.xlsx", sheet_name=None)) == ["summary", "sites", "resources", "flows",
                                                                      "routes"]


def test_not_a_plan_folder(tmp_path):
    with pytest.raises(PlanFolderError, match="is not a plan folder: missing summary.json, flows.csv"):
        write_report(tmp_path)
    with pytest.raises(PlanFolderError, match="no such plan folder"):
        write_report(tmp_path / "nope")


@pytest.mark.parametrize("fmt, says", [(2, "has format 2, written by flowmatch 0.1.0"),
                                       (None, "has no 'format' key")])
def test_other_format_version(plan_dir, tmp_path, fmt, says):
    d = _copy(plan_dir, tmp_path)
    s = json.loads((d / "summary.json").read_text())
    if fmt is None:
        del s["format"]
    else:
        s["format"] = fmt
    (d / "summary.json").write_text(json.dumps(s))
    seal(d)
    with pytest.raises(PlanFolderError, match=re.escape(says) + ".*reads plan format 1"):
        write_report(d)


def test_damaged_tables_are_named(plan_dir, tmp_path):
    d = _copy(plan_dir, tmp_path)
    flows = pd.read_csv(d / "flows.csv", dtype=str, keep_default_na=False)
    flows.drop(columns=["mode"]).to_csv(d / "flows.csv", index=False)
    seal(d)
    with pytest.raises(PlanFolderError, match=r"flows.csv: missing column\(s\) mode"):
        write_report(d)
    flows.loc[4, "quantity"] = "lots"
    flows.to_csv(d / "flows.csv", index=False)
    seal(d)
    with pytest.raises(PlanFolderError, match=r"flows.csv, row 5, column 'quantity': 'lots' is not a number"):
        write_report(d)
    shutil.copy(plan_dir / "flows.csv", d / "flows.csv")
    (d / "summary.json").write_text("{not json")
    seal(d)
    with pytest.raises(PlanFolderError, match="summary.json: cannot be read as JSON"):
        write_report(d)
    (d / "summary.json").write_text(json.dumps({"format": 1, "status": "optimal"}))
    seal(d)
    with pytest.raises(PlanFolderError, match="missing key.*objective, baseline, by_category"):
        write_report(d)
    assert issubclass(PlanFolderError, FlowmatchError)


def test_cli_report(plan_dir, tmp_path, capsys):
    d = _copy(plan_dir, tmp_path)
    assert main(["report", str(d)]) == 0
    assert f"report: {d / 'report.html'}" in capsys.readouterr().out
    assert (d / "report.html").exists() and (d / "plan.xlsx").exists()
    (d / "routes.csv").unlink()
    assert main(["report", str(d)]) == 2
    err = capsys.readouterr().err
    assert "routes.csv" in err and "Traceback" not in err


# --------------------------------------------------------------------------- what-if and Pareto


def test_whatif_and_pareto_comparison(plan_dir, tmp_path):
    d = _copy(plan_dir, tmp_path)
    # as `flowmatch whatif --vary landfill_price=40,100,200` writes it (COMPARISON_COLUMNS)
    grid = pd.DataFrame({"scenario": ["base", "tax=100", "<i>tax</i>=200"], "file": ["", "", ""],
                         "landfill_price": [40.0, 100.0, 200.0], "status": ["optimal"] * 3,
                         "gap": [0.0, 0.001, 0.0], "cost": [3.0e6, 2.5e6, 2.2e6],
                         "co2_t": [800.0, 700.0, 650.0], "landfill_t": [900.0, 500.0, 120.0],
                         "baseline_cost": [4e6] * 3, "n_synergies": [5, 8, 11], "n_milk_rounds": [0, 1, 1],
                         "solve_s": [0.1, 0.2, 0.3]})
    grid.to_csv(d / "comparison.csv", index=False)
    # as `flowmatch pareto --between co2 landfill` writes it: sorted by co2_t, caps on landfill
    front = pd.DataFrame({"point": [1, 2, 3], "cost": [1.5e6, 1.2e6, 1.3e6], "co2_t": [450.0, 600.0, 900.0],
                          "landfill_t": [900.0, 500.0, 100.0], "landfill_cap": [np.nan, 500.0, np.nan],
                          "status": ["optimal"] * 3})
    front.to_csv(d / "pareto.csv", index=False)
    seal(d)
    html = write_report(d).read_text(encoding="utf-8")
    assert '<section id="whatif">' in html and '<div id="fig-whatif"' in html
    assert '<section id="pareto">' in html and '<div id="fig-pareto"' in html
    assert "<i>tax</i>" not in html and "&lt;i&gt;tax&lt;/i&gt;=200" in html
    fig = pareto_figure(front)
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("co2_t", "landfill_t")
    assert list(fig.data[0].x) == [450.0, 600.0, 900.0] and list(fig.data[0].y) == [900.0, 500.0, 100.0]
    fig = comparison_figure(grid)
    assert [a.text for a in fig.layout.annotations] == ["cost", "landfill_t", "co2_t", "n_synergies",
                                                        "n_milk_rounds"]
    assert list(fig.data[0].x) == ["base", "tax=100", "&lt;i&gt;tax&lt;/i&gt;=200"]
    book = pd.read_excel(d / "plan.xlsx", sheet_name=None)
    pd.testing.assert_frame_equal(book["comparison"], pd.read_csv(d / "comparison.csv"), check_dtype=False)
    pd.testing.assert_frame_equal(book["pareto"], pd.read_csv(d / "pareto.csv"), check_dtype=False)


def test_comparison_only_folder(tmp_path):
    pd.DataFrame({"scenario": ["a", "b"], "objective": [1.0, 2.0], "landfill_t": [3.0, 1.0]}).to_csv(
        tmp_path / "comparison.csv", index=False)
    seal(tmp_path, "comparison")
    html = write_report(tmp_path).read_text(encoding="utf-8")
    assert '<div id="fig-whatif"' in html and "fig-map" not in html
    assert list(pd.read_excel(tmp_path / "plan.xlsx", sheet_name=None)) == ["summary", "comparison"]


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_optimise_with_report_on_a_bundled_dataset(tmp_path, capsys, mini_dir):
    out = tmp_path / "mini"
    assert main(["optimise", str(mini_dir), "-o", str(out), "--report"]) == 0
    assert f"report: {out / 'report.html'}" in capsys.readouterr().out
    s = json.loads((out / "summary.json").read_text())
    kpis = _kpis((out / "report.html").read_text(encoding="utf-8"))
    assert kpis["landfill_diverted_t"][0] == pytest.approx(s["baseline"]["landfill_t"] - s["objective"]["landfill_t"])
    assert kpis["n_synergies"][0] == s["n_synergies"] > 0
    flows = pd.read_csv(out / "flows.csv", dtype={"route_id": str}, keep_default_na=False)
    book = pd.read_excel(out / "plan.xlsx", sheet_name="flows", keep_default_na=False)
    assert book["have_id"].tolist() == flows["have_id"].tolist()
    np.testing.assert_allclose(book["quantity"].to_numpy(float), flows["quantity"].to_numpy(float))
