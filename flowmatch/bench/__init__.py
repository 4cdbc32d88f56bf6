"""Benchmark the pipeline on a user's own inventory: ``flowmatch bench``.

::

    phases    time each phase (read, freeze, search, candidates, model, solve), the JSON record
    pairs     the pairs in reach that "pairs scored per second" counts
    compare   a record against a baseline: which phase got slower, and by how much
    table     the terminal tables of a record and of a comparison
    command   the ``bench`` subcommand's arguments and run (CLI glue only)

Nothing heavy loads on import; see ``docs/bench.md``.
"""
