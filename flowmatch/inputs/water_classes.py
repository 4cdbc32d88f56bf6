"""Water-use classes: which water type may feed which, and a sink type's default limits.

Two tables ship in ``flowmatch/data/``, every row citing its source:

- ``water_classes.csv`` (``source_type, sink_type, rule, source``): ``rule`` is
  ``allowed`` (piped as it is, within the sink's limits), ``treatment`` (only
  through a regeneration unit) or ``forbidden`` (never, treated or not). A row
  applies to every source type below ``source_type`` and every sink type below
  ``sink_type``; of the rows that apply, the nearest (fewest taxonomy steps up
  from both types, summed) decides, and of equally near rows the strictest. The
  generic row ``water -> water`` is ``allowed``, so generic types (``water``,
  ``water:process``) are decided by their contaminant limits alone.
- ``water_limits.csv`` (``sink_type, contaminant, max, unit, source``): the
  limits a sink of that type (or below it) gets for each contaminant it does
  not limit itself; the nearest type with rows gives them all.

A water resource whose type is outside the ``water`` tree (a List of Wastes
code, say) is classed as ``water:effluent:raw``: untreated wastewater until it
says otherwise. A type the taxonomy does not know but spelt ``water:...`` is
generic water.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from flowmatch.data import data_table
from flowmatch.inputs.taxonomy import Taxonomy

__all__ = ["RULES", "ALLOWED", "TREATMENT", "FORBIDDEN", "water_classes", "water_limits",
           "class_rules", "class_limits", "water_class_of", "forbidden_water_pairs"]

RULES = ("allowed", "treatment", "forbidden")
ALLOWED, TREATMENT, FORBIDDEN = range(3)
RAW = "water:effluent:raw"


@lru_cache(maxsize=1)
def _classes() -> pd.DataFrame:
    return data_table("water_classes.csv")


@lru_cache(maxsize=1)
def _limits() -> pd.DataFrame:
    t = data_table("water_limits.csv")
    t["max"] = t["max"].astype(float)
    return t


def water_classes() -> pd.DataFrame:
    """A copy of the built-in class rules (source_type, sink_type, rule, source)."""
    return _classes().copy()


def water_limits() -> pd.DataFrame:
    """A copy of the built-in default limits (sink_type, contaminant, max, unit, source)."""
    return _limits().copy()


def water_class_of(type_code: str, taxonomy: Taxonomy) -> list[str]:
    """The class chain of a water resource's type: the type and its ancestors, nearest first.

    A type outside the ``water`` tree is untreated wastewater (``water:effluent:raw``
    and up); an unknown ``water:...`` type is generic ``water``.
    """
    if type_code in taxonomy:
        chain = taxonomy.ancestors(type_code)
        if chain[-1] == "water":
            return chain
    elif type_code == "water" or type_code.startswith("water:"):
        return [type_code, "water"]
    return taxonomy.ancestors(RAW) if RAW in taxonomy else [RAW, "water:effluent", "water"]


def class_rules(source_types: list[str], sink_types: list[str], taxonomy: Taxonomy) -> np.ndarray:
    """Rule code (:data:`ALLOWED`, :data:`TREATMENT`, :data:`FORBIDDEN`) of every type pair.

    Parameters
    ----------
    source_types, sink_types : list of str
        The types of water haves and wants.
    taxonomy : Taxonomy

    Returns
    -------
    ndarray of int64, shape (len(source_types), len(sink_types))
        The nearest rule (module docstring); ``ALLOWED`` where none applies.
    """
    table = _classes()
    rule_of: dict[tuple[str, str], int] = {}
    for a, b, r in table[["source_type", "sink_type", "rule"]].itertuples(index=False):
        rule_of[(a, b)] = max(rule_of.get((a, b), ALLOWED), RULES.index(r))
    out = np.full((len(source_types), len(sink_types)), ALLOWED, dtype=np.int64)
    snk_chains = [water_class_of(t, taxonomy) for t in sink_types]
    for i, s in enumerate(source_types):
        src_chain = water_class_of(s, taxonomy)
        for j, k_chain in enumerate(snk_chains):
            best: tuple[int, int] | None = None  # (steps, -rule): nearest, then strictest
            for di, a in enumerate(src_chain):
                for dj, b in enumerate(k_chain):
                    r = rule_of.get((a, b))
                    if r is not None and (best is None or (di + dj, -r) < best):
                        best = (di + dj, -r)
            if best is not None:
                out[i, j] = -best[1]
    return out


def class_limits(sink_type: str, taxonomy: Taxonomy) -> pd.DataFrame:
    """Default limits of a sink of ``sink_type``: the nearest type with rows in ``water_limits.csv``.

    Returns
    -------
    pandas.DataFrame
        ``contaminant, max, unit, source`` rows (empty when no type up the chain has limits).
    """
    t = _limits()
    for a in water_class_of(sink_type, taxonomy):
        rows = t[t["sink_type"] == a]
        if len(rows):
            return rows[["contaminant", "max", "unit", "source"]].reset_index(drop=True)
    return t.iloc[:0][["contaminant", "max", "unit", "source"]]


def _is_water(type_code: str, taxonomy: Taxonomy) -> bool:
    if type_code in taxonomy:
        return taxonomy.ancestors(type_code)[-1] == "water"
    return type_code == "water" or type_code.startswith("water:")


def forbidden_water_pairs(have_types: list[str], want_types: list[str], taxonomy: Taxonomy) -> np.ndarray:
    """Boolean matrix: the pairs of water types whose class rule is ``forbidden``.

    Only types of the ``water`` tree on both sides are judged; every other pair is ``False``.
    Matching zeroes these pairs' type score, so neither a candidate nor a cascade arc offers them.
    """
    out = np.zeros((len(have_types), len(want_types)), dtype=bool)
    hi = [i for i, t in enumerate(have_types) if _is_water(t, taxonomy)]
    wj = [j for j, t in enumerate(want_types) if _is_water(t, taxonomy)]
    if hi and wj:
        rules = class_rules([have_types[i] for i in hi], [want_types[j] for j in wj], taxonomy)
        out[np.ix_(hi, wj)] = rules == FORBIDDEN
    return out
