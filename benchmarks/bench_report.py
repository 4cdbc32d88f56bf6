"""Report speed: writing report.html and plan.xlsx, and opening the page in Chromium.

Run: ``pytest benchmarks/bench_report.py --benchmark-only``. Baselines in the
same run: reading the plan folder (what any report must do) for the writers,
and opening the report of a small plan for the page load of a 10^5-flow plan.
"""

from __future__ import annotations

import shutil

import pytest
from plan_fixture import make_plan_folder

from flowmatch.matching.gaps import gap_analysis
from flowmatch.plans.folder import read_plan_folder
from flowmatch.report.page import render_report
from flowmatch.report.workbook import write_plan_xlsx

SIZES = {"1e4": dict(n_sites=1000, n_haves=4000, n_wants=2500),
         "1e5": dict(n_sites=5000, n_haves=40000, n_wants=25000)}


@pytest.fixture(scope="module", params=list(SIZES))
def plan(request, tmp_path_factory):
    d = make_plan_folder(tmp_path_factory.mktemp(request.param) / "plan", seed=1, **SIZES[request.param])
    pf = read_plan_folder(d)
    return request.param, d, pf, gap_analysis({"sites": pf.sites, "resources": pf.resources}, pf.candidates)


def test_read_plan_folder(benchmark, plan):
    size, d, _, _ = plan
    benchmark.group = f"report {size} flows"
    benchmark.pedantic(read_plan_folder, args=(d,), rounds=3)


def test_render_html(benchmark, plan):
    size, _, pf, gaps = plan
    benchmark.group = f"report {size} flows"
    html = benchmark.pedantic(render_report, args=(pf, gaps), rounds=3)
    benchmark.extra_info["mb"] = round(len(html) / 1e6, 2)


def test_write_xlsx(benchmark, plan, tmp_path):
    size, _, pf, gaps = plan
    benchmark.group = f"report {size} flows"
    benchmark.pedantic(write_plan_xlsx, args=(pf, gaps, tmp_path / "plan.xlsx"), rounds=1)


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                    reason="headless Chromium is not installed")
@pytest.mark.parametrize("size", ["small", "1e5"])
def test_open_in_chromium(benchmark, size, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    kw = SIZES.get(size, {})
    d = make_plan_folder(tmp_path / "plan", seed=2, **kw)
    pf = read_plan_folder(d)
    page = d / "report.html"
    page.write_text(render_report(pf, gap_analysis({"sites": pf.sites, "resources": pf.resources},
                                                   pf.candidates)), encoding="utf-8")
    opts = Options()
    opts.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    try:
        driver.get("about:blank")
        benchmark.group = "open report.html in Chromium"
        benchmark.extra_info["flows"] = len(pf.flows)
        benchmark.pedantic(driver.get, args=(page.as_uri(),), rounds=3)
    finally:
        driver.quit()
