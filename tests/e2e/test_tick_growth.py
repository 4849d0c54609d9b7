"""A tick costs what there is to do, not how many teams there are: teams on the same
schedule share the cron arithmetic, the ledger is read once for all of them, and ticks
started together on PostgreSQL share the teams out, each job still running once."""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.synchronize
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.core.clock import FrozenClock
from bot.core.commands import Context
from bot.core.config import Settings
from bot.core.jobs import CronJob, EventJob, Job, Occurrence, Outgoing
from bot.runtime.app import OpsBot
from bot.runtime.scheduler import Scheduler, SetBasedDue
from bot.runtime.settings import settings_from
from bot.vocab.cron import parse_cron
from handlers.registry import ALL_JOBS
from storage import ledger
from storage.db import create_engine_for, transaction
from storage.export import export_tables
from storage.migrate import upgrade_database
from tests.conftest import DEFAULT_MEMBERS
from tests.sql_counting import statements

SUNDAY_EVENING = datetime.fromisoformat("2026-11-22T20:00:00+08:00")  # the teams join
MONDAY_0900 = datetime.fromisoformat("2026-11-23T09:00:00+08:00")  # the digest is due
MONDAY_0905 = datetime.fromisoformat("2026-11-23T09:05:00+08:00")  # nothing is
MONDAY_0930 = datetime.fromisoformat("2026-11-23T09:30:00+08:00")

# The jobs whose teams the scheduler can find in one read: every cron job, and each
# event job whose `due` also names its teams.
SET_BASED_JOBS = tuple(
    job for job in ALL_JOBS if isinstance(job, CronJob) or isinstance(job.due, SetBasedDue)
)
PER_TEAM_JOBS = [
    job for job in ALL_JOBS if isinstance(job, EventJob) and not isinstance(job.due, SetBasedDue)
]


def teams_settings(url: str, teams: int) -> Settings:
    document = {
        "locale": "zh-CN",
        "storage": {"url": url},
        "teams": [
            {"id": f"t{n:02d}", "name": f"组{n}", "platforms": ["wechat"],
             "members": DEFAULT_MEMBERS}
            for n in range(teams)
        ],
    }  # fmt: skip
    return settings_from(document)


def open_bot(url: str, teams: int, jobs: tuple[Job, ...] = ALL_JOBS) -> OpsBot:
    """Teams that joined on Sunday evening, each with a post next week and a hot topic
    whose deadline passed at midnight: data to read, none of it due on Monday morning."""
    bot = OpsBot.open(teams_settings(url, teams), FrozenClock(SUNDAY_EVENING))
    bot.jobs = jobs
    for team in bot.settings.teams:
        for line in ("/publish add 冬季护肤 p:wechat 11-30 20:00", "/topic hot 双十二"):
            assert not bot.say(line, team_id=team.id, speaker="alice").is_error
    return bot


@contextmanager
def trigger_evaluations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """Every `get_next_fire_time` APScheduler is asked meanwhile."""
    asked: list[datetime] = []
    original = CronTrigger.get_next_fire_time

    def counted(self: CronTrigger, previous: datetime | None, now: datetime) -> datetime | None:
        asked.append(now)
        fire: datetime | None = original(self, previous, now)
        return fire

    with monkeypatch.context() as patch:
        patch.setattr(CronTrigger, "get_next_fire_time", counted)
        yield asked


def quiet_tick(
    url: str, teams: int, monkeypatch: pytest.MonkeyPatch, jobs: tuple[Job, ...] = ALL_JOBS
) -> tuple[int, int]:
    """Statements and trigger evaluations of a tick with nothing due (a fresh scheduler,
    as each `opsbot tick` has), after the 09:00 digest went out."""
    bot = open_bot(url, teams, jobs)
    bot.clock = FrozenClock(MONDAY_0900)
    assert len(Scheduler(bot).tick().ran) == teams  # the digests
    bot.clock = FrozenClock(MONDAY_0905)
    with statements(bot.engine) as sent, trigger_evaluations(monkeypatch) as asked:
        report = Scheduler(bot).tick()
    assert (report.ran, report.skipped, len(report.teams)) == ([], [], teams)
    bot.engine.dispose()
    return len(sent), len(asked)


