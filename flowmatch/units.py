"""Units: every quantity is normalised to its category's base unit per year.

Base units: material ``t``, water ``m3``, energy ``MWh``. A rate unit (``t/h``,
``m3/h``, ``kW``, ``MW``...) is an amount per hour and is multiplied by
``hours_per_year``. Water given in mass units is taken at 1 t = 1 m3.
"""

from __future__ import annotations

__all__ = ["BASE_UNIT", "CATEGORIES", "to_base_factor", "known_units"]

CATEGORIES = ("material", "water", "energy")
BASE_UNIT = {"material": "t", "water": "m3", "energy": "MWh"}

# unit -> (dimension, factor to the dimension's base unit, is_rate_per_hour)
_UNITS: dict[str, tuple[str, float, bool]] = {
    # mass, base t
    "t": ("mass", 1.0, False),
    "kg": ("mass", 1e-3, False),
    "kt": ("mass", 1e3, False),
    "t/h": ("mass", 1.0, True),
    "kg/h": ("mass", 1e-3, True),
    "kg/s": ("mass", 3.6, True),
    # volume, base m3
    "m3": ("volume", 1.0, False),
    "l": ("volume", 1e-3, False),
    "ml": ("volume", 1e-6, False),
    "m3/h": ("volume", 1.0, True),
    "l/s": ("volume", 3.6, True),
    "l/h": ("volume", 1e-3, True),
    # energy, base MWh
    "mwh": ("energy", 1.0, False),
    "kwh": ("energy", 1e-3, False),
    "gwh": ("energy", 1e3, False),
    "gj": ("energy", 1.0 / 3.6, False),
    "mj": ("energy", 1.0 / 3600.0, False),
    "tj": ("energy", 1000.0 / 3.6, False),
    "kw": ("energy", 1e-3, True),
    "mw": ("energy", 1.0, True),
    "gw": ("energy", 1e3, True),
}

# which dimensions each category accepts, with the factor into the base unit
_CATEGORY_DIMENSIONS = {
    "material": {"mass": 1.0},
    "water": {"volume": 1.0, "mass": 1.0},  # 1 t of water = 1 m3
    "energy": {"energy": 1.0},
}


def _key(unit: str) -> str:
    u = unit.strip()
    return u.lower() if u.lower() in _UNITS else u


def known_units(category: str | None = None) -> list[str]:
    """List the units accepted (for one category, or for all)."""
    out = []
    for u, (dim, _f, _r) in _UNITS.items():
        if category is None or dim in _CATEGORY_DIMENSIONS.get(category, {}):
            out.append({"mwh": "MWh", "kwh": "kWh", "gwh": "GWh", "gj": "GJ", "mj": "MJ",
                        "tj": "TJ", "kw": "kW", "mw": "MW", "gw": "GW"}.get(u, u))
    return out


def to_base_factor(unit: str, category: str, hours_per_year: float) -> float | None:
    """Factor turning one ``unit`` (per year, or per hour for a rate) into base units per year.

    Returns ``None`` when the unit is unknown or does not fit the category.
    """
    spec = _UNITS.get(str(unit).strip().lower())
    if spec is None:
        return None
    dim, factor, rate = spec
    dims = _CATEGORY_DIMENSIONS.get(category)
    if dims is None or dim not in dims:
        return None
    f = factor * dims[dim]
    if rate:
        f *= hours_per_year
    return f


def unit_factor_per_unit(unit: str, category: str) -> float | None:
    """Factor turning one ``unit`` into base units, ignoring any rate.

    Used to convert prices and emission factors given *per unit* (``cost`` per
    kg, say) into per base unit: a price per kg times 1000 is a price per t.
    For a rate unit (``t/h``) the per-unit amount is the amount unit (``t``).
    """
    spec = _UNITS.get(str(unit).strip().lower())
    if spec is None:
        return None
    dim, factor, _rate = spec
    dims = _CATEGORY_DIMENSIONS.get(category)
    if dims is None or dim not in dims:
        return None
    return factor * dims[dim]
