"""report.html as a person sees it: rendered in headless Chromium.

Needs the Debian packages ``chromium`` and ``chromium-driver`` (``apt-get install
chromium chromium-driver``); skipped, saying so, only when they are absent.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from flowmatch.matching.gaps import gap_analysis
from flowmatch.plans.folder import read_plan_folder
from flowmatch.report.page import render_report

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    pytest.skip("headless Chromium is not installed (apt-get install chromium chromium-driver)",
                allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def _open(driver, html: Path) -> float:
    """Load ``html`` afresh and wait until every figure has drawn; return the seconds it took."""
    driver.get("about:blank")
    driver.get_log("browser")  # drop what earlier pages logged
    t0 = time.perf_counter()
    driver.get(html.resolve().as_uri())
    WebDriverWait(driver, 120).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && document.querySelectorAll('div.fig').length > 0"
        " && document.querySelectorAll('div.fig:not(.js-plotly-plot)').length === 0"))
    return time.perf_counter() - t0


def _severe(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _boxes(driver, selector: str) -> list[tuple[float, float]]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; });", selector)


@pytest.fixture(scope="module")
def plan_dir(plan_folder) -> Path:
    """A small hostile plan folder with its report, for the page tests (read-only)."""
    return plan_folder("browser", report=True, hostile=True, seed=11)


def test_report_renders_without_errors(browser, plan_dir):
    _open(browser, plan_dir / "report.html")
    assert _severe(browser) == []
    # every Sankey drew its nodes and links, with real size
    for cat in ("material", "water", "energy"):
        nodes = _boxes(browser, f"#fig-sankey-{cat} .sankey-node rect.node-rect")
        links = _boxes(browser, f"#fig-sankey-{cat} .sankey-link")
        assert len(nodes) >= 3 and all(w > 0 and h > 0 for w, h in nodes), cat
        assert links and all(w > 0 or h > 0 for w, h in links), cat
    # the map drew its plot area, a marker per site and the link lines
    (w, h), = _boxes(browser, "#fig-map .main-svg .bglayer rect.bg")
    assert w > 300 and h > 300
    n_sites = sum(1 for _ in open(plan_dir / "sites.csv", encoding="utf-8")) - 1
    points = _boxes(browser, "#fig-map .scatterlayer path.point")
    assert len([p for p in points if p[0] > 0 and p[1] > 0]) >= n_sites
    lines = _boxes(browser, "#fig-map .scatterlayer path.js-line")
    assert len(lines) >= 3 and all(w > 0 or h > 0 for w, h in lines)
    # the hostile names are text on the page, not markup
    assert browser.execute_script("return document.querySelectorAll('main script').length") == 0
    assert browser.execute_script(
        "return Array.from(document.querySelectorAll('b')).filter(b => b.innerText === 'bold').length") == 0
    assert "<script>alert('x')</script>" in browser.find_element(By.ID, "t-gaps").text + \
        browser.find_element(By.ID, "t-synergies").text + browser.find_element(By.ID, "t-cascades").text


def test_headline_figures_equal_summary_json(browser, plan_dir):
    _open(browser, plan_dir / "report.html")
    s = json.loads((plan_dir / "summary.json").read_text(encoding="utf-8"))
    expected = {
        "landfill_diverted_t": s["baseline"]["landfill_t"] - s["objective"]["landfill_t"],
        "cost_saved": s["baseline"]["cost"] - s["objective"]["cost"],
        "co2_avoided_t": s["baseline"]["co2_t"] - s["objective"]["co2_t"],
        "fresh_water_saved_m3": s["by_category"]["water"]["demand"] - s["by_category"]["water"]["virgin"],
        "hot_utility_saved_mwh": s["by_category"]["energy"]["demand"] - s["by_category"]["energy"]["virgin"],
        "n_synergies": s["n_synergies"], "n_milk_rounds": s["n_milk_rounds"],
    }
    cards = browser.execute_script(
        "return Array.from(document.querySelectorAll('.kpi')).map(k => [k.dataset.key, k.dataset.value,"
        " k.querySelector('.value').innerText, k.getBoundingClientRect().width]);")
    assert {c[0] for c in cards} == set(expected)
    for key, value, shown, width in cards:
        assert width > 0
        assert float(value) == pytest.approx(expected[key], rel=1e-12, abs=1e-9), key
        num, *word = shown.replace(",", "").split()
        scale = {"million": 1e6, "billion": 1e9}[word[0]] if word else 1.0
        assert float(num) * scale == pytest.approx(expected[key], rel=5e-3, abs=0.06), (key, shown)


def test_tables_sort_on_click(browser, plan_dir):
    _open(browser, plan_dir / "report.html")
    table = browser.find_element(By.ID, "t-cascades")
    heads = table.find_elements(By.CSS_SELECTOR, "thead th")
    col = [h.text for h in heads].index("quantity /yr")

    def column():
        return [float(td.get_attribute("data-v")) for td in
                table.find_elements(By.CSS_SELECTOR, f"tbody tr td:nth-child({col + 1})")]

    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", table)
    heads[col].click()
    up = column()
    assert len(up) >= 3 and up == sorted(up) and heads[col].get_attribute("aria-sort") == "ascending"
    heads[col].click()
    assert column() == sorted(up, reverse=True)
    name = [h.text for h in heads].index("from site")
    heads[name].click()
    texts = [td.text.lower() for td in table.find_elements(By.CSS_SELECTOR, f"tbody tr td:nth-child({name + 1})")]
    assert texts == sorted(texts)


@pytest.mark.slow
def test_huge_plan_report_opens(browser, plan_folder):
    d = plan_folder("huge", n_sites=5000, n_haves=40000, n_wants=25000, seed=5)
    pf = read_plan_folder(d)  # the page only: writing plan.xlsx is tested in test_report.py
    gaps = gap_analysis({"sites": pf.sites, "resources": pf.resources}, pf.candidates)
    (d / "report.html").write_text(render_report(pf, gaps), encoding="utf-8")
    seconds = _open(browser, d / "report.html")
    assert _severe(browser) == []
    assert len(_boxes(browser, "#fig-map .scatterlayer path.js-line")) > 10
    assert _boxes(browser, "#fig-sankey-material .sankey-node rect.node-rect")
    notes = browser.execute_script("return Array.from(document.querySelectorAll('.note')).map(n => n.innerText)")
    assert any("largest of" in n for n in notes)
    print(f"huge report ({(d / 'report.html').stat().st_size / 1e6:.1f} MB) loaded in {seconds:.1f} s")


@pytest.mark.slow
def test_report_of_a_bundled_dataset(browser, tmp_path, datasets_dir):
    from flowmatch.cli import main

    inv = datasets_dir / "power_cement_brewery"
    assert main(["optimise", str(inv), "-o", str(tmp_path), "--report"]) == 0
    _open(browser, tmp_path / "report.html")
    assert _severe(browser) == []
    assert len(_boxes(browser, ".sankey-node rect.node-rect")) >= 6
    assert len(_boxes(browser, "#fig-map .scatterlayer path.point")) >= 3
    s = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    shown = browser.execute_script("return document.querySelector('.kpi[data-key=n_synergies] .value').innerText")
    assert int(shown.replace(",", "")) == s["n_synergies"]


def test_park_managers_report_draws_worth_chart_money_lines_and_far_site_arrows(browser, plan_folder):
    """synergies.csv's bars, the cash and carbon lines and the arrows towards far sites, as drawn."""
    import pandas as pd
    from plan_fixture import add_synergies, seal

    from flowmatch.report.page import write_report

    d = plan_folder("browser-worth", hostile=True, seed=12)
    sites = pd.read_csv(d / "sites.csv", dtype={"site_id": str}, keep_default_na=False)
    sites["lon"] = 118.5 + 0.01 * (sites.index % 4)
    sites["lat"] = 39.0 + 0.01 * (sites.index // 4)
    sites.loc[sites.index[-2:], ["lon", "lat"]] = [[119.6, 40.0], [119.7, 40.1]]  # about 140 km NE
    sites.to_csv(d / "sites.csv", index=False)
    seal(d)
    syn = add_synergies(d)
    write_report(d)
    _open(browser, d / "report.html")
    assert _severe(browser) == []
    bars = _boxes(browser, "#fig-worth .bars path")
    assert len(bars) == 2 * min(len(syn), 40)  # a cash and a carbon bar per synergy
    assert sum(1 for w, h in bars if w > 0 and h > 0) >= min(len(syn), 40)
    lines = browser.execute_script(
        "return Array.from(document.querySelectorAll('.money')).map(p => [p.dataset.key, p.innerText])")
    assert [k for k, _ in lines] == ["cash_saved", "carbon_value"]
    assert "cash saved" in lines[0][1] and "carbon value at the carbon price" in lines[1][1]
    arrows = browser.execute_script(
        "return Array.from(document.querySelectorAll('#fig-map .annotation-text')).map(t => t.textContent)")
    assert arrows == ["2 NE"]
    assert "2 sites beyond the map: 2 to the NE" in browser.find_element(By.ID, "map").text
