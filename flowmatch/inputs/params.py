"""Prices and factors the matcher and the optimiser use, with documented defaults.

An inventory may hold a ``params.toml`` with any of these keys (flat, or grouped
in TOML tables whose keys are the same names). A scenario file overrides them.
Defaults are for a Chinese eco-industrial park, in CNY; every value is per year
and per base unit (t, m3, MWh) unless it says otherwise. With another
``currency``, the money defaults not set are converted
(:mod:`flowmatch.inputs.currency`). ``PARAM_DOCS`` is the
table the README is written from.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowmatch.errors import ParamsError
from flowmatch.inputs.files import read_toml  # its TomlFileError is a ParamsError

__all__ = ["Params", "load_params", "read_params_toml", "check_param_values", "PARAM_DOCS"]


def _p(default, lo=None, hi=None, doc=""):
    return field(default=default, metadata={"min": lo, "max": hi, "doc": doc})


@dataclass(frozen=True)
class Params:
    """All tunable prices, factors and limits; see ``PARAM_DOCS`` for each one."""

    currency: str = _p("CNY", doc="currency of every price")
    hours_per_year: float = _p(8000.0, 1, 8784, "operating hours turning rates (t/h, kW) into yearly amounts")
    # transport
    transport_cost_t_km: float = _p(0.45, 0, None, "road freight per t-km, material")
    transport_cost_m3_km: float = _p(0.02, 0, None, "pumping and pipe operation per m3-km, water")
    transport_cost_mwh_km: float = _p(2.0, 0, None, "heat-network operation and losses per MWh-km, energy")
    co2_kg_t_km: float = _p(0.1, 0, None, "kg CO2e per t-km of road freight")
    co2_kg_m3_km: float = _p(0.0005, 0, None, "kg CO2e per m3-km of pumped water")
    co2_kg_mwh_km: float = _p(0.5, 0, None, "kg CO2e per MWh-km of heat transport")
    carbon_price: float = _p(60.0, 0, None, "price per t CO2e (China ETS is about 60-100 CNY)")
    # disposal and virgin defaults (used where a resource gives no cost/co2)
    landfill_price: float = _p(40.0, 0, None, "gate fee per t where a landfilled have gives no cost")
    landfill_tax: float = _p(0.0, 0, None, "tax per t added to every landfilled have's disposal cost")
    landfill_co2_kg_t: float = _p(20.0, 0, None, "kg CO2e per t landfilled where a have gives no co2")
    virgin_price_t: float = _p(0.0, 0, None, "virgin material price per t where a want gives no cost")
    # synergies
    fixed_cost_synergy: float = _p(20000.0, 0, None, "fixed yearly cost of one direct synergy (contract, handling)")
    byproduct_fixed_cost: float = _p(5000.0, 0, None, "fixed yearly cost of a synergy whose have is reclassified as a by-product")
    min_synergy_flow: float = _p(1.0, 0, None, "smallest flow per year worth a synergy, base units")
    discount_rate: float = _p(0.08, 0, 1, "yearly discount rate turning a capital cost into a yearly one (capital recovery factor r(1+r)^n/((1+r)^n-1))")
    capex_lifetime_years: float = _p(15.0, 1, 100, "years a capital cost serves where a resource gives no lifetime_years")
    pipe_capex_km: float = _p(0.0, 0, None, "capital cost per km of a water pipe, annualised on top of pipe_cost_km (0: the yearly costs hold it)")
    heat_link_capex_km: float = _p(0.0, 0, None, "capital cost per km of a heat link, annualised on top of heat_link_cost_km (0: the yearly costs hold it)")
    link_lifetime_years: float = _p(25.0, 1, 100, "years a pipe or heat link's capital serves")
    max_suppliers_per_want: int = _p(0, 0, None, "cap on haves feeding one want (0: no cap)")
    # milk rounds
    vehicle_capacity_t: float = _p(10.0, 0.001, None, "payload of a milk-round vehicle per collection, t")
    vehicle_cost_km: float = _p(6.0, 0, None, "milk-round vehicle cost per km")
    vehicle_cost_collection: float = _p(30.0, 0, None, "cost per stop (loading) on a milk round")
    vehicle_co2_kg_km: float = _p(0.9, 0, None, "kg CO2e per km of a milk-round vehicle")
    milk_round_max_stops: int = _p(8, 0, None, "most haves one milk round visits (0: no milk rounds)")
    milk_round_processors_per_have: int = _p(3, 1, None, "nearest compatible processors whose milk rounds may collect one have")
    milk_round_max_km: float = _p(100.0, 0, None, "farthest a have may lie from the processor collecting it on a milk round, km")
    milk_round_continuous_collections: int = _p(12, 1, 366, "collections a year of a have produced continuously (stored between collections)")
    milk_round_pyvrp_iterations: int = _p(2000, 0, None, "PyVRP iterations per run when generating milk-round routes (0: heuristics only)")
    # water
    fresh_water_price: float = _p(4.0, 0, None, "fresh (virgin) water price per m3")
    fresh_water_co2_kg_m3: float = _p(0.3, 0, None, "kg CO2e per m3 of fresh water supplied")
    wastewater_price: float = _p(3.0, 0, None, "discharge and treatment price per m3 of wastewater")
    wastewater_co2_kg_m3: float = _p(0.5, 0, None, "kg CO2e per m3 of wastewater treated")
    pipe_fixed_cost: float = _p(30000.0, 0, None, "fixed yearly cost of a water pipe between two sites")
    pipe_cost_km: float = _p(15000.0, 0, None, "yearly cost per km of a water pipe between two sites")
    regeneration_removal: float = _p(0.9, 0, 1, "fraction of each contaminant a regeneration unit removes")
    regeneration_cost_m3: float = _p(0.0, 0, None, "price per m3 treated by the regeneration unit (0 with no unit offered)")
    water_assume_unstated: int = _p(0, 0, 1, "1: a contaminant a water sink limits (its own max or its class default) that a source does not state is assumed at the sink's limit, and each such flow is logged; 0: that source cannot feed that sink")
    # heat
    hot_utility_price: float = _p(220.0, 0, None, "hot utility (boiler steam) price per MWh")
    hot_utility_co2_kg_mwh: float = _p(250.0, 0, None, "kg CO2e per MWh of hot utility")
    cold_utility_price: float = _p(15.0, 0, None, "cold utility (cooling tower) price per MWh")
    cold_utility_co2_kg_mwh: float = _p(5.0, 0, None, "kg CO2e per MWh of cold utility")
    dt_min_k: float = _p(10.0, 0, None, "minimum temperature difference for heat exchange, K")
    ambient_temperature_c: float = _p(20.0, -50, 50, "dead-state temperature of the exergy grade (Carnot factor) of heat, C")
    heat_link_fixed_cost: float = _p(50000.0, 0, None, "fixed yearly cost of a heat link between two sites")
    heat_link_cost_km: float = _p(40000.0, 0, None, "yearly cost per km of a heat link between two sites")
    # matching
    max_distance_material_km: float = _p(300.0, 0, None, "default reach of dry material haves and wants")
    max_distance_water_km: float = _p(25.0, 0, None, "default reach of water (piped)")
    max_distance_energy_km: float = _p(10.0, 0, None, "default reach of heat and steam (piped)")
    distance_scale_material_km: float = _p(100.0, 0.001, None, "distance at which s_distance falls to 1/2, material")
    distance_scale_water_km: float = _p(8.0, 0.001, None, "distance at which s_distance falls to 1/2, water")
    distance_scale_energy_km: float = _p(3.0, 0.001, None, "distance at which s_distance falls to 1/2, energy")
    weight_type: float = _p(1.0, 0, None, "score weight of s_type")
    weight_quality: float = _p(1.0, 0, None, "score weight of s_quality")
    weight_quantity: float = _p(1.0, 0, None, "score weight of s_quantity")
    weight_distance: float = _p(1.0, 0, None, "score weight of s_distance")
    weight_frequency: float = _p(0.5, 0, None, "score weight of s_frequency")
    type_related_max: float = _p(0.6, 0, 1, "s_type of two related types whose common ancestor is as deep as the deeper of them (scaled down by depth)")
    type_inherit_discount: float = _p(0.9, 0, 1, "factor per taxonomy step when a type inherits a same-type or knowledge-base score from an ancestor")
    type_subtype_discount: float = _p(0.8, 0, 1, "factor per taxonomy step when a have typed with a parent code (ewc:100202, ewc:1002, ewc:10) takes a knowledge-base score documented for one of its sub-types (0 turns this off)")
    quality_missing: float = _p(0.9, 0, 1, "factor in s_quality for each want range the have gives no value for (uncertain, not failed)")
    quality_tolerance: float = _p(0.5, 0.001, None, "how far out of a want's range a value may be, relative to the range's size, before its factor in s_quality reaches 0")
    frequency_mismatch: float = _p(0.5, 0, 1, "rhythm fit of the farthest-apart frequencies (continuous against batch); nearer ones score between this and 1")
    top_k: int = _p(10, 1, 100000, "candidates kept per want")
    min_score: float = _p(0.05, 0, 1, "candidates scoring below this are dropped")

    def replace(self, **changes: Any) -> Params:
        """Return a copy with ``changes`` applied and validated."""
        return _build({**dataclasses.asdict(self), **changes}, source="override")

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a plain ``dict``."""
        return dataclasses.asdict(self)


