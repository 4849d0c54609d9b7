"""The job ledger: claiming a (team, job, period) is what makes a scheduled post run once.

A tick reads the ledger in sets (`recorded_runs`, `recorded_among`, `team_starts`): a
few statements for every team at once, not one per team and job. Claiming stays one
row at a time (`claim_run`), under the unique key that decides who runs.

Ticks started together share the teams through a round (`join_round`, `take_batch`):
each takes the next batch of teams until none is left. That only saves work; the
ledger, not the round, keeps a run from posting twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, text, update
from sqlmodel import Session, col, func, select

from storage import prepared
from storage.db import dialect_insert, insert_unless_taken
from storage.models import JobRun, Member, TeamStart, TickRound

Run = tuple[str, str, str]  # (team, job, period)
IDS_PER_STATEMENT = 500  # well inside every backend's limit of bound parameters


def has_run(session: Session, *, team_id: str, job: str, period: str) -> bool:
    statement = select(JobRun.id).where(
        JobRun.team_id == team_id, JobRun.job == job, JobRun.period == period
    )
    return session.exec(statement).first() is not None


def claim_run(
    session: Session, *, team_id: str, job: str, period: str, now: datetime, status: str = "done"
) -> bool:
    """Record the run; False when another process (or an earlier tick) already has.

    The unique key decides: under concurrency the loser's INSERT finds the key taken and
    does nothing (PostgreSQL makes it wait for the winner's commit first), so exactly one
    caller gets True. One statement: no read first, no savepoint.
    """
    row = {"team_id": team_id, "job": job, "period": period, "status": status, "ran_at": now}
    statement = insert_unless_taken(_RUNS, session.get_bind().dialect.name)
    return prepared.first(session, statement, row) is not None


_RUNS = JobRun.__table__  # type: ignore[attr-defined]


def _insert(session: Session, model: type[JobRun] | type[TeamStart]) -> Any:
    """An INSERT that can be told to do nothing on a taken key, in the session's dialect."""
    return dialect_insert(model, session.get_bind().dialect.name)


def recorded_runs(
    session: Session,
    *,
    keys: Collection[tuple[str, str]],
    team_ids: Collection[str] | None = None,
) -> set[Run]:
    """The (team, job, period) in the ledger among the (job, period) `keys`, of the teams
    `team_ids` (None: of every team): one read, by the (job, period) index."""
    if not keys:
        return set()
    by_job: dict[str, list[str]] = defaultdict(list)
    for job, period in keys:
        by_job[job].append(period)
    conditions = [
        and_(col(JobRun.job) == job, col(JobRun.period).in_(periods))
        for job, periods in by_job.items()
    ]
    statement = select(JobRun.team_id, JobRun.job, JobRun.period).where(or_(*conditions))
    if team_ids is not None:
        statement = statement.where(col(JobRun.team_id).in_(list(team_ids)))
    return {(team, job, period) for team, job, period in session.exec(statement)}


def recorded_among(session: Session, *, runs: Iterable[Run]) -> set[Run]:
    """Which of `runs` the ledger has (the occurrences of event jobs, a few a tick)."""
    by_team_job: dict[tuple[str, str], list[str]] = defaultdict(list)
    for team, job, period in runs:
        by_team_job[(team, job)].append(period)
    groups = list(by_team_job.items())
    found: set[Run] = set()
    for start in range(0, len(groups), IDS_PER_STATEMENT // 5):
        conditions: list[ColumnElement[bool]] = [
            and_(
                col(JobRun.team_id) == team, col(JobRun.job) == job, col(JobRun.period).in_(periods)
            )
            for (team, job), periods in groups[start : start + IDS_PER_STATEMENT // 5]
        ]
        statement = select(JobRun.team_id, JobRun.job, JobRun.period).where(or_(*conditions))
        found.update((team, job, period) for team, job, period in session.exec(statement))
    return found


TEAM_STARTED = "team_started"  # the ledger's row that says when a team's jobs began


def team_started_at(session: Session, *, team_id: str, now: datetime) -> datetime:
    """When the team's scheduled jobs began: when its first member or ledger row was
    written, or now (recorded) for a team that has neither yet.

    A run scheduled before the team existed is not "missed": a new team's first tick
    must not catch up on (or warn about) a day of jobs it never had.
    """
    return team_starts(session, team_ids=[team_id], now=now)[team_id]


def team_starts(session: Session, *, team_ids: Sequence[str], now: datetime) -> dict[str, datetime]:
    """`team_started_at` of each team, in a few reads whatever the number of teams.

    Worked out once per team and kept in `team_starts`; a `team_started` row of the
    ledger written later (the demo dates its team a week back) still counts.
    """
    wanted = set(team_ids)
    kept = _kept_starts(session, wanted)
    started = select(JobRun.team_id, JobRun.ran_at).where(
        JobRun.job == TEAM_STARTED, JobRun.period == "-"
    )
    for team_id, ran_at in session.exec(started):
        if team_id in kept:
            kept[team_id] = min(kept[team_id], _aware(ran_at))
    missing = [team_id for team_id in team_ids if team_id not in kept]
    if missing:
        found = _first_instants(session, missing)
        for team_id in missing:
            if team_id not in found:
                claim_run(session, team_id=team_id, job=TEAM_STARTED, period="-", now=now)
                found[team_id] = now
        _keep_starts(session, {team_id: found[team_id] for team_id in missing})
        kept.update(found)
    return {team_id: kept[team_id] for team_id in team_ids}


def _kept_starts(session: Session, wanted: set[str]) -> dict[str, datetime]:
    statement = select(TeamStart.team_id, TeamStart.started_at)
    if len(wanted) <= IDS_PER_STATEMENT:  # else every row: one read beats many
        statement = statement.where(col(TeamStart.team_id).in_(list(wanted)))
    return {team_id: at for team_id, at in session.exec(statement) if team_id in wanted}


def _first_instants(session: Session, team_ids: list[str]) -> dict[str, datetime]:
    """Each team's first member or ledger row (teams that have one), read once a team."""
    found: dict[str, datetime] = {}
    for start in range(0, len(team_ids), IDS_PER_STATEMENT):
        chunk = team_ids[start : start + IDS_PER_STATEMENT]
        for model, column in ((Member, Member.created_at), (JobRun, JobRun.ran_at)):
            team = col(model.team_id)
            statement = select(team, func.min(column)).where(team.in_(chunk)).group_by(team)
            for team_id, first in session.exec(statement):
                if first is not None:
                    first = _aware(first)
                    found[team_id] = min(found.get(team_id, first), first)
    return found


def _keep_starts(session: Session, starts: dict[str, datetime]) -> None:
    rows = [{"team_id": team_id, "started_at": at} for team_id, at in starts.items()]
    statement = _insert(session, TeamStart).on_conflict_do_nothing()
    for start in range(0, len(rows), IDS_PER_STATEMENT):
        session.execute(statement, rows[start : start + IDS_PER_STATEMENT])


def _aware(instant: datetime) -> datetime:
    """MIN() bypasses the column type on SQLite, which hands back a naive UTC value."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


# -- rounds: ticks started together share the teams -----------------------------------

_ROUND_LOCK = 0x6F70_7362_6F74  # PostgreSQL advisory lock: one tick at a time finds a round


def join_round(
    session: Session, *, teams_hash: str, batches: int, now: datetime, within: timedelta
) -> int:
    """The round a tick at `now` takes part in: the one of the same teams still being
    walked (a batch of it taken or finished within `within` of `now`), or a new one.

    A round whose batches are all taken but not all finished is joined too: the tick then
    has nothing left to do, the teams being walked by the ticks it started with. Once
    every batch is finished the round is over, and the next tick begins a new one.

    On PostgreSQL the transaction takes an advisory lock first, so that two ticks started
    together do not both begin a round; SQLite's write lock does the same.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ROUND_LOCK})
    statement = (
        select(TickRound.id)
        .where(
            TickRound.teams_hash == teams_hash,
            TickRound.batches == batches,
            col(TickRound.done_batches) < col(TickRound.batches),
            col(TickRound.instant) >= now - within,
            col(TickRound.instant) <= now + within,
        )
        .order_by(col(TickRound.id).desc())
        .limit(1)
    )
    found = session.exec(statement).first()
    if found is not None:
        return found
    begun = TickRound(teams_hash=teams_hash, instant=now, batches=batches)
    session.add(begun)
    session.flush()
    assert begun.id is not None
    return begun.id


def take_batch(session: Session, *, round_id: int, now: datetime) -> int | None:
    """The number of the round's next batch, now this tick's; None when all are taken."""
    statement = (
        update(TickRound)
        .where(col(TickRound.id) == round_id, col(TickRound.next_batch) < col(TickRound.batches))
        .values(next_batch=col(TickRound.next_batch) + 1, instant=now)
        .returning(col(TickRound.next_batch))
    )
    taken = session.execute(statement).scalar()
    return None if taken is None else int(taken) - 1


def finish_batch(session: Session, *, round_id: int, now: datetime) -> None:
    """A batch of the round has been walked; with the last one, the round is over."""
    session.execute(
        update(TickRound)
        .where(col(TickRound.id) == round_id)
        .values(done_batches=col(TickRound.done_batches) + 1, instant=now)
    )


def prune_rounds(session: Session, *, before: datetime) -> None:
    """Forget rounds that are over, and rounds left unfinished before `before` (a tick
    killed mid-batch never finishes its round)."""
    session.execute(
        delete(TickRound).where(
            or_(
                col(TickRound.done_batches) >= col(TickRound.batches),
                col(TickRound.instant) < before,
            )
        )
    )
