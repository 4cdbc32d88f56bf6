"""The type taxonomy: built-in List of Wastes codes and water/energy/raw types.

Every type has a parent (``""`` for a root), a label and an optional hazardous
flag. Built in: each List of Wastes (EWC) code as ``ewc:DDDDDD`` with its
sub-chapter ``ewc:DDDD`` and chapter ``ewc:DD`` as ancestors under the root
``ewc``, the types in ``data/types.csv`` and China's codes (``cnhw:``, ``cnsw:``,
each under the EWC code it maps to, see :mod:`flowmatch.inputs.cncodes`). A user's ``types`` table is merged
over it (a user row replaces a built-in row of the same type).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd

from flowmatch.data import data_table
from flowmatch.inputs.cncodes import cn_type_rows

__all__ = ["Taxonomy", "builtin_taxonomy"]

TYPE_COLUMNS = ["type", "parent", "label", "hazardous"]


@dataclass(frozen=True)
class Taxonomy:
    """A tree of resource types.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per type, indexed by ``type``, with ``parent``, ``label``,
        ``hazardous`` (pandas nullable boolean) and ``depth`` (roots are 1).
    """

    table: pd.DataFrame

    @cached_property
    def _parents(self) -> dict[str, str]:
        return dict(zip(self.table.index.tolist(), self.table["parent"].tolist(), strict=True))

    @cached_property
    def _flags(self) -> dict[str, bool]:
        haz = self.table["hazardous"]
        known = haz.notna().to_numpy()
        return dict(zip(self.table.index[known].tolist(), haz[known].astype(bool).tolist(), strict=True))

    def __contains__(self, type_code: str) -> bool:
        return type_code in self._parents

    def __len__(self) -> int:
        return len(self.table)

    def parent(self, type_code: str) -> str:
        """Parent of ``type_code`` (``""`` for a root)."""
        return self._parents[type_code]

    def ancestors(self, type_code: str) -> list[str]:
        """``type_code`` and its ancestors, nearest first."""
        out = []
        t = type_code
        seen = set()
        parents = self._parents
        while t and t in parents and t not in seen:
            seen.add(t)
            out.append(t)
            t = parents[t]
        return out

    def depth(self, type_code: str) -> int:
        """Number of types from the root down to ``type_code`` (a root is 1)."""
        return int(self.table.at[type_code, "depth"])

    def hazardous(self, type_code: str) -> bool | None:
        """The hazardous flag of a type, inherited from the nearest ancestor that has one."""
        for t in self.ancestors(type_code):
            h = self._flags.get(t)
            if h is not None:
                return h
        return None

    def merged(self, user: pd.DataFrame) -> Taxonomy:
        """Return this taxonomy with ``user`` rows (type, parent, label[, hazardous]) merged over it."""
        base = self.table.drop(columns=["depth"]).reset_index()
        extra = user.reindex(columns=TYPE_COLUMNS)
        extra = extra[extra["type"].notna() & (extra["type"].astype(str).str.strip() != "")].copy()
        extra["parent"] = extra["parent"].fillna("").astype(str)
        label = extra["label"].fillna("").astype(str)
        extra["label"] = label.where(label != "", extra["type"].astype(str))
        both = pd.concat([base[~base["type"].isin(extra["type"])], extra], ignore_index=True)
        return _make(both)


def _depths(table: pd.DataFrame) -> np.ndarray:
    parent = table["parent"].to_dict()
    depth: dict[str, int] = {}
    for t in table.index:
        chain = []
        cur = t
        while cur and cur not in depth and cur in parent and cur not in chain:
            chain.append(cur)
            cur = parent[cur]
        d = depth.get(cur, 0) if cur else 0
        for c in reversed(chain):
            d += 1
            depth[c] = d
    return np.array([depth[t] for t in table.index], dtype=np.int64)


def _make(table: pd.DataFrame) -> Taxonomy:
    t = table.drop_duplicates("type", keep="last").set_index("type")
    t["hazardous"] = t["hazardous"].astype("boolean")
    t["depth"] = _depths(t)
    return Taxonomy(t)


@lru_cache(maxsize=1)
def builtin_taxonomy() -> Taxonomy:
    """The built-in taxonomy (cached): EWC codes plus ``data/types.csv``."""
    ewc = data_table("ewc_codes.csv", blanks_as_text=False)
    other = data_table("types.csv")
    rows = [("ewc", "", "List of Wastes (EWC)", pd.NA)]
    for ch, title in ewc.drop_duplicates("chapter")[["chapter", "chapter_title"]].itertuples(index=False):
        rows.append((f"ewc:{ch}", "ewc", title, pd.NA))
    for sub, ch, title in ewc.drop_duplicates("subchapter")[
        ["subchapter", "chapter", "subchapter_title"]
    ].itertuples(index=False):
        rows.append((f"ewc:{sub}", f"ewc:{ch}", title, pd.NA))
    for code, sub, haz, desc in ewc[["code", "subchapter", "hazardous", "description"]].itertuples(index=False):
        rows.append((f"ewc:{code}", f"ewc:{sub}", desc, haz.strip().lower() == "true"))
    tab = pd.DataFrame(rows, columns=TYPE_COLUMNS)
    other["hazardous"] = other["hazardous"].map({"true": True, "false": False, "": pd.NA})
    return _make(pd.concat([tab, other[TYPE_COLUMNS], cn_type_rows()], ignore_index=True))
