"""Opening the registry's database: the URL, the engine, transactions, the schema's revision.

The database is chosen by ``--db URL``, else the ``FLOWMATCH_DB`` environment
variable, else ``sqlite:///flowmatch-registry.db`` in the current folder.
``postgresql://`` (and ``postgres://``) URLs are driven by psycopg 3
(``postgresql+psycopg://``; ``pip install 'flowmatch[postgres]'``).

SQLite runs in WAL mode with a busy timeout and foreign keys on; a write
transaction starts with ``BEGIN IMMEDIATE``, so two writers queue instead of
failing half way. Every write is one transaction (:meth:`Registry.write`),
retried whole when a concurrent writer won a race on a unique key.

The schema is migrated by Alembic (``flowmatch/registry/migrations/``) only
when asked: ``flowmatch registry init`` creates or upgrades it (``upgrade`` is
the same). Every other command checks the database's revision first: an older
one is refused with the command that migrates it (a shared PostgreSQL registry
is never altered behind its owner's back), an unknown newer one is refused
outright (this flowmatch would read it wrong).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import Session

from flowmatch.registry.errors import (
    RegistryError,
    RegistryLockedError,
    RegistryNotInitialisedError,
    RegistryUnreachableError,
    SchemaNewerError,
    SchemaOutdatedError,
)

__all__ = ["DEFAULT_URL", "ENV_VAR", "resolve_url", "Registry", "open_registry", "head_revision"]

DEFAULT_URL = "sqlite:///flowmatch-registry.db"
ENV_VAR = "FLOWMATCH_DB"
BUSY_TIMEOUT_S = 30.0
"""Seconds a SQLite writer waits for another one before :class:`RegistryLockedError`
(``$FLOWMATCH_DB_BUSY_TIMEOUT`` overrides it)."""
TIMEOUT_VAR = "FLOWMATCH_DB_BUSY_TIMEOUT"
_RETRIES = 8
_MIGRATIONS = Path(__file__).with_name("migrations")
_UPGRADE = "run `flowmatch registry upgrade{db}` to migrate it (back the database up first)"

T = TypeVar("T")


def resolve_url(url: str | None = None) -> str:
    """The URL to open: ``url``, else ``$FLOWMATCH_DB``, else the default SQLite file."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def _sqlalchemy_url(text: str) -> URL:
    try:
        url = make_url(text)
    except ArgumentError:
        raise RegistryUnreachableError(
            f"--db {text!r}: is not a database URL. Give e.g. sqlite:///flowmatch-registry.db or "
            "postgresql://user:password@host/dbname.") from None
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise RegistryUnreachableError(
            f"--db {url.render_as_string(hide_password=True)}: the registry runs on SQLite "
            f"(sqlite:///FILE) or PostgreSQL (postgresql://...), not {url.get_backend_name()}.")
    return url


def _is_lock(exc: BaseException) -> bool:
    """SQLite's busy timeout, or PostgreSQL's ``lock_timeout`` (SQLSTATE 55P03), ran out."""
    if getattr(getattr(exc, "orig", None), "sqlstate", None) == "55P03":
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database table is locked" in text


def _not_a_database(exc: BaseException) -> bool:
    """SQLite found a file that is not a database, or a damaged one (else a traceback)."""
    text = str(getattr(exc, "orig", exc)).lower()
    return "file is not a database" in text or "database disk image is malformed" in text


def _is_race(exc: BaseException) -> bool:
    """A concurrent writer won: a unique key taken, a serialisation failure or deadlock (PostgreSQL)."""
    if isinstance(exc, IntegrityError):
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("40001", "40P01")


