"""Which water arcs may exist: class rules, matching's type rules and default limits.

The water cascade (:mod:`flowmatch.milp.water`) asks this module three things:

- :func:`with_class_limits`: a sink's limits, with its class's default limits
  (``flowmatch/data/water_limits.csv``) for every contaminant it does not limit
  itself (a user's own ``max`` overrides the default);
- :func:`arc_rules`: for every source and sink, whether water may go directly
  (``ALLOWED``), only through the regeneration unit (``TREATMENT``) or not at
  all (``FORBIDDEN``). A pair is forbidden where the water-use classes
  (:mod:`flowmatch.inputs.water_classes`) forbid it and wherever matching's type
  score (:func:`flowmatch.matching.frozen.type_score_matrix`, knowledge base and
  user ``compatibility`` included) is 0, so no cascade arc exists that matching
  would not propose;
- :func:`assumed_flows`: the pairs of a plan that rely on a contaminant the
  source does not state, taken at the sink's limit because the inventory sets
  ``water_assume_unstated = 1``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flowmatch.inputs.inventory import Inventory
from flowmatch.inputs.water_classes import ALLOWED, FORBIDDEN, TREATMENT, class_limits, class_rules
from flowmatch.matching.frozen import type_score_matrix

__all__ = ["with_class_limits", "arc_rules", "assumed_flows", "ALLOWED", "TREATMENT", "FORBIDDEN"]


def with_class_limits(inv: Inventory, water: pd.DataFrame, vmax: pd.DataFrame) -> pd.DataFrame:
    """``vmax`` (resource x contaminant maxima) with each sink's class defaults filled in.

    Parameters
    ----------
    inv : Inventory
    water : pandas.DataFrame
        The water resources (rows of ``inv.resources``), in ``vmax``'s row order.
    vmax : pandas.DataFrame
        Maxima the user gave, indexed by resource id, one column per contaminant.

    Returns
    -------
    pandas.DataFrame
        The same rows, with a column added for every default contaminant and a
        sink's missing maxima taken from its class.
    """
    out = vmax.copy()
    sinks = water[water["role"] == "want"]
    sink_types = sinks["type"].astype(str)
    for t in sink_types.unique():
        ids = sinks.loc[sink_types == t, "resource_id"]
        for c, m in class_limits(t, inv.taxonomy)[["contaminant", "max"]].itertuples(index=False):
            if c not in out.columns:
                out[c] = np.nan
            col = out.loc[ids, c]
            out.loc[ids, c] = col.where(col.notna(), m)
    return out[sorted(out.columns)]


def arc_rules(inv: Inventory, src_ids: np.ndarray, snk_ids: np.ndarray) -> np.ndarray:
    """Rule code of every (source, sink), shape ``(len(src_ids), len(snk_ids))`` (module docstring)."""
    types = inv.resources.set_index("resource_id")["type"].astype(str)
    s_types, s_of = np.unique(types.loc[list(src_ids)].to_numpy(dtype=str), return_inverse=True)
    k_types, k_of = np.unique(types.loc[list(snk_ids)].to_numpy(dtype=str), return_inverse=True)
    s_list, k_list = s_types.tolist(), k_types.tolist()
    rule = class_rules(s_list, k_list, inv.taxonomy)
    score = type_score_matrix(s_list, k_list, inv.taxonomy, inv.compatibility, inv.params)
    rule = np.where(score > 0, rule, FORBIDDEN)
    return rule[np.ix_(s_of.ravel(), k_of.ravel())]


def assumed_flows(src_conc: np.ndarray, snk_max: np.ndarray, contaminants: list[str],
                  src: np.ndarray, snk: np.ndarray) -> list[tuple[int, int, list[str]]]:
    """``(source, sink, contaminants)`` of each pair whose source leaves a limited contaminant unstated."""
    out = []
    for i, j in zip(src, snk, strict=True):
        miss = np.isnan(src_conc[i]) & np.isfinite(snk_max[j])
        if miss.any():
            out.append((int(i), int(j), [contaminants[c] for c in np.flatnonzero(miss)]))
    return out
