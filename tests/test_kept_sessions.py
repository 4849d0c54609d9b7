"""The sessions kept ready for `snapshot`, `transaction` and `transaction_at_once` on a SQLite file
(storage/kept_sessions.py): each use behaves as a fresh session would, and costs no
checkout from the pool once the shelf has its sessions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, inspect
from sqlmodel import Session, select

from storage.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    WouldWait,
    create_engine_for,
    snapshot,
    transaction,
    transaction_at_once,
)
from storage.migrate import upgrade_database
from storage.models import Member

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = create_engine_for(sqlite_url)
    upgrade_database(engine)
    yield engine
    engine.dispose()


def _checkouts(engine: Engine) -> list[object]:
    """Every connection the pool hands out from now on."""
    handed: list[object] = []
    event.listen(engine, "checkout", lambda driver, *_: handed.append(driver))
    return handed


def _add(engine: Engine, member_id: str) -> None:
    with transaction_at_once(engine) as session:
        session.add(Member(team_id="t", id=member_id, name=member_id, created_at=NOW))


def _names(engine: Engine) -> list[str]:
    with snapshot(engine) as session:
        return [member.id for member in session.exec(select(Member).order_by(Member.id))]


def test_reads_and_writes_reuse_their_connections_and_commit(engine: Engine) -> None:
    handed = _checkouts(engine)

    for n in range(5):
        _add(engine, f"m{n}")
        assert _names(engine) == [f"m{k}" for k in range(n + 1)]

    assert len(handed) == 2  # one for the writer, one for the reader, kept since
    other = sqlite3.connect(str(engine.url.database))  # committed for everyone
    assert other.execute("SELECT count(*) FROM members").fetchone() == (5,)
    other.close()


def test_a_waiting_writer_keeps_its_connection_too(engine: Engine) -> None:
    """`transaction` (the console's, the scheduler's): one kept session, since the
    process's writers take turns; one whose work failed is rolled back and kept."""
    handed = _checkouts(engine)

    for n in range(3):
        with transaction(engine) as session:
            session.add(Member(team_id="t", id=f"m{n}", name=f"m{n}", created_at=NOW))
    assert _names(engine) == ["m0", "m1", "m2"]
    assert len(handed) == 2  # the writer's and the reader's, kept since

    with pytest.raises(RuntimeError), transaction(engine) as session:
        session.add(Member(team_id="t", id="bob", name="bob", created_at=NOW))
        session.flush()
        raise RuntimeError("the command failed")
    with transaction(engine) as session:
        session.add(Member(team_id="t", id="carol", name="carol", created_at=NOW))

    assert _names(engine) == ["carol", "m0", "m1", "m2"]
    assert len(handed) == 2  # rolled back whole, the writer's connection was kept


def test_what_a_session_loaded_is_let_go_as_from_a_fresh_session(engine: Engine) -> None:
    _add(engine, "alice")
    with snapshot(engine) as session:
        alice = session.exec(select(Member)).one()
    with snapshot(engine) as session:
        assert list(session.identity_map.values()) == []  # nothing carried over

    assert inspect(alice).detached
    assert alice.name == "alice"  # still readable, as with expire_on_commit=False


def test_a_failed_transaction_leaves_nothing_and_its_connection_is_kept_clean(
    engine: Engine,
) -> None:
    """A refused command raises through its transaction: rolled back whole, its
    connection is as a new one, and kept (a new one for each refusal cost more than
    the command)."""
    _add(engine, "alice")
    assert _names(engine) == ["alice"]
    handed = _checkouts(engine)

    with pytest.raises(RuntimeError), transaction_at_once(engine) as session:
        session.add(Member(team_id="t", id="bob", name="bob", created_at=NOW))
        session.flush()
        raise RuntimeError("the command failed")

    assert _names(engine) == ["alice"]  # bob was rolled back
    _add(engine, "carol")
    assert _names(engine) == ["alice", "carol"]
    assert handed == []  # the same two connections
    assert engine.pool.checkedout() == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize("breaks", ["invalidated", "left in a transaction"])
