"""The plan: what the optimiser decided, in the spec's tables.

``flows`` has one row per flow (``FLOW_COLUMNS``), disposal and virgin supply
included (``want_id == "DISPOSAL"`` / ``have_id == "VIRGIN"``), so every tonne in
is accounted for; ``routes`` one row per milk round (``ROUTE_COLUMNS``);
``summary`` the ``summary.json`` dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Plan", "FLOW_COLUMNS", "ROUTE_COLUMNS", "DISPOSAL", "VIRGIN", "MODES"]

FLOW_COLUMNS = ["have_id", "want_id", "quantity", "unit", "mode", "route_id", "distance_km",
                "cost", "co2_kg"]
ROUTE_COLUMNS = ["route_id", "sites", "km", "collections_per_year"]
DISPOSAL = "DISPOSAL"
VIRGIN = "VIRGIN"
MODES = ("direct", "milk_round", "cascade", "disposal", "virgin")


@dataclass
class Plan:
    """An optimised plan.

    Attributes
    ----------
    status : str
        ``optimal``, ``time_limit`` (best plan found, see ``gap``), ``infeasible``...
    gap : float
        Relative MIP gap reached (0 when optimal).
    flows, routes : pandas.DataFrame
    summary : dict
        What ``summary.json`` holds (status, gap, objective, baseline, by_category, ...).
    timings : dict
        Seconds spent per phase (match, build, solve, ...).
    """

    status: str
    gap: float
    flows: pd.DataFrame
    routes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ROUTE_COLUMNS))
    summary: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
