"""The report for a park manager (issue 13): title, map view and base layer, labels, what each synergy is worth."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plan_fixture import add_synergies, seal

from flowmatch.cli import main
from flowmatch.errors import PlanFolderError
from flowmatch.inputs.labels import type_label
from flowmatch.plans.folder import read_plan_folder
from flowmatch.report.mapview import compass, map_view
from flowmatch.report.page import render_report, write_report
from flowmatch.report.sitemap import site_map
from flowmatch.report.synergies import synergy_rows

REUSE = ("direct", "milk_round", "cascade")


@pytest.fixture(scope="module")
def worth_dir(plan_folder) -> Path:
    """A plan folder with synergies.csv and the cash / carbon split, and its report."""
    folder = plan_folder("worth", hostile=True, seed=5)
    add_synergies(folder)
    write_report(folder)
    return folder


def _copy(src: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(src, out)
    for f in ("report.html", "plan.xlsx"):
        (out / f).unlink(missing_ok=True)
    return seal(out)


def _figure(html: str, div: str) -> dict:
    start = html.index(f'"{div}": ') + len(div) + 4
    return json.JSONDecoder().raw_decode(html[start:])[0]


def _arr(v) -> np.ndarray:
    """A plotly JSON array: a list, or numbers packed as ``{"dtype", "bdata"}``."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v, dtype=float)


def _table(html: str, table_id: str) -> tuple[list[str], list[list[str]]]:
    """Headings and, per row, each cell's data-v (numbers) or text."""
    t = re.search(rf'<table class="sortable" id="{table_id}">(.*?)</table>', html, re.S).group(1)
    heads = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<th[^>]*>(.*?)</th>", t)]
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", t.split("<tbody>")[1], re.S):
        cells = re.findall(r'<td(?: class="num" data-v="([^"]*)")?>(.*?)</td>', tr)
        rows.append([v or txt for v, txt in cells])
    return heads, rows


def _col(heads: list[str], rows: list[list[str]], name: str) -> list[str]:
    i = heads.index(name)
    return [r[i] for r in rows]


# --------------------------------------------------------------------------- title


def test_title_is_the_parks_name(worth_dir):
    html = (worth_dir / "report.html").read_text(encoding="utf-8")
    sites = pd.read_csv(worth_dir / "sites.csv", keep_default_na=False)
    park = sites["park"].value_counts().index[0]
    assert re.search(r"<h1>(.*?)</h1>", html).group(1) == f"{park}: industrial symbiosis plan"
    assert f"<title>{park}: industrial symbiosis plan</title>" in html


def test_title_option_replaces_it_escaped(worth_dir, tmp_path, capsys):
    d = _copy(worth_dir, tmp_path)
    assert main(["report", str(d), "--title", "Park <b>east</b> & co"]) == 0
    html = (d / "report.html").read_text(encoding="utf-8")
    assert "<h1>Park &lt;b&gt;east&lt;/b&gt; &amp; co</h1>" in html


def test_title_without_parks_is_the_folder(worth_dir, tmp_path):
    d = _copy(worth_dir, tmp_path)
    sites = pd.read_csv(d / "sites.csv", dtype=str, keep_default_na=False)
    sites["park"] = ""
    sites.to_csv(d / "sites.csv", index=False)
    seal(d)
    assert "<h1>flowmatch plan: copy</h1>" in render_report(read_plan_folder(d))


# --------------------------------------------------------------------------- money


def test_cash_and_carbon_lines_equal_the_summary(worth_dir):
    html = (worth_dir / "report.html").read_text(encoding="utf-8")
    s = json.loads((worth_dir / "summary.json").read_text())
    lines = dict(re.findall(r'<p class="money" data-key="([^"]+)" data-value="([^"]+)">', html))
    assert set(lines) == {"cash_saved", "carbon_value"}
    assert float(lines["cash_saved"]) == pytest.approx(s["baseline"]["cash"] - s["objective"]["cash"], rel=1e-12)
    assert float(lines["carbon_value"]) == pytest.approx(
        s["baseline"]["carbon_cost"] - s["objective"]["carbon_cost"], rel=1e-12)
    assert 'data-key="cost_saved"' not in html  # not one mixed number beside them
    assert "cash saved" in html and "carbon value at the carbon price" in html