def test_a_connection_a_failure_left_unlike_a_new_one_is_not_kept(
    engine: Engine, breaks: str
) -> None:
    _add(engine, "alice")
    writers: list[sqlite3.Connection] = []

    with pytest.raises(RuntimeError), transaction_at_once(engine) as session:
        session.add(Member(team_id="t", id="bob", name="bob", created_at=NOW))
        session.flush()
        connection = session.connection()
        writers.append(connection.connection.driver_connection)
        if breaks == "invalidated":
            connection.invalidate()
        else:  # what SQLAlchemy cannot see: the driver in a transaction after the rollback
            event.listen(session, "after_rollback", lambda _: writers[0].execute("BEGIN"))
        raise RuntimeError("the command failed")
    with transaction_at_once(engine) as session:
        session.add(Member(team_id="t", id="carol", name="carol", created_at=NOW))
        writers.append(session.connection().connection.driver_connection)

    assert _names(engine) == ["alice", "carol"]
    assert writers[1] is not writers[0]
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        writers[0].execute("SELECT 1")


def test_more_sessions_at_once_than_kept_get_fresh_ones(engine: Engine) -> None:
    _add(engine, "alice")
    with snapshot(engine) as first, snapshot(engine) as second, snapshot(engine) as third:
        sessions = {id(first), id(second), id(third)}
        assert [len(s.exec(select(Member)).all()) for s in (first, second, third)] == [1, 1, 1]

    assert len(sessions) == 3
    assert engine.pool.checkedout() == 2 + 1  # type: ignore[attr-defined]  # two readers, one writer kept


def test_a_writer_elsewhere_is_still_refused_at_once_and_then_not(engine: Engine) -> None:
    _add(engine, "alice")
    other = sqlite3.connect(str(engine.url.database), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    with pytest.raises(WouldWait):
        _add(engine, "bob")
    assert _names(engine) == ["alice"]  # reads go on beside the writer

    other.execute("ROLLBACK")
    other.close()
    _add(engine, "bob")
    assert _names(engine) == ["alice", "bob"]


def _busy_timeout(session: Session) -> int:
    return int(session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar_one())


def test_a_connection_that_took_part_in_a_no_wait_write_waits_again_afterwards(
    engine: Engine,
) -> None:
    """The busy timeout a no-wait write zeroes is given back to a connection before it
    serves a transaction that may wait: a pool connection serves both kinds."""
    _add(engine, "alice")
    with snapshot(engine), snapshot(engine), snapshot(engine) as third:
        assert _busy_timeout(third) == SQLITE_BUSY_TIMEOUT_MS  # a pool connection
    with transaction_at_once(engine) as writing:
        assert _busy_timeout(writing) == 0
        # The kept connection is busy: the pool's serves, zeroed, and is refused.
        with pytest.raises(WouldWait), transaction_at_once(engine):
            pass
    with snapshot(engine), snapshot(engine), snapshot(engine) as third:
        assert _busy_timeout(third) == SQLITE_BUSY_TIMEOUT_MS
    with transaction(engine) as waiting:
        assert _busy_timeout(waiting) == SQLITE_BUSY_TIMEOUT_MS


def test_disposing_of_the_engine_closes_the_kept_connections(engine: Engine) -> None:
    kept: list[sqlite3.Connection] = []
    event.listen(engine, "checkout", lambda driver, *_: kept.append(driver))
    _add(engine, "alice")
    assert _names(engine) == ["alice"]

    engine.dispose()

    assert len(kept) == 2
    for connection in kept:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            connection.execute("SELECT 1")
    assert _names(engine) == ["alice"]  # the engine works on, with new connections


def test_postgresql_keeps_no_session(postgres_url: str) -> None:
    engine = create_engine_for(postgres_url)
    try:
        upgrade_database(engine)
        handed = _checkouts(engine)
        for _ in range(3):
            with snapshot(engine) as session:
                session.exec(select(Member)).all()
        assert len(handed) == 3
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        engine.dispose()
