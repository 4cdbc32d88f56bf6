"""One place for Numba flags and the on-disk compile cache.

Numba caches compiled kernels next to their source by default, which fails when
site-packages is read-only. We point ``NUMBA_CACHE_DIR`` at a per-user cache
directory before Numba is imported (``flowmatch/__init__`` imports this module
first), unless the user has set it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["NJIT", "NJIT_INLINE", "NJIT_PARALLEL", "cache_dir"]


def cache_dir() -> Path:
    """Return the per-user directory Numba caches compiled kernels in."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "flowmatch" / "numba"


if "NUMBA_CACHE_DIR" not in os.environ:
    try:
        _d = cache_dir()
        _d.mkdir(parents=True, exist_ok=True)
        os.environ["NUMBA_CACHE_DIR"] = str(_d)
    except OSError:  # pragma: no cover - unwritable home: numba falls back
        pass

#: Flags for serial kernels: every ``@njit`` in ``kernels/`` uses these.
NJIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")
#: Flags for small kernels called once per pair from other kernels: inlined by
#: Numba, because a call passing tuples of arrays costs more than the work.
NJIT_INLINE = dict(NJIT, inline="always")
#: Flags for kernels that use ``prange``.
NJIT_PARALLEL = dict(NJIT, parallel=True)
