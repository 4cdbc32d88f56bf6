"""Labels of types in the user's language (``en`` or ``zh``).

English labels are the taxonomy's own (``data/types.csv``, the EWC
descriptions, China's codes). Chinese labels come from
``data/labels_zh.csv`` (the types of ``types.csv``, the EWC chapters and the
EWC codes the knowledge base uses) and the Chinese codes' own tables
(:mod:`flowmatch.inputs.cncodes`). A type without a Chinese label shows its
English one, so a label is never blank for a known type.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from flowmatch.data import data_table
from flowmatch.errors import FlowmatchError
from flowmatch.inputs.cncodes import cn_labels_zh
from flowmatch.inputs.taxonomy import Taxonomy, builtin_taxonomy

__all__ = ["LANGS", "LanguageError", "labels_zh", "type_label", "check_lang", "with_type_labels"]

#: Languages a label can be asked in.
LANGS = ("en", "zh")


class LanguageError(FlowmatchError):
    """A language the labels do not come in."""


def check_lang(lang: str) -> str:
    """``lang`` if it is one of :data:`LANGS`, else a :class:`LanguageError` saying which are."""
    if lang not in LANGS:
        raise LanguageError(f"language '{lang}' is not known; use one of: {', '.join(LANGS)}.")
    return lang


@lru_cache(maxsize=1)
def _zh() -> dict[str, str]:
    t = data_table("labels_zh.csv")
    out = dict(zip(t["type"], t["label_zh"], strict=True))
    out.update(cn_labels_zh())
    return out


def labels_zh() -> dict[str, str]:
    """A copy of every Chinese label, by type."""
    return dict(_zh())


def type_label(type_code: str, lang: str = "en", taxonomy: Taxonomy | None = None) -> str:
    """The label of ``type_code`` in ``lang``.

    Parameters
    ----------
    type_code : str
    lang : {"en", "zh"}
        ``zh`` falls back to the English label for a type without a Chinese one.
    taxonomy : Taxonomy, optional
        Where English labels come from (a user's types included); the built-in
        taxonomy by default.

    Returns
    -------
    str
        ``""`` for a type the taxonomy does not know and no Chinese label names.
    """
    check_lang(lang)
    if lang == "zh":
        zh = _zh().get(type_code)
        if zh:
            return zh
    tax = taxonomy if taxonomy is not None else builtin_taxonomy()
    if type_code in tax:
        label = tax.table.at[type_code, "label"]
        return "" if pd.isna(label) else str(label)
    return ""


def with_type_labels(resources: pd.DataFrame, taxonomy: Taxonomy) -> pd.DataFrame:
    """``resources`` with a ``type_label`` column: each type's English label in ``taxonomy`` (the
    built-in types merged with the user's ``types`` table), ``""`` for a type it does not know.

    The plan folder's ``resources.csv`` carries it, so a report shows the user's own labels.
    """
    types = resources["type"].astype(str)
    table = taxonomy.table
    labels = {t: ("" if t not in taxonomy or pd.isna(table.at[t, "label"]) else str(table.at[t, "label"]))
              for t in types.unique()}
    return resources.assign(type_label=types.map(labels).to_numpy())
