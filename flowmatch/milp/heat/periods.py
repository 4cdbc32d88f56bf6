"""The heat cascade over the periods of the year: each period's duties, and its flows.

Heat is not stored: every period (:mod:`flowmatch.milp.periods`) is a cascade
of its own over the same temperature slots, zones and heat links. A stream's
duty in a period is its yearly duty times its share of the period (spread
evenly over its own months), so a seasonal sink takes heat only in its
months, and the temperature-interval feasibility holds in every period. The
heat links are built once (one binary and their yearly cost once) and carry
each period's heat up to that period's capacity: the link's yearly capacity,
and no more than the sending zone's hot duty and the receiving zone's cold
duty in that period. With one period (every stream in the same months) the
model is the steady-year one.

After the solve, each period's solution is turned into stream flows
(:mod:`flowmatch.milp.heat.flows`); the yearly flows are their sums.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from flowmatch.milp.heat.part import HeatPart

__all__ = ["HeatPeriod", "heat_periods", "PeriodView"]


@dataclass(frozen=True)
class HeatPeriod:
    """One period's duties.

    Attributes
    ----------
    k : int
    suffix : str
        Added to the period's variable and row names (empty for a single period).
    share : ndarray
        Each stream's share of its yearly duty in the period.
    duty : ndarray
        Each stream's duty in the period, MWh.
    H, C : ndarray, shape (n_zone, n_slot)
        Heat given and taken per zone and slot in the period.
    hot_duty : ndarray
        Hot duty per zone in the period.
    cap_ab, cap_ba : ndarray
        Most heat each link carries either way in the period.
    exports, letdowns : ndarray of int
        The part's export arcs and let-down pairs that can carry heat in the
        period (a zone giving heat in that slot to one that needs it at or
        below; a steam have and want both running); all with one period.
    """

    k: int
    suffix: str
    share: np.ndarray
    duty: np.ndarray
    H: np.ndarray
    C: np.ndarray
    hot_duty: np.ndarray
    cap_ab: np.ndarray
    cap_ba: np.ndarray
    exports: np.ndarray
    letdowns: np.ndarray


def heat_periods(part: HeatPart) -> list[HeatPeriod]:
    """The periods of ``part``'s cascade with their duties (one, the year's, when all streams agree)."""
    hs, sl, per = part.streams, part.slots, part.periods
    if len(per) == 1:
        return [HeatPeriod(0, "", np.ones(len(hs)), hs.duty, part.H, part.C, part.hot_duty,
                           part.link_cap_ab, part.link_cap_ba, np.arange(len(part.exp_from)),
                           np.arange(len(part.steam_i)))]
    out = []
    zk = part.zone[sl.stream]
    hot_k = hs.hot[sl.stream]
    for k in range(len(per)):
        share = per.share[:, k]
        duty = hs.duty * share
        heat = sl.heat * share[sl.stream]
        H = np.zeros_like(part.H)
        C = np.zeros_like(part.C)
        np.add.at(H, (zk[hot_k], sl.slot[hot_k]), heat[hot_k])
        np.add.at(C, (zk[~hot_k], sl.slot[~hot_k]), heat[~hot_k])
        hot_duty = np.bincount(part.zone, weights=np.where(hs.hot, duty, 0.0), minlength=part.n_zone)
        cold_duty = np.bincount(part.zone, weights=np.where(hs.hot, 0.0, duty), minlength=part.n_zone)
        a, b = part.link_a, part.link_b
        cap_ab = np.minimum(part.link_cap_ab, _direction_cap(part, H, C, duty, hot_duty, cold_duty, a, b))
        cap_ba = np.minimum(part.link_cap_ba, _direction_cap(part, H, C, duty, hot_duty, cold_duty, b, a))
        # lowest slot at which each zone still needs heat in the period (-1: none)
        needs = C > 0
        last_need = np.where(needs.any(axis=1), needs.shape[1] - 1 - np.argmax(needs[:, ::-1], axis=1), -1) \
            if needs.shape[1] else np.full(len(C), -1)
        sends_ab = part.exp_from == a[part.exp_link]
        cap_dir = np.where(sends_ab, cap_ab[part.exp_link], cap_ba[part.exp_link])
        exports = np.flatnonzero((H[part.exp_from, part.exp_slot] > 0) & (part.exp_slot <= last_need[part.exp_to])
                                 & (cap_dir > 0))
        letdowns = np.flatnonzero((duty[part.steam_i] > 0) & (duty[part.steam_j] > 0))
        out.append(HeatPeriod(k, per.suffix(k), share, duty, H, C, hot_duty, cap_ab, cap_ba, exports, letdowns))
    return out


def _direction_cap(part: HeatPart, H: np.ndarray, C: np.ndarray, duty: np.ndarray, hot_duty: np.ndarray,
                   cold_duty: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Most heat zone ``a`` can send zone ``b`` in a period (the yearly bound of
    :meth:`HeatPart._direction_cap` on the period's duties): ``b``'s demand less the hot
    utility the problem table of those streams alone needs, plus the steam ``a`` can let down
    to ``b``, at most ``a``'s hot and ``b``'s cold duty."""
    hs = part.streams
    steam = hs.level & (hs.steam_rank >= 0) & (duty > 0)
    steam_hot = np.bincount(part.zone, weights=np.where(steam & hs.hot, duty, 0.0), minlength=part.n_zone)
    steam_cold = np.bincount(part.zone, weights=np.where(steam & ~hs.hot, duty, 0.0), minlength=part.n_zone)
    cap = np.zeros(len(a))
    for lo in range(0, len(a), 2048):
        sa, sb = a[lo:lo + 2048], b[lo:lo + 2048]
        cum = np.cumsum(H[sa] - C[sb], axis=1)
        qh = np.maximum(0.0, -cum.min(axis=1)) if cum.shape[1] else np.zeros(len(sa))
        cap[lo:lo + 2048] = cold_duty[sb] - qh
    return np.minimum(np.minimum(hot_duty[a], cold_duty[b]),
                      np.maximum(cap, 0.0) + np.minimum(steam_hot[a], steam_cold[b]))


class PeriodView:
    """``part`` as seen in one period: its duties, slot heat and variables (for the flows pass)."""

    def __init__(self, part: HeatPart, d: HeatPeriod, idx: dict[str, np.ndarray]):
        self._part = part
        self.streams = replace(part.streams, duty=d.duty)
        self.slots = replace(part.slots, heat=part.slots.heat * d.share[part.slots.stream])
        self.H, self.C = d.H, d.C
        self._idx = idx
        ek, sk = idx["exports"], idx["letdowns"]
        self.exp_from, self.exp_to = part.exp_from[ek], part.exp_to[ek]
        self.exp_slot, self.exp_link = part.exp_slot[ek], part.exp_link[ek]
        self.steam_i, self.steam_j, self.steam_link = part.steam_i[sk], part.steam_j[sk], part.steam_link[sk]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._part, name)
