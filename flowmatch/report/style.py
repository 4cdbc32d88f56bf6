"""The shared look of the report's figures: font, palette, and colours and labels as plotly takes them."""

from __future__ import annotations

import numpy as np

__all__ = ["FONT", "PARK_COLOURS", "rgba", "strings"]

PARK_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
                "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
                "#e6550d", "#31a354", "#756bb1", "#636363", "#d6616b"]
FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=12)


def rgba(hex_colour: str, alpha: float) -> str:
    """A ``#rrggbb`` colour with opacity ``alpha``, as plotly's ``rgba(r,g,b,a)``."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def strings(items: list[str]) -> np.ndarray:
    """A list of strings as a NumPy array, which plotly validates in one step rather than item by item."""
    return np.array(items, dtype=object)
