"""Periods of the year for the water and heat cascades: months on which every stream is constant.

A resource is available (a have) or needed (a want) in the months of its
``month_mask`` (12 bits, January the lowest). A cascade whose streams do not all
run in the same months is planned over *periods*: the coarsest partition of the
months on which every stream is either on or off. One seasonal heat sink
(months 4-9) beside year-round streams gives two periods, 4-9 and 10-3; when
every stream runs all year (or all in the same months) there is exactly one
period and the cascade is the steady-year model.

Convention: a stream's yearly ``quantity`` is spread evenly over its own
months (a rate of ``quantity / months_active`` per month), so its quantity in a
period is that rate times the period's months (:attr:`Periods.share`). Links
(pipes, heat links) are built once a year and carry per-period flows.

With ``chronological=True`` (storage carries water from one period to the
next) periods are also contiguous runs of months, taken cyclically (a run
may wrap from December to January), in calendar order, so the period after
the last is the first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ALL_MONTHS", "PERIOD_COLUMNS", "Periods", "build_periods", "month_count", "mask_text",
           "period_table"]

ALL_MONTHS = (1 << 12) - 1
#: Columns of ``flows_by_period.csv``: a cascade's flows in each period (months as text, their count).
PERIOD_COLUMNS = ["period", "months", "have_id", "want_id", "quantity", "unit", "mode"]


def month_count(mask: int) -> int:
    """Months in a 12-bit mask."""
    return bin(int(mask) & ALL_MONTHS).count("1")


def mask_text(mask: int) -> str:
    """Months of ``mask`` as runs, wrapping the year (``4-9``, ``10-3``, ``1-2,6``)."""
    mask = int(mask) & ALL_MONTHS
    if mask == ALL_MONTHS:
        return "1-12"
    on = [bool(mask >> m & 1) for m in range(12)]
    # start after an off month so that a run wrapping December-January is one run
    start = next((m for m in range(12) if on[m] and not on[m - 1]), 0)
    runs, m = [], 0
    while m < 12:
        k = (start + m) % 12
        if on[k]:
            n = 0
            while n < 12 - m and on[(k + n) % 12]:
                n += 1
            a, b = k + 1, (k + n - 1) % 12 + 1
            runs.append((a, f"{a}" if n == 1 else f"{a}-{b}"))
            m += n
        else:
            m += 1
    return ",".join(t for _, t in sorted(runs))


@dataclass(frozen=True)
class Periods:
    """The periods of one cascade.

    Attributes
    ----------
    masks : tuple of int
        Month mask of each period (January's period first; in calendar order
        when chronological).
    share : ndarray, shape (n_streams, n_periods)
        Share of each stream's yearly quantity in each period: the period's
        months over the stream's own months where the stream runs in that
        period, 0 where it does not. Each row sums to 1.
    """

    masks: tuple[int, ...]
    share: np.ndarray

    def __len__(self) -> int:
        return len(self.masks)

    def months(self, k: int) -> int:
        """Months in period ``k``."""
        return month_count(self.masks[k])

    def label(self, k: int) -> str:
        """Months of period ``k`` as text (``4-9``)."""
        return mask_text(self.masks[k])

    def suffix(self, k: int) -> str:
        """Suffix of a variable or row name in period ``k`` (empty when there is one period)."""
        return "" if len(self) == 1 else f"@m{self.label(k)}"


def build_periods(masks: np.ndarray, chronological: bool = False) -> Periods:
    """The coarsest periods on which every stream of ``masks`` is constant.

    Months when no stream runs belong to no period. A stream whose mask is 0
    (no month) is taken to run all year.
    """
    masks = np.asarray(masks, dtype=np.int64) & ALL_MONTHS
    masks = np.where(masks == 0, ALL_MONTHS, masks)
    on = (masks[:, None] >> np.arange(12)[None, :]) & 1  # (stream, month)
    sig = [on[:, m].tobytes() for m in range(12)]
    groups: list[int] = []
    if chronological:
        start = next((m for m in range(12) if sig[m] != sig[m - 1]), None)
        if start is None:
            groups = [ALL_MONTHS]
        else:
            cur = 0
            for n in range(12):
                m = (start + n) % 12
                if n and sig[m] != sig[(m - 1) % 12]:
                    groups.append(cur)
                    cur = 0
                cur |= 1 << m
            groups.append(cur)
    else:
        by_sig: dict[bytes, int] = {}
        for m in range(12):
            by_sig[sig[m]] = by_sig.get(sig[m], 0) | (1 << m)
        groups = list(by_sig.values())
    groups = [g for g in groups if (masks & g).any()] if len(masks) else [ALL_MONTHS]
    if not groups:
        groups = [ALL_MONTHS]
    # January's period first; the rest follow in calendar (cyclic) order of their first month
    jan = next(k for k, g in enumerate(groups) if g & 1) if any(g & 1 for g in groups) else 0
    if chronological:
        groups = groups[jan:] + groups[:jan]
    else:
        groups.sort(key=lambda g: (g & -g))
    active = np.array([month_count(int(m)) for m in masks], float)
    share = np.zeros((len(masks), len(groups)))
    for k, g in enumerate(groups):
        runs = (masks & g) != 0
        share[:, k] = np.where(runs, month_count(g) / np.maximum(active, 1.0), 0.0)
    if len(groups) == 1:
        share[:] = 1.0
    return Periods(tuple(int(g) for g in groups), share)


def period_table(parts: list, x: np.ndarray) -> pd.DataFrame | None:
    """The flows per period of every part planned over several periods (``flows_by_period.csv``),
    or ``None`` when no part has more than one period."""
    tables = [t for t in (p.period_flows(x) for p in parts if hasattr(p, "period_flows")) if len(t)]
    return pd.concat(tables, ignore_index=True)[PERIOD_COLUMNS] if tables else None
