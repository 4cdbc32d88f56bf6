"""Studies: many optimisations of one inventory, compared.

::

    whatif   the baseline and each scenario or grid point, in parallel processes
    pareto   the trade-off between two objectives by the epsilon-constraint method

Each run takes one :class:`~flowmatch.milp.options.SolveOptions`.
"""
