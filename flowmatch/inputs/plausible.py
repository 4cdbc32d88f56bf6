"""Magnitudes: numbers that parse but cannot be real (an error) or are very unlikely (a warning).

Checked on the normalised values (base unit per year, price and kg CO2e per
base unit), so ``1e15 kg`` is judged as ``1e12 t``. The limits and why they are
where they are (the sources are listed in ``docs/inventory.md``):

* quantity of one resource, per year: an **error** above the world's yearly
  total of its kind (material 1e11 t: all the materials the world extracts in a
  year are about 1e11 t, UNEP IRP Global Resources Outlook 2024; water 1e13 m3:
  world freshwater withdrawal is about 4e12 m3, FAO AQUASTAT; energy 1e12 MWh:
  world primary energy is about 620 EJ = 1.7e11 MWh, Energy Institute
  Statistical Review of World Energy 2024); a **warning** above what the
  largest single plants handle (material 1e9 t, a quarter of world cement
  output of about 4e9 t, USGS Mineral Commodity Summaries 2024; water 1e10 m3;
  energy 1e8 MWh, a 10 GW site running all year). Above 0 but below 1e-6 (a
  gram, a millilitre, a watt-hour a year) is an error: no industrial flow, so a
  unit mistake.
* ``cost`` per base unit: an error above 1e12 in absolute value (more than a
  tonne of gold, about 7e7 USD, costs in any major currency), a warning above
  1e7.
* ``co2`` per base unit: an error above 1e8 kg (more than SF6, whose GWP-100 of
  about 23,500 makes 2.35e7 kg CO2e per t, IPCC AR5), a warning above 1e5 kg
  (100 t CO2e per t, six times primary aluminium).
* ``km`` and ``max_distance_km``: an error above 40,075 km (the equator's
  length), a warning above 20,038 km (the longest great-circle distance).
* property ``value``, ``min``, ``max``: an error above 1e12 in absolute value
  (no concentration, temperature or calorific value comes near).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flowmatch.inputs.problems import _Problems, _Table

__all__ = ["check_magnitudes", "QUANTITY_LIMITS", "TINY_QUANTITY"]

#: base unit -> (warning above, error above), per year
QUANTITY_LIMITS = {"t": (1e9, 1e11), "m3": (1e10, 1e13), "MWh": (1e8, 1e12)}
#: a quantity above 0 and below this (base units per year) is an error
TINY_QUANTITY = 1e-6
COST_LIMITS = (1e7, 1e12)
CO2_LIMITS = (1e5, 1e8)
KM_LIMITS = (20_038.0, 40_075.0)
PROPERTY_LIMIT = 1e12
_UNIT_FIX = ("Check the number and its unit (kg or t, per hour or per year, a decimal mark "
             "read as thousands).")


def _two(t: _Table, v: np.ndarray, column: str, what: str, limits: tuple[float, float], unit: str,
         P: _Problems, W: _Problems) -> None:
    warn, err = limits
    with np.errstate(invalid="ignore"):
        a = np.abs(v)
        P.rows(t, a > err, column, f"{{value}} {unit} is not a plausible {what} (the limit is {err:g}).",
               _UNIT_FIX, v)
        W.rows(t, (a > warn) & (a <= err), column,
               f"{{value}} {unit} is a very large {what} (above {warn:g}); it is used as given.", _UNIT_FIX, v)


def check_magnitudes(tables: dict[str, _Table], checked: dict[str, dict[str, Any]],
                     resources: pd.DataFrame, P: _Problems, W: _Problems) -> None:
    """Report implausible magnitudes to ``P`` (errors) and unlikely ones to ``W`` (warnings)."""
    rt = tables.get("resources")
    if rt is not None and len(resources) == len(rt.df) and "unit_in" in resources:
        unit = resources["unit"].astype(str).to_numpy()
        q = resources["quantity"].to_numpy(dtype=float)
        for base, (warn, err) in QUANTITY_LIMITS.items():
            sel = unit == base
            if not sel.any():
                continue
            with np.errstate(invalid="ignore"):
                P.rows(rt, sel & (q > err), "quantity",
                       f"{{value}} {base} a year is more than the whole world's yearly total (limit {err:g} "
                       f"{base}).", _UNIT_FIX, q)
                W.rows(rt, sel & (q > warn) & (q <= err), "quantity",
                       f"{{value}} {base} a year is more than the largest single plants handle (above "
                       f"{warn:g} {base}); it is used as given.", _UNIT_FIX, q)
                P.rows(rt, sel & (q > 0) & (q < TINY_QUANTITY), "quantity",
                       f"{{value}} {base} a year is too small to be an industrial flow (below "
                       f"{TINY_QUANTITY:g} {base}).", _UNIT_FIX, q)
        for col, what, limits, unit_word in (("cost", "price", COST_LIMITS, "per base unit"),
                                             ("co2", "emission factor", CO2_LIMITS, "kg CO2e per base unit")):
            if col in resources:
                _two(rt, resources[col].to_numpy(dtype=float), col, what,
                     limits, unit_word, P, W)
        if "max_distance_km" in resources:
            _two(rt, resources["max_distance_km"].to_numpy(dtype=float), "max_distance_km", "distance",
                 KM_LIMITS, "km", P, W)
    dt, dc = tables.get("distances"), checked.get("distances")
    if dt is not None and dc is not None and "km" in dc:
        _two(dt, np.asarray(dc["km"], dtype=float), "km", "distance", KM_LIMITS, "km", P, W)
    pt, pc_ = tables.get("properties"), checked.get("properties")
    if pt is not None and pc_ is not None:
        for col in ("value", "min", "max"):
            if col in pc_:
                v = np.asarray(pc_[col], dtype=float)
                with np.errstate(invalid="ignore"):
                    P.rows(pt, np.abs(v) > PROPERTY_LIMIT, col,
                           f"{{value}} is not a plausible property value (the limit is {PROPERTY_LIMIT:g}).",
                           "Check the number and the property's unit.", v)