#: no price, factor or limit is above this: more than world GDP in any currency is a typing mistake
PARAM_ABSURD = 1e15

PARAM_DOCS = {
    f.name: (f.default, f.metadata.get("doc", "")) for f in dataclasses.fields(Params)
}
from flowmatch.inputs.currency import DEFAULTS_CURRENCY, MONEY_PARAMS  # noqa: E402 - after Params

for _k in MONEY_PARAMS:  # every money parameter says its currency
    PARAM_DOCS[_k] = (PARAM_DOCS[_k][0], f"{PARAM_DOCS[_k][1]} ({DEFAULTS_CURRENCY}; converted to `currency`)")
_FIELDS = {f.name: f for f in dataclasses.fields(Params)}


def check_param_values(values: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """Check parameter values against their types and ranges.

    Parameters
    ----------
    values : dict
        Parameter name to value (numbers may be given as text, as a workbook
        sheet gives them).

    Returns
    -------
    clean : dict
        The values that are valid, converted to their field's type.
    problems : list of (key, message, fix)
        One entry per unknown key or bad value.
    """
    from flowmatch.inputs.currency import (
        convert_defaults,  # money defaults in the inventory's currency
    )

    values, problems = convert_defaults(values)
    clean: dict[str, Any] = {}
    for key, val in values.items():
        f = _FIELDS.get(key)
        if f is None:
            close = difflib.get_close_matches(key, list(_FIELDS), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            problems.append((key, f"unknown parameter '{key}'.",
                             f"Use a documented parameter name (docs/inventory.md).{hint}"))
            continue
        typ = type(f.default)
        v: str | int | float
        try:
            if typ is str:
                if isinstance(val, dict | list):
                    raise ValueError
                v = str(val).strip()
            elif typ is int:
                if isinstance(val, bool) or float(val) != int(float(val)):
                    raise ValueError
                v = int(float(val))
            else:
                if isinstance(val, bool):
                    raise ValueError
                v = float(val)
                if not math.isfinite(v):
                    raise ValueError
        except (TypeError, ValueError, OverflowError):
            kind = {str: "text", int: "whole number", float: "finite number"}[typ]
            problems.append((key, f"parameter '{key}' = {val!r} is not a {kind}.",
                             f"Give '{key}' as a {kind} (default {f.default!r})."))
            continue
        if typ is not str and abs(float(v)) > PARAM_ABSURD:
            problems.append((key, f"parameter '{key}' = {v!r} is not plausible (above {PARAM_ABSURD:g}).",
                             f"Check the number and its unit (default {f.default!r})."))
            continue
        lo, hi = f.metadata.get("min"), f.metadata.get("max")
        if lo is not None and v < lo or hi is not None and v > hi:
            rng = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
            problems.append((key, f"parameter '{key}' = {v!r} is out of range {rng}.",
                             f"Give a value in {rng} (default {f.default!r})."))
            continue
        clean[key] = v
    return clean, problems


def _build(values: dict[str, Any], source: str) -> Params:
    clean, problems = check_param_values(values)
    if problems:
        raise ParamsError(f"{source}: " + " ".join(f"{m} {fix}" for _k, m, fix in problems))
    return Params(**clean)


def _flatten(d: dict[str, Any], out: dict[str, Any] | None = None,
             repeated: list[str] | None = None) -> dict[str, Any]:
    out = {} if out is None else out
    for k, v in d.items():
        if isinstance(v, dict):
            _flatten(v, out, repeated)
        else:
            if k in out and repeated is not None:
                repeated.append(k)
            out[k] = v
    return out


def read_params_toml(path: str | Path) -> tuple[dict[str, Any], list[str]]:
    """Read a ``params.toml`` into flat ``{name: value}``.

    Keys may be grouped in TOML tables; the table names are ignored.

    Returns
    -------
    values : dict
        The parameters as written (not yet checked).
    repeated : list of str
        Names given more than once (in two tables, say); the last one wins.

    Raises
    ------
    ParamsError
        When the file cannot be read or is not valid TOML.
    """
    data = read_toml(Path(path))
    repeated: list[str] = []
    rates = data.pop("exchange_rates", None)  # a table of its own, kept whole (inputs/currency.py)
    flat = _flatten(data, repeated=repeated)
    if rates is not None:
        flat["exchange_rates"] = rates
    return flat, repeated


def load_params(path: str | Path | None = None, **overrides: Any) -> Params:
    """Read ``params.toml`` (flat keys or grouped in tables) over the defaults.

    Parameters
    ----------
    path : path-like, optional
        A ``params.toml``; ``None`` gives the defaults.
    **overrides
        Values applied over the file's.

    Raises
    ------
    ParamsError
        Unreadable TOML, an unknown key, or a value of the wrong type or out of range.
    """
    values: dict[str, Any] = {}
    if path is not None:
        values, _repeated = read_params_toml(path)
    values.update(overrides)
    return _build(values, source=str(path) if path else "parameters")
