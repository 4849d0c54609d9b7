"""Sessions kept ready for the transactions of every command, each on a connection of
its own held out of the pool.

Opening a `Session`, checking a connection out of the pool, beginning, and giving the
connection back cost SQLAlchemy about 100 µs on SQLite: more than all the statements of
a typical command together. A shelf keeps a few Sessions, each bound to a connection
that stays checked out with its execution options set once (SQLAlchemy's "session bound
to a connection", the Session beginning and committing the connection's transaction).
After each use the Session is closed, so what it loaded is detached exactly as from a
fresh Session; the connection stays, idle and outside any transaction. A shelf with
none free hands out a fresh Session, as if there were no shelf.

A Session whose work raised is put back only if its transaction was rolled back whole:
its connection valid and outside any transaction, in SQLAlchemy's eyes and SQLite's.
Otherwise the connection is closed and a new one made when needed, so no state of a
failed transaction can reach the next command. (A refused command raises through its
transaction to roll it back: opening a new connection for each, with its pragmas, cost
more than the command.) The engine's `engine_disposed` event closes the shelf (a
connection in use is closed when it comes back).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlmodel import Session


class SessionShelf:
    """Up to `size` Sessions kept for `engine`, their connections with `options`."""

    def __init__(self, engine: Engine, options: Mapping[str, Any], *, size: int) -> None:
        self._engine = engine
        self._options = dict(options)
        self._size = size
        self._idle: list[Session] = []
        self._made = 0
        self._closed = False
        self._lock = threading.Lock()
        event.listen(engine, "engine_disposed", self._on_disposed)

    @property
    def closed(self) -> bool:
        return self._closed

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A Session in a transaction begun with the shelf's options, committed at the
        end or rolled back on an error. The transaction has begun when it is handed out
        (an error beginning it is raised here)."""
        kept = self._take()
        if kept is None:
            with Session(self._engine, expire_on_commit=False) as fresh, fresh.begin():
                fresh.connection(execution_options=self._options)
                yield fresh
            return
        try:
            with kept.begin():
                kept.connection()
                yield kept
        finally:
            kept.close()  # detaches what it loaded; its own connection stays open
            self._give_back(kept)

    def close(self) -> None:
        """Close the idle connections; those in use are closed as they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._made -= len(idle)
        for session in idle:
            _close(_connection(session))

    def _take(self) -> Session | None:
        with self._lock:
            if self._closed:
                return None
            if self._idle:
                return self._idle.pop()
            if self._made >= self._size:
                return None
            self._made += 1
        try:
            connection = self._engine.connect().execution_options(**self._options)
        except BaseException:
            with self._lock:
                self._made -= 1
            raise
        return Session(bind=connection, expire_on_commit=False)

    def _give_back(self, session: Session) -> None:
        connection = _connection(session)
        reusable = _as_new(connection)
        with self._lock:
            if reusable and not self._closed:
                self._idle.append(session)
                return
            self._made -= 1
        _close(connection)

    def _on_disposed(self, engine: Engine) -> None:
        self.close()


def _close(connection: Connection) -> None:
    """Close the driver's connection itself: given back to a pool already disposed of,
    it would be kept there, open, until collected."""
    if not connection.invalidated:  # an invalidated one's driver is closed already
        connection.detach()
    connection.close()


def _as_new(connection: Connection) -> bool:
    """Whether `connection` is as a new one would be: valid, and in no transaction, as
    SQLAlchemy and the driver each see it (a failed transaction was rolled back whole)."""
    if connection.closed or connection.invalidated or connection.in_transaction():
        return False
    driver = connection.connection.driver_connection
    return getattr(driver, "in_transaction", True) is False


def _connection(session: Session) -> Connection:
    bind = session.bind
    assert isinstance(bind, Connection)
    return bind
