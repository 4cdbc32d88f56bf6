"""The world the synthetic-inventory generator draws from, and the templates built on it.

The data: the industry sectors (:class:`Sector`, :data:`SECTORS`: what a site
of each has and wants), the wastes every industry has, the provinces where the
parks lie (:data:`PROVINCES`), and the distributions the generator samples:
group shares, quantity scales, units, frequencies, seasons, virgin prices and
emissions, disposal costs, heat temperatures and water-quality limits.

:func:`_templates` turns them, with the built-in taxonomy and knowledge base,
into one row per (sector, resource kind) that :mod:`flowmatch.inputs.synth`
samples resources from.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from flowmatch.inputs.knowledge import builtin_exchanges
from flowmatch.inputs.taxonomy import builtin_taxonomy

__all__ = ["Sector", "SECTORS", "GENERIC_WASTES", "PROVINCES"]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class Sector:
    """An industry: what its sites have and want.

    Attributes
    ----------
    code, label : str
        NACE Rev.2 code (group level) and a name.
    weight : float
        Relative number of sites of this sector.
    size : float
        Scale of its quantities relative to an average site.
    ewc : tuple of str
        List of Wastes sub-chapters (``DDDD``) its wastes come from.
    haves : tuple of str
        Water, energy and by-product types it offers besides its wastes.
    wants : tuple of str
        Raw-material, water and energy types it takes.
    season : str
        Months of its campaign (``""``: all year); its haves follow it.
    """

    code: str
    label: str
    weight: float
    size: float
    ewc: tuple[str, ...]
    haves: tuple[str, ...] = ()
    wants: tuple[str, ...] = ()
    season: str = ""


SECTORS: tuple[Sector, ...] = (
    Sector("D35.1", "Coal-fired power and heat", 3.0, 20.0, ("1001",),
           ("energy:steam:lp", "energy:hot-water", "energy:flue-gas", "water:cooling:blowdown",
            "water:condensate", "water:effluent"),
           ("raw:fuel:coal", "raw:fuel:biomass", "raw:limestone", "water:cooling",
            "water:boiler-feed", "water:process")),
    Sector("C24.1", "Iron and steel", 2.0, 20.0, ("1002",),
           ("energy:fuel-gas:bfg", "energy:fuel-gas:cog", "energy:heat:high", "energy:steam:mp",
            "energy:hot-water", "water:effluent", "water:cooling:blowdown"),
           ("raw:iron-ore", "raw:steel-scrap", "raw:lime", "raw:fuel:coal", "water:cooling",
            "water:process", "water:desalinated", "energy:electricity")),
    Sector("C24.42", "Aluminium", 0.8, 8.0, ("1003",),
           ("energy:heat:medium", "water:effluent"),
           ("raw:aluminium", "raw:fuel", "water:cooling", "energy:electricity")),
    Sector("C24.4", "Copper, lead and zinc smelting", 0.8, 5.0, ("1004", "1005", "1006", "1008"),
           ("raw:sulphuric-acid", "energy:steam:lp", "water:effluent"),
           ("raw:copper", "raw:metals", "raw:fuel", "water:process")),
    Sector("C24.5", "Foundries", 1.2, 2.0, ("1009", "1010"),
           ("energy:heat:medium",),
           ("raw:steel-scrap", "raw:metals", "raw:sand", "water:cooling")),
    Sector("C23.5", "Cement and lime", 1.5, 15.0, ("1013",),
           ("energy:heat:medium", "energy:flue-gas"),
           ("raw:cement-additive", "raw:cement-clinker", "raw:gypsum", "raw:fuel:rdf", "raw:fuel",
            "raw:limestone", "raw:clay", "water:process", "energy:electricity")),
    Sector("C23.6", "Concrete, plaster and building products", 1.5, 4.0, ("1013", "1708"),
           (),
           ("raw:gypsum", "raw:aggregate", "raw:sand", "raw:cement-additive", "raw:cement",
            "water:process", "energy:steam:lp")),
    Sector("C23.3", "Bricks and ceramics", 1.2, 3.0, ("1012",),
           ("energy:flue-gas",),
           ("raw:clay", "raw:bricks", "raw:fuel", "raw:sand", "energy:heat:medium")),
    Sector("C23.1", "Glass", 0.7, 4.0, ("1011",),
           ("energy:flue-gas",),
           ("raw:glass", "raw:sand", "raw:lime", "energy:fuel-gas")),
    Sector("C19.2", "Petroleum refining", 0.6, 15.0, ("0501",),
           ("raw:sulphur", "energy:steam:lp", "energy:heat:medium", "energy:fuel-gas",
            "water:effluent"),
           ("raw:chemicals", "water:process", "water:boiler-feed", "water:cooling",
            "energy:steam:mp")),
    Sector("C20.1", "Basic chemicals", 2.5, 6.0,
           ("0601", "0602", "0603", "0605", "0607", "0613", "0701", "0702"),
           ("raw:co2", "energy:steam:lp", "energy:heat:medium", "energy:hot-water",
            "water:effluent"),
           ("raw:chemicals", "raw:sulphuric-acid", "raw:ammonia", "raw:lime", "raw:salt",
            "raw:sulphur", "water:process", "water:demineralised", "water:cooling",
            "energy:steam:mp", "energy:steam:lp")),
    Sector("C20.15", "Fertilisers", 0.8, 5.0, ("0609", "0610"),
           ("energy:steam:lp", "energy:heat:medium", "water:effluent"),
           ("raw:sulphur", "raw:sulphuric-acid", "raw:ammonia", "raw:soil-conditioner",
            "water:process", "energy:steam:mp")),
    Sector("C20.3", "Paints, coatings and fine chemicals", 1.2, 1.5,
           ("0703", "0704", "0706", "0707", "0801", "0802", "0803", "0804"),
           ("water:effluent", "energy:hot-water"),
           ("raw:solvent", "raw:chemicals", "water:process", "energy:steam:lp")),
    Sector("C21.1", "Pharmaceuticals", 0.8, 1.0, ("0705",),
           ("water:effluent",),
           ("raw:solvent", "raw:chemicals", "water:demineralised", "energy:steam:lp")),
    Sector("C22.2", "Plastics and rubber products", 1.8, 1.0, ("0702",),
           ("energy:hot-water",),
           ("raw:plastics", "raw:rubber", "water:cooling", "energy:electricity")),
    Sector("C17.1", "Pulp and paper", 1.2, 8.0, ("0303",),
           ("energy:steam:lp", "energy:hot-water", "water:effluent"),
           ("raw:paper-pulp", "raw:paper", "raw:fuel:biomass", "raw:lime", "water:process",
            "energy:steam:mp")),
    Sector("C16.2", "Wood products and panels", 1.2, 2.0, ("0301",),
           (),
           ("raw:wood", "raw:wood-panel", "raw:fuel:biomass", "energy:heat:medium")),
    Sector("C13.3", "Textile dyeing and finishing", 1.8, 2.0, ("0402",),
           ("water:effluent", "energy:hot-water"),
           ("raw:textiles", "water:process", "energy:steam:lp", "energy:hot-water")),
    Sector("C15.1", "Leather tanning", 0.4, 1.0, ("0401",),
           ("water:effluent",),
           ("raw:chemicals", "water:process", "energy:hot-water")),
    Sector("C10.8", "Cane sugar", 0.6, 8.0, ("0204",),
           ("raw:molasses", "energy:steam:lp", "water:condensate", "water:effluent"),
           ("raw:lime", "raw:sugar", "raw:fuel:biomass", "water:process", "energy:steam:lp"),
           season="11-4"),
    Sector("C11.0", "Breweries, distilleries and beverages", 1.2, 3.0, ("0207",),
           ("raw:yeast", "energy:hot-water", "energy:fuel-gas:biogas", "water:effluent"),
           ("raw:filter-aid", "raw:ethanol-feedstock", "raw:molasses", "raw:co2", "water:process",
            "energy:steam:lp")),
    Sector("C10.1", "Food processing", 2.5, 1.5, ("0202", "0203", "0205", "0206"),
           ("water:effluent", "energy:hot-water"),
           ("raw:sugar", "water:process", "energy:steam:lp", "energy:hot-water")),
    Sector("C10.9", "Animal feed", 0.6, 3.0, ("0203",),
           (),
           ("raw:animal-feed", "energy:steam:lp")),
    Sector("A01.1", "Agriculture and livestock", 1.2, 3.0, ("0201",),
           (),
           ("raw:fertiliser", "raw:soil-conditioner", "raw:animal-feed", "water:reclaimed"),
           season="6-10"),
    Sector("C25.6", "Metal products and surface treatment", 2.5, 1.0,
           ("1201", "1101", "1105", "1301", "1302"),
           ("water:effluent",),
           ("raw:metals", "water:process", "energy:heat:low")),
    Sector("C29.1", "Vehicles and parts", 1.2, 2.0, ("1201", "0801", "1602"),
           ("energy:hot-water",),
           ("raw:metals", "raw:plastics", "water:process", "energy:hot-water")),
    Sector("C26.1", "Electronics", 1.2, 1.0, ("1602", "1101"),
           ("water:effluent",),
           ("water:demineralised", "raw:chemicals")),
    Sector("E37.0", "Sewage treatment", 0.8, 10.0, ("1908",),
           ("water:reclaimed", "water:effluent", "energy:fuel-gas:biogas"),
           ("energy:electricity", "raw:chemicals")),
    Sector("E38.2", "Waste treatment and recovery", 1.2, 5.0, ("1912", "1901", "2001", "2003"),
           ("energy:steam:lp",),
           ("water:process", "energy:electricity")),
    Sector("B08.1", "Quarrying and mining", 0.5, 8.0, ("0101", "0104"),
           (),
           ("water:process", "raw:fuel", "energy:electricity")),
    Sector("F41.2", "Construction", 0.8, 4.0, ("1701", "1702", "1704", "1705", "1708", "1709"),
           (),
           ("raw:aggregate", "raw:sand", "raw:cement", "raw:bricks", "water:process")),
)

#: Wastes every industry has a little of (packaging, oils, office and canteen waste).
GENERIC_WASTES = ("ewc:150101", "ewc:150102", "ewc:150103", "ewc:150104", "ewc:150107",
                  "ewc:150110", "ewc:150202", "ewc:130205", "ewc:200301", "ewc:200108",
                  "ewc:170405", "ewc:160601", "ewc:080111", "ewc:200121")

#: (province, lat, lon, share of industrial output, spread of its parks in degrees)
PROVINCES: tuple[tuple[str, float, float, float, float], ...] = (
    ("Guangdong", 23.1, 113.4, 11.0, 1.0), ("Jiangsu", 32.6, 119.6, 11.0, 1.0),
    ("Shandong", 36.3, 118.3, 8.0, 1.2), ("Zhejiang", 29.5, 120.2, 7.0, 0.9),
    ("Henan", 34.0, 113.7, 5.0, 1.0), ("Fujian", 25.9, 118.3, 4.5, 0.9),
    ("Hebei", 38.3, 115.5, 4.0, 1.2), ("Hubei", 30.9, 113.0, 4.0, 1.2),
    ("Sichuan", 30.6, 104.1, 4.0, 1.2), ("Hunan", 27.9, 112.5, 3.5, 1.0),
    ("Anhui", 31.8, 117.2, 3.5, 1.0), ("Shanghai", 31.2, 121.5, 3.0, 0.25),
    ("Liaoning", 41.3, 122.6, 2.5, 1.2), ("Jiangxi", 28.0, 115.8, 2.5, 1.0),
    ("Shaanxi", 34.8, 108.9, 2.5, 1.0), ("Chongqing", 29.6, 106.5, 2.0, 0.4),
    ("Tianjin", 39.1, 117.3, 2.0, 0.25), ("Inner Mongolia", 40.8, 111.7, 2.0, 2.0),
    ("Shanxi", 37.6, 112.4, 2.0, 1.0), ("Guangxi", 23.5, 108.8, 2.0, 1.2),
    ("Beijing", 39.9, 116.4, 1.5, 0.25), ("Yunnan", 25.0, 102.7, 1.5, 1.2),
    ("Guizhou", 26.6, 106.7, 1.2, 1.0), ("Xinjiang", 43.8, 87.6, 1.2, 2.0),
    ("Jilin", 43.9, 125.3, 1.0, 1.0), ("Heilongjiang", 45.8, 126.5, 1.0, 1.5),
    ("Gansu", 36.1, 103.8, 0.8, 1.2), ("Ningxia", 38.5, 106.3, 0.5, 0.5),
    ("Hainan", 20.0, 110.3, 0.3, 0.5), ("Qinghai", 36.6, 101.8, 0.3, 0.8),
)

# share of a site's resources in each (role, category) group; a sector without
# templates in a group gives its share to the others
_GROUP_SHARE = {
    ("have", "material"): 0.30, ("have", "generic"): 0.12, ("have", "water"): 0.08,
    ("have", "energy"): 0.07, ("want", "material"): 0.25, ("want", "water"): 0.10,
    ("want", "energy"): 0.08,
}
# median yearly amount in base units (t, m3, MWh) of an average site's resource
_MEDIAN = {("have", "material"): 400.0, ("want", "material"): 1500.0,
           ("have", "water"): 8e4, ("want", "water"): 8e4,
           ("have", "energy"): 1.5e4, ("want", "energy"): 8e3}
_SIGMA = 1.2
_KB_HAVE_BOOST = 8.0  # wastes the knowledge base knows are that much more frequent
_KB_WANT_BOOST = 3.0
_HAZARDOUS_SHARE = 0.4  # hazardous codes are about half the List but far fewer of the streams

# units by category: (unit, probability)
_UNITS = {
    "material": (("t", 0.8), ("kg", 0.1), ("t/h", 0.1)),
    "water": (("m3", 0.75), ("m3/h", 0.2), ("l", 0.05)),
    "energy": (("MWh", 0.6), ("GJ", 0.25), ("MW", 0.1), ("kWh", 0.05)),
}
_FREQUENCIES = ("continuous", "daily", "weekly", "monthly", "quarterly", "yearly", "batch")
_FREQ_P = {
    ("have", "material"): (0.35, 0.2, 0.2, 0.13, 0.04, 0.03, 0.05),
    ("want", "material"): (0.55, 0.15, 0.15, 0.1, 0.03, 0.02, 0.0),
    "flow": (0.9, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0),
}
_SEASONS = ("4-9", "5-10", "11-2", "10-3", "3-11", "6-8", "1-6", "7-12")
_WINTER = "11-3"  # space heating

# virgin price (CNY per base unit) and kg CO2e per base unit of wanted inputs,
# looked up through the type's ancestors
_VIRGIN = {
    "raw": (500.0, 300.0), "raw:gypsum": (110.0, 50.0), "raw:cement-clinker": (330.0, 850.0),
    "raw:cement": (400.0, 620.0), "raw:cement-additive": (150.0, 100.0),
    "raw:aggregate": (60.0, 5.0), "raw:sand": (80.0, 5.0), "raw:limestone": (70.0, 10.0),
    "raw:clay": (40.0, 5.0), "raw:bricks": (50.0, 20.0), "raw:fuel": (800.0, 2500.0),
    "raw:fuel:coal": (900.0, 2600.0), "raw:fuel:biomass": (400.0, 100.0),
    "raw:fuel:rdf": (150.0, 800.0), "raw:fuel:oil": (4000.0, 3200.0),
    "raw:fertiliser": (2500.0, 1200.0), "raw:soil-conditioner": (600.0, 100.0),
    "raw:animal-feed": (2500.0, 700.0), "raw:paper-pulp": (4000.0, 900.0),
    "raw:wood": (1200.0, 100.0), "raw:activated-carbon": (3000.0, 1500.0),
    "raw:sugar": (5500.0, 500.0), "raw:molasses": (1000.0, 300.0),
    "raw:ethanol-feedstock": (1500.0, 400.0), "raw:yeast": (8000.0, 500.0),
    "raw:sulphur": (1000.0, 200.0), "raw:sulphuric-acid": (300.0, 150.0),
    "raw:lime": (450.0, 1000.0), "raw:iron-ore": (800.0, 1800.0),
    "raw:steel-scrap": (2800.0, 1800.0), "raw:aluminium": (14000.0, 11000.0),
    "raw:copper": (50000.0, 4000.0), "raw:metals": (5000.0, 3000.0),
    "raw:plastics": (6000.0, 2000.0), "raw:rubber": (8000.0, 2500.0),
    "raw:glass": (400.0, 600.0), "raw:paper": (1800.0, 1000.0),
    "raw:textiles": (8000.0, 5000.0), "raw:solvent": (6000.0, 2000.0),
    "raw:oil": (4000.0, 3000.0), "raw:filter-aid": (2500.0, 600.0),
    "raw:chemicals": (3000.0, 1500.0), "raw:salt": (300.0, 100.0),
    "raw:ammonia": (3000.0, 2100.0), "raw:co2": (300.0, 0.0),
    "water": (4.0, 0.3), "water:boiler-feed": (12.0, 1.0), "water:demineralised": (15.0, 1.5),
    "water:desalinated": (8.0, 3.0), "water:cooling": (3.5, 0.3),
    "energy": (220.0, 250.0), "energy:electricity": (600.0, 580.0),
    "energy:fuel-gas": (250.0, 200.0), "energy:hot-water": (180.0, 220.0),
}
# (disposal cost per base unit, kg CO2e per base unit, route) of haves by category
_DISPOSAL = {"material": (40.0, 20.0, "landfill"), "water": (3.0, 0.5, "discharge"),
             "energy": (15.0, 5.0, "dissipated")}
_HAZ_DISPOSAL = (2500.0, 400.0, "incineration")

# heat: type -> (lowest, highest temperature in C, form: 1 level, 2 stream)
_HEAT = {
    "energy:steam": (150.0, 250.0, 1), "energy:steam:hp": (400.0, 540.0, 1),
    "energy:steam:mp": (200.0, 300.0, 1), "energy:steam:lp": (120.0, 180.0, 1),
    "energy:heat": (80.0, 200.0, 1), "energy:heat:high": (250.0, 600.0, 2),
    "energy:heat:medium": (100.0, 250.0, 2), "energy:heat:low": (40.0, 95.0, 2),
    "energy:hot-water": (60.0, 95.0, 2), "energy:flue-gas": (150.0, 400.0, 2),
}
# how strict a water want's contaminant limits are (multiplies the accepted maximum)
_WATER_STRICT = {"water:boiler-feed": 0.05, "water:demineralised": 0.02,
                 "water:cooling": 1.5, "water:reclaimed": 2.0}

_CATEGORIES = ("material", "water", "energy")


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class _Templates:
    """One row per (sector, resource kind), sorted by sector, as arrays."""

    sector: np.ndarray      # int, index into SECTORS
    have: np.ndarray        # bool
    category: np.ndarray    # int, index into _CATEGORIES
    type: np.ndarray        # object
    cdf: np.ndarray         # float: sector index + cumulative share within the sector
    median: np.ndarray      # float, base units per year
    cost: np.ndarray        # float, per base unit
    co2: np.ndarray         # float, per base unit
    hazardous: np.ndarray   # bool
    heat_lo: np.ndarray     # float, NaN when not heat
    heat_hi: np.ndarray
    heat_form: np.ndarray   # int 0 none, 1 level, 2 stream
    water_strict: np.ndarray
    seasonal: np.ndarray    # int: 0 all year, 1 the sector's season, 2 winter
    generic: np.ndarray     # bool


def _split_codes(text: object) -> list[str]:
    if not isinstance(text, str):
        return []
    return [c for c in re.split(r"[;,|\s]+", text.strip()) if c]


def _sector_matches(code: str, wanted: list[str]) -> bool:
    return any(code.startswith(w) or w.startswith(code) for w in wanted)


def _lookup(table: dict, ancestors: list[str], default):
    for a in ancestors:
        if a in table:
            return table[a]
    return default


@lru_cache(maxsize=1)
def _templates() -> _Templates:
    """Build the resource templates from ``SECTORS``, the taxonomy and the knowledge base."""
    tax = builtin_taxonomy()
    kb = builtin_exchanges()
    kb_haves = set(kb["have_type"])
    ewc_codes = [t for t in tax.table.index.tolist() if t.startswith("ewc:") and len(t) == 10]
    by_sub: dict[str, list[str]] = {}
    for t in ewc_codes:
        by_sub.setdefault(t[4:8], []).append(t)
    kb_wants_by_row = list(zip(kb["want_type"], kb["want_sectors"] if "want_sectors" in kb
                               else [None] * len(kb), strict=True))

    # knowledge-base wastes no sector produces go to the waste-recovery sector
    produced = {t for s in SECTORS for sub in s.ewc for t in by_sub.get(sub, [])}
    produced |= {t for s in SECTORS for t in s.haves} | set(GENERIC_WASTES)
    orphans = sorted(t for t in kb_haves if t not in produced and t in tax
                     and t.startswith("ewc:"))
    if orphans:
        log.debug("knowledge-base have types given to waste recovery: %s", orphans)

    rows: list[tuple] = []  # (sector, role, group, type, weight)
    for si, s in enumerate(SECTORS):
        group_rows: dict[tuple[str, str], list[tuple[str, float]]] = {}
        for sub in s.ewc:
            for t in by_sub.get(sub, []):
                w = _KB_HAVE_BOOST if t in kb_haves else (0.5 if t.endswith("99") else 1.0)
                w *= _HAZARDOUS_SHARE if tax.hazardous(t) else 1.0
                group_rows.setdefault(("have", "material"), []).append((t, w))
        if s.code.startswith("E38"):
            group_rows.setdefault(("have", "material"), []).extend((t, _KB_HAVE_BOOST) for t in orphans)
        for t in s.haves:
            cat = _category_of(t)
            w = (4.0 if t in kb_haves else 2.0) if cat == "material" else 1.0
            group_rows.setdefault(("have", cat), []).append((t, w))
        group_rows[("have", "generic")] = [(t, _HAZARDOUS_SHARE if tax.hazardous(t) else 1.0)
                                           for t in GENERIC_WASTES]
        wants = {t: 1.0 for t in s.wants}
        for wt, sectors in kb_wants_by_row:
            if wt in tax and _sector_matches(s.code, _split_codes(sectors)):
                wants[wt] = _KB_WANT_BOOST
        for t, w in wants.items():
            group_rows.setdefault(("want", _category_of(t)), []).append((t, w))
        total_share = sum(_GROUP_SHARE[g] for g in group_rows if group_rows[g])
        for g, items in group_rows.items():
            wsum = sum(w for _t, w in items)
            for t, w in items:
                rows.append((si, g[0], g[1], t, _GROUP_SHARE[g] * w / wsum / total_share))

    unknown = sorted({r[3] for r in rows if r[3] not in tax})
    if unknown:  # a programming error in SECTORS, caught by the tests
        raise ValueError(f"synth templates use types the taxonomy lacks: {unknown}")

    n = len(rows)
    sector = np.array([r[0] for r in rows], dtype=np.int64)
    have = np.array([r[1] == "have" for r in rows])
    generic = np.array([r[2] == "generic" for r in rows])
    types = np.array([r[3] for r in rows], dtype=object)
    category = np.array([_CATEGORIES.index(_category_of(t)) for t in types], dtype=np.int64)
    weight = np.array([r[4] for r in rows])
    cdf = np.empty(n)
    for si in range(len(SECTORS)):
        sel = sector == si
        cdf[sel] = si + np.cumsum(weight[sel])
        cdf[np.flatnonzero(sel)[-1]] = si + 1.0
    size = np.array([SECTORS[si].size for si in sector])
    hazardous = np.array([bool(tax.hazardous(t)) for t in types])
    median = np.array([_MEDIAN[("have" if h else "want", _CATEGORIES[c])] for h, c in zip(have, category, strict=True)])
    median = median * np.where(generic, 0.1, size) * np.where(hazardous, 0.2, 1.0)
    cost = np.empty(n)
    co2 = np.empty(n)
    heat = np.zeros((n, 3))
    heat[:, :2] = np.nan
    strict = np.ones(n)
    seasonal = np.zeros(n, dtype=np.int64)
    for i, t in enumerate(types):
        anc = tax.ancestors(t)
        cat = _CATEGORIES[category[i]]
        if have[i]:
            cost[i], co2[i], _r = _HAZ_DISPOSAL if hazardous[i] else _DISPOSAL[cat]
        else:
            cost[i], co2[i] = _lookup(_VIRGIN, anc, _VIRGIN[cat if cat != "material" else "raw"])
        if cat == "energy":
            heat[i] = _lookup(_HEAT, anc, (np.nan, np.nan, 0))
            if not have[i] and heat[i, 2] > 0 and heat[i, 1] < 200:
                seasonal[i] = 2  # low-grade heat wants are mostly space heating
        if cat == "water" and not have[i]:
            strict[i] = _lookup(_WATER_STRICT, anc, 1.0)
        if have[i] and not generic[i] and SECTORS[sector[i]].season:
            seasonal[i] = 1
    return _Templates(sector, have, category, types, cdf, median, cost, co2, hazardous,
                      heat[:, 0], heat[:, 1], heat[:, 2].astype(np.int64), strict, seasonal, generic)


def _category_of(type_code: str) -> str:
    root = type_code.split(":", 1)[0]
    return root if root in ("water", "energy") else "material"
