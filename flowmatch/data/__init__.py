"""Data shipped with flowmatch, read through ``importlib.resources``.

``ewc_codes.csv`` (the List of Wastes with hazardous flags), ``types.csv``
(built-in water, energy and raw-material types), ``exchanges.csv`` (the
knowledge base of documented exchanges, each with its source),
``nace_divisions.csv`` (sector names for the gap analysis), ``water_classes.csv``
and ``water_limits.csv`` (which water type may feed which, and a water sink
type's default limits, each row citing its standard), and ``report.css``
/ ``report.js`` (the report page's own style and script).
"""
