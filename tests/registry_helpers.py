"""Fixtures for the registry's tests: a fresh database on SQLite and on PostgreSQL.

``db_url`` is parametrised over both backends; a test module imports it (and
``pg_server``) with ``from registry_helpers import db_url, pg_server  # noqa: F401``.

PostgreSQL comes from, in order:

1. ``$FLOWMATCH_TEST_POSTGRES_URL``: a server the tests may create databases
   on (the role needs CREATEDB); each test gets its own database, dropped after;
2. a throwaway cluster: when PostgreSQL's ``initdb`` and ``pg_ctl`` are found
   (on ``PATH`` or in ``/usr/lib/postgresql/*/bin``), a cluster is made in a
   temporary folder, started on a free localhost port for the test session and
   removed after. As root (CI) it runs as the ``postgres`` user (Debian's
   package makes it), or ``nobody``, through ``runuser``;
3. otherwise the PostgreSQL tests are skipped, saying why; with
   ``FLOWMATCH_TEST_POSTGRES=required`` (``.ci/run`` sets it) they fail instead,
   so CI never passes without having run them.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ENV_URL = "FLOWMATCH_TEST_POSTGRES_URL"
ENV_REQUIRED = "FLOWMATCH_TEST_POSTGRES"
BACKENDS = ["sqlite", "postgresql"]


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> tuple[list[str], str | None]:
    """The command prefix running PostgreSQL's tools, and the user they run as (``None``: this one)."""
    if os.geteuid() != 0:
        return [], None
    import pwd

    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        if shutil.which("runuser"):
            return ["runuser", "-u", user, "--"], user
    raise RuntimeError("running as root, and neither a postgres nor a nobody user (with runuser) to run "
                       "PostgreSQL as")


class _Cluster:
    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.prefix, user = _run_as()
        self.dir = Path(tempfile.mkdtemp(prefix="flowmatch-pg-"))
        if user is not None:
            shutil.chown(self.dir, user)
        self.data = self.dir / "data"
        self.port = _free_port()

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.prefix, *args], capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stdout}{done.stderr}")

    def start(self) -> str:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync")
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
                  "-o", opts, "-w", "-t", "60", "start")
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def _unavailable(reason: str) -> None:
    if os.environ.get(ENV_REQUIRED) == "required":
        pytest.fail(f"PostgreSQL is required (${ENV_REQUIRED}=required) but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server's URL (its maintenance database), or skip with the reason."""
    given = os.environ.get(ENV_URL)
    if given:
        yield given
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'flowmatch[postgres]')")
    bindir = _pg_bin()
    if bindir is None:
        _unavailable(f"no PostgreSQL: set ${ENV_URL}, or install PostgreSQL (apt-get install postgresql)")
    try:
        cluster = _Cluster(bindir)
        url = cluster.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(f"could not start a throwaway PostgreSQL from {bindir}: {exc}")
    try:
        yield url
    finally:
        cluster.stop()


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a fresh, empty database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    server = request.getfixturevalue("pg_server")
    name = f"fm_test_{secrets.token_hex(6)}"
    _admin(server, f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(server, name)
    finally:
        _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cli(*args: str, db: str | None = None) -> tuple[int, str, str]:
    """Run ``flowmatch registry ARGS`` in this process; returns (exit code, stdout, stderr)."""
    import contextlib
    import io

    from flowmatch.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = ["registry", *(["--db", db] if db else []), *args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def cli_process(*args: str, db: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``flowmatch registry --db DB ARGS`` in a new process (what a user runs)."""
    return subprocess.run([sys.executable, "-m", "flowmatch.cli", "registry", "--db", db, *args],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def concurrent_worker(db: str, inventories: list[str], synergy_ids: list[int], go: str) -> None:
    """One of two processes writing at once: import each inventory, and advance each synergy a step.

    Waits for the file ``go`` so that both processes start together; raises
    (exit 1) on any error, so the test sees it.
    """
    import time

    from flowmatch.registry import advance, import_inventory, open_registry
    from flowmatch.registry.states import PATH

    reg = open_registry(db)
    while not os.path.exists(go):
        time.sleep(0.01)
    for i, inv in enumerate(inventories):
        import_inventory(reg, inv, "Demo", 2024)
        for sid in synergy_ids:
            advance(reg, sid, PATH[i + 1] if i + 1 < len(PATH) else PATH[-1])
