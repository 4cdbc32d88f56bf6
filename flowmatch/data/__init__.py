"""Data shipped with flowmatch, read through ``importlib.resources``.

``ewc_codes.csv`` (the List of Wastes with hazardous flags), ``types.csv``
(built-in water, energy and raw-material types), ``exchanges.csv`` (the
knowledge base of documented exchanges, each with its source),
``properties.csv`` (the properties flowmatch knows: unit, hard or soft limit, reason),
``nace_divisions.csv`` (sector names for the gap analysis),
``cn_hazardous_waste.csv`` and ``cn_solid_waste.csv`` (China's waste codes with
their EWC mappings; sources in ``docs/codes.md``), ``labels_zh.csv`` (Chinese
labels of built-in types), ``type_synonyms.csv`` (common names that
``flowmatch suggest`` searches), ``water_classes.csv``
and ``water_limits.csv`` (which water type may feed which, and a water sink
type's default limits, each row citing its standard), and ``report.css``
/ ``report.js`` (the report page's own style and script), and ``basemap.geojson``
(the report map's offline base layer: Natural Earth 1:50m country outlines and
the states and provinces it has at that scale, public domain; made by
``docs/make_basemap.py``).
"""

from __future__ import annotations

from importlib import resources as _resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["data_text", "data_table"]


def data_text(name: str) -> str:
    """The text of the shipped data file ``name`` (UTF-8)."""
    return _resources.files("flowmatch.data").joinpath(name).read_text(encoding="utf-8")


def data_table(name: str, blanks_as_text: bool = True) -> pd.DataFrame:
    """The shipped CSV ``name``, every cell as text; empty cells as ``""`` (or NaN)."""
    import pandas as pd

    with _resources.files("flowmatch.data").joinpath(name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=not blanks_as_text)
