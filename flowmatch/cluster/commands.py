"""The ``--scheduler`` and ``--memory-limit`` options of the CLI, and the client they open.

:func:`add_scheduler_args` adds both to a subcommand's parser;
:func:`cluster_client` opens the cluster they name for the command's body, or
yields ``None`` without ``--scheduler`` (dask is then never imported);
:func:`blocks_on` sends ``optimise``'s independent blocks to that cluster.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["add_scheduler_args", "cluster_client", "blocks_on"]


def add_scheduler_args(p: argparse.ArgumentParser, memory: bool = True) -> None:
    """``--scheduler`` (and ``--memory-limit``) on a subcommand's parser."""
    p.add_argument("--scheduler", default=None, metavar="SPEC",
                   help="run on a Dask cluster: local, local:N (N worker processes here) or "
                        "tcp://HOST:PORT (a running scheduler); needs flowmatch[dask]")
    if memory:
        p.add_argument("--memory-limit", default=None, metavar="SIZE",
                       help="memory per local worker, e.g. 3GiB (with --scheduler local:N)")


@contextlib.contextmanager
def cluster_client(args: argparse.Namespace) -> Iterator[Any]:
    """The Dask client of ``args.scheduler`` for the block, or ``None`` without one."""
    spec = getattr(args, "scheduler", None)
    if not spec:
        yield None
        return
    from flowmatch.cluster.scheduler import connect

    with connect(spec, memory_limit=getattr(args, "memory_limit", None)) as client:
        yield client


def blocks_on(client: Any) -> contextlib.AbstractContextManager[None]:
    """``optimise``'s big independent blocks on ``client``'s workers; nothing changes without one."""
    if client is None:
        return contextlib.nullcontext()
    from flowmatch.cluster.grid_tasks import blocks_on_cluster

    return blocks_on_cluster(client)
