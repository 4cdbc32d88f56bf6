"""Which type does a description mean? Text search over the types' labels.

``flowmatch suggest "TEXT"`` and ``validate`` (for resources whose type is
unknown or only a chapter) ask :func:`suggest` for the most likely types of a
free-text description, in English or Chinese ("granulated blast furnace
slag", "脱硫石膏").

The index holds, for every type of the taxonomy, its English label, its
Chinese label (:mod:`flowmatch.inputs.labels`), its code (``100105``,
``10 01 05``, ``900-249-08``, ``HW08``, ``SW06``) and the synonyms of
``data/type_synonyms.csv`` (trade names and common names: GGBS, FGD gypsum,
粉煤灰, 电石渣). A description is compared with every entry by RapidFuzz
(character-level edit similarity, so Chinese needs no word segmentation and
nothing goes over the network): the score of an entry is
``0.8 * WRatio + 0.2 * ratio`` (0..100): ``WRatio`` finds a label inside a
longer description or the same words in another order, ``ratio`` prefers the
entry closest to the whole description. A type scores its best entry.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from flowmatch.data import data_table
from flowmatch.inputs.labels import check_lang, labels_zh, type_label
from flowmatch.inputs.taxonomy import Taxonomy, builtin_taxonomy

__all__ = ["Suggestion", "TypeIndex", "type_index", "suggest", "type_hints", "SUGGEST_MIN_SCORE"]

#: Suggestions scoring below this (of 100) are not offered.
SUGGEST_MIN_SCORE = 50.0

W_FUZZY, W_RATIO, W_COVER = 0.6, 0.2, 0.2
_WORD = re.compile(r"[^\w]+", re.UNICODE)
_SPELLING = (("sulph", "sulf"), ("aluminium", "aluminum"), ("tyre", "tire"), ("colour", "color"),
             ("fibre", "fiber"), ("litre", "liter"), ("metre", "meter"))
#: words that say nothing about what a waste is (dropped from descriptions and labels alike)
_FILLER = frozenset({"the", "a", "an", "of", "from", "and", "or", "in", "on", "at", "by", "for", "with",
                     "our", "its", "their", "we", "to", "other", "than", "those", "mentioned"})


#: asides in EWC and list labels that say what a code is not
_ASIDE = re.compile(r"\((?:except|excluding|not|不包括)[^)）]*[)）]|other than (?:that|those) mentioned in .*$",
                    re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff]")


def normalise(text: str) -> str:
    """Lower case, full-width folded, punctuation to spaces, US spelling, filler words dropped."""
    t = unicodedata.normalize("NFKC", str(text)).lower()
    for uk, us in _SPELLING:
        t = t.replace(uk, us)
    words = [w for w in _WORD.sub(" ", t).replace("_", " ").split() if w not in _FILLER]
    return " ".join(words)


def _terms(key: str) -> set[str]:
    """Words of a normalised text (a plural ``s`` dropped); each Chinese character is a word."""
    out: set[str] = set()
    for w in key.split():
        if _CJK.search(w):
            out.update(w)
        else:
            out.add(w[:-1] if len(w) > 3 and w.endswith("s") else w)
    return out


def _coverage(query: str, terms: tuple[frozenset[str], ...]) -> np.ndarray:
    """Share of the query's words (by length) that each entry's words contain."""
    q = _terms(query)
    total = sum(len(t) for t in q) or 1
    return np.array([sum(len(t) for t in q & k) / total for k in terms], dtype=np.float32)


@dataclass(frozen=True)
class Suggestion:
    """One suggested type for a description.

    Attributes
    ----------
    type : str
        The type code (``ewc:100105``, ``cnhw:900-249-08``).
    label : str
        Its label in the language asked for.
    score : float
        Similarity of the description to the best entry of the type, 0..100.
    matched : str
        That entry (a label, a code or a synonym) as written in the index.
    """

    type: str
    label: str
    score: float
    matched: str


@dataclass(frozen=True)
class TypeIndex:
    """The searchable entries: ``types[i]`` is the type of ``entries[i]`` (``keys[i]`` normalised,
    ``terms[i]`` its words)."""

    types: tuple[str, ...]
    entries: tuple[str, ...]
    keys: tuple[str, ...]
    terms: tuple[frozenset[str], ...]


def _synonyms() -> pd.DataFrame:
    return data_table("type_synonyms.csv")


def _codes(type_code: str) -> list[str]:
    """The bare codes a user may type for a type: ``100105`` and ``10 01 05``, ``900-249-08``, ``HW08``."""
    prefix, _, code = type_code.partition(":")
    if prefix == "ewc" and code.isdigit():
        return [code, " ".join(code[i : i + 2] for i in range(0, len(code), 2))]
    if prefix in ("cnhw", "cnsw"):
        return [code]
    return []


def _build(taxonomy: Taxonomy) -> TypeIndex:
    zh = labels_zh()
    types: list[str] = []
    entries: list[str] = []
    for t, label in zip(taxonomy.table.index.tolist(), taxonomy.table["label"].tolist(), strict=True):
        texts = [_ASIDE.sub("", label).strip()] if isinstance(label, str) and label else []
        if t in zh:
            texts.append(zh[t])
        texts += _codes(t)
        for x in dict.fromkeys(texts):
            types.append(t)
            entries.append(x)
    syn = _synonyms()
    known = syn["type"].isin(taxonomy.table.index)
    types += syn.loc[known, "type"].tolist()
    entries += syn.loc[known, "synonym"].tolist()
    keys = [normalise(e) for e in entries]
    keep = [i for i, k in enumerate(keys) if k]
    return TypeIndex(tuple(types[i] for i in keep), tuple(entries[i] for i in keep), tuple(keys[i] for i in keep),
                     tuple(frozenset(_terms(keys[i])) for i in keep))


@lru_cache(maxsize=1)
def _builtin_index() -> TypeIndex:
    return _build(builtin_taxonomy())


def type_index(taxonomy: Taxonomy | None = None) -> TypeIndex:
    """The index of ``taxonomy`` (the built-in one, cached, by default)."""
    return _builtin_index() if taxonomy is None else _build(taxonomy)


def suggest(text: str, limit: int = 5, lang: str = "en", taxonomy: Taxonomy | None = None,
            under: str | None = None, min_score: float = SUGGEST_MIN_SCORE) -> list[Suggestion]:
    """The types a description most likely means, best first.

    Parameters
    ----------
    text : str
        A description in English or Chinese, or a code.
    limit : int
        At most this many suggestions.
    lang : {"en", "zh"}
        Language of the labels returned.
    taxonomy : Taxonomy, optional
        The types to search (a user's types included); the built-in taxonomy by default.
    under : str, optional
        Only types at or below this one (``ewc:10`` for a resource coded only by chapter).
    min_score : float
        Suggestions scoring below this (0..100) are left out.

    Returns
    -------
    list of Suggestion
        Empty when nothing scores ``min_score`` or more.
    """
    check_lang(lang)
    tax = taxonomy if taxonomy is not None else builtin_taxonomy()
    index = type_index(taxonomy)
    query = normalise(text)
    if not query or limit <= 0:
        return []
    w = process.cdist([query], index.keys, scorer=fuzz.WRatio, dtype=np.float32)[0]
    r = process.cdist([query], index.keys, scorer=fuzz.ratio, dtype=np.float32)[0]
    score = W_FUZZY * w + W_RATIO * r + W_COVER * 100.0 * _coverage(query, index.terms)
    best: dict[str, tuple[float, int]] = {}
    for i in np.argsort(-score, kind="stable"):
        s = float(score[i])
        if s < min_score:
            break
        t = index.types[i]
        if t in best:
            continue
        if under is not None and under not in (tax.ancestors(t) if t in tax else [t]):
            continue
        best[t] = (s, int(i))
        if len(best) >= limit:
            break
    return [Suggestion(t, type_label(t, lang, tax), round(s, 1), index.entries[i]) for t, (s, i) in best.items()]


def _wants_hint(taxonomy: Taxonomy, t: str) -> str | None:
    """Why a resource's type deserves suggestions: ``"unknown"``, ``"only a chapter"`` or None."""
    if t not in taxonomy:
        return "unknown"
    chain = taxonomy.ancestors(t)
    if chain[-1] == "ewc" and len(chain) <= 3:  # ewc, a chapter ewc:DD or a sub-chapter ewc:DDDD
        return "only a chapter" if len(chain) == 2 else "only a sub-chapter"
    return None


def type_hints(resources: pd.DataFrame, taxonomy: Taxonomy | None = None, lang: str = "en",
               limit: int = 3, max_rows: int = 20) -> list[str]:
    """Suggested types for resources whose type is unknown or only an EWC chapter or sub-chapter.

    The text searched is the resource's ``name`` and ``description``; for an
    unknown type without either, the type code itself (``fly_ash`` -> "fly
    ash"). A chapter or sub-chapter is searched below itself. One line per
    resource, at most ``max_rows`` (then a line saying how many more).
    """
    tax = taxonomy if taxonomy is not None else builtin_taxonomy()
    cols = [c for c in ("name", "description") if c in resources]
    lines: list[str] = []
    more = 0
    cache: dict[tuple[str, str | None], list[Suggestion]] = {}
    why_of = {t: _wants_hint(tax, t) for t in resources["type"].astype(str).unique()}
    for row in resources.itertuples(index=False):
        t = str(row.type)
        why = why_of[t]
        if why is None:
            continue
        text = " ".join(str(getattr(row, c)) for c in cols if isinstance(getattr(row, c), str)).strip()
        if not text and why == "unknown":
            text = re.sub(r"[_\-:]+", " ", t)
        if not text:
            continue
        if len(lines) >= max_rows:
            more += 1
            continue
        under = None if why == "unknown" else t
        key = (text, under)
        if key not in cache:
            cache[key] = suggest(text, limit=limit, lang=lang, taxonomy=tax, under=under)
        found = cache[key]
        shown = "; ".join(f"{s.type} {s.label} ({s.score:.0f})" for s in found) or "nothing close"
        lines.append(f"{row.resource_id}: type '{t}' is {why}; \"{text}\" may be: {shown}")
    if more:
        lines.append(f"... and {more} more resource(s) of such types")
    return lines
