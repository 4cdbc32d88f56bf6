"""Dask worker plugins of flowmatch (imported only on a cluster: it loads ``distributed``).

:class:`WorkerThreads` gives each worker of a running cluster its share of its
machine's cores for the Numba kernels, as a local cluster's workers get
through their environment (:mod:`flowmatch.cluster.scheduler`).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from flowmatch.cluster.scheduler import THREADS_ENV, host_of

__all__ = ["WorkerThreads"]


class WorkerThreads(WorkerPlugin):
    """Worker plugin: set each worker's Numba threads to its share of its host's cores.

    ``shares`` maps a host to threads per worker there; a worker on a host not
    listed takes its cores divided by the workers that host had (at least 1).
    """

    name = "flowmatch-worker-threads"

    def __init__(self, shares: dict[str, int]):
        self.shares = dict(shares)

    def setup(self, worker: Any) -> None:
        host = host_of(worker.address)
        n = self.shares.get(host) or max(1, os.cpu_count() or 1)
        os.environ[THREADS_ENV] = str(n)
        if "numba" in sys.modules:
            import numba

            numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
