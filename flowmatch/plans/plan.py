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

from flowmatch.metrics import metric_named

__all__ = ["Plan", "FLOW_COLUMNS", "ROUTE_COLUMNS", "DISPOSAL", "VIRGIN", "MODES"]

FLOW_COLUMNS = ["have_id", "want_id", "quantity", "unit", "mode", "route_id", "distance_km",
                "cost", "co2_kg"]
ROUTE_COLUMNS = ["route_id", "sites", "km", "collections_per_year"]
DISPOSAL = "DISPOSAL"
VIRGIN = "VIRGIN"
MODES = ("direct", "milk_round", "cascade", "regenerated", "disposal", "virgin")


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
    candidates : pandas.DataFrame or None
        The candidate pairs the plan was chosen from (written with the plan
        so reports can show what was not chosen).
    synergies : pandas.DataFrame or None
        What each chosen synergy is worth (``synergies.csv``,
        :func:`flowmatch.plans.synergies.synergy_table`).
    flows_by_period : pandas.DataFrame or None
        The water and heat cascades' flows in each period of the year
        (``flows_by_period.csv``, :data:`flowmatch.milp.periods.PERIOD_COLUMNS`),
        where a cascade has seasonal streams; ``None`` otherwise.
    """

    status: str
    gap: float
    flows: pd.DataFrame
    routes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ROUTE_COLUMNS))
    summary: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    candidates: pd.DataFrame | None = None
    synergies: pd.DataFrame | None = None
    flows_by_period: pd.DataFrame | None = None

    def text_summary(self) -> str:
        """A few lines for the terminal: status, then baseline vs plan for landfill, cost and CO2."""
        s = self.summary
        head = (f"plan: {_status_words(self.status, s.get('gap'), s.get('requested_gap'), s.get('blocks'))}, "
                f"{s.get('n_synergies', 0)} synergies, {s.get('n_milk_rounds', 0)} milk rounds")
        cur = s.get("currency", "")
        base, obj = s.get("baseline", {}), s.get("objective", {})
        rows = []
        lines_of = [(m.key, f"{m.label} {cur}".strip() if m.name == "cost" else m.label)
                    for m in (metric_named(n) for n in ("landfill", "cost", "co2"))]
        if "cash" in base and "cash" in obj:  # cost = cash + carbon at the carbon price
            i = [k for k, _ in lines_of].index("cost")
            lines_of[i + 1:i + 1] = [("cash", f"  cash {cur}".rstrip()), ("carbon_cost", f"  carbon {cur}".rstrip())]
        for key, label in lines_of:
            b, p = base.get(key), obj.get(key)
            if b is None or p is None:
                continue
            pct = f" ({100 * (p - b) / abs(b):+.1f}%)" if b else ""
            rows.append((label, f"{b:,.1f}", f"{p:,.1f}", f"{p - b:+,.1f}{pct}"))
        cells = [("", "baseline", "plan", "change"), *rows]
        widths = [max(len(r[i]) for r in cells) for i in range(4)]
        lines = [head] + ["  ".join([r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:],
                                                                                         strict=True)])
                          for r in cells]
        rules = s.get("rules") or []
        if rules:
            bound = [r["rule_id"] for r in rules if r.get("binding")]
            lines.append(f"rules: {len(rules)}, {len(bound)} binding" + (f" ({', '.join(bound)})" if bound else ""))
            loose = [r["rule_id"] for r in rules if r.get("held") is False]
            if loose:
                lines.append(f"rules NOT held by the plan's rows: {', '.join(loose)} (the heat cascade passes "
                             "heat between their streams; see the rules section of summary.json)")
        t = self.timings
        if t:
            lines.append("time: " + ", ".join(f"{k} {v:.2f} s" for k, v in t.items()))
        return "\n".join(lines)


def _status_words(status: str, gap: float | None, requested: float | None, blocks: list | None) -> str:
    """``optimal`` only within the requested gap; otherwise the gap reached (and the blocks above it)."""
    got = "an unknown gap" if gap is None else f"a gap of {100 * gap:.2f}%"
    if status == "optimal":
        want = "" if requested is None else f" of {100 * requested:g}%"
        return f"optimal within the requested gap{want} ({got})"
    if status == "time_limit":
        want = "" if requested is None else f", requested {100 * requested:g}%"
        late = [b for b in blocks or [] if b.get("status") == "time_limit"]
        if late and len(blocks or []) > 1:
            worst = max((b["gap"] for b in late if b.get("gap") is not None), default=None)
            worst_txt = "" if worst is None else f", the worst at {100 * worst:.2f}%"
            want += f"; {len(late)} of {len(blocks or [])} blocks not proved within it{worst_txt}"
        return f"stopped at the time limit with {got}{want}"
    return f"{status} ({got})"
