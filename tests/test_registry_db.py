"""The registry's database: URLs, schema revisions (older, newer, none), faults, each a clear exit 2."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from registry_helpers import _free_port, cli, db_url, pg_server  # noqa: F401
from sqlalchemy import func, select

from flowmatch.registry import db as regdb
from flowmatch.registry.db import DEFAULT_URL, Registry, _sqlalchemy_url, open_registry, resolve_url
from flowmatch.registry.models import Base, Snapshot


def test_url_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FLOWMATCH_DB", raising=False)
    assert resolve_url(None) == DEFAULT_URL == "sqlite:///flowmatch-registry.db"
    monkeypatch.setenv("FLOWMATCH_DB", "sqlite:///from-env.db")
    assert resolve_url(None) == "sqlite:///from-env.db"
    assert resolve_url("sqlite:///given.db") == "sqlite:///given.db"
    for url in ("postgresql://u:pw@h:5432/d", "postgres://u:pw@h/d", "postgresql+psycopg://u@h/d"):
        assert _sqlalchemy_url(url).drivername == "postgresql+psycopg"
    # the default is a file in the current folder, made by init and found by the other commands
    monkeypatch.delenv("FLOWMATCH_DB")
    monkeypatch.chdir(tmp_path)
    assert cli("init")[0] == 0
    assert (tmp_path / "flowmatch-registry.db").is_file()
    code, out, _ = cli("synergies")
    assert code == 0 and out.strip() == "no synergies"


def test_import_is_light() -> None:
    code = ("import sys, flowmatch, flowmatch.registry, flowmatch.cli; flowmatch.cli.build_parser(); "
            "bad = [m for m in ('sqlalchemy', 'alembic', 'psycopg') if m in sys.modules]; "
            "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_migrations_build_the_models_schema(db_url: str) -> None:  # noqa: F811
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    reg = open_registry(db_url, create=True)
    assert reg.upgrade() == (None, regdb.head_revision())
    with reg.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert {"parks", "companies", "snapshots", "resources", "synergies", "events", "outcomes",
            "notes"} <= set(reg.tables())


def test_older_schema_is_refused_then_migrated_and_reads_right(db_url: str, mini_dir: Path,  # noqa: F811
                                                                tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from flowmatch.registry.snapshots import import_inventory

    reg = open_registry(db_url, create=True)
    reg.upgrade_to("0001")  # the first schema: parks and snapshots, no synergies yet
    assert "synergies" not in reg.tables()
    with monkeypatch.context() as m:  # a registry filled by a flowmatch of that schema
        m.setattr(Registry, "check_schema", lambda self: None)
        import_inventory(reg, mini_dir, "Demo", 2024)
    code, _, err = cli("export", "Demo", "-o", str(tmp_path / "old"), db=db_url)
    assert code == 2
    assert "schema is at revision 0001, older than this flowmatch's" in err
    assert "flowmatch registry upgrade --db" in err
    assert not (tmp_path / "old").exists()
    code, _, err = cli("propose", str(tmp_path), db=db_url)
    assert code == 2 and "older" in err
    code, out, err = cli("upgrade", db=db_url)
    assert code == 0, err
    assert f"migrated the registry's schema from 0001 to {regdb.head_revision()}" in out
    code, _, err = cli("export", "Demo", "-o", str(tmp_path / "new"), db=db_url)
    assert code == 0, err
    for name in ("sites.csv", "resources.csv"):
        assert (tmp_path / "new" / name).read_bytes() == (mini_dir / name).read_bytes()
    assert cli("synergies", db=db_url)[0] == 0


def test_newer_schema_is_refused_never_read(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    reg = open_registry(db_url, create=True)
    reg.upgrade()
    reg.stamp("9999_future")
    for args in (("synergies",), ("init",), ("export", "Demo", "-o", str(tmp_path / "x")),
                 ("advance", "1", "contacted")):
        code, _, err = cli(*args, db=db_url)
        assert code == 2, args
        assert "revision 9999_future, newer than this flowmatch knows" in err and "refused" in err
        assert "Traceback" not in err
    assert reg.revision() == "9999_future"
    assert not (tmp_path / "x").exists()


def test_no_registry_yet(tmp_path: Path, db_url: str) -> None:  # noqa: F811
    missing = tmp_path / "none.db"
    code, _, err = cli("synergies", db=f"sqlite:///{missing}")
    assert code == 2 and "no registry database at" in err and "flowmatch registry init --db" in err
    assert not missing.exists()  # nothing made by a command that only reads
    code, _, err = cli("synergies", db=db_url)  # an empty database (PostgreSQL: a fresh one)
    assert code == 2
    assert "holds no flowmatch registry" in err or "no registry database at" in err


def test_unreachable_and_bad_urls(tmp_path: Path) -> None:
    port = _free_port()
    code, _, err = cli("init", db=f"postgresql://flowmatch:secret@127.0.0.1:{port}/registry")
    assert code == 2
    assert "cannot open the registry database" in err and "server is running" in err
    assert "secret" not in err
    code, _, err = cli("init", db="mysql://u@h/d")
    assert code == 2 and "SQLite" in err and "PostgreSQL" in err
    code, _, err = cli("init", db="not a url")
    assert code == 2 and "is not a database URL" in err
    code, _, err = cli("init", db=f"sqlite:///{tmp_path}/no/such/folder/r.db")
    assert code == 2 and "does not exist" in err
    (tmp_path / "notes.txt").write_text("not a database, a text file " * 100)
    code, _, err = cli("synergies", db=f"sqlite:///{tmp_path}/notes.txt")
    assert code == 2 and "cannot open the registry database" in err
    assert "is a SQLite database you may read and write" in err and "server" not in err


def test_a_missing_postgresql_database_says_to_create_it(pg_server: str) -> None:  # noqa: F811
    from sqlalchemy.engine import make_url

    url = make_url(pg_server).set(database="fm_no_such_db").render_as_string(hide_password=False)
    code, _, err = cli("init", db=url)
    assert code == 2 and "fm_no_such_db" in err
    assert "`createdb fm_no_such_db` makes it" in err and "folder" not in err


def test_locked_database_is_a_clear_error_and_nothing_half_written(db_url: str, mini_dir: Path,  # noqa: F811
                                                                   tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("init", db=db_url)[0] == 0
    monkeypatch.setenv("FLOWMATCH_DB_BUSY_TIMEOUT", "0.2")
    if db_url.startswith("sqlite"):
        holder = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    else:  # another session holding the tables an import writes
        import psycopg

        holder = psycopg.connect(db_url)
        holder.execute("LOCK TABLE parks, snapshots IN ACCESS EXCLUSIVE MODE")
    try:
        code, _, err = cli("import", str(mini_dir), "--park", "Demo", "--year", "2024", db=db_url)
    finally:
        holder.rollback() if not isinstance(holder, sqlite3.Connection) else holder.execute("ROLLBACK")
        holder.close()
    assert code == 2
    assert "locked by another process" in err and "run the command again" in err
    assert "Traceback" not in err
    reg = open_registry(db_url)
    assert reg.read(lambda s: s.scalar(select(func.count()).select_from(Snapshot))) == 0
    assert cli("import", str(mini_dir), "--park", "Demo", "--year", "2024", db=db_url)[0] == 0
    monkeypatch.setenv("FLOWMATCH_DB_BUSY_TIMEOUT", "soon")
    code, _, err = cli("synergies", db=db_url)
    assert code == 2 and "FLOWMATCH_DB_BUSY_TIMEOUT" in err


def test_sqlite_pragmas(tmp_path: Path) -> None:
    reg = open_registry(f"sqlite:///{tmp_path / 'r.db'}", create=True)
    with reg.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_a_lost_race_is_run_again_and_never_half_written(db_url: str) -> None:  # noqa: F811
    from flowmatch.registry.errors import RegistryLockedError
    from flowmatch.registry.models import Park

    reg = open_registry(db_url, create=True)
    reg.upgrade()
    reg.write(lambda s: s.add(Park(name="A")))
    calls: list[int] = []

    def add(names: list[str]):
        def fn(session):
            calls.append(1)
            session.add(Park(name=f"note {len(calls)}"))  # written only if the whole transaction is
            session.add(Park(name=names[min(len(calls), len(names)) - 1]))
            session.flush()
            return len(calls)
        return fn

    assert reg.write(add(["A", "B"])) == 2  # "A" was taken (as by another process): run again
    calls.clear()
    with pytest.raises(RegistryLockedError, match="nothing was written"):
        reg.write(add(["A"]))
    names = reg.read(lambda s: sorted(s.scalars(select(Park.name))))
    assert names == ["A", "B", "note 2"]


def test_a_suggested_command_never_carries_the_hidden_password(pg_server: str) -> None:  # noqa: F811
    # "Run `flowmatch registry init --db postgresql://u:***@host/db`" fails when copied
    from registry_helpers import _admin
    from sqlalchemy.engine import make_url

    if make_url(pg_server).password:
        pytest.skip("the test server checks passwords; this test needs one that trusts (the throwaway one)")
    _admin(pg_server, "DROP DATABASE IF EXISTS fm_pw_test")
    _admin(pg_server, "CREATE DATABASE fm_pw_test")
    try:
        url = make_url(pg_server).set(database="fm_pw_test", password="s3cret").render_as_string(
            hide_password=False)
        code, _, err = cli("synergies", db=url)  # trust auth: the password is not checked
        assert code == 2 and "holds no flowmatch registry" in err
        assert "Run `flowmatch registry init --db URL`" in err and "s3cret" not in err
        assert err.count("***") == 1  # the URL the message is about, shown once
        bare = make_url(pg_server).set(database="fm_pw_test").render_as_string(hide_password=False)
        code, _, err = cli("synergies", db=bare)
        assert f"Run `flowmatch registry init --db {bare}`" in err
    finally:
        _admin(pg_server, "DROP DATABASE IF EXISTS fm_pw_test WITH (FORCE)")

