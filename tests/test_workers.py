"""Nothing of a killed run remains: pool workers, the resource tracker, solvers.

Each test starts a run in its own session (so every process it starts, however
deep, carries the run's session id), kills the run's first process with
``SIGKILL`` and looks in ``/proc`` for anything of that session still alive.
Before :mod:`flowmatch.milp.workers`, a killed ``optimise`` left its two
workers and the resource tracker alive for good.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")

FLOWMATCH = [sys.executable, "-m", "flowmatch.cli"]


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from the 3rd (state) on


def session_procs(sid: int) -> dict[int, str]:
    """Live (not zombie) processes of session ``sid``: pid -> command line."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        f = _stat(int(d))
        if f is None or f[0] in "ZX" or int(f[3]) != sid:
            continue
        try:
            out[int(d)] = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
    return out


def _threads(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _started_workers(sid: int) -> list[int]:
    """Pool workers of session ``sid`` past their initializer (the watchdog thread runs)."""
    return [p for p, cmd in session_procs(sid).items() if "spawn_main" in cmd and _threads(p) >= 2]


def _kill_and_check(proc: subprocess.Popen, wait_s: float = 5.0) -> None:
    sid = proc.pid
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + wait_s
    while session_procs(sid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = session_procs(sid)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes of the killed run still alive {wait_s:g} s later: {left}"


def _run_until_workers(args: list[str], n: int, cwd: Path, timeout: float = 90.0) -> subprocess.Popen | None:
    """Start ``args`` in its own session; return it once ``n`` workers are up, or None if it ended first."""
    proc = subprocess.Popen(args, cwd=cwd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(_started_workers(proc.pid)) >= n:
            return proc
        if proc.poll() is not None:
            return None
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"no {n} workers within {timeout:g} s: {args}")


def test_pool_workers_end_with_a_killed_parent(tmp_path):
    """Busy workers of worker_pool (and the resource tracker) end when their parent is killed."""
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent("""
        import time
        from flowmatch.milp.workers import worker_pool

        if __name__ == "__main__":
            with worker_pool(2) as pool:
                futures = [pool.submit(time.sleep, 120) for _ in range(2)]
                time.sleep(120)
    """))
    proc = _run_until_workers([sys.executable, str(script)], 2, tmp_path, timeout=60)
    assert proc is not None, "the parent ended on its own"
    time.sleep(0.3)  # the tasks are running
    procs = session_procs(proc.pid)
    assert any("resource_tracker" in c for c in procs.values()), procs  # what used to be left too
    _kill_and_check(proc)


def test_watchdog_ends_a_worker_without_prctl(tmp_path):
    """Where the kernel cannot be asked (not Linux), the watchdog thread ends the worker."""
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent("""
        import subprocess, sys, time
        child = '''
        import os, sys, time
        import flowmatch.milp.workers as w
        w._die_with_parent = lambda: False  # as on a system without prctl
        w.PARENT_POLL_S = 0.05
        w.watch_parent(int(sys.argv[1]))
        print("ready", flush=True)
        time.sleep(120)
        '''
        import os
        p = subprocess.Popen([sys.executable, "-c", child, str(os.getpid())], stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        print(p.pid, flush=True)
        time.sleep(120)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True, stdout=subprocess.PIPE,
                            text=True)
    child = int(proc.stdout.readline())
    assert child in session_procs(proc.pid)
    _kill_and_check(proc, wait_s=3.0)


def test_watch_parent_exits_if_the_parent_is_already_gone(tmp_path):
    code = "import flowmatch.milp.workers as w; w.watch_parent(1); print('still here')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "still here" not in out.stdout


@pytest.fixture(scope="module")
def park(tmp_path_factory) -> Path:
    """A synthetic park whose model has several big blocks: optimise solves them in a pool."""
    out = tmp_path_factory.mktemp("park") / "park"
    subprocess.run([*FLOWMATCH, "synth", "--resources", "400", "--seed", "1", "-o", str(out)],
                   check=True, capture_output=True, timeout=120)
    return out


def _kill_cli_run(args: list[str], cwd: Path) -> None:
    for _ in range(3):  # the pool lives about two seconds: try again if the run ended first
        proc = _run_until_workers(args, 2, cwd)
        if proc is not None:
            _kill_and_check(proc)
            return
    pytest.fail(f"the run ended each time before its workers were seen: {args}")


def test_killed_optimise_leaves_nothing(park, tmp_path):
    _kill_cli_run([*FLOWMATCH, "optimise", str(park), "-o", str(tmp_path / "plan")], tmp_path)
    assert not (tmp_path / "plan").exists() or not any((tmp_path / "plan").glob("flows*"))


def test_killed_whatif_leaves_nothing(park, tmp_path):
    _kill_cli_run([*FLOWMATCH, "whatif", str(park), "--vary", "landfill_price=40,100,200", "--jobs", "2",
                   "-o", str(tmp_path / "grid")], tmp_path)
    assert not (tmp_path / "grid" / "comparison.csv").exists()


def test_a_killed_cbc_solve_leaves_no_cbc(tmp_path):
    """CBC is a program of its own (started by PuLP): it used to run on to its time limit."""
    script = tmp_path / "hard.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        from flowmatch.milp.builder import ModelBuilder
        from flowmatch.milp.solvers import solve

        rng = np.random.default_rng(0)  # a knapsack with 8 constraints: minutes for CBC to prove
        n, m = 300, 8
        mb = ModelBuilder()
        x = mb.add_vars(n, ub=1, integer=True, cost=-rng.integers(50, 100, n).astype(float))
        W = rng.integers(20, 80, (m, n)).astype(float)
        r, c = np.nonzero(W)
        mb.add_rows(r, x[c], W[r, c], -np.inf, W.sum(1) / 3)
        solve(mb.build(), {"cost": 1.0}, solver="cbc", gap=0.0, time_limit=120)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(Path(c.split()[0]).name.startswith("cbc") for c in session_procs(proc.pid).values() if c):
            break
        assert proc.poll() is None, "the solve ended before CBC was seen"
        time.sleep(0.02)
    else:
        pytest.fail("CBC never started")
    _kill_and_check(proc, wait_s=3.0)


def test_children_die_with_this_process_puts_subprocess_back():
    import types

    from flowmatch.milp.workers import children_die_with_this_process

    mod = types.ModuleType("fm_fake_solver_api")
    mod.subprocess = subprocess  # type: ignore[attr-defined]
    sys.modules[mod.__name__] = mod
    try:
        with children_die_with_this_process(mod.__name__):
            assert mod.subprocess is not subprocess  # type: ignore[attr-defined]
            out = mod.subprocess.run([sys.executable, "-c", "print(7)"], capture_output=True, text=True)
            assert out.stdout.strip() == "7"  # the rest of the module is the real one
            child = mod.subprocess.Popen([sys.executable, "-c",
                                          "print(open('/proc/self/status').read())"],
                                         stdout=subprocess.PIPE, text=True)
            assert child.communicate(timeout=30)[0]
        assert mod.subprocess is subprocess  # type: ignore[attr-defined]
        with children_die_with_this_process("no.such.module"):
            pass
    finally:
        del sys.modules[mod.__name__]
