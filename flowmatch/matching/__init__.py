"""Matching: an Inventory -> frozen arrays -> Numba kernels -> scored candidates.

::

    frozen       the inventory as the arrays the kernels read (types, places, quality)
    search       validating wrappers around ``flowmatch.kernels`` (top-K search, pair scores)
    candidates   match(): the candidates table and its columns; write_candidates(), read_candidates()
    gaps         haves nobody can take, and which sectors to recruit for them

The kernels themselves live in the top-level ``kernels/`` folder, installed as
``flowmatch.kernels``.
"""
