"""Codes as users write them: a have typed with a parent code finds its sub-types' exchanges.

The knowledge base documents many exchanges on a sub-type: granulated
blast-furnace slag is ``ewc:100202:bf``, a child of the legal List of Wastes
code ``ewc:100202``. A have typed with the legal code, or with its sub-chapter
``ewc:1002`` or chapter ``ewc:10``, would otherwise never see those rows: the
knowledge-base rule of :mod:`flowmatch.matching.frozen` only passes a row *down*
to the types below its have type, never up.

:func:`subtype_routes` passes them up, at a discount. A row ``(a, b, s)`` whose
have type ``a`` lies ``k`` steps below a have's type ``t`` (``t`` an ancestor of
``a`` in the taxonomy, and not a root such as ``ewc`` itself, which says
nothing about the material) scores

    ``s * type_subtype_discount ** k * type_inherit_discount ** k2``

for a want type ``k2`` steps below ``b``, as the ordinary rule does. The
discount says the match is only *possible*: ``ewc:100202`` may be the
blast-furnace slag that the row documents, or a converter slag that it does
not. The candidate then names the sub-type in its ``via_subtype`` column, so
the user knows what to check. A sub-type flagged hazardous lends its rows only
to a parent code flagged hazardous too: a have typed ``ewc:1611`` must not be
offered, as a guess, the licensed-only route of spent pot lining
(``ewc:161101*``) to a kiln that may not be licensed. Parents are found through
:meth:`flowmatch.inputs.taxonomy.Taxonomy.ancestors`, so any code that the
taxonomy places above another (national codes mapped onto EWC codes among
them) takes part.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flowmatch.inputs.params import Params
from flowmatch.inputs.taxonomy import Taxonomy

__all__ = ["subtype_routes"]


def subtype_routes(have_types: list[str], want_types: list[str], taxonomy: Taxonomy,
                   compatibility: pd.DataFrame, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """The best knowledge-base score each have type reaches through one of its sub-types.

    Parameters
    ----------
    have_types, want_types : list of str
        The types to score (rows and columns).
    taxonomy : Taxonomy
    compatibility : pandas.DataFrame
        ``have_type, want_type, score`` rows (the merged knowledge base).
    params : Params
        For ``type_subtype_discount`` and ``type_inherit_discount``.

    Returns
    -------
    score : ndarray of float64, shape (len(have_types), len(want_types))
        0 where no sub-type's row applies.
    via : ndarray of object (str), same shape
        The knowledge-base have type (the sub-type) that gave ``score``; ``""`` where none.
        Of equal scores, the first row of ``compatibility`` wins.
    """
    shape = (len(have_types), len(want_types))
    score = np.zeros(shape)
    via = np.full(shape, "", dtype=object)
    sub, disc = params.type_subtype_discount, params.type_inherit_discount
    if not have_types or not want_types or sub <= 0:
        return score, via
    row_of = {t: i for i, t in enumerate(have_types) if t in taxonomy and taxonomy.parent(t) != ""}
    below: dict[str, list[tuple[int, int]]] = {}
    for j, t in enumerate(want_types):
        for k2, b in enumerate(taxonomy.ancestors(t) if t in taxonomy else [t]):
            below.setdefault(b, []).append((j, k2))
    for a, b, s in compatibility[["have_type", "want_type", "score"]].itertuples(index=False):
        cols = below.get(str(b))
        if not cols:
            continue
        hazardous = str(a) in taxonomy and taxonomy.hazardous(str(a)) is True
        for k, parent in enumerate(taxonomy.ancestors(str(a))[1:], start=1):
            i = row_of.get(parent)
            if i is None or (hazardous and taxonomy.hazardous(parent) is not True):
                continue
            for j, k2 in cols:
                value = float(s) * sub**k * disc**k2
                if value > score[i, j]:
                    score[i, j] = value
                    via[i, j] = str(a)
    return score, via
