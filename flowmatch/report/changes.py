"""The "what each scenario changed" section of a what-if report.

A what-if folder's ``changes.csv`` (:mod:`flowmatch.studies.changes`) lists the
synergies each scenario added, dropped or resized against the baseline; the
section counts them per scenario and lists them, largest change first.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from flowmatch.report.format import esc

__all__ = ["changes_body"]

_COLS = [("scenario", "Scenario", "text"), ("change", "Change", "text"), ("have_id", "Have", "text"),
         ("want_id", "Want", "text"), ("mode", "Mode", "text"), ("quantity_base", "Baseline", "num"),
         ("quantity_scenario", "Scenario quantity", "num"), ("delta", "Change in quantity", "num"),
         ("unit", "Unit", "text")]


def changes_body(changes: pd.DataFrame, html_table: Callable[..., str], max_rows: int) -> str:
    """The section's HTML: one line per scenario (counts), then the table of changed synergies."""
    if changes.empty:
        return ('<p class="lead">No scenario added, dropped or resized a synergy: every scenario keeps the '
                "baseline's synergies at the same quantities (its costs and CO2 may still differ).</p>")
    counts = changes.groupby("scenario", sort=False)["change"].value_counts().unstack(fill_value=0)
    lines = []
    for scen, row in counts.iterrows():
        bits = [f"{int(row[c])} {c}" for c in ("added", "dropped", "resized") if c in row and row[c]]
        lines.append(f"<li><b>{esc(scen)}</b>: {esc(', '.join(bits))}</li>")
    top = changes.reindex(changes["delta"].abs().sort_values(ascending=False, kind="stable").index)
    return ('<p class="lead">Synergies each scenario added, dropped or resized against the baseline '
            "(changes.csv; each run's full plan is in runs/).</p>"
            f"<ul>{''.join(lines)}</ul>"
            + html_table(top.head(max_rows), _COLS, "t-changes", total=len(top), what="changes"))
