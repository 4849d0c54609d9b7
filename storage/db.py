"""The engine factory: SQLite by default, PostgreSQL by URL.

Engines are built on request (never at import) so that tests and several teams can each
have their own.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, create_engine

from storage import prepared
from storage.kept_sessions import SessionShelf

SQLITE_BUSY_TIMEOUT_MS = 10_000
_SNAPSHOT = "opsbot_snapshot"  # execution option: a transaction that only reads
_NO_WAIT = "opsbot_no_wait"  # execution option: take the write lock now or fail
_WRITE = "opsbot_write"  # execution option: take the write lock, waiting (busy_timeout)
_BUSY_TIMEOUT = "opsbot_busy_timeout_ms"  # a SQLite connection's current busy timeout


class WouldWait(Exception):
    """The work cannot be done without waiting: the database's write lock is taken, or
    a read turned out to have to write. Nothing was changed."""


def normalise_url(url: str) -> str:
    """Let users write `postgresql://…`; opsbot talks to PostgreSQL through psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# The backends opsbot is built and tested on, with the driver it ships (SQLAlchemy's
# names): anything else would fail later on a missing driver (MySQLdb …) or on SQL
# that only these two are tested with.
SUPPORTED_DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg"}

# SQLite's (primary) result codes for "the file cannot be created, opened or written".
_CANNOT_OPEN = {sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM}


class UnsupportedDatabase(ValueError):
    """The URL names a database opsbot does not talk to (MySQL, a typo …).

    Raised before any engine is built, so the command line can refuse it as a mistake in
    the config instead of failing on a driver that is not installed.
    """

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class DatabaseUnavailable(Exception):
    """The SQLite file cannot be created, opened or written, at `path`.

    A read-only folder, a path that is a folder, a file owned by someone else: the
    message names the file, which the driver's own error does not.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _parse(url: str) -> URL:
    try:
        return make_url(normalise_url(url))
    except ArgumentError:
        raise UnsupportedDatabase(url) from None


def check_url(url: str) -> None:
    """Refuse a URL of a backend or driver opsbot does not support (`UnsupportedDatabase`)."""
    parsed = _parse(url)
    if SUPPORTED_DRIVERS.get(parsed.get_backend_name()) != parsed.get_driver_name():
        raise UnsupportedDatabase(url)


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (None in memory or on another backend).

    Relative paths are relative to the working directory, as SQLite opens them.
    """
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def cannot_open(error: BaseException) -> str | None:
    """SQLite's reason when `error` says its file cannot be created, opened or written
    (a read-only folder …), else None: SQLAlchemy wraps the driver's error in its own."""
    original = getattr(error, "orig", error)
    if isinstance(original, sqlite3.Error) and original.sqlite_errorcode & 0xFF in _CANNOT_OPEN:
        return str(original)
    return None


def sqlite_write_locked(file: Path) -> bool:
    """Whether another connection holds the write lock of the SQLite file right now:
    asked without waiting, so that a caller can say it waits before it does."""
    if not file.exists():
        return False
    try:
        probe = sqlite3.connect(file, timeout=0, isolation_level=None)
    except sqlite3.Error:
        return False
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as error:
        return "locked" in str(error) or "busy" in str(error)
    finally:
        probe.close()


def is_lock_timeout(error: BaseException) -> bool:
    """Whether `error` is SQLite giving up on a write lock another process held for
    the whole busy timeout (not a broken or missing database)."""
    original = getattr(error, "orig", error)
    return isinstance(original, sqlite3.OperationalError) and (
        "database is locked" in str(original) or "database is busy" in str(original)
    )


