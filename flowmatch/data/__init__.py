"""Data shipped with flowmatch, read through ``importlib.resources``.

``ewc_codes.csv`` (the List of Wastes with hazardous flags), ``types.csv``
(built-in water, energy and raw-material types), ``exchanges.csv`` (the
knowledge base of documented exchanges, each with its source),
``properties.csv`` (the properties flowmatch knows: unit, hard or soft limit, reason),
``nace_divisions.csv`` (sector names for the gap analysis), and ``report.css``
/ ``report.js`` (the report page's own style and script).
"""
