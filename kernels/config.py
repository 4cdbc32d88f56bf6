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

import numba

__all__ = ["NJIT", "NJIT_INLINE", "NJIT_PARALLEL", "cache_dir"]


def cache_dir() -> Path:
    """Return the per-user directory Numba caches compiled kernels in."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "flowmatch" / "numba"


def _use_cache_dir() -> None:
    if numba.config.CACHE_DIR:  # the user's NUMBA_CACHE_DIR: leave it
        return
    try:
        d = cache_dir()
        d.mkdir(parents=True, exist_ok=True)
    except OSError:  # pragma: no cover - unwritable home: numba falls back to __pycache__
        return
    numba.config.CACHE_DIR = str(d)


_use_cache_dir()

#: Flags for serial kernels: every ``@njit`` in ``kernels/`` uses these.
NJIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")
#: Flags for small kernels called once per pair from other kernels: inlined by
#: Numba, because a call passing tuples of arrays costs more than the work.
NJIT_INLINE = dict(NJIT, inline="always")
#: Flags for kernels that use ``prange``.
NJIT_PARALLEL = dict(NJIT, parallel=True)
