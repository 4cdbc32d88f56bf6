"""Which property ranges are hard limits and which are preferences, as data.

``flowmatch/data/properties.csv`` lists the properties flowmatch knows: name,
unit, ``limit`` (``hard``: a want's range excludes a have outside it, e.g. a
temperature or a heavy metal; ``soft``: it lowers ``s_quality``, e.g.
moisture; ``cost``: not a quality at all, e.g. ``opportunity_cost``) and the
reason, with its source. A user's ``properties`` row may say ``limit`` =
``hard`` or ``soft`` to override the default for that want's range.

Water contaminants (names ending in ``_ppm`` or ``_mg_l``) not listed are
known and soft: a source dirtier than a sink's maximum may still serve it
mixed with fresh water, which the water network checks. Any other property
not listed is soft.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from flowmatch.data import data_table

__all__ = ["builtin_properties", "default_limit", "is_known", "known_names", "hard_mask",
           "LIMITS", "CONTAMINANT_SUFFIXES"]

LIMITS = ("hard", "soft", "cost")
#: Suffixes of water contaminant concentrations (as ``flowmatch.milp.water`` reads them).
CONTAMINANT_SUFFIXES = ("_ppm", "_mg_l")


@lru_cache(maxsize=1)
def _builtin() -> pd.DataFrame:
    df = data_table("properties.csv")
    df["property"] = df["property"].str.strip().str.lower()
    return df


def builtin_properties() -> pd.DataFrame:
    """A copy of the built-in property table (property, unit, limit, reason)."""
    return _builtin().copy()


def known_names() -> list[str]:
    """Names of the built-in properties."""
    return _builtin()["property"].tolist()


def is_known(name: str) -> bool:
    """A built-in property or a water contaminant concentration."""
    n = str(name).lower()
    return n in set(known_names()) or n.endswith(CONTAMINANT_SUFFIXES)


@lru_cache(maxsize=1)
def _limits() -> dict[str, str]:
    """Property name -> its built-in limit (the first row of a name, as listed)."""
    df = _builtin().drop_duplicates("property", keep="first")
    return dict(zip(df["property"], df["limit"].astype(str), strict=True))


def default_limit(name: str) -> str:
    """``hard``, ``soft`` or ``cost`` for a property name (unlisted names are soft)."""
    return _limits().get(str(name).lower(), "soft")


def hard_mask(props: pd.DataFrame) -> np.ndarray:
    """For each row of a ``properties`` table: is its range a hard limit?

    The row's ``limit`` (``hard``/``soft``) when given, else the built-in default.
    """
    if len(props) == 0:
        return np.zeros(0, dtype=bool)
    names = props["property"]
    hard = {p: default_limit(p) == "hard" for p in pd.unique(names)}  # once per name, not per row
    default = names.map(hard).to_numpy(dtype=bool)
    if "limit" not in props.columns:
        return default
    given = props["limit"].fillna("").astype(str).str.strip().str.lower().to_numpy(dtype=object)
    return np.where(given == "hard", True, np.where(given == "soft", False, default))
