"""Scale-out on a Dask cluster (``--scheduler``): partitioned matching and what-if grids as tasks.

Nothing here is imported by ``import flowmatch``; ``dask.distributed`` is loaded
only when a command is given ``--scheduler`` (the ``[dask]`` extra).
"""
