"""Temperature levels of heat resources: what a heat want needs, what a have gives, and its grade.

One reading of the ``temperature_c`` / ``target_temperature_c`` properties,
shared by the matching (a heat candidate runs downhill by at least
``dt_min_k``), the heat network and the report:

- a have *gives* heat from its supply temperature (``temperature_c`` value)
  down; a hot stream's hottest point is its supply temperature;
- a want *needs* heat at its *required temperature*: the ``temperature_c``
  ``min`` of a level (steam at 130 C), else its coldest point, the lower of
  its ``temperature_c`` and ``target_temperature_c`` values (a cold stream
  heated from 15 to 60 C can take heat from any source hotter than 15 C +
  ``dt_min_k``, part of it at least).

A source at ``T`` serves a want only if ``T >= required + dt_min_k``
(``docs/matching.md``, ``docs/cascades.md``).

The *grade* of a temperature is its Carnot factor ``1 - T0 / T`` (kelvin, T0 =
``ambient_temperature_c``): the share of the heat that is exergy, the work it
could still do (Kotas 1985, The Exergy Method of Thermal Plant Analysis, ch. 2;
Bejan, Tsatsaronis & Moran 1996, Thermal Design and Optimization, ch. 3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flowmatch.inputs.inventory import Inventory

__all__ = ["temperature_table", "required_temperature", "supply_temperature", "carnot_factor",
           "with_grades", "KELVIN"]

KELVIN = 273.15


def temperature_table(inv: Inventory) -> pd.DataFrame:
    """Energy resources with a temperature property, one row each.

    Columns ``resource_id, role, t_value, t_min, t_target`` (NaN when absent),
    indexed by resource id.
    """
    res = inv.resources
    energy = res[res["category"] == "energy"].set_index("resource_id")
    props = inv.properties
    props = props[props["resource_id"].isin(energy.index)
                  & props["property"].isin(("temperature_c", "target_temperature_c"))]
    out = pd.DataFrame(index=pd.Index(props["resource_id"].unique(), name="resource_id"))
    out["role"] = energy["role"].reindex(out.index)
    for name, prop, col in (("t_value", "temperature_c", "value"), ("t_min", "temperature_c", "min"),
                            ("t_target", "target_temperature_c", "value")):
        sel = props[props["property"] == prop].drop_duplicates("resource_id").set_index("resource_id")
        out[name] = sel[col].reindex(out.index).astype(float)
    return out


def required_temperature(t: pd.DataFrame) -> pd.Series:
    """Required temperature of each want of a :func:`temperature_table` (NaN if it gives none)."""
    w = t[t["role"] == "want"]
    value, t_min = w["t_value"].to_numpy(float), w["t_min"].to_numpy(float)
    coldest = np.where(np.isnan(value), np.nan, np.fmin(value, w["t_target"].to_numpy(float)))
    return pd.Series(np.where(np.isnan(t_min), coldest, t_min), index=w.index, dtype=float)


def supply_temperature(t: pd.DataFrame) -> pd.Series:
    """Supply (hottest) temperature of each have of a :func:`temperature_table` (NaN if none)."""
    h = t[t["role"] == "have"]
    return pd.Series(h["t_value"].to_numpy(float), index=h.index, dtype=float)


def carnot_factor(t_c: np.ndarray | float, t0_c: float) -> np.ndarray:
    """``1 - T0 / T`` in kelvin, clipped to [0, 1): the exergy share of heat at ``t_c``."""
    t = np.asarray(t_c, dtype=float) + KELVIN
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(1.0 - (t0_c + KELVIN) / t, 0.0, 1.0)


def with_grades(inv: Inventory) -> pd.DataFrame:
    """``inv.resources`` with ``temperature_c`` (a have's supply, a want's required temperature;
    NaN for a resource without one) and ``exergy_grade`` (its Carnot factor) added, for the
    plan folder and the report."""
    t = temperature_table(inv)
    temp = pd.concat([supply_temperature(t), required_temperature(t)])
    out = inv.resources.copy()
    out["temperature_c"] = temp.reindex(out["resource_id"]).to_numpy(dtype=float)
    out["exergy_grade"] = np.where(np.isnan(out["temperature_c"]), np.nan,
                                   carnot_factor(out["temperature_c"].to_numpy(float),
                                                 inv.params.ambient_temperature_c))
    return out
