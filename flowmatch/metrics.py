"""The metrics every plan is judged by, named once.

A model variable carries a coefficient in each *model* metric (``cost`` in the
inventory's currency with the carbon price included, ``co2`` in kg CO2e,
``landfill`` in t); ``summary.json``, comparison tables, Pareto fronts and
reports give them under their *keys* (``cost``, ``co2_t``, ``landfill_t``).
Objectives, metric caps, what-if columns, Pareto axes and chart labels all come
from :data:`METRICS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Metric", "METRICS", "MODEL_METRICS", "SUMMARY_KEYS", "OBJECTIVES", "CAP_KEYS",
           "metric_named", "summary_values"]


@dataclass(frozen=True)
class Metric:
    """One metric: its model name, its key in summaries and how the two relate.

    Attributes
    ----------
    name : str
        Model metric and objective name (``cost``, ``co2``, ``landfill``).
    key : str
        Key in ``summary.json`` and column of comparisons (``cost``, ``co2_t``...).
    per_key : float
        Model units per summary unit (1000 kg per t for ``co2``).
    label : str
        For people: table rows and chart axes.
    """

    name: str
    key: str
    per_key: float
    label: str


#: Every metric, in the order tables show them.
METRICS = (
    Metric("cost", "cost", 1.0, "cost"),
    Metric("co2", "co2_t", 1000.0, "CO2 t"),
    Metric("landfill", "landfill_t", 1.0, "landfill t"),
)
#: Names of the model metrics (the coefficient vectors of a ``LinearModel``).
MODEL_METRICS = tuple(m.name for m in METRICS)
#: Their keys in ``summary.json`` ``objective`` and ``baseline``.
SUMMARY_KEYS = tuple(m.key for m in METRICS)
#: What ``optimise`` can minimise: one metric, or a weighted sum of them.
OBJECTIVES = (*MODEL_METRICS, "weighted")
#: Names a metric cap may use -> (model metric, model units per unit of the cap).
CAP_KEYS: dict[str, tuple[str, float]] = {
    **{m.name: (m.name, 1.0) for m in METRICS},
    **{m.key: (m.name, m.per_key) for m in METRICS},
    "co2_kg": ("co2", 1.0),
}


def metric_named(name: str) -> Metric:
    """The metric with model name or summary key ``name`` (KeyError otherwise)."""
    for m in METRICS:
        if name in (m.name, m.key):
            return m
    raise KeyError(name)


def summary_values(model_values: Mapping[str, float]) -> dict[str, float]:
    """Model metric values (``cost``, ``co2`` kg, ``landfill`` t) under their summary keys."""
    return {m.key: float(model_values[m.name]) / m.per_key for m in METRICS}
