"""Money defaults in the inventory's currency: which parameters are money, and converting them.

The defaults of :class:`~flowmatch.inputs.params.Params` are in
``DEFAULTS_CURRENCY`` (CNY). When an inventory's ``params.toml`` sets
``currency`` to another one, every money parameter it does *not* set is
converted at the rate of ``flowmatch/data/exchange_rates.csv`` (the ECB's euro
reference rates, annual average 2023, units per EUR; a cross rate through the
euro), or at the rate the user gives in an ``[exchange_rates]`` table of
``params.toml`` (units of that currency per 1 CNY, e.g. ``USD = 0.1412``),
which wins. Values the user sets are taken as given, in their currency. One
warning says which defaults were converted, and at what rate. A currency with
no rate is an error naming ``params.toml`` and the fix.
"""

from __future__ import annotations

import csv
import logging
from functools import cache
from typing import Any

from flowmatch.data import data_text

__all__ = ["DEFAULTS_CURRENCY", "MONEY_PARAMS", "shipped_rates", "rate_from_defaults", "convert_defaults"]

log = logging.getLogger(__name__)

#: The currency of every money default in :class:`~flowmatch.inputs.params.Params`.
DEFAULTS_CURRENCY = "CNY"
#: The parameters that are sums of money (per unit, per km, per year or once).
MONEY_PARAMS = (
    "transport_cost_t_km", "transport_cost_m3_km", "transport_cost_mwh_km", "carbon_price", "landfill_price",
    "landfill_tax", "virgin_price_t", "fixed_cost_synergy", "byproduct_fixed_cost", "vehicle_cost_km",
    "vehicle_cost_collection", "fresh_water_price", "wastewater_price", "pipe_fixed_cost", "pipe_cost_km",
    "regeneration_cost_m3", "hot_utility_price", "cold_utility_price", "heat_link_fixed_cost",
    "heat_link_cost_km", "pipe_capex_km", "heat_link_capex_km",
)
_RATES_KEY = "exchange_rates"


@cache
def shipped_rates() -> dict[str, tuple[float, str]]:
    """Currency -> (units per EUR, source) from ``flowmatch/data/exchange_rates.csv``."""
    text = data_text("exchange_rates.csv")
    return {r["currency"].strip().upper(): (float(r["per_eur"]), r["source"])
            for r in csv.DictReader(text.splitlines())}


def rate_from_defaults(currency: str, overrides: dict[str, Any] | None = None) -> tuple[float, str] | None:
    """(units of ``currency`` per 1 CNY, where the rate comes from), or ``None`` when there is none."""
    cur = currency.strip().upper()
    for k, v in (overrides or {}).items():
        if str(k).strip().upper() == cur:
            return float(v), "params.toml [exchange_rates]"
    rates = shipped_rates()
    if cur in rates and DEFAULTS_CURRENCY in rates:
        return rates[cur][0] / rates[DEFAULTS_CURRENCY][0], rates[cur][1]
    return None


def convert_defaults(values: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """``values`` with unset money defaults in ``values['currency']``; the ``exchange_rates`` key removed.

    Returns the new values and problems ``(key, message, fix)`` (a bad or
    missing rate), as :func:`flowmatch.inputs.params.check_param_values` does.
    """
    from flowmatch.inputs.params import PARAM_DOCS

    values = dict(values)
    problems: list[tuple[str, str, str]] = []
    overrides = values.pop(_RATES_KEY, None)
    if overrides is not None and not isinstance(overrides, dict):
        problems.append((_RATES_KEY, f"'{_RATES_KEY}' = {overrides!r} is not a table.",
                         f"Give it as a TOML table in params.toml: [{_RATES_KEY}] then USD = 0.1412 "
                         f"(units of that currency per 1 {DEFAULTS_CURRENCY})."))
        overrides = None
    for k, v in (overrides or {}).items():
        ok = isinstance(v, int | float) and not isinstance(v, bool) and 0 < float(v) < 1e9
        if not ok:
            problems.append((_RATES_KEY, f"exchange rate {k} = {v!r} is not a positive number.",
                             f"Give {k} as units of {k} per 1 {DEFAULTS_CURRENCY} in params.toml "
                             f"[{_RATES_KEY}]."))
    if problems:
        return values, problems
    cur = str(values.get("currency", DEFAULTS_CURRENCY)).strip()
    if not cur or cur.upper() == DEFAULTS_CURRENCY:
        return values, problems
    unset = [k for k in MONEY_PARAMS if k not in values]
    if not unset:
        return values, problems
    got = rate_from_defaults(cur, overrides)
    if got is None:
        known = ", ".join(sorted(shipped_rates()))
        problems.append(("currency", f"currency '{cur}' has no exchange rate to convert the money defaults "
                         f"(given in {DEFAULTS_CURRENCY}) with; flowmatch ships rates for {known}.",
                         f"In params.toml add [{_RATES_KEY}] with {cur} = <units of {cur} per 1 "
                         f"{DEFAULTS_CURRENCY}>, or set every money parameter ({', '.join(unset)}) yourself."))
        return values, problems
    rate, source = got
    for k in unset:
        default: Any = PARAM_DOCS[k][0]
        values[k] = float(default) * rate
    log.warning("converted %d money defaults from %s to %s at %.6g %s per %s (%s): %s", len(unset),
                DEFAULTS_CURRENCY, cur, rate, cur, DEFAULTS_CURRENCY, source, ", ".join(unset))
    return values, problems
