"""Money defaults in the inventory's currency, and the workbook's cells as numbers."""

from __future__ import annotations

import logging
import shutil

import pytest

from flowmatch.errors import ParamsError
from flowmatch.inputs.currency import MONEY_PARAMS, rate_from_defaults, shipped_rates
from flowmatch.inputs.params import PARAM_DOCS, Params, load_params

CNY = Params()


def test_usd_inventory_gets_converted_defaults(tmp_path, caplog):
    (tmp_path / "params.toml").write_text('currency = "USD"\nlandfill_price = 9.5\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="flowmatch.inputs.currency"):
        p = load_params(tmp_path / "params.toml")
    rate = 1.0813 / 7.66  # ECB 2023 annual averages: USD and CNY per EUR
    assert p.currency == "USD"
    assert p.carbon_price == pytest.approx(CNY.carbon_price * rate)
    assert p.fixed_cost_synergy == pytest.approx(CNY.fixed_cost_synergy * rate)
    assert p.hot_utility_price == pytest.approx(CNY.hot_utility_price * rate)
    assert p.landfill_price == 9.5  # set by the user: untouched
    assert p.top_k == CNY.top_k and p.vehicle_capacity_t == CNY.vehicle_capacity_t  # not money
    said = [r.getMessage() for r in caplog.records if "converted" in r.getMessage()]
    assert len(said) == 1 and "USD" in said[0] and "landfill_price" not in said[0] and "carbon_price" in said[0]


def test_override_rate_wins(tmp_path):
    (tmp_path / "params.toml").write_text('currency = "usd"\n[exchange_rates]\nUSD = 0.2\n', encoding="utf-8")
    p = load_params(tmp_path / "params.toml")
    assert p.landfill_price == pytest.approx(CNY.landfill_price * 0.2)
    assert rate_from_defaults("USD", {"USD": 0.2}) == (0.2, "params.toml [exchange_rates]")


def test_rate_for_a_currency_flowmatch_does_not_ship(tmp_path):
    (tmp_path / "params.toml").write_text('currency = "INR"\n[exchange_rates]\nINR = 11.5\n', encoding="utf-8")
    assert load_params(tmp_path / "params.toml").carbon_price == pytest.approx(60.0 * 11.5)


def test_unknown_currency_is_an_error_naming_params_toml(tmp_path):
    (tmp_path / "params.toml").write_text('currency = "XAU"\n', encoding="utf-8")
    with pytest.raises(ParamsError, match=r"currency 'XAU' has no exchange rate.*params\.toml.*\[exchange_rates\]"):
        load_params(tmp_path / "params.toml")


def test_bad_rate_is_an_error(tmp_path):
    (tmp_path / "params.toml").write_text('currency = "USD"\n[exchange_rates]\nUSD = -1\n', encoding="utf-8")
    with pytest.raises(ParamsError, match="USD = -1 is not a positive number"):
        load_params(tmp_path / "params.toml")


def test_cny_and_fully_set_inventories_are_not_converted(caplog):
    with caplog.at_level(logging.WARNING, logger="flowmatch.inputs.currency"):
        assert load_params() == CNY
        p = CNY.replace(currency="USD")  # every value given: nothing to convert
    assert p.carbon_price == CNY.carbon_price
    assert not [r for r in caplog.records if "converted" in r.getMessage()]


def test_every_money_parameter_says_its_currency_and_rates_cite_a_source():
    for k in MONEY_PARAMS:
        assert k in PARAM_DOCS and "CNY" in PARAM_DOCS[k][1], k
    rates = shipped_rates()
    assert rates["EUR"][0] == 1.0
    assert all("ECB" in src and "2023" in src for _, src in rates.values())


def test_inventory_with_usd_plans_in_usd(mini_dir, tmp_path):
    from flowmatch import optimise, read_inventory

    d = tmp_path / "mini-usd"
    shutil.copytree(mini_dir, d)
    text = (d / "params.toml").read_text(encoding="utf-8") if (d / "params.toml").exists() else ""
    (d / "params.toml").write_text('currency = "USD"\n' + text.replace('currency = "CNY"\n', ""), encoding="utf-8")
    inv = read_inventory(d)
    assert inv.params.currency == "USD"
    assert inv.params.carbon_price == pytest.approx(60.0 * 1.0813 / 7.66)
    plan = optimise(inv)
    assert plan.summary["currency"] == "USD"
    assert plan.synergies["net_total"].sum() == pytest.approx(
        plan.summary["baseline"]["cost"] - plan.summary["objective"]["cost"])


def test_workbook_cells_are_numbers(mini, tmp_path):
    import openpyxl

    from flowmatch import optimise
    from flowmatch.plans.folder import read_plan_folder, write_plan
    from flowmatch.report.workbook import write_plan_xlsx

    write_plan(optimise(mini), tmp_path / "p", mini)
    pf = read_plan_folder(tmp_path / "p")
    path = write_plan_xlsx(pf, None, tmp_path / "plan.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["synergies"]
    head = [c.value for c in ws[1]]
    assert head[:5] == ["synergy_id", "have_id", "have_name", "want_id", "want_name"]
    for col in ("quantity", "avoided_disposal", "net_cash", "net_total", "co2_saved_t"):
        j = head.index(col)
        cells = [r[j] for r in ws.iter_rows(min_row=2, values_only=True)]
        assert cells and all(isinstance(v, float | int) for v in cells), col
    res = wb["resources"]
    rhead = [c.value for c in res[1]]
    for col in ("quantity", "quantity_in", "month_mask"):
        j = rhead.index(col)
        assert all(isinstance(r[j], float | int) for r in res.iter_rows(min_row=2, values_only=True)), col
    assert "site_name" in rhead
    assert all(isinstance(r[rhead.index("resource_id")], str) for r in res.iter_rows(min_row=2, values_only=True))
