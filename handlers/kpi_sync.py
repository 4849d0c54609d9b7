"""Storing what a KPI source fetched (`bot/core/kpi_sources.py`), day by day, once.

The daily job and `opsbot kpi sync` both come here; neither knows which API answered.
Two steps: `fetch` asks the source with no database transaction open (an API may take
seconds, and SQLite would be locked for every command meanwhile), `store` writes what
came back in one short transaction. Rules:
- A day is synced once per (team, source, day): the ledger records it (job
  `kpi_sync:<source>`, period the ISO day) in the transaction that stores its figures,
  so two ticks at once store it once, and a day that failed is simply not recorded yet:
  the next run asks for it again.
- Each stored figure remembers its source (`kpi_daily.source`: the source's name, where
  `/kpi log` writes `manual` and a file `import`), which the summary shows.
- Newer wins. A day is fetched once, after the platform published it: its figures
  replace what was typed or imported for that day before (the platform's count is the
  count); a figure typed or imported for that day afterwards is newer and stays, since
  the day is not fetched again. An unchanged figure is counted `unchanged` and not
  written.
- Figures of a day the source failed part-way through (`SourceError.figures`) are stored
  but the day is not recorded, so the next run fetches it whole.
- A post's totals go to `post_metrics` of the post opsbot knows on that content platform
  by its title and the day it was published (datacube and the open platforms name
  posts by their own ids, which opsbot does not keep): a title published twice that day,
  or not at all, is left unmatched and listed in the report.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session

from bot.core.commands import Context
from bot.core.jobs import Build, CronJob, Outgoing
from bot.core.kpi_sources import (
    PLATFORM_ZONE,
    DailyFigure,
    KpiSource,
    PostFigure,
    SourceError,
    platform_yesterday,
)
from bot.vocab.metrics import MAX_VALUE
from bot.vocab.when import local_midnight
from storage import kpis as kpi_store
from storage import ledger
from storage import posts as post_store

log = logging.getLogger(__name__)

JOB_PREFIX = "kpi_sync:"
CATCH_UP_DAYS = 7  # a daily run also asks again for the days of the last week it missed


def job_name(source: KpiSource | str) -> str:
    return f"{JOB_PREFIX}{source if isinstance(source, str) else source.name}"


@dataclass
class SyncReport:
    """What a sync did: per metric, how many days were new, updated and unchanged."""

    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: {"inserted": 0, "updated": 0, "unchanged": 0})
    )
    days: list[date] = field(default_factory=list)  # recorded as synced by this run
    posts_matched: int = 0
    posts_unmatched: list[str] = field(default_factory=list)
    error: SourceError | None = None

    def totals(self) -> dict[str, int]:
        """New, updated and unchanged figures over all metrics."""
        return {
            outcome: sum(metric[outcome] for metric in self.counts.values())
            for outcome in ("inserted", "updated", "unchanged")
        }


@dataclass
class Fetched:
    """What one source gave, before anything is stored."""

    source: str
    days: list[date] = field(default_factory=list)  # the days that came back whole
    figures: list[DailyFigure] = field(default_factory=list)
    posts: list[PostFigure] = field(default_factory=list)
    error: SourceError | None = None


def days_to_sync(
    session: Session, *, team_id: str, source: KpiSource, start: date, end: date
) -> list[date]:
    """The days in [start, end] not yet recorded for this source."""
    job = job_name(source)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return [
        day
        for day in days
        if not ledger.has_run(session, team_id=team_id, job=job, period=day.isoformat())
    ]


def fetch(source: KpiSource, days: list[date], *, posts: tuple[date, date] | None) -> Fetched:
    """Ask the source for these days (a consecutive run of them in one request, split
    further by the source) and for the totals of the posts published in `posts`; no
    database is touched. It stops at the first failure, keeping what came before it."""
    fetched = Fetched(source.name)
    for first, last in _runs(sorted(days)):
        try:
            fetched.figures.extend(source.fetch_daily(first, last))
        except SourceError as error:
            fetched.figures.extend(error.figures)
            fetched.error = error
            return fetched
        fetched.days.extend(first + timedelta(days=n) for n in range((last - first).days + 1))
    if posts is not None:
        try:
            fetched.posts = source.fetch_posts(*posts)
        except SourceError as error:
            fetched.error = error
    return fetched


def store(
    session: Session,
    *,
    team_id: str,
    fetched: Fetched,
    now: datetime,
    report: SyncReport | None = None,
) -> SyncReport:
    """Store what `fetch` brought: the days it gave whole are claimed in the ledger
    first, and a day another run claimed meanwhile is left to that run."""
    report = report or SyncReport()
    job = job_name(fetched.source)
    theirs: set[date] = set()
    for day in fetched.days:
        if ledger.claim_run(session, team_id=team_id, job=job, period=day.isoformat(), now=now):
            report.days.append(day)
        else:
            theirs.add(day)
    figures = [figure for figure in fetched.figures if figure.day not in theirs]
    store_daily(
        session, team_id=team_id, figures=figures, now=now, report=report, source=fetched.source
    )
    store_posts(session, team_id=team_id, figures=fetched.posts, now=now, report=report)
    report.error = fetched.error or report.error
    return report


def store_daily(
    session: Session,
    *,
    team_id: str,
    figures: Iterable[DailyFigure],
    now: datetime,
    report: SyncReport,
    source: str,
) -> None:
    for figure in figures:
        if not 0 <= figure.value <= MAX_VALUE:
            continue  # what a person could not type either; never a source's real count
        outcome, _ = kpi_store.upsert_daily(
            session, team_id=team_id, platform=figure.platform, day=figure.day,
            metric=figure.metric, value=figure.value, now=now, source=source,
        )  # fmt: skip
        report.counts[figure.metric][outcome.value] += 1


def store_posts(
    session: Session,
    *,
    team_id: str,
    figures: Iterable[PostFigure],
    now: datetime,
    report: SyncReport,
) -> None:
    """Each post figure onto the one post of that platform, title and publishing day
    (the platforms' days, in China time)."""
    matched: dict[tuple[str, str, date], int | None] = {}
    for figure in figures:
        if figure.title is None or figure.day is None or not 0 <= figure.value <= MAX_VALUE:
            continue
        key = (figure.platform, figure.title, figure.day)
        if key not in matched:
            start = local_midnight(figure.day, PLATFORM_ZONE)
            posts = [
                post
                for post in post_store.posts_published_between(
                    session, team_id=team_id, start=start, end=start + timedelta(days=1)
                )
                if post.platform == figure.platform and post.title == figure.title
            ]
            matched[key] = posts[0].id if len(posts) == 1 else None
            if matched[key] is None:
                report.posts_unmatched.append(figure.title)
            else:
                report.posts_matched += 1
        post_id = matched[key]
        if post_id is not None:
            kpi_store.upsert_post_metric(
                session, post_id=post_id, metric=figure.metric, value=figure.value, now=now
            )


def sync_days(
    session: Session,
    *,
    team_id: str,
    source: KpiSource,
    days: list[date],
    now: datetime,
    posts: tuple[date, date] | None = None,
) -> SyncReport:
    """Fetch and store in one go, inside the caller's transaction (for a caller with no
    lock to worry about; the job and the CLI fetch first, then store)."""
    return store(session, team_id=team_id, fetched=fetch(source, days, posts=posts), now=now)


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) pairs."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _log_failure(ctx: Context, team_id: str, source: str, error: SourceError) -> None:
    log.warning(
        "kpi source %s of team %s: %s", source, team_id, ctx.t(error.message_key, **error.params)
    )


