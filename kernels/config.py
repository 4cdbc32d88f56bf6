"""Compile flags of every kernel, and where Numba keeps compiled kernels.

Numba caches compiled kernels next to their source by default, which fails when
site-packages is read-only. Unless the user set ``NUMBA_CACHE_DIR``, the cache
goes to a per-user folder (:func:`cache_dir`): this module sets Numba's own
``config.CACHE_DIR`` when the kernels are first imported, which is before any
kernel is compiled. Nothing is written to the process environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, TypedDict

import numba

__all__ = ["NJIT", "NJIT_INLINE", "NJIT_PARALLEL", "JitFlags", "cache_dir"]


def cache_dir() -> Path:
    """Return the per-user directory Numba caches compiled kernels in."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "flowmatch" / "numba"


def _use_cache_dir() -> None:
    # numba.config fills its settings into globals() at import, so type checkers
    # cannot see them: hence the ignores on CACHE_DIR.
    if numba.config.CACHE_DIR:  # type: ignore[attr-defined]  # the user's NUMBA_CACHE_DIR: leave it
        return
    try:
        d = cache_dir()
        d.mkdir(parents=True, exist_ok=True)
    except OSError:  # pragma: no cover - unwritable home: numba falls back to __pycache__
        return
    numba.config.CACHE_DIR = str(d)  # type: ignore[attr-defined]


_use_cache_dir()


class JitFlags(TypedDict, total=False):
    """The keyword arguments of ``numba.njit`` the kernels set, typed as ``njit`` takes them."""

    cache: bool
    nogil: bool
    fastmath: bool
    error_model: Literal["python", "numpy"]
    inline: Literal["never", "always"]
    parallel: bool


#: Flags for serial kernels: every ``@njit`` in ``kernels/`` uses these.
NJIT: JitFlags = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}
#: Flags for small kernels called once per pair from other kernels: inlined by
#: Numba, because a call passing tuples of arrays costs more than the work.
NJIT_INLINE: JitFlags = {**NJIT, "inline": "always"}
#: Flags for kernels that use ``prange``.
NJIT_PARALLEL: JitFlags = {**NJIT, "parallel": True}
