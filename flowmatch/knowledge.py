"""The built-in knowledge base of documented exchanges (have type -> want type).

``data/exchanges.csv`` holds one row per documented exchange with a score in
(0, 1] and its ``source`` (a case or publication). A user's ``compatibility``
table is merged over it: a user row replaces the built-in row of the same pair.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

__all__ = ["builtin_exchanges", "merge_exchanges"]

EXCHANGE_COLUMNS = ["have_type", "want_type", "score", "source"]


@lru_cache(maxsize=1)
def _builtin() -> pd.DataFrame:
    with resources.files("flowmatch.data").joinpath("exchanges.csv").open("r", encoding="utf-8") as fh:
        kb = pd.read_csv(fh, dtype={"have_type": str, "want_type": str, "source": str})
    kb["score"] = kb["score"].astype(float)
    return kb[EXCHANGE_COLUMNS + [c for c in kb.columns if c not in EXCHANGE_COLUMNS]]


def builtin_exchanges() -> pd.DataFrame:
    """A copy of the built-in knowledge base (have_type, want_type, score, source, ...)."""
    return _builtin().copy()


def merge_exchanges(user: pd.DataFrame | None) -> pd.DataFrame:
    """The built-in knowledge base with ``user`` rows merged over it."""
    kb = builtin_exchanges()
    if user is None or len(user) == 0:
        return kb.reset_index(drop=True)
    u = user.copy()
    if "source" not in u:
        u["source"] = "user"
    u["source"] = u["source"].fillna("user").replace("", "user")
    key = ["have_type", "want_type"]
    keep = kb.merge(u[key], on=key, how="left", indicator=True)["_merge"].eq("left_only").to_numpy()
    return pd.concat([kb[keep], u], ignore_index=True)