def test_a_quiet_tick_reads_as_much_for_thirty_teams_as_for_three(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    few = quiet_tick(f"sqlite:///{tmp_path / 'few.db'}", 3, monkeypatch, SET_BASED_JOBS)
    many = quiet_tick(f"sqlite:///{tmp_path / 'many.db'}", 30, monkeypatch, SET_BASED_JOBS)

    assert many == few
    statements_sent, evaluations = many
    # pruning, the round, the team starts, the ledger, reminders, hot topics (one read each)
    assert statements_sent <= 13
    cron_jobs = [job for job in ALL_JOBS if isinstance(job, CronJob)]
    assert evaluations <= 4 * len(cron_jobs)  # one schedule for all: a few fire times each


def test_what_still_reads_once_a_team_is_an_event_job_that_cannot_name_its_teams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Such a job would be asked about every team, one read each; every event job now
    names its teams in one read (the hot-topic alert was the last), so the difference
    is 0 and a quiet tick reads as much for thirty teams as for three."""
    few, _ = quiet_tick(f"sqlite:///{tmp_path / 'few.db'}", 3, monkeypatch)
    many, _ = quiet_tick(f"sqlite:///{tmp_path / 'many.db'}", 30, monkeypatch)

    assert many - few == (30 - 3) * len(PER_TEAM_JOBS)


def test_only_the_teams_with_a_post_coming_up_are_read_for_reminders(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = open_bot(sqlite_url, 10, SET_BASED_JOBS)
    for instant in (MONDAY_0900, MONDAY_0930):  # the digest, the stand-up and the summary
        bot.clock = FrozenClock(instant)
        Scheduler(bot).tick()
    assert not bot.say("/publish add 早间快讯 p:wechat 今天 11:00", team_id="t03",
                       speaker="bob").is_error  # fmt: skip

    bot.clock = FrozenClock(MONDAY_0930 + timedelta(minutes=10))
    with statements(bot.engine) as sent:
        report = Scheduler(bot).tick()

    assert report.ran  # the author, and whoever reviews
    assert {(team, job) for team, job, _ in report.ran} == {("t03", "publish_reminder")}
    # The members of one team are read, not of ten.
    assert sum("FROM members" in statement for statement in sent) == 2  # whom, and names


def test_one_schedule_is_one_trigger_whatever_the_teams() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    assert parse_cron("0 9 * * 1-5", shanghai) is parse_cron("0 9 * * 1-5", shanghai)
    assert parse_cron("0 9 * * 1-5", shanghai) is not parse_cron("0 9 * * 1-5", ZoneInfo("UTC"))


def test_a_tick_after_the_last_one_ended_walks_every_team_again(sqlite_url: str) -> None:
    """A round ends when its last batch is taken: the next tick, even at the same instant
    (a frozen clock), begins a round of its own and sees what changed."""
    bot = open_bot(sqlite_url, 3, SET_BASED_JOBS)
    bot.clock = FrozenClock(MONDAY_0905)
    assert len(Scheduler(bot).tick().teams) == 3
    assert len(Scheduler(bot).tick().teams) == 3
    assert len(Scheduler(bot, batch_teams=1).tick().teams) == 3  # three batches, all ours


def test_ticks_of_one_round_take_each_batch_once(database_url: str) -> None:
    engine = create_engine_for(database_url)
    upgrade_database(engine)
    now, within = MONDAY_0900, timedelta(minutes=1)

    def join(teams_hash: str = "abc", at: datetime = now) -> int:
        with transaction(engine) as session:
            return ledger.join_round(session, teams_hash=teams_hash, batches=3, now=at,
                                     within=within)  # fmt: skip

    taken = []
    for _ in range(4):
        found = join()
        with transaction(engine) as session:
            taken.append(ledger.take_batch(session, round_id=found, now=now))
    # The fourth tick came while the three batches were being walked: nothing is left.
    assert taken == [0, 1, 2, None]
    with transaction(engine) as session:
        for _ in range(3):
            ledger.finish_batch(session, round_id=found, now=now)
    assert join() != found  # that round is over: the next tick begins another
    assert len({found, join("other"), join(at=now + timedelta(hours=1))}) == 3
    engine.dispose()


# -- ticks started together on PostgreSQL share the teams ------------------------------

TEAMS = 12
BATCH = 2  # teams a batch: six batches for two tickers


def _rendezvous(barrier: multiprocessing.synchronize.Barrier) -> CronJob:
    """A job whose first run in each process waits for the other process's: neither
    ticker can take every batch before the other has taken one."""
    met: list[bool] = []

    def build(ctx: Context, day: date) -> list[Outgoing]:
        if not met:
            met.append(True)
            barrier.wait(timeout=60)
        return []

    return CronJob("rendezvous", cron=lambda team: "0 9 * * *", build=build)


def _tick_together(url: str, barrier: multiprocessing.synchronize.Barrier, output: str) -> None:
    bot = OpsBot.open(teams_settings(url, TEAMS), FrozenClock(MONDAY_0930))
    bot.jobs = (_rendezvous(barrier), *ALL_JOBS)
    barrier.wait(timeout=60)
    report = Scheduler(bot, batch_teams=BATCH).tick()
    Path(output).write_text(json.dumps({"teams": report.teams, "ran": report.ran}))
    bot.engine.dispose()


def test_two_tickers_started_together_share_the_teams_and_run_each_job_once(
    postgres_url: str, tmp_path: Path
) -> None:
    OpsBot.open(  # migrate first: the teams exist since 08:00, so 09:00's digest is due
        teams_settings(postgres_url, TEAMS), FrozenClock(MONDAY_0930.replace(hour=8))
    ).engine.dispose()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    outputs = [tmp_path / f"ticker-{n}.json" for n in range(2)]
    processes = [
        context.Process(target=_tick_together, args=(postgres_url, barrier, str(output)))
        for output in outputs
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=180)
        assert process.exitcode == 0

    reports = [json.loads(output.read_text()) for output in outputs]
    shares = [set(report["teams"]) for report in reports]
    assert all(shares)  # each ticker walked some teams …
    assert not shares[0] & shares[1]  # … none twice …
    assert shares[0] | shares[1] == {f"t{n:02d}" for n in range(TEAMS)}  # … and all of them
    ran = [tuple(run) for report in reports for run in report["ran"]]
    assert len(ran) == len(set(ran))
    bot = OpsBot.open(teams_settings(postgres_url, TEAMS), FrozenClock(MONDAY_0930))
    with transaction(bot.engine) as session:
        tables = export_tables(session)
    bot.engine.dispose()
    runs = sorted((row["team"], row["job"], row["period"]) for row in tables["job_runs"])
    assert runs == sorted(
        (f"t{n:02d}", job, period)
        for n in range(TEAMS)
        for job, period in [("digest", "2026-11-23T09:00"), ("rendezvous", "2026-11-23T09:00"),
                            ("standup_prompt", "2026-11-23T09:30"), ("weekly_summary", "2026-W47")]
    )  # fmt: skip
    assert sorted(ran) == runs  # what the two ran together is the whole ledger
    kinds = [row["kind"] for row in tables["outbox"]]
    # Each team's summary, and each member's own week by DM (`summary.per_member: dm`).
    assert kinds.count("digest") == TEAMS
    assert kinds.count("weekly_summary") == TEAMS * (1 + len(DEFAULT_MEMBERS))
    assert kinds.count("standup_prompt") == TEAMS * len(DEFAULT_MEMBERS)


def test_a_job_that_cannot_say_what_is_due_for_one_team_keeps_no_run_back(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The teams are read together, so one team's broken event job must not cost the
    other teams (or its own cron jobs) their runs."""

    def due(ctx: Context) -> list[Occurrence]:
        if ctx.team.id == "t01":
            raise ValueError("a bug")
        return []

    bot = open_bot(sqlite_url, 3, (*ALL_JOBS, EventJob("broken", due=due)))
    bot.clock = FrozenClock(MONDAY_0900)

    report = Scheduler(bot).tick()

    assert sorted(team for team, job, _ in report.ran if job == "digest") == ["t00", "t01", "t02"]
    assert "t01 broken: what is due could not be worked out" in caplog.text