def test_synergy_table_is_sorted_by_net_benefit_and_the_chart_shows_its_values(worth_dir):
    html = (worth_dir / "report.html").read_text(encoding="utf-8")
    syn = pd.read_csv(worth_dir / "synergies.csv", keep_default_na=False)
    heads, rows = _table(html, "t-worth")
    net = [float(x) for x in _col(heads, rows, "net benefit CNY /yr")]
    assert net == sorted(net, reverse=True)
    assert sorted(net) == pytest.approx(sorted(syn["net_total"].tolist()))
    ids = _col(heads, rows, "synergy")
    by_id = syn.set_index("synergy_id")
    assert [float(x) for x in _col(heads, rows, "cash CNY /yr")] == pytest.approx(by_id.loc[ids, "net_cash"].tolist())
    assert [float(x) for x in _col(heads, rows, "carbon value CNY /yr")] == pytest.approx(
        by_id.loc[ids, "carbon_value"].tolist())
    fig = _figure(html, "fig-worth")
    cash, carbon = fig["data"]
    # bars are drawn bottom-up: reversed, they are the table's rows in order
    assert cash["customdata"][::-1] == ids[:len(cash["customdata"])]
    cx, kx = _arr(cash["x"])[::-1], _arr(carbon["x"])[::-1]
    assert len(cx) == len(kx) == min(len(syn), 40)
    assert cx == pytest.approx(by_id.loc[ids, "net_cash"].to_numpy()[:len(cx)])
    assert kx == pytest.approx(by_id.loc[ids, "carbon_value"].to_numpy()[:len(kx)])


def test_synergy_labels_are_names_not_codes(worth_dir):
    pf = read_plan_folder(worth_dir)
    rows, from_file = synergy_rows(pf)
    assert from_file
    res = pf.resources.set_index("resource_id")
    sites = pf.sites.set_index("site_id")
    for r in rows.head(10).itertuples():
        t = res.at[r.have_id, "type"]
        assert r.what == (type_label(t) or t)
        assert r.from_site == (sites.at[res.at[r.have_id, "site_id"], "name"] or res.at[r.have_id, "site_id"])
    known = rows[rows["have_id"].map(res["type"]).str.startswith("ewc:1001")]
    assert len(known) and not known["what"].str.startswith("ewc:").any()
    zh = synergy_rows(pf, lang="zh")[0]
    assert (zh["what"] != rows["what"]).any()  # the --lang labels reach the table


def test_map_shows_sector_names(worth_dir):
    fig, _ = site_map(read_plan_folder(worth_dir))
    names = [t.name for t in fig.data if t.legendgroup == "sectors"]
    assert "C23.6 (other non-metallic mineral products)" in names
    assert "+SUM(1,2)" in names  # a user's word is kept as it is


def test_fallback_without_synergies_csv(worth_dir, tmp_path):
    d = _copy(worth_dir, tmp_path)
    (d / "synergies.csv").unlink()
    s = json.loads((d / "summary.json").read_text())
    for key in ("objective", "baseline"):
        del s[key]["cash"], s[key]["carbon_cost"]
    (d / "summary.json").write_text(json.dumps(s))
    seal(d)
    pf = read_plan_folder(d)
    rows, from_file = synergy_rows(pf)
    assert not from_file
    flows = pf.flows[pf.flows["mode"].isin(REUSE)]
    assert len(rows) == len(flows)
    res = pf.resources.set_index("resource_id")
    price = res["cost"].astype(float)
    expect = (flows["quantity"] * (price.reindex(flows["have_id"]).to_numpy() + price.reindex(flows["want_id"]).to_numpy())
              - flows["cost"])
    assert sorted(rows["net_cash"]) == pytest.approx(sorted(expect))
    assert rows["carbon_value"].isna().all()
    html = render_report(pf)
    assert "has no synergies.csv" in html
    assert 'class="money"' not in html and 'data-key="cost_saved"' in html
    assert len(_figure(html, "fig-worth")["data"]) == 1  # cash only


