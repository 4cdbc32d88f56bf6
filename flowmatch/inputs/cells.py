"""Cells of inventory tables, vectorised: text, numbers, booleans and month ranges.

Every helper works on a whole column at once (Arrow compute kernels over the
column's cells), so that validating a million rows stays fast. A missing cell
reads as ``""`` (text) or ``NaN`` (numbers).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: the month mask of a resource available all year
ALL_MONTHS = (1 << 12) - 1
_TRUE = ("true", "1", "yes", "y", "t")
_FALSE = ("false", "0", "no", "n", "f")
_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_THOUSANDS = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$"
_DATE_LIKE = r"^\d{4}-\d{2}-\d{2}"


def _np(a: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(a.to_numpy(zero_copy_only=False)) if isinstance(a, pa.Array) else \
        np.asarray(a.combine_chunks().to_numpy(zero_copy_only=False))


def _arrow(s: pd.Series) -> pa.Array:
    """Any column as an Arrow array (strings for text, numbers for numbers)."""
    try:
        a = pa.array(s.array) if isinstance(s.dtype, pd.StringDtype) else pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
        vals = s.to_numpy(dtype=object)
        a = pa.array([None if _missing(v) else str(v) for v in vals], type=pa.string())
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    return a


def _missing(v: Any) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _text(s: pd.Series) -> pa.Array:
    """Cells as stripped strings; missing cells are ``""``."""
    a = _arrow(s)
    if not (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)):
        try:
            a = pc.cast(a, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            vals = s.to_numpy(dtype=object)
            a = pa.array([None if _missing(v) else str(v) for v in vals], type=pa.string())
    a = pc.utf8_trim_whitespace(pc.fill_null(a, ""))
    if pa.types.is_large_string(a.type):
        a = a.cast(pa.string())
    return a


def _numbers(s: pd.Series) -> tuple[np.ndarray, np.ndarray, pa.Array | None]:
    """(values, bad, text): empty cells are NaN; bad marks cells that are not finite numbers."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        return v, np.isinf(v), None
    txt = _text(s)
    thousands = pc.match_substring_regex(txt, _THOUSANDS)
    clean = pc.if_else(thousands, pc.replace_substring(txt, ",", ""), txt)
    ok = pc.match_substring_regex(clean, _NUMBER)
    v = _np(pc.fill_null(pc.cast(pc.if_else(ok, clean, None), pa.float64()), np.nan)).astype(float)
    empty = _np(pc.equal(txt, ""))
    bad = (~empty & ~_np(ok)) | np.isinf(v)
    return v, bad, txt


def _booleans(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array]:
    """(value, given, bad, text) of a true/false column."""
    low = pc.utf8_lower(_text(s))
    t = _np(pc.is_in(low, value_set=pa.array(_TRUE)))
    f = _np(pc.is_in(low, value_set=pa.array(_FALSE)))
    empty = _np(pc.equal(low, ""))
    return t, t | f, ~(t | f | empty), low


def _blank(n: int) -> pa.Array:
    """``n`` empty strings."""
    return pc.fill_null(pa.nulls(n, pa.string()), "")


def _in(a: pa.Array, values: pa.Array | list | np.ndarray) -> np.ndarray:
    vs = values if isinstance(values, pa.Array) else pa.array(list(values), type=pa.string())
    return _np(pc.is_in(a, value_set=vs))


_MONTH_RE = re.compile(r"^\s*(\d{1,2})\s*(?:-\s*(\d{1,2})\s*)?$")


def parse_months(text: str) -> int | None:
    """Turn ``"1-12"``, ``"4-9"``, ``"11-2"`` or ``"1,3,5-7"`` into a 12-bit mask.

    Bit ``m - 1`` is month ``m``; a range whose end comes before its start wraps
    round the new year (``"11-2"`` is November to February). Returns ``None``
    when the text is not a valid month list; ``""`` is all months.
    """
    text = str(text).strip()
    if not text:
        return ALL_MONTHS
    mask = 0
    for part in text.split(","):
        m = _MONTH_RE.match(part)
        if not m:
            return None
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) else a
        if not (1 <= a <= 12 and 1 <= b <= 12):
            return None
        k = a
        while True:
            mask |= 1 << (k - 1)
            if k == b:
                break
            k = k % 12 + 1
    return mask


def _lookup(a: pa.Array, table: dict[str, Any], default: Any, dtype: Any) -> np.ndarray:
    """Map each string of ``a`` through ``table`` (vectorised over the distinct values)."""
    uniq = pc.unique(a)
    keys = uniq.to_pylist()
    vals = np.array([table.get(k, default) for k in keys], dtype=dtype)
    pos = _np(pc.index_in(a, value_set=uniq))
    return vals[pos] if len(pos) else np.array([], dtype=dtype)


def _codes(a: pa.Array) -> tuple[np.ndarray, list[str]]:
    """Integer code of each string and the distinct strings (in order of first appearance)."""
    enc = pc.dictionary_encode(a)
    return _np(enc.indices).astype(np.int64), enc.dictionary.to_pylist()
