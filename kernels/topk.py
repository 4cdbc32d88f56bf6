"""Top-K per row kept inside the kernels: a bounded heap, never a full score matrix.

A row is a pair of arrays ``(score, idx)`` of length K holding a heap whose root
(position 0) is the *worst* entry kept. Order is total and deterministic:
higher score is better, and on equal scores the lower index is better, so every
enumeration order of the same pairs keeps the same K (the exhaustive and the
pruned search agree exactly, ties included).
"""

from __future__ import annotations

from numba import njit

from .config import NJIT

__all__ = ["worse", "heap_push", "heap_sort"]


@njit(**NJIT)
def worse(s1, i1, s2, i2):
    """Whether ``(s1, i1)`` ranks below ``(s2, i2)``."""
    return s1 < s2 or (s1 == s2 and i1 > i2)


@njit(**NJIT)
def _sift_down(score, idx, start, n):
    pos = start
    while True:
        left = 2 * pos + 1
        if left >= n:
            return
        child = left
        right = left + 1
        if right < n and worse(score[right], idx[right], score[left], idx[left]):
            child = right
        if worse(score[child], idx[child], score[pos], idx[pos]):
            score[pos], score[child] = score[child], score[pos]
            idx[pos], idx[child] = idx[child], idx[pos]
            pos = child
        else:
            return


@njit(**NJIT)
def heap_push(score, idx, n, s, i):
    """Offer ``(s, i)`` to a heap of ``n`` entries; return the new count.

    ``score`` and ``idx`` are one row (length K). The entry is kept when the row
    is not full or it ranks above the worst kept entry, which it then replaces.
    """
    k = score.shape[0]
    if n < k:
        pos = n
        score[pos] = s
        idx[pos] = i
        while pos > 0:
            parent = (pos - 1) // 2
            if worse(score[pos], idx[pos], score[parent], idx[parent]):
                score[pos], score[parent] = score[parent], score[pos]
                idx[pos], idx[parent] = idx[parent], idx[pos]
                pos = parent
            else:
                break
        return n + 1
    if not worse(score[0], idx[0], s, i):
        return n
    score[0] = s
    idx[0] = i
    _sift_down(score, idx, 0, k)
    return n


@njit(**NJIT)
def heap_sort(score, idx, n):
    """Sort the ``n`` entries of a heap row best first (in place)."""
    end = n
    while end > 1:
        end -= 1
        score[0], score[end] = score[end], score[0]
        idx[0], idx[end] = idx[end], idx[0]
        _sift_down(score, idx, 0, end)