def test_damaged_synergies_csv_is_named(worth_dir, tmp_path):
    d = _copy(worth_dir, tmp_path)
    syn = pd.read_csv(d / "synergies.csv", dtype=str, keep_default_na=False)
    syn.loc[2, "net_cash"] = "lots"
    syn.to_csv(d / "synergies.csv", index=False)
    seal(d)
    with pytest.raises(PlanFolderError, match=r"synergies\.csv, row 3, column 'net_cash': 'lots' is not a number"):
        write_report(d)
    assert not (d / "report.html").exists()


# --------------------------------------------------------------------------- map


def _place(d: Path, lonlat: list[tuple[float, float]]) -> pd.DataFrame:
    sites = pd.read_csv(d / "sites.csv", dtype={"site_id": str}, keep_default_na=False)
    sites["lon"] = [p[0] for p in lonlat]
    sites["lat"] = [p[1] for p in lonlat]
    sites.to_csv(d / "sites.csv", index=False)
    seal(d)
    return sites


def test_map_fits_the_park_and_points_to_far_sites(worth_dir, tmp_path):
    d = _copy(worth_dir, tmp_path)
    n = len(pd.read_csv(d / "sites.csv"))
    rng = np.random.default_rng(1)
    near = [(118.50 + rng.uniform(0, 0.06), 39.20 + rng.uniform(0, 0.05)) for _ in range(n - 3)]
    # two about 110-125 km to the north-east, one about 300 km south
    far = [(119.30, 39.90), (119.40, 39.95), (118.53, 36.50)]
    sites = _place(d, near + far)
    fig, notes = site_map(read_plan_folder(d))
    x0, x1 = fig.layout.xaxis.range
    y0, y1 = fig.layout.yaxis.range
    ns = sites.iloc[: n - 3]
    assert x0 < ns["lon"].min() and ns["lon"].max() < x1 and y0 < ns["lat"].min() and ns["lat"].max() < y1
    for lon, lat in far:
        assert not (x0 <= lon <= x1 and y0 <= lat <= y1)
    note = [x for x in notes if "beyond the map" in x]
    assert len(note) == 1
    m = re.match(r"3 sites beyond the map: 2 to the NE \((\d+)-(\d+) km\), 1 to the S \((\d+) km\)\.", note[0])
    assert m, note
    assert 95 < int(m.group(1)) < int(m.group(2)) < 135 and 290 < int(m.group(3)) < 330
    arrows = {a.text: a for a in fig.layout.annotations}
    assert set(arrows) == {"2 NE", "1 S"}
    ne, s = arrows["2 NE"], arrows["1 S"]
    # the head sits at the view's edge; the tail is behind it (ax, ay in pixels, y down)
    assert ne.x > (x0 + x1) / 2 and ne.y > (y0 + y1) / 2 and ne.ax < 0 and ne.ay > 0
    assert s.y < (y0 + y1) / 2 and abs(s.ax) < 5 and s.ay < 0


def test_a_compact_park_has_no_far_sites(worth_dir, tmp_path):
    d = _copy(worth_dir, tmp_path)
    n = len(pd.read_csv(d / "sites.csv"))
    # sites 1-8 km apart: none is far, whatever their median distance
    sites = _place(d, [(106.0 + 0.01 * i, 29.0 + 0.005 * (i % 3)) for i in range(n)])
    fig, notes = site_map(read_plan_folder(d))
    assert not [x for x in notes if "beyond the map" in x]
    assert not fig.layout.annotations
    x0, x1 = fig.layout.xaxis.range
    assert x0 < sites["lon"].min() and sites["lon"].max() < x1
    assert map_view(np.array([1.0]), np.array([2.0]), np.array(["a"])).far == ()


