"""The inventory's tables and columns, as data (one place the reader, the docs
and the generator all read).

Each table lists its columns: name, kind, whether it is required, and what it
means. Kinds: ``id`` (non-empty string), ``str``, ``float``, ``bool``,
``enum:a|b|c``, ``months``. Range checks live beside the kind.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Column", "Table", "TABLES", "FREQUENCIES", "ROLES"]

ROLES = ("have", "want")
FREQUENCIES = ("continuous", "daily", "weekly", "monthly", "quarterly", "yearly", "batch")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    lo: float | None = None
    hi: float | None = None
    doc: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    required: bool
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    doc: str = ""

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "sites", True,
            (
                Column("site_id", "id", True, doc="unique id of a company site"),
                Column("name", "str", doc="display name"),
                Column("park", "str", doc="industrial park the site belongs to"),
                Column("sector", "str", doc="ISIC Rev.4 / NACE code or a label"),
                Column("lat", "float", True, -90.0, 90.0, "WGS84 latitude, degrees"),
                Column("lon", "float", True, -180.0, 180.0, "WGS84 longitude, degrees"),
            ),
            key=("site_id",),
        ),
        Table(
            "resources", True,
            (
                Column("resource_id", "id", True, doc="unique id"),
                Column("site_id", "id", True, doc="a sites.site_id"),
                Column("role", "enum:have|want", True),
                Column("category", "enum:material|water|energy", True),
                Column("type", "id", True, doc="a type code"),
                Column("quantity", "float", True, 0.0, None, "amount per year (per hour or day for a rate unit)"),
                Column("unit", "id", True, doc="t, kg, m3, l, MWh, GJ, kWh, or a rate t/h, t/d, m3/h, m3/d, kW, MW (see units.py)"),
                Column("frequency", "enum:" + "|".join(FREQUENCIES)),
                Column("months", "months", doc="e.g. 1-12, 4-9, 11-2"),
                Column("max_distance_km", "float", False, 0.0, None),
                Column("cost", "float", doc="have: disposal cost per unit; want: virgin price per unit"),
                Column("co2", "float", doc="kg CO2e per unit of disposal (have) or virgin input (want)"),
                Column("route", "str", doc="have: today's fate"),
                Column("hazardous", "bool", doc="have: is hazardous; want: licensed to take hazardous input"),
                Column("byproduct", "bool", doc="have: classified as a by-product (lower fixed synergy cost)"),
                Column("capex", "float", False, 0.0, None, "have: capital (currency, once) needed to use it in a "
                       "synergy (a dryer, a treatment unit), annualised over lifetime_years at discount_rate, "
                       "charged on each direct synergy and on the milk round collecting it"),
                Column("lifetime_years", "float", False, 0.001, None, "have: years the capex serves "
                       "(default: capex_lifetime_years)"),
                Column("storage_m3", "float", False, 0.0, None, "water have: volume of a tank that holds "
                       "its water for later months or buffers its batches (see docs/cascades.md)"),
                Column("name", "str", doc="free-text name, English or Chinese (flowmatch suggest reads it)"),
                Column("description", "str", doc="free-text description, English or Chinese"),
            ),
            key=("resource_id",),
        ),
        Table(
            "properties", False,
            (
                Column("resource_id", "id", True),
                Column("property", "id", True),
                Column("value", "float"),
                Column("min", "float"),
                Column("max", "float"),
                Column("limit", "enum:hard|soft", doc="want: the range is a hard limit or a preference "
                       "(default: flowmatch/data/properties.csv)"),
            ),
            key=("resource_id", "property"),
        ),
        Table(
            "types", False,
            (
                Column("type", "id", True),
                Column("parent", "str"),
                Column("label", "str"),
                Column("hazardous", "bool"),
            ),
            key=("type",),
        ),
        Table(
            "compatibility", False,
            (
                Column("have_type", "id", True),
                Column("want_type", "id", True),
                Column("score", "float", True, 0.0, 1.0),
                Column("source", "str"),
            ),
            key=("have_type", "want_type"),
        ),
        Table(
            "evidence", False,
            (
                Column("have_type", "id", True, doc="the have's type code"),
                Column("want_type", "id", True, doc="the want's type code"),
                Column("completed", "float", False, 0.0, None,
                       doc="synergies of this pair the programme completed"),
                Column("abandoned", "float", False, 0.0, None,
                       doc="synergies of this pair the programme abandoned"),
                Column("abandon_reasons", "str", doc="why they were abandoned, ';'-separated"),
                Column("programme", "str", doc="the programme (registry park) the record comes from"),
            ),
            key=("have_type", "want_type", "programme"),
            doc="a programme's record of exchanges (flowmatch registry learn writes it)",
        ),
        Table(
            "distances", False,
            (
                Column("from_site", "id", True),
                Column("to_site", "id", True),
                Column("km", "float", True, 0.0, None),
            ),
            key=("from_site", "to_site"),
        ),
        Table(
            "rules", False,
            (
                Column("rule_id", "id", True, doc="unique id of the rule, named in plans and errors"),
                Column("action", "enum:forbid|force|cap|min_size", True,
                       doc="forbid, force, cap or min_size the flows from have to want"),
                Column("have", "id", True,
                       doc="a have's resource_id, a type code (ewc:10 takes the whole chapter), site:ID or *"),
                Column("want", "id", True,
                       doc="a want's resource_id, a type code, site:ID or *"),
                Column("value", "float", False, 0.0, None,
                       doc="t, m3 or MWh a year: the cap, the minimum size, or the least a force moves"),
                Column("reason", "str", doc="why the rule holds (shown in the plan)"),
                Column("capex", "float", False, 0.0, None,
                       doc="capital (currency, once) the rule's flows need built (a treatment unit), "
                           "annualised at discount_rate and paid once when any flow it covers runs"),
                Column("lifetime_years", "float", False, 0.001, None,
                       doc="years the rule's capex serves (default: capex_lifetime_years)"),
            ),
            key=("rule_id",),
            doc="expert rules the optimiser obeys",
        ),
    ]
}
