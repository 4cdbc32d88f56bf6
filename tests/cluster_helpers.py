"""Helpers the LocalCluster tests share: a worker plugin that kills the worker running a task."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin


class KillFirstTask(WorkerPlugin):
    """Kill the worker process running the first task that starts after it is registered (once),
    or the first whose key contains ``key_contains``; the dead worker's pid goes to ``marker``."""

    def __init__(self, marker: str, name: str = "kill-first-task", key_contains: str = ""):
        self.marker = marker
        self.name = name
        self.key_contains = key_contains

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and self.key_contains in str(key) and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
