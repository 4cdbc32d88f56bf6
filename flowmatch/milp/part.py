"""The protocol every part of the optimisation model follows.

A plan is built from parts: direct synergies of materials, milk rounds, the
water cascade and the heat cascade. Each part owns the balance of some
resources (every resource is owned by exactly one part), adds its variables and
rows to one shared :class:`~flowmatch.model.ModelBuilder`, and after the solve
turns its slice of the solution into flow rows (``plan.FLOW_COLUMNS``) and, for
milk rounds, route rows (``plan.ROUTE_COLUMNS``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from flowmatch.milp.builder import ModelBuilder

__all__ = ["ModelPart"]


@runtime_checkable
class ModelPart(Protocol):
    """One part of the MILP (see the module docstring)."""

    name: str

    def resource_ids(self) -> list[str]:
        """Ids of the resources whose balance this part owns."""
        ...

    def add_to(self, mb: ModelBuilder) -> None:
        """Add variables, rows and metric coefficients (cost, co2 kg, landfill t)."""
        ...

    def warm_start(self, x: np.ndarray) -> None:
        """Write a feasible (greedy) start for this part's variables into ``x``."""
        ...

    def flows(self, x: np.ndarray) -> pd.DataFrame:
        """This part's flows (``FLOW_COLUMNS``), disposal and virgin rows included."""
        ...

    def routes(self, x: np.ndarray) -> pd.DataFrame:
        """This part's routes (``ROUTE_COLUMNS``); empty for parts without routes."""
        ...