@dataclass
class Registry:
    """An open registry database: an engine and how to run transactions on it."""

    engine: Engine
    url: str
    explicit: bool = False
    busy_timeout: float = BUSY_TIMEOUT_S
    given: str = ""

    @property
    def shown(self) -> str:
        """The URL as the user gave it, as messages show it (no password)."""
        return make_url(self.given or self.url).render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _db_flag(self) -> str:
        """``--db URL`` for a command a message suggests; with a password, which messages never show,
        the word URL (a command with ``***`` in it would fail to connect)."""
        if not self.explicit:
            return ""
        return " --db URL" if make_url(self.given or self.url).password else f" --db {self.shown}"

    @contextmanager
    def connect(self, write: bool = False) -> Iterator[Connection]:
        """A connection in one transaction, committed on success; faults become registry errors."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(flowmatch_write=write)
                with conn.begin():
                    yield conn
        except DBAPIError as exc:
            if _is_race(exc):
                raise  # Registry.write runs the transaction again
            if _is_lock(exc) or isinstance(exc, OperationalError) or _not_a_database(exc):
                raise self._operational(exc) from None
            raise

    def _operational(self, exc: DBAPIError) -> RegistryError:
        if _is_lock(exc):
            return RegistryLockedError(
                f"{self.shown}: the database is locked by another process (waited "
                f"{self.busy_timeout:g} s). Wait for it to finish and run the command again.")
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if self.dialect == "sqlite":
            check = "that the file is a SQLite database you may read and write"
        else:
            database = make_url(self.url).database or "NAME"
            check = (f"that the server is running, that you may connect, and that the database exists "
                     f"(`createdb {database}` makes it)")
        return RegistryUnreachableError(
            f"{self.shown}: cannot open the registry database ({reason}). Check the URL (--db or "
            f"${ENV_VAR}) and {check}.")

    def read(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` in one read transaction on a registry whose schema is current."""
        self.check_schema()
        with self.connect() as conn, Session(bind=conn, expire_on_commit=False) as session:
            return fn(session)

    def write(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` in one write transaction, committed whole or not at all.

        A race lost to a concurrent writer (a unique key it took first, a
        PostgreSQL serialisation failure) rolls back and runs ``fn`` again, so it
        sees what the other writer committed.
        """
        self.check_schema()
        for attempt in range(_RETRIES):
            try:
                with self.connect(write=True) as conn, Session(bind=conn, expire_on_commit=False) as session:
                    result = fn(session)
                    session.flush()
                    return result
            except DBAPIError as exc:
                if not _is_race(exc):
                    raise
                if attempt == _RETRIES - 1:
                    raise RegistryLockedError(
                        f"{self.shown}: other processes kept changing the same rows ({_RETRIES} tries); "
                        "nothing was written. Run the command again.") from None
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ schema

    def revision(self) -> str | None:
        """The database's schema revision (``None``: no registry in it)."""
        from alembic.runtime.migration import MigrationContext

        with self.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def check_schema(self) -> None:
        """Refuse a database with no registry, an older schema or one newer than this flowmatch."""
        current, head = self.revision(), head_revision()
        if current == head:
            return
        if current is None:
            raise RegistryNotInitialisedError(
                f"{self.shown}: holds no flowmatch registry. Run `flowmatch registry init"
                f"{self._db_flag()}` to create one, or give the registry's URL with --db or ${ENV_VAR}.")
        if current not in _known_revisions():
            raise SchemaNewerError(
                f"{self.shown}: the registry's schema is at revision {current}, newer than this flowmatch "
                f"knows (its newest is {head}); refused, so nothing is read wrong. Upgrade flowmatch "
                "(pip install -U flowmatch) to use this registry.")
        raise SchemaOutdatedError(
            f"{self.shown}: the registry's schema is at revision {current}, older than this flowmatch's "
            f"({head}); " + _UPGRADE.format(db=self._db_flag()) + ".")

    def upgrade(self) -> tuple[str | None, str]:
        """Create or migrate the schema to the newest revision; returns (before, after).

        A database at an unknown newer revision is refused (:class:`SchemaNewerError`).
        """
        from alembic import command

        before = self.revision()
        if before is not None and before not in _known_revisions():
            self.check_schema()
        with self.connect(write=True) as conn:
            cfg = _alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return before, head_revision()

    def stamp(self, revision: str) -> None:
        """Set the schema revision without migrating (tests build old and newer databases with it)."""
        from alembic.runtime.migration import MigrationContext

        with self.connect(write=True) as conn:
            ctx = MigrationContext.configure(conn)
            ctx.stamp(_script(), revision) if revision in _known_revisions() else _force_stamp(conn, revision)

    def upgrade_to(self, revision: str) -> None:
        """Migrate to one given revision (tests build an older schema with it)."""
        from alembic import command

        with self.connect(write=True) as conn:
            cfg = _alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def tables(self) -> list[str]:
        with self.connect() as conn:
            return sorted(inspect(conn).get_table_names())


