"""Rows that each look right but contradict one another.

* Property names ignore case (``Moisture`` is ``moisture``), so one resource
  giving both spellings gives the property twice: refused, naming both rows.
* ``A,B,3`` and ``B,A,5`` in ``distances.csv`` are two one-way distances: each
  direction uses its own (one-way roads, a milk round's loop), which is allowed
  and tested, but is more often a typing mistake; a warning names both rows.

The key check of :mod:`~flowmatch.inputs.columns` has already refused rows
repeating a key exactly; these checks only add what it cannot see.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from flowmatch.errors import InputProblem
from flowmatch.inputs.problems import MAX_ROWS_PER_PROBLEM, _Problems, _Table

__all__ = ["check_consistency"]


def check_consistency(tables: dict[str, _Table], checked: dict[str, dict[str, Any]], P: _Problems,
                      W: _Problems) -> None:
    """Report property names clashing by case (to ``P``) and distances differing from their reverse (to ``W``)."""
    t, cols = tables.get("properties"), checked.get("properties")
    if t is not None and cols is not None and "resource_id" in cols and "property" in cols:
        _property_case(t, cols, P)
    t, cols = tables.get("distances"), checked.get("distances")
    if t is not None and cols is not None and all(c in cols for c in ("from_site", "to_site", "km")):
        _reverse_distances(t, cols, W)


def _property_case(t: _Table, cols: dict[str, Any], P: _Problems) -> None:
    df = pd.DataFrame({"rid": cols["resource_id"].to_pandas(), "prop": cols["property"].to_pandas(),
                       "low": pc.utf8_lower(cols["property"]).to_pandas(), "row": t.rows})
    df = df[df["prop"] != ""]
    first = df.groupby(["rid", "low"], sort=False).transform("first")
    clash = df[df["prop"] != first["prop"]]
    for i, r in enumerate(clash.itertuples()):
        if i == MAX_ROWS_PER_PROBLEM:
            P.whole(t.label, f"{len(clash) - i} more rows give a property twice in two spellings.",
                    "Spell each property of a resource one way.", column="property")
            break
        P.items.append(InputProblem(
            t.label, int(r.row), "property",
            f"property '{r.prop}' of resource '{r.rid}' is already given as "
            f"'{first.at[r.Index, 'prop']}' in row {int(first.at[r.Index, 'row'])} "
            "(property names ignore case).",
            "Keep one of the two rows (property names ignore upper and lower case)."))


def _reverse_distances(t: _Table, cols: dict[str, Any], P: _Problems) -> None:
    df = pd.DataFrame({"a": cols["from_site"].to_pandas(), "b": cols["to_site"].to_pandas(),
                       "km": np.asarray(cols["km"], dtype=float), "row": t.rows})
    df = df[(df["a"] != "") & (df["b"] != "") & (df["a"] != df["b"]) & df["km"].notna()]
    if df.empty:
        return
    pair = df.merge(df, left_on=["a", "b"], right_on=["b", "a"], suffixes=("", "_r"))
    pair = pair[(pair["row"] > pair["row_r"])
                & ~np.isclose(pair["km"], pair["km_r"], rtol=1e-9, atol=1e-9)].sort_values("row")
    for i, r in enumerate(pair.itertuples()):
        if i == MAX_ROWS_PER_PROBLEM:
            P.whole(t.label, f"{len(pair) - i} more rows differ from the distance of their reverse.",
                    "Check that those roads are one-way.", column="km")
            break
        P.items.append(InputProblem(
            t.label, int(r.row), "km",
            f"{r.a} to {r.b} is {r.km:g} km here but {r.b} to {r.a} is {r.km_r:g} km in row {int(r.row_r)}; "
            "each direction uses its own distance.",
            "If the way is not one-way, keep one of the two rows or make their km equal."))
