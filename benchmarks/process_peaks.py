"""Run a command and report the peak memory of every process of its tree (the client, each Dask worker).

    python benchmarks/process_peaks.py flowmatch match INVENTORY -o OUT -q --scheduler local:2 --memory-limit 3GiB

``/usr/bin/time -v`` gives one maximum for the command and its children
together; a ``LocalCluster``'s workers are separate processes, so this polls
``/proc`` every half second and keeps each process's ``VmHWM`` (its peak
resident memory as the kernel counts it). Linux only. Used for the 10^7
figures in ``docs/scale-out.md``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    return kids


def _tree(root: int) -> list[int]:
    kids, out, todo = _children(), [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def _peak_mib(pid: int) -> tuple[float, str] | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        with open(f"/proc/{pid}/cmdline") as f:
            cmd = f.read().replace("\0", " ").strip()
        return int(status.split("VmHWM:")[1].split()[0]) / 1024, cmd
    except (OSError, IndexError, ValueError):
        return None


def main(argv: list[str]) -> int:
    t0 = time.time()
    proc = subprocess.Popen(argv)
    peaks: dict[int, tuple[float, str, float]] = {}
    while proc.poll() is None:
        for pid in _tree(proc.pid):
            got = _peak_mib(pid)
            if got is not None:
                old = peaks.get(pid, (0.0, got[1], time.time() - t0))
                peaks[pid] = (max(old[0], got[0]), got[1], old[2])
        time.sleep(0.5)
    print(f"exit {proc.returncode}; wall {time.time() - t0:.1f} s", file=sys.stderr)
    for pid, (mib, cmd, born) in sorted(peaks.items(), key=lambda kv: kv[1][2]):
        if mib > 50:
            who = "client" if pid == proc.pid else "worker" if "multiprocessing" in cmd else "process"
            print(f"{who} {pid} (from {born:.0f} s): peak {mib:,.0f} MiB", file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
