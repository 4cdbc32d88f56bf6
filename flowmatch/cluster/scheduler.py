"""Connect to a Dask cluster from a ``--scheduler`` spec, and run tasks on it with a progress bar.

``local`` or ``local:N`` starts a :class:`distributed.LocalCluster` of N
single-threaded worker processes on this machine; ``tcp://HOST:PORT`` (or
``tls://``) joins a running scheduler, whatever deployed it (dask-ssh,
dask-jobqueue, Kubernetes: ``docs/scale-out.md``). :func:`connect` is a context
manager that yields the :class:`distributed.Client` and closes what it started.
:func:`run_tasks` runs a function over arguments built as tasks are submitted,
a bounded window of them in flight.

Each worker gets a share of its machine's cores for the Numba kernels (workers
x threads <= cores): :class:`WorkerThreads` records the share in the worker's
environment (``FLOWMATCH_WORKER_THREADS``, ``NUMBA_NUM_THREADS``) for a
local cluster, :class:`flowmatch.cluster.plugins.WorkerThreads` on a running one;
:func:`worker_threads` reads it inside a task.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass
from typing import Any

from flowmatch.errors import ClusterError

__all__ = ["SchedulerSpec", "parse_scheduler", "parse_memory_limit", "connect", "run_tasks",
           "worker_threads", "host_of", "CONNECT_TIMEOUT_S", "THREADS_ENV", "TASKS_IN_FLIGHT_PER_WORKER"]

log = logging.getLogger(__name__)

#: Seconds to wait for a remote scheduler before saying it cannot be reached.
CONNECT_TIMEOUT_S = 10.0
THREADS_ENV = "FLOWMATCH_WORKER_THREADS"
#: Tasks :func:`run_tasks` keeps submitted per worker: one running, one waiting (so no worker idles
#: while the client builds the next task's arguments), and no more held on the client.
TASKS_IN_FLIGHT_PER_WORKER = 2
_FIX = ("Give --scheduler local (one worker per core), local:N (N worker processes here) or "
        "tcp://HOST:PORT (a running Dask scheduler).")


@dataclass(frozen=True)
class SchedulerSpec:
    """A parsed ``--scheduler``: ``address`` for a running scheduler, else ``workers`` local processes."""

    text: str
    workers: int = 0
    address: str = ""

    @property
    def local(self) -> bool:
        return not self.address


def parse_scheduler(text: str) -> SchedulerSpec:
    """``local``, ``local:N`` or ``tcp://HOST:PORT`` as a :class:`SchedulerSpec` (ClusterError if neither)."""
    t = text.strip()
    if t == "local":
        return SchedulerSpec(t, workers=max(1, os.cpu_count() or 1))
    m = re.fullmatch(r"local:(\d+)", t)
    if m:
        n = int(m.group(1))
        if n < 1:
            raise ClusterError(f"--scheduler {text}: a local cluster needs at least 1 worker. {_FIX}")
        return SchedulerSpec(t, workers=n)
    if re.fullmatch(r"(tcp|tls|ucx|inproc)://[^\s/]+(:\d+)?/?", t):
        return SchedulerSpec(t, address=t)
    raise ClusterError(f"--scheduler {text!r} is not a scheduler. {_FIX}")


def parse_memory_limit(text: str | None) -> str | int | None:
    """A ``--memory-limit`` (``3GiB``, ``500MB``, ``auto``) validated; ``None`` keeps Dask's default."""
    if text is None or text == "auto":
        return text
    from dask.utils import parse_bytes

    try:
        n = parse_bytes(text)
    except (ValueError, TypeError):
        n = 0
    if n <= 0:
        raise ClusterError(f"--memory-limit {text!r} is not an amount of memory per worker. "
                           "Give a size such as 3GiB or 800MB, or auto.")
    return int(n)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ClusterError("--scheduler needs dask.distributed, which is not installed. "
                           "Install it with: pip install 'flowmatch[dask]'") from None
    return distributed


def worker_threads() -> int | None:
    """Inside a task: the Numba threads this worker may use (``None`` outside a flowmatch cluster)."""
    n = os.environ.get(THREADS_ENV)
    if not n:
        return None
    import numba

    most = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
    return max(1, min(int(n), most))


def host_of(address: str) -> str:
    """The host of a worker's address (``tcp://10.0.0.5:40123`` -> ``10.0.0.5``)."""
    return address.split("://")[-1].rsplit(":", 1)[0]


