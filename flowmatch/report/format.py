"""Text for people: HTML-escaped user strings and numbers with a scale word.

Every string that comes from the user's data is HTML-escaped before it reaches
the page or a figure, since plotly renders a few HTML tags in labels and hover
text: :func:`esc` for the page, :func:`esc_plot` for plotly. Numbers read as
``290 million`` or ``12,345`` (:func:`fmt_number`, :func:`fmt_scaled`).
"""

from __future__ import annotations

import html
import math

__all__ = ["esc", "esc_plot", "fmt_number", "fmt_scaled"]


def esc(text: object) -> str:
    """HTML-escape a user string for the page (text and attribute values)."""
    return html.escape("" if text is None else str(text), quote=True)


def esc_plot(text: object) -> str:
    """Escape a user string for a plotly label or hover text.

    plotly renders ``<b>``, ``<br>`` and a few other tags and decodes ``&lt;``,
    ``&gt;`` and ``&amp;``, but shows ``&quot;`` as it is; quotes are harmless
    in SVG text, so only ``&``, ``<`` and ``>`` are escaped.
    """
    return html.escape("" if text is None else str(text), quote=False)


def fmt_scaled(v: float, digits: int = 1) -> tuple[str, str]:
    """A number for people, split into its digits and a scale word: ``("12.3", "million")``.

    Millions and billions keep three significant digits.
    """
    if v is None or not math.isfinite(v):
        return "n/a", ""
    a = abs(v)
    for scale, word in ((1e9, "billion"), (1e6, "million")):
        if a >= scale:
            x = v / scale
            return f"{x:,.{0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2}f}", word
    if a >= 100 or v == round(v):
        return f"{v:,.0f}", ""
    if a >= 1:
        return f"{v:,.{digits}f}", ""
    return (f"{v:.2g}" if a else "0"), ""


def fmt_number(v: float, digits: int = 1) -> str:
    """A number for people: ``290 million``, ``12.3 million``, ``12,345``, ``12.3``, ``0.12``."""
    num, word = fmt_scaled(v, digits)
    return f"{num} {word}" if word else num
