"""Units: every quantity is normalised to its category's base unit per year.

Base units: material ``t``, water ``m3``, energy ``MWh``. A rate unit (``t/h``,
``m3/h``, ``kW``, ``MW``, ``t/d``...) is an amount per hour (or per day) of
operation and is multiplied by ``hours_per_year`` (a day being 24 operating
hours). Water given in mass units is taken at 1 t = 1 m3. Unit names are case
insensitive; ``m³`` and ``m^3`` read as ``m3``, ``tonne(s)`` as ``t``, and a
yearly suffix (``t/a``, ``t/yr``, ``t/year``, ``MWh/a``) is the unit itself.
"""

from __future__ import annotations

__all__ = [
    "BASE_UNIT",
    "CATEGORIES",
    "UNIT_TABLE",
    "to_base_factor",
    "unit_factor_per_unit",
    "known_units",
    "canonical_unit",
]

CATEGORIES = ("material", "water", "energy")
BASE_UNIT = {"material": "t", "water": "m3", "energy": "MWh"}

#: unit -> (dimension, factor to the dimension's base unit, is a rate per hour)
UNIT_TABLE: dict[str, tuple[str, float, bool]] = {
    # mass, base t
    "t": ("mass", 1.0, False),
    "kg": ("mass", 1e-3, False),
    "kt": ("mass", 1e3, False),
    "t/h": ("mass", 1.0, True),
    "kg/h": ("mass", 1e-3, True),
    "kg/s": ("mass", 3.6, True),
    "t/d": ("mass", 1.0 / 24.0, True),
    # volume, base m3
    "m3": ("volume", 1.0, False),
    "l": ("volume", 1e-3, False),
    "ml": ("volume", 1e-6, False),
    "m3/h": ("volume", 1.0, True),
    "m3/d": ("volume", 1.0 / 24.0, True),
    "l/s": ("volume", 3.6, True),
    "l/h": ("volume", 1e-3, True),
    # energy, base MWh
    "MWh": ("energy", 1.0, False),
    "kWh": ("energy", 1e-3, False),
    "GWh": ("energy", 1e3, False),
    "GJ": ("energy", 1.0 / 3.6, False),
    "MJ": ("energy", 1.0 / 3600.0, False),
    "TJ": ("energy", 1000.0 / 3.6, False),
    "kW": ("energy", 1e-3, True),
    "MW": ("energy", 1.0, True),
    "GW": ("energy", 1e3, True),
    "GJ/h": ("energy", 1.0 / 3.6, True),
}
_BY_LOWER = {u.lower(): u for u in UNIT_TABLE}
_ALIASES = {"tonne": "t", "tonnes": "t", "tons": "t", "m^3": "m3", "m³": "m3", "litre": "l",
            "liter": "l", "litres": "l", "liters": "l"}
_YEARLY = ("/a", "/yr", "/year", "/y")

# which dimensions each category accepts, with the factor into the base unit
_CATEGORY_DIMENSIONS = {
    "material": {"mass": 1.0},
    "water": {"volume": 1.0, "mass": 1.0},  # 1 t of water = 1 m3
    "energy": {"energy": 1.0},
}


def canonical_unit(unit: str) -> str | None:
    """The spelling of ``unit`` in ``UNIT_TABLE`` (``"mwh/a"`` -> ``"MWh"``), or ``None``."""
    u = str(unit).strip().replace(" ", "").replace("³", "3").lower()
    for suffix in _YEARLY:
        if u.endswith(suffix) and len(u) > len(suffix):
            base = canonical_unit(u[: -len(suffix)])
            return base if base is not None and not UNIT_TABLE[base][2] else None
    for part_from, part_to in _ALIASES.items():
        if u == part_from:
            u = part_to
        elif u.startswith(part_from + "/"):
            u = part_to + u[len(part_from):]
    return _BY_LOWER.get(u)


def known_units(category: str | None = None) -> list[str]:
    """The units accepted (for one category, or for all)."""
    return [u for u, (dim, _f, _r) in UNIT_TABLE.items()
            if category is None or dim in _CATEGORY_DIMENSIONS.get(category, {})]


def _spec(unit: str, category: str) -> tuple[float, bool] | None:
    key = canonical_unit(unit)
    if key is None:
        return None
    dim, factor, rate = UNIT_TABLE[key]
    dims = _CATEGORY_DIMENSIONS.get(category)
    if dims is None or dim not in dims:
        return None
    return factor * dims[dim], rate


def to_base_factor(unit: str, category: str, hours_per_year: float) -> float | None:
    """Factor turning one ``unit`` (per year, or per hour for a rate) into base units per year.

    Returns ``None`` when the unit is unknown or does not fit the category.
    """
    spec = _spec(unit, category)
    if spec is None:
        return None
    factor, rate = spec
    return factor * hours_per_year if rate else factor


def unit_factor_per_unit(unit: str, category: str) -> float | None:
    """Factor turning one ``unit`` into base units, ignoring any rate.

    Used to convert prices and emission factors given *per unit* (``cost`` per
    kg, say) into per base unit: a price per kg times 1000 is a price per t.
    For a rate unit (``t/h``) the per-unit amount is the amount unit (``t``);
    for a per-day rate (``t/d``) it is also ``t``; for a power (``kW``, ``MW``)
    it is the energy delivered in one hour (``kWh``, ``MWh``).
    """
    key = canonical_unit(unit)
    spec = _spec(unit, category)
    if spec is None or key is None:
        return None
    factor, _rate = spec
    return factor * 24.0 if key.endswith("/d") else factor
