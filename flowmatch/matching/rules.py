"""Expert rules in matching: forbidden pairs leave the candidates, forced pairs join them.

A ``forbid`` rule (:mod:`flowmatch.inputs.rules`) takes every pair it matches
out of the candidates, so no plan is built on them (the optimiser's rule rows
keep them out of milk rounds and cascades too). A ``force`` rule naming one
have and one want makes that pair a candidate when the search did not propose
it (out of reach, or below the top K): the engineer knows the link is there.
It must still make sense: the same category, compatible types (the same type,
a sub-type of the want's, or a knowledge-base row) and, for a hazardous have, a
want licensed to take it; otherwise the rule is reported by file and row.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from flowmatch.errors import InputProblem, InventoryError

if TYPE_CHECKING:
    from flowmatch.inputs.inventory import Inventory
    from flowmatch.inputs.params import Params
    from flowmatch.matching.frozen import MatchArrays

__all__ = ["forbidden", "forced_pairs", "apply_rules"]

log = logging.getLogger(__name__)


def forbidden(rules: pd.DataFrame, have_ids, want_ids) -> np.ndarray:
    """Which (have, want) pairs some ``forbid`` rule matches (bool per pair)."""
    h = pd.Series(np.asarray(have_ids, dtype=object))
    w = pd.Series(np.asarray(want_ids, dtype=object))
    out = np.zeros(len(h), bool)
    for r in rules[rules["action"] == "forbid"].itertuples(index=False):
        out |= (h.isin(r.have_ids) & w.isin(r.want_ids)).to_numpy()
    return out


def forced_pairs(inventory: Inventory) -> list[tuple[str, str, str, int]]:
    """``(have_id, want_id, file, row)`` of every force rule naming exactly one have and one want.

    Raises
    ------
    InventoryError
        A forced pair that can never be a synergy (categories, types or hazard
        licence), naming the rule's file and row.
    """
    from flowmatch.matching.frozen import type_score_matrix

    rules = inventory.rules
    one = rules[(rules["action"] == "force") & (rules["have_ids"].map(len) == 1)
                & (rules["want_ids"].map(len) == 1)]
    if one.empty:
        return []
    res = inventory.resources.set_index("resource_id")
    params = inventory.params.replace(type_related_max=0.0)
    problems, out = [], []
    for r in one.itertuples(index=False):
        h, w = r.have_ids[0], r.want_ids[0]
        hv, wt = res.loc[h], res.loc[w]
        why = ""
        score = type_score_matrix([str(hv["type"])], [str(wt["type"])], inventory.taxonomy,
                                  inventory.compatibility, params)
        if hv["category"] != wt["category"]:
            why = f"{h} is {hv['category']} and {w} is {wt['category']}."
        elif not score[0, 0] > 0:
            why = (f"{h}'s type {hv['type']} cannot serve {w}'s type {wt['type']} (not the same type, "
                   "not a sub-type and no knowledge-base row).")
        elif bool(hv.get("hazardous", False)) and not bool(wt.get("hazardous", False)):
            why = f"{h} is hazardous and {w} is not licensed to take hazardous input."
        if why:
            problems.append(InputProblem(r.file, int(r.row), "want", f"rule {r.rule_id} forces a pair that "
                                         f"can never be a synergy: {why}",
                                         "Add a compatibility row (or types) if the link is real, "
                                         "or remove the rule."))
        else:
            out.append((h, w, r.file, int(r.row)))
    if problems:
        raise InventoryError(problems)
    return out


def apply_rules(cands: pd.DataFrame, inventory: Inventory, arrays: MatchArrays, params: Params,
                threads: int | None = None) -> pd.DataFrame:
    """``cands`` without the forbidden pairs and with the forced ones (ranked last of their want).

    ``attrs["rules_removed"]`` of the result counts the pairs each forbid rule took out.
    """
    rules = inventory.rules
    if rules is None or rules.empty:
        return cands
    out = _apply(cands, inventory, arrays, params, threads)
    out.attrs["rules_removed"] = _removed_counts(rules, cands)
    return out


def _removed_counts(rules: pd.DataFrame, cands: pd.DataFrame) -> dict[str, int]:
    removed = {}
    for r in rules[rules["action"] == "forbid"].itertuples(index=False):
        n = int((cands["have_id"].isin(r.have_ids) & cands["want_id"].isin(r.want_ids)).sum())
        if n:
            removed[str(r.rule_id)] = n
    return removed


def _apply(cands: pd.DataFrame, inventory: Inventory, arrays: MatchArrays, params: Params,
           threads: int | None) -> pd.DataFrame:
    rules = inventory.rules
    drop = forbidden(rules, cands["have_id"], cands["want_id"])
    if drop.any():
        log.info("rules: %d candidate pairs forbidden", int(drop.sum()))
        cands = cands[~drop].reset_index(drop=True)
    have = set(zip(cands["have_id"], cands["want_id"], strict=True))
    add = [(h, w) for h, w, _f, _r in forced_pairs(inventory) if (h, w) not in have]
    add = list(dict.fromkeys(add))
    if not add:
        return cands
    from flowmatch.matching.candidates import _frame
    from flowmatch.matching.search import pair_scores

    hi = arrays.have_ids.get_indexer([h for h, _ in add])
    wi = arrays.want_ids.get_indexer([w for _, w in add])
    ok = (hi >= 0) & (wi >= 0)
    hi, wi = hi[ok], wi[ok]
    if len(hi) == 0:
        return cands
    details = pair_scores(arrays, params, hi, wi, threads=threads)
    last = cands.groupby("want_id")["rank"].max() if len(cands) else pd.Series(dtype=np.int64)
    wids = arrays.want_ids.take(wi)
    rank = np.array([int(last.get(w, 0)) + 1 + k for k, w in enumerate(wids)], np.int64)
    extra = _frame(arrays, hi, wi, rank, details, None)
    # a pair out of the search's reach has no distance from the kernels: measure it
    if extra["distance_km"].isna().any():
        from flowmatch.geo import site_pair_km

        miss = extra["distance_km"].isna().to_numpy()
        extra.loc[miss, "distance_km"] = site_pair_km(inventory, extra.loc[miss, "have_site"].to_numpy(),
                                                          extra.loc[miss, "want_site"].to_numpy())
    extra["score"] = extra["score"].fillna(0.0)
    log.info("rules: %d forced pairs added to the candidates", len(extra))
    cols = list(cands.columns)
    extra = extra.reindex(columns=cols)
    if "have_rank" in cols:
        extra["have_rank"] = 0  # not among the have's best K: a forced pair
    out = pd.concat([cands, extra], ignore_index=True)
    order = np.lexsort((out["rank"].to_numpy(), arrays.want_ids.get_indexer(out["want_id"])))
    return out.iloc[order].reset_index(drop=True)