def _configure_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers, foreign keys on, and transactions SQLAlchemy controls.

    pysqlite's own transaction handling defers BEGIN in ways that break SAVEPOINT and
    isolation; SQLAlchemy's documented recipe hands that job back to SQLAlchemy. Every
    transaction starts with BEGIN IMMEDIATE: almost every bot transaction writes, and a
    deferred one that reads first and writes later cannot wait for the write lock (it
    fails with "database is locked" when several processes tick at once).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL with synchronous=NORMAL is SQLite's recommended pairing: commits do not
        # fsync, yet the database is never corrupted; a power cut may lose the last ones.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Straight to the driver: these run for every command, where going through
        # SQLAlchemy's statement machinery costs ten times the statement itself.
        fairy = connection.connection
        driver = fairy.driver_connection
        options = connection.get_execution_options()
        # A no-wait transaction needs a zero busy timeout; the connection keeps the one
        # it was last given (in its pool record's `info`), so a kept no-wait connection
        # sets it once rather than twice per command.
        wanted = 0 if options.get(_NO_WAIT, False) else SQLITE_BUSY_TIMEOUT_MS
        if fairy.info.get(_BUSY_TIMEOUT, SQLITE_BUSY_TIMEOUT_MS) != wanted:
            driver.execute(f"PRAGMA busy_timeout = {wanted}")
            fairy.info[_BUSY_TIMEOUT] = wanted
        driver.execute("BEGIN DEFERRED" if options.get(_SNAPSHOT, False) else "BEGIN IMMEDIATE")


def create_engine_for(url: str) -> Engine:
    """An engine for `url`, with the settings each backend needs.

    Raises `UnsupportedDatabase` for a backend opsbot does not support, and
    `DatabaseUnavailable` when the folder of a SQLite file cannot be created.
    """
    check_url(url)
    file = sqlite_file(url)
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if file is not None:
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseUnavailable(file, error.strerror or str(error)) from None
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


@lru_cache(maxsize=32)
def insert_unless_taken(table: Table, dialect: str, key: tuple[str, ...] | None = None) -> Any:
    """`INSERT … ON CONFLICT [(key)] DO NOTHING RETURNING id` into `table`, built once per
    table and backend: a row that is there already is left alone and returns no id, so
    the unique key, not a read first, decides who inserted it (also between processes).
    For the writes on every request and every team of a tick, where building the
    statement cost more than running it."""
    return insert_or_nothing(table, dialect, key).returning(table.c.id)


def dialect_insert(table: Any, dialect: str) -> Any:
    """An `INSERT` into `table` that can take `dialect`'s ON CONFLICT clauses (`sqlite`
    or `postgresql`). Each dialect is imported when first used: PostgreSQL's, with its
    drivers' modules, costs a command on SQLite a twentieth of its start-up."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


@lru_cache(maxsize=32)
def insert_or_nothing(table: Table, dialect: str, key: tuple[str, ...] | None = None) -> Any:
    """`INSERT … ON CONFLICT [(key)] DO NOTHING`, built once per table and backend; its
    result's rowcount says whether the row went in (for a table without an `id`)."""
    elements = list(key) if key else None
    statement = dialect_insert(table, dialect).on_conflict_do_nothing(index_elements=elements)
    # SQLAlchemy reads an INSERT's rowcount only when asked to (psycopg's is -1 otherwise).
    return statement.execution_options(preserve_rowcount=True)


def insert_new(session: Session, model: Any, row: Any) -> int:
    """Insert a new row of the table model `model` in one prepared `INSERT … RETURNING
    id` and give `row` its id. `row` has the table's columns as attributes: a plain
    fields model (`TopicFields`, ten times cheaper to build) or the table model itself,
    which the session does not track afterwards (a later change to it is not stored:
    load the row to change it).

    For the records added by the busiest commands (`/topic add`, `/task add`), where
    the ORM's unit of work cost more than the insert itself."""
    table = model.__table__
    values = {column.name: getattr(row, column.name) for column in table.columns}
    del values["id"]
    inserted = prepared.first(session, _insert_returning_id(table), values)
    assert inserted is not None
    row.id = inserted[0]
    return int(row.id)


@lru_cache(maxsize=16)
def _insert_returning_id(table: Table) -> Any:
    """Built once per table."""
    return table.insert().returning(table.c.id)


_sqlite_writers: dict[int, threading.RLock] = {}
_sqlite_writers_guard = threading.RLock()


