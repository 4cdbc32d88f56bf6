"""The pairs a correct search must consider: what "pairs scored per second" counts.

A (have, want) pair is *in reach* when the have's type may serve the want's
type (a positive type score in :attr:`~flowmatch.matching.frozen.MatchArrays.type_score`),
both are of the same category, and the great-circle distance between their
sites is at most the smaller of their two reaches (``max_distance_km`` or the
category's default), as :func:`flowmatch.kernels.scoring.score_pair` requires.
Every such pair could be a candidate, so the search must settle each one, by
scoring it or by proving it cannot enter a want's top K; that is the work
throughput is measured against. The count depends only on the inventory and
its parameters, not on how cleverly a version of the kernels prunes, so pairs
per second stays comparable across versions (faster pruning shows as more
pairs per second). Measured distances (``distances`` table) are not used here:
the count is by great circle.

It is counted independently of the kernels, with k-d trees
(``scipy.spatial.cKDTree``) over the sites' unit vectors, one pair of type
groups at a time and the wants in slices, so memory stays bounded.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from flowmatch.kernels.geo import EARTH_RADIUS_KM

if TYPE_CHECKING:
    from flowmatch.matching.frozen import MatchArrays

__all__ = ["pairs_in_reach"]

#: Wants per slice of one query (bounds the pairs held in memory at once).
SLICE = 20_000


def _chord(km: np.ndarray | float) -> np.ndarray:
    """Straight-line distance between two unit vectors ``km`` apart on the sphere."""
    return 2.0 * np.sin(np.minimum(np.asarray(km, dtype=float) / EARTH_RADIUS_KM, math.pi) / 2.0)


def pairs_in_reach(arrays: MatchArrays) -> int:
    """How many (have, want) pairs are type-compatible, of one category and within reach.

    Parameters
    ----------
    arrays : MatchArrays
        The frozen inventory (:func:`flowmatch.matching.frozen.freeze`).

    Returns
    -------
    int
    """
    from scipy.spatial import cKDTree

    if arrays.n_haves == 0 or arrays.n_wants == 0:
        return 0
    haves_of = {t: np.flatnonzero(arrays.h_type == t) for t in np.unique(arrays.h_type)}
    wants_of = {t: np.flatnonzero(arrays.w_type == t) for t in np.unique(arrays.w_type)}
    trees: dict[int, cKDTree] = {}
    total = 0
    for wt, w_rows in wants_of.items():
        for ht in np.flatnonzero(arrays.type_score[:, wt] > 0):
            h_rows = haves_of.get(int(ht))
            if h_rows is None:
                continue
            if int(ht) not in trees:
                trees[int(ht)] = cKDTree(arrays.h_xyz[h_rows])
            total += _count(arrays, trees[int(ht)], h_rows, w_rows, cKDTree)
    return total


def _count(arrays: MatchArrays, tree, h_rows: np.ndarray, w_rows: np.ndarray, kdtree) -> int:
    """Pairs of ``h_rows`` x ``w_rows`` (one have type, one want type) of one category within reach."""
    n = 0
    max_h = float(arrays.h_max_km[h_rows].max())
    for a in range(0, len(w_rows), SLICE):
        w = w_rows[a:a + SLICE]
        radius = float(_chord(min(max_h, float(arrays.w_max_km[w].max()))))
        if radius <= 0.0:
            continue
        near = kdtree(arrays.w_xyz[w]).sparse_distance_matrix(tree, radius * (1.0 + 1e-9),
                                                             output_type="ndarray")
        if len(near) == 0:
            continue
        wi, hi = w[near["i"]], h_rows[near["j"]]
        reach = np.minimum(arrays.h_max_km[hi], arrays.w_max_km[wi])
        ok = (near["v"] <= _chord(reach) * (1.0 + 1e-9) + 1e-15) & (arrays.h_cat[hi] == arrays.w_cat[wi])
        n += int(np.count_nonzero(ok))
    return n