def test_compass():
    assert [compass(dx, dy) for dx, dy in ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))] == [
        "N", "NE", "E", "SE", "S", "SW", "W", "NW"]


def test_base_layer_is_drawn_offline(worth_dir, tmp_path):
    d = _copy(worth_dir, tmp_path)
    n = len(pd.read_csv(d / "sites.csv"))
    # Caofeidian, on the Bohai coast: the coastline runs through the view
    _place(d, [(118.40 + 0.02 * (i % 5), 38.95 + 0.02 * (i // 5)) for i in range(n)])
    write_report(d)
    html = (d / "report.html").read_text(encoding="utf-8")
    fig = _figure(html, "fig-map")
    base = [t for t in fig["data"] if t.get("meta") == "basemap"]
    assert base and fig["data"][0].get("meta") == "basemap"  # drawn first, under the sites
    pts = sum(np.isfinite(_arr(t["x"])).sum() for t in base)
    assert 4 <= pts < 2000  # the coast, clipped around the view, not the world
    assert {t["type"] for t in fig["data"]} <= {"scatter"}  # no geo / mapbox traces (they fetch tiles)
    # nothing is fetched: no external scripts, styles, images or frames; figures name no URL
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=\"?(https?:)?//", html, re.I)
    figs = html[html.index("var F = "):html.index("</script>", html.index("var F = "))]
    figs = figs.replace("http:\\u002f\\u002fexample.invalid", "")  # the hostile fixture's site name, shown as text
    assert "http" not in figs and "mapbox" not in figs and "topojson" not in figs


def test_basemap_data_is_small_and_cites_its_source():
    root = Path(__file__).resolve().parents[1] / "flowmatch" / "data"
    assert (root / "basemap.geojson").stat().st_size < 2_000_000
    doc = (Path(__file__).resolve().parents[1] / "docs" / "report.md").read_text(encoding="utf-8")
    assert "Natural Earth" in doc and "public domain" in doc


def test_a_site_the_widened_view_takes_in_is_not_far():
    # ten sites on a north-south line (22 km): the view is widened east and west to the plot's shape
    lon = np.r_[np.full(10, 118.5), 118.68]
    lat = np.r_[39.0 + 0.02 * np.arange(10), 39.0]
    ids = np.array([f"S{i}" for i in range(11)])
    v = map_view(lon, lat, ids)
    assert v.far == () and v.near.all()  # 18 km out, beyond 3x the median (13 km), but inside the view
    (x0, x1), (y0, y1) = v.x_range, v.y_range
    assert x0 < 118.5 < 118.68 < x1 and y0 < 39.0 and 39.18 < y1
    lon[-1] = 118.9  # 35 km east: beyond the widened view too
    v = map_view(lon, lat, ids)
    assert [(g.direction, g.site_ids) for g in v.far] == [("E", ("S10",))]
    assert v.x_range[1] < 118.9


def test_the_users_own_type_labels_reach_the_report(tmp_path, capsys):
    from inventory_cases import tables, write_csv

    tabs = tables()
    tabs["resources"].loc[tabs["resources"]["resource_id"] == "W1", "type"] = "raw:gypsum-board"  # a user type
    inv = write_csv(tmp_path / "inv", tabs)
    out = tmp_path / "out"
    assert main(["optimise", str(inv), "-o", str(out), "--report"]) == 0
    res = pd.read_csv(out / "resources.csv", dtype=str, keep_default_na=False).set_index("resource_id")
    assert res.at["W1", "type_label"] == "Gypsum for board"  # the inventory's types table
    assert res.at["H1", "type_label"] == type_label("ewc:100105")  # a built-in type
    rows, _ = synergy_rows(read_plan_folder(out))
    to_w1 = rows[rows["want_id"] == "W1"]
    assert len(to_w1) and (to_w1["for_what"] == "Gypsum for board").all()
    assert "Gypsum for board" in (out / "report.html").read_text(encoding="utf-8")