def _writer_lock(engine: Engine) -> threading.RLock | None:
    """One lock per SQLite engine: threads of one process take turns at the write lock.

    SQLite admits one writer; a second one waits in SQLite's busy handler, which sleeps
    in growing steps and turns a few concurrent commands into long tail latencies. A
    lock hands over at once. (Other processes still wait through busy_timeout.)
    """
    if engine.dialect.name != "sqlite":
        return None
    with _sqlite_writers_guard:
        return _sqlite_writers.setdefault(id(engine), threading.RLock())


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed at the end, or rolled back whole on any error.

    On SQLite the threads of this process take turns (`_writer_lock`), so one kept
    session serves them all (a nested call gets a fresh one)."""
    lock = _writer_lock(engine)
    if lock is None:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
        return
    with lock, _session(engine, _WRITE) as session:
        yield session


def works_at_once(engine: Engine) -> bool:
    """Whether `snapshot` and `transaction_at_once` can do their work without waiting:
    true of a SQLite file in WAL mode, where readers see the last commit while someone
    writes and the write lock is taken or refused on the spot. (On PostgreSQL every
    query waits on the network.)"""
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


@contextmanager
def transaction_at_once(engine: Engine) -> Iterator[Session]:
    """A `transaction` that takes SQLite's write lock now or raises `WouldWait`.

    The lock is taken before the session is handed out (BEGIN IMMEDIATE with no busy
    timeout), and once held nothing in a WAL database waits for anyone: so the whole
    transaction either runs without waiting or never starts.
    """
    lock = _writer_lock(engine)
    if lock is None:
        raise WouldWait(f"{engine.dialect.name} cannot promise to take its locks at once")
    if not lock.acquire(blocking=False):
        raise WouldWait("another command of this process is writing")
    try:
        with ExitStack() as opened:
            try:
                session = opened.enter_context(_session(engine, _NO_WAIT))
            except sqlite3.OperationalError as error:  # from the driver, in `_on_begin`
                if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # extended codes too
                    raise
                raise WouldWait("another process is writing") from error
            yield session
    finally:
        lock.release()


@contextmanager
def snapshot(engine: Engine) -> Iterator[Session]:
    """A session for reading only: the database as of the last commit.

    On SQLite it begins DEFERRED and takes no writer lock, so it runs beside a writer,
    even one in another process, instead of queueing behind it. Whoever uses it must not
    write: a write would have to wait for the writer lock after all.
    """
    with _session(engine, _SNAPSHOT) as session:
        yield session


def _session(engine: Engine, option: str) -> AbstractContextManager[Session]:
    """A session in a transaction begun with `option`: on a SQLite file, one of the
    sessions kept ready for it (storage/kept_sessions.py), else a fresh one."""
    shelf = _shelves.get((id(engine), option))
    if shelf is None or shelf.closed:
        shelf = _shelf(engine, option)
    if shelf is not None:
        return shelf.session()
    return _fresh_session(engine, option)


@contextmanager
def _fresh_session(engine: Engine, option: str) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        session.connection(execution_options={option: True})
        yield session


# Per SQLite file engine and option: readers may be several threads at once (the event
# loop, Socket Mode's, a threadpool's), the writer at once is one (`_writer_lock`).
_SHELF_SIZES = {_SNAPSHOT: 2, _NO_WAIT: 1, _WRITE: 1}
_shelves: dict[tuple[int, str], SessionShelf] = {}


def _shelf(engine: Engine, option: str) -> SessionShelf | None:
    if not works_at_once(engine):
        return None
    with _sqlite_writers_guard:
        key = (id(engine), option)
        shelf = _shelves.get(key)
        if shelf is None or shelf.closed:
            shelf = _shelves[key] = SessionShelf(engine, {option: True}, size=_SHELF_SIZES[option])
            # Disposed, the engine is let go of (a later use makes a new shelf).
            event.listen(engine, "engine_disposed", lambda _: _shelves.pop(key, None))
        return shelf
