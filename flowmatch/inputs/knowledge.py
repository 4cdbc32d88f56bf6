"""The built-in knowledge base of documented exchanges (have type -> want type).

``data/exchanges.csv`` holds one row per documented exchange: ``have_type``,
``want_type``, a ``score`` in (0, 1] saying how established the route is, the
``source`` (a case study, paper, programme report, EU BREF or product standard
a reader can look up, with its year or number) and ``want_sectors``
(``;``-separated NACE codes of the sectors that take that input, which gap
analysis uses to say whom to recruit). A user's ``compatibility`` table is
merged over it: a user row replaces the built-in row of the same pair. Each
(have_type, want_type) pair appears once (tests/test_knowledge.py).

The score is a judgement of how established the route is, not a measured
figure:

* 0.9-1: a standard, large-scale practice, usually written into a product
  standard (GGBS in cement to EN 15167-1, FGD gypsum in plasterboard, cullet
  to glass furnaces) or a flagship exchange running for years at scale;
* 0.7-0.85: established practice that sector guidance (an EU BREF) or a
  documented symbiosis describes, with ordinary quality checks;
* 0.5-0.65: documented, but conditional: it needs treatment, a licence
  (hazardous input), or a quality the have may not meet;
* below 0.5: documented but niche or limited (by trace elements, alkali,
  radionuclides), so only a weak hint.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from flowmatch.data import data_table
from flowmatch.inputs.cncodes import cn_category_exchanges
from flowmatch.inputs.taxonomy import Taxonomy

__all__ = ["builtin_exchanges", "merge_exchanges", "recruit_sectors"]

EXCHANGE_COLUMNS = ["have_type", "want_type", "score", "source", "want_sectors"]


@lru_cache(maxsize=1)
def _builtin() -> pd.DataFrame:
    kb = data_table("exchanges.csv")
    kb["score"] = kb["score"].astype(float)
    return kb[EXCHANGE_COLUMNS + [c for c in kb.columns if c not in EXCHANGE_COLUMNS]]


def builtin_exchanges() -> pd.DataFrame:
    """A copy of the built-in knowledge base (have_type, want_type, score, source, want_sectors)."""
    return _builtin().copy()


def merge_exchanges(user: pd.DataFrame | None) -> pd.DataFrame:
    """The built-in knowledge base with ``user`` rows merged over it.

    The built-in rows include, besides ``data/exchanges.csv``, one row per
    8-digit code of China's hazardous waste list serving a want of its category
    (:func:`flowmatch.inputs.cncodes.cn_category_exchanges`).

    User rows without a ``source`` get ``"user"``; without ``want_sectors``, ``""``.
    """
    kb = pd.concat([builtin_exchanges(), cn_category_exchanges()], ignore_index=True)  # HW codes -> category
    if user is None or len(user) == 0:
        return kb.reset_index(drop=True)
    u = user.copy()
    if "source" not in u:
        u["source"] = "user"
    src = u["source"].astype(object)
    u["source"] = src.where(src.notna() & (src.astype(str).str.strip() != ""), "user").astype(str)
    if "want_sectors" not in u:
        u["want_sectors"] = ""
    sec = u["want_sectors"].astype(object)
    u["want_sectors"] = sec.where(sec.notna(), "").astype(str)
    key = ["have_type", "want_type"]
    keep = ~pd.MultiIndex.from_frame(kb[key]).isin(pd.MultiIndex.from_frame(u[key].astype(str)))
    return pd.concat([kb[keep], u], ignore_index=True)


def recruit_sectors(exchanges: pd.DataFrame, taxonomy: Taxonomy, have_type: str) -> list[str]:
    """NACE sectors that take a have of ``have_type`` elsewhere, best-documented first.

    Rows of ``exchanges`` whose ``have_type`` is ``have_type`` or one of its
    ancestors in ``taxonomy`` count (so a row on the sub-chapter ``ewc:1704``
    applies to every code under it). Sectors are ordered by the highest score of
    a row naming them, then by code.

    Parameters
    ----------
    exchanges : pandas.DataFrame
        A knowledge base as :func:`merge_exchanges` returns it.
    taxonomy : Taxonomy
        The taxonomy the have type lives in.
    have_type : str
        The have's type code.

    Returns
    -------
    list of str
        Sector codes, empty when no row applies.
    """
    if "want_sectors" not in exchanges:
        return []
    kinds = taxonomy.ancestors(have_type) or [have_type]
    rows = exchanges[exchanges["have_type"].isin(kinds)]
    best: dict[str, float] = {}
    for sectors, score in zip(rows["want_sectors"].fillna(""), rows["score"], strict=True):
        for code in str(sectors).split(";"):
            code = code.strip()
            if code:
                best[code] = max(best.get(code, 0.0), float(score))
    return sorted(best, key=lambda c: (-best[c], c))