def _force_stamp(conn: Connection, revision: str) -> None:
    conn.exec_driver_sql("UPDATE alembic_version SET version_num = ?" if conn.dialect.name == "sqlite"
                         else "UPDATE alembic_version SET version_num = %s", (revision,))


def _alembic_config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def _script() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config())


def head_revision() -> str:
    """The newest schema revision this flowmatch ships."""
    head = _script().get_current_head()
    assert head is not None
    return str(head)


def _known_revisions() -> set[str]:
    return {r.revision for r in _script().walk_revisions()}


def _sqlite_file(url: URL) -> Path | None:
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def open_registry(url: str | None = None, *, create: bool = False,
                  busy_timeout: float | None = None) -> Registry:
    """Open the registry at ``url`` (see :func:`resolve_url`).

    ``create``: a SQLite file that does not exist yet is made (``init``);
    otherwise a missing file is :class:`RegistryNotInitialisedError`, and no
    empty file is left behind.
    """
    text = resolve_url(url)
    explicit = url is not None or ENV_VAR in os.environ
    sa_url = _sqlalchemy_url(text)
    timeout = _busy_timeout() if busy_timeout is None else busy_timeout
    shown = sa_url.render_as_string(hide_password=True)
    if sa_url.get_backend_name() == "sqlite":
        path = _sqlite_file(sa_url)
        if path is not None and not path.exists() and not create:
            flag = f" --db {text}" if explicit else ""
            raise RegistryNotInitialisedError(
                f"{text}: no registry database at {path}. Run `flowmatch registry init{flag}` to create "
                f"one, or give the registry's URL with --db or ${ENV_VAR}.")
        if path is not None and not path.parent.is_dir():
            raise RegistryUnreachableError(
                f"{text}: the folder {path.parent} does not exist; create it or give another path.")
        engine = create_engine(sa_url, connect_args={"timeout": timeout, "isolation_level": None})
        _sqlite_events(engine, timeout)
    else:
        try:
            engine = create_engine(sa_url, pool_pre_ping=True, connect_args={
                "connect_timeout": 10, "options": f"-c lock_timeout={max(1, int(timeout * 1000))}"})
        except NoSuchModuleError:
            raise RegistryUnreachableError(
                f"{shown}: PostgreSQL needs psycopg 3; install it with pip install 'flowmatch[postgres]'."
            ) from None
        except ModuleNotFoundError:
            raise RegistryUnreachableError(
                f"{shown}: PostgreSQL needs psycopg 3; install it with pip install 'flowmatch[postgres]'."
            ) from None
    return Registry(engine, sa_url.render_as_string(hide_password=False), explicit=explicit,
                    busy_timeout=timeout, given=text)


def _busy_timeout() -> float:
    text = os.environ.get(TIMEOUT_VAR)
    if not text:
        return BUSY_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise RegistryError(f"${TIMEOUT_VAR}={text!r}: give the seconds a writer waits for a locked "
                            f"database, e.g. {BUSY_TIMEOUT_S:g}.")
    return value


def _sqlite_events(engine: Engine, timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("flowmatch_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