def _prepare_sync(ctx: Context, scheduled: date) -> Build:
    """Each morning, before the run's transaction: every source of the team asked for
    the days of the last week it has not given yet (yesterday's, and any day a failure
    left out), and for the totals of the posts of that week, whose reads keep growing.
    The run then only stores; it posts nothing (the figures show in `/kpi show`, the
    digest and the summary)."""
    until = platform_yesterday(ctx.clock)
    start = until - timedelta(days=CATCH_UP_DAYS - 1)
    fetched = [
        fetch(
            source,
            days_to_sync(ctx.session, team_id=ctx.team.id, source=source, start=start, end=until),
            posts=(start, until),
        )
        for source in ctx.kpi_sources
    ]

    def store_all(run: Context) -> list[Outgoing]:
        for each in fetched:
            report = store(run.session, team_id=run.team.id, fetched=each, now=run.now())
            if report.error is not None:
                _log_failure(run, run.team.id, each.source, report.error)
        return []

    return store_all


KPI_SYNC = CronJob(
    "kpi_sync",
    cron=lambda team: team.schedule.kpi_sync,
    build=lambda ctx, scheduled: _prepare_sync(ctx, scheduled)(ctx),
    prepare=_prepare_sync,
    applies=lambda team: bool(team.kpi_sources),
)
