"""China's waste codes as types: the National Hazardous Waste List and the
general industrial solid waste classes.

Two data tables in ``flowmatch/data`` (see ``docs/codes.md`` for their sources):

* ``cn_hazardous_waste.csv``: the categories ``HW01`` .. ``HW50`` of the
  National Hazardous Waste List (国家危险废物名录, 2021 edition, MEE Order
  No. 15) and all 467 of its 8-digit codes (``900-249-08``), each with its
  industry source, a Chinese and an English label, the hazard characteristics
  (T toxicity, C corrosivity, I ignitability, R reactivity, In infectivity) and
  the List of Wastes (EWC) code it maps to;
* ``cn_solid_waste.csv``: the general industrial solid waste classes
  (``SW01`` .. ``SW59``), with labels, examples and the EWC code they map to.

In the taxonomy each code is a type, ``cnhw:HW08``, ``cnhw:900-249-08`` or
``cnsw:SW06``, whose parent is the EWC type it maps to. A Chinese code thus
inherits everything the knowledge base documents for its EWC code (and the
EWC code's sub-chapter and chapter) through :meth:`Taxonomy.ancestors
<flowmatch.inputs.taxonomy.Taxonomy.ancestors>`, like any other sub-type.
Hazardous-list codes are hazardous, solid-waste classes are not, whatever the
EWC code says. A want of a category (``cnhw:HW08``, a facility licensed for
HW08) takes every code of that category: :func:`cn_category_exchanges` adds
those pairs to the merged knowledge base.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from flowmatch.data import data_table

__all__ = ["HW_PREFIX", "SW_PREFIX", "cn_hazardous_waste", "cn_solid_waste", "cn_type_rows", "cn_labels_zh",
           "cn_category_exchanges"]

HW_PREFIX = "cnhw:"
SW_PREFIX = "cnsw:"


@lru_cache(maxsize=1)
def _hw() -> pd.DataFrame:
    t = data_table("cn_hazardous_waste.csv")
    t.insert(0, "type", HW_PREFIX + t["code"])
    return t


@lru_cache(maxsize=1)
def _sw() -> pd.DataFrame:
    t = data_table("cn_solid_waste.csv")
    t.insert(0, "type", SW_PREFIX + t["code"])
    return t


def cn_hazardous_waste() -> pd.DataFrame:
    """A copy of the hazardous waste table with its ``type`` (``cnhw:...``) first.

    Columns: ``type, code, category, industry, industry_zh, industry_en,
    label_zh, label_en, ewc, hazard``. Category rows (``HW08``) have an empty
    ``industry``.
    """
    return _hw().copy()


def cn_solid_waste() -> pd.DataFrame:
    """A copy of the general industrial solid waste table with its ``type`` (``cnsw:...``) first.

    Columns: ``type, code, label_zh, label_en, ewc, examples_zh, examples_en``.
    """
    return _sw().copy()


def cn_type_rows() -> pd.DataFrame:
    """Taxonomy rows (``type, parent, label, hazardous``) of every Chinese code.

    The parent is the mapped EWC type; the label is the English one (the
    type code says the code).
    """
    hw, sw = _hw(), _sw()
    rows = [
        pd.DataFrame({"type": hw["type"], "parent": hw["ewc"], "label": hw["label_en"], "hazardous": True}),
        pd.DataFrame({"type": sw["type"], "parent": sw["ewc"], "label": sw["label_en"], "hazardous": False}),
    ]
    return pd.concat(rows, ignore_index=True)


def cn_labels_zh() -> dict[str, str]:
    """Chinese label of every Chinese code's type."""
    hw, sw = _hw(), _sw()
    out = dict(zip(hw["type"], hw["label_zh"], strict=True))
    out.update(zip(sw["type"], sw["label_zh"], strict=True))
    return out


#: the source of the rows of :func:`cn_category_exchanges`
CATEGORY_SOURCE = ("Same category of the National Hazardous Waste List (2021 edition, MEE Order No. 15): "
                   "hazardous waste operating permits name the categories a facility may take")


def cn_category_exchanges() -> pd.DataFrame:
    """Knowledge-base rows saying that each 8-digit code serves a want of its own category.

    A want of ``cnhw:HW08`` (a facility licensed for HW08) takes every HW08
    code at score 1, although in the taxonomy the code sits under its EWC code,
    not under its category. ``want_sectors`` is NACE E38.22 (treatment and
    disposal of hazardous waste).
    """
    hw = _hw()
    codes = hw[hw["industry"] != ""]
    return pd.DataFrame({"have_type": codes["type"].to_numpy(), "want_type": HW_PREFIX + codes["category"].to_numpy(),
                         "score": 1.0, "source": CATEGORY_SOURCE, "want_sectors": "E38.22"})
