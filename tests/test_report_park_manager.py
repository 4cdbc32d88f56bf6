"""The report read as a park manager would (issue 13): the synergy table adds up to the headline,
its worth comes first, and the synergies tile counts what the table lists."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from test_report_worth import _col, _table

from flowmatch import optimise, read_inventory
from flowmatch.plans.folder import write_plan
from flowmatch.report.page import write_report


@pytest.fixture(scope="module")
def guigang_report(datasets_dir, tmp_path_factory):
    inv = read_inventory(datasets_dir / "guigang")
    plan = optimise(inv)
    out = tmp_path_factory.mktemp("guigang") / "plan"
    write_plan(plan, out, inv)
    write_report(out)
    return plan, (out / "report.html").read_text(encoding="utf-8")


def test_synergy_table_adds_up_to_the_headline_and_says_so(guigang_report):
    plan, page = guigang_report
    heads, rows = _table(page, "t-worth")
    net = sum(float(x) for x in _col(heads, rows, "net benefit CNY /yr"))
    b, o = plan.summary["baseline"], plan.summary["objective"]
    assert net == pytest.approx(b["cost"] - o["cost"], rel=1e-9)
    # the worth first (the table scrolls sideways), then how it is made, operating costs included
    assert heads.index("net benefit CNY /yr") < heads.index("avoided disposal CNY /yr")
    assert "operating CNY /yr" in heads
    note = htmllib.unescape(re.search(r"In all, the (\d+) synergies are worth ([^<]*)", page).group(0))
    assert f"the {len(plan.synergies)} synergies" in note and "the headline's saving" in note


def test_synergies_tile_counts_what_the_table_lists(guigang_report):
    plan, page = guigang_report
    n_direct, n_all = plan.summary["n_synergies"], len(plan.synergies)
    assert n_all > n_direct  # guigang has water and heat cascades besides direct links
    assert f"{n_all:,} synergies in all" in htmllib.unescape(page)


def test_the_legend_sits_above_the_bars():
    import pandas as pd

    from flowmatch.report.synergies import synergy_figure

    fig = synergy_figure(pd.DataFrame({"label": ["a: x -> b"], "net_cash": [10.0], "carbon_value": [1.0]}), "CNY")
    assert fig.layout.legend.yanchor == "bottom" and fig.layout.legend.y >= 1.0