def _thread_shares(client: Any) -> dict[str, int]:
    """Threads per worker on each host: that host's cores over its workers (workers x threads <= cores)."""
    info = client.scheduler_info(n_workers=-1) if _takes_n_workers(client) else client.scheduler_info()
    count: dict[str, int] = {}
    for addr in info.get("workers", {}):
        count[host_of(addr)] = count.get(host_of(addr), 0) + 1
    cores = dict(client.run(lambda: os.cpu_count() or 1)) if count else {}
    per_host: dict[str, int] = {}
    for addr, c in cores.items():
        per_host[host_of(addr)] = max(1, int(c) // count[host_of(addr)])
    return per_host


def _takes_n_workers(client: Any) -> bool:
    import inspect

    return "n_workers" in inspect.signature(client.scheduler_info).parameters


@contextlib.contextmanager
def connect(spec: str | SchedulerSpec, memory_limit: str | None = None,
            timeout_s: float = CONNECT_TIMEOUT_S, announce: Callable[[str], None] | None = print
            ) -> Iterator[Any]:
    """A :class:`distributed.Client` on the cluster ``spec`` names; what it started ends with the block.

    Parameters
    ----------
    spec : str or SchedulerSpec
        ``local``, ``local:N`` or ``tcp://HOST:PORT``.
    memory_limit : str, optional
        Per local worker (``3GiB``); a running cluster keeps its own.
    timeout_s : float
        Seconds to wait for a running scheduler.
    announce : callable, optional
        Told the dashboard link (default ``print``).

    Raises
    ------
    ClusterError
        A bad spec or memory limit, dask not installed, or a scheduler that cannot be reached.
    """
    s = parse_scheduler(spec) if isinstance(spec, str) else spec
    limit = parse_memory_limit(memory_limit)
    distributed = _import_distributed()
    with contextlib.ExitStack() as stack:
        if s.local:
            cores = os.cpu_count() or 1
            share = max(1, cores // s.workers)
            env = {"NUMBA_NUM_THREADS": str(share), THREADS_ENV: str(share), "OMP_NUM_THREADS": "1",
                   "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=s.workers, threads_per_worker=1, processes=True,
                memory_limit=limit if limit is not None else "auto", env=env,
                dashboard_address=":0", silence_logs=logging.ERROR))
            client = stack.enter_context(distributed.Client(cluster))
        else:
            try:
                client = stack.enter_context(distributed.Client(s.address, timeout=timeout_s))
            except (OSError, TimeoutError) as exc:
                raise ClusterError(
                    f"--scheduler {s.address}: no Dask scheduler answered within {timeout_s:g} s "
                    f"({type(exc).__name__}). Start one there (`dask scheduler`, then `dask worker "
                    f"{s.address}` on each machine), check the host and port, or use --scheduler local:N."
                ) from None
            from flowmatch.cluster.plugins import WorkerThreads

            client.register_plugin(WorkerThreads(_thread_shares(client)))
        link = getattr(client, "dashboard_link", None)
        if announce is not None and link:
            announce(f"dask dashboard: {link}")
        yield client


def run_tasks(client: Any, fn: Callable[..., Any], args: Iterable[tuple], progress: bool = False,
              desc: str = "tasks", pure: bool = False, errors: str = "raise", total: int | None = None,
              window: int | None = None) -> list[Any]:
    """``fn(*a)`` for each ``a`` of ``args`` on the cluster; results in the order of ``args``.

    At most ``window`` tasks are in flight (default :data:`TASKS_IN_FLIGHT_PER_WORKER`
    per worker): the next ``a`` is taken from ``args`` (a list, or a generator
    building each task's arguments) only as a task finishes, so the client never
    holds every task's arguments at once. A task whose worker dies is run again
    elsewhere by Dask (up to its ``allowed-failures``); ``progress`` shows a tqdm
    bar as tasks complete (``total`` tasks; by default ``len(args)`` when it has
    one). With ``errors="return"`` a task that fails for good (its workers kept
    dying: ``KilledWorker``) gives its exception in its place instead of raising.
    """
    from distributed import as_completed
    from tqdm.auto import tqdm

    if total is None and isinstance(args, Sized):
        total = len(args)
    if window is None:
        window = TASKS_IN_FLIGHT_PER_WORKER * max(1, len(client.nthreads()))
    todo = enumerate(args)
    where: dict[str, list[int]] = {}
    out: dict[int, Any] = {}
    running = as_completed()

    def submit_next() -> None:
        nxt = next(todo, None)
        if nxt is not None:
            fut = client.submit(fn, *nxt[1], pure=pure)
            where.setdefault(fut.key, []).append(nxt[0])
            running.add(fut)

    for _ in range(max(1, window)):
        submit_next()
    with tqdm(total=total, desc=desc, unit="task", disable=not progress, leave=False) as bar:
        for fut in running:
            i = where[fut.key].pop(0)
            try:
                out[i] = fut.result()
            except Exception as exc:
                if errors != "return":
                    raise
                out[i] = exc
            fut.release()
            bar.update(1)
            submit_next()
    return [out[i] for i in range(len(out))]
