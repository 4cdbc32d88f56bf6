"""Temperature slots: the intervals of the heat cascade.

Temperatures are shifted by ``dt_min_k / 2`` (hot down, cold up), so heat moves
from a hot to a cold stream only across at least ``dt_min_k``. The shifted
temperatures cut the range into *slots*: the intervals between them, and a
point slot at each temperature where a level sits. Each stream's duty is
spread over the slots it spans, in proportion to their width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flowmatch.milp.heat.streams import HeatStreams

__all__ = ["Slots", "build_slots", "cat"]


def cat(parts: list[np.ndarray], dtype=np.int64) -> np.ndarray:
    """Concatenate array blocks (an empty array of ``dtype`` for none)."""
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


@dataclass(frozen=True)
class Slots:
    """Temperature slots of a set of streams, top (hottest) first.

    Attributes
    ----------
    top, bottom : ndarray of float
        Shifted temperatures bounding each slot (equal for a point slot).
    stream, slot, heat : ndarray
        COO triplets: stream ``stream[k]`` gives (hot) or takes (cold)
        ``heat[k]`` MWh a year in slot ``slot[k]``.
    first, last : ndarray of int
        Each stream's top and bottom slot.
    """

    top: np.ndarray
    bottom: np.ndarray
    stream: np.ndarray
    slot: np.ndarray
    heat: np.ndarray
    first: np.ndarray
    last: np.ndarray

    def __len__(self) -> int:
        return len(self.top)


def build_slots(hs: HeatStreams) -> Slots:
    """Cut the shifted temperature range of ``hs`` into slots and spread each duty over them."""
    hi, lo = hs.shifted_hi, hs.shifted_lo
    active = hs.duty > 0
    bounds = np.unique(np.concatenate([hi[active], lo[active]]))[::-1]  # descending
    level_at = np.zeros(len(bounds), dtype=bool)
    pos_hi = np.searchsorted(-bounds, -hi)
    pos_lo = np.searchsorted(-bounds, -lo)
    level_at[pos_hi[active & hs.level]] = True
    # slot numbering: the interval above bound m (m >= 1), then the point slot at bound m
    n_b = len(bounds)
    interval_slot = np.full(n_b, -1)
    point_slot = np.full(n_b, -1)
    tops: list[float] = []
    bots: list[float] = []
    for m in range(n_b):
        if m > 0:
            interval_slot[m] = len(tops)
            tops.append(bounds[m - 1])
            bots.append(bounds[m])
        if level_at[m]:
            point_slot[m] = len(tops)
            tops.append(bounds[m])
            bots.append(bounds[m])
    s_idx, slot_idx, heat = [], [], []
    first = np.full(len(hs), -1)
    last = np.full(len(hs), -1)
    for k in np.flatnonzero(active):
        if hs.level[k]:
            sl = np.array([point_slot[pos_hi[k]]])
            q = np.array([hs.duty[k]])
        else:
            ms = np.arange(pos_hi[k] + 1, pos_lo[k] + 1)
            sl = interval_slot[ms]
            q = hs.duty[k] * (bounds[ms - 1] - bounds[ms]) / (hi[k] - lo[k])
        s_idx.append(np.full(len(sl), k))
        slot_idx.append(sl)
        heat.append(q)
        first[k], last[k] = sl[0], sl[-1]
    return Slots(np.array(tops, float), np.array(bots, float), cat(s_idx), cat(slot_idx),
                 cat(heat, float), first, last)
