"""Storing what a KPI source fetched (`bot/core/kpi_sources.py`), day by day, once.

The daily job and `opsbot kpi sync` both come here; neither knows which API answered.
Rules:
- A day is synced once per (team, source, day): the ledger records it (job
  `kpi_sync:<source>`, period the ISO day) in the transaction that stores its figures,
  so two ticks at once store it once, and a day that failed is simply not recorded yet:
  the next run asks for it again.
- A source's figure replaces the stored one for that day (the platform's count is the
  count); an unchanged figure is counted `unchanged` and not written.
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
from bot.core.jobs import CronJob, Outgoing
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


def job_name(source: KpiSource) -> str:
    return f"{JOB_PREFIX}{source.name}"


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


def store_daily(
    session: Session,
    *,
    team_id: str,
    figures: Iterable[DailyFigure],
    now: datetime,
    report: SyncReport,
) -> None:
    for figure in figures:
        if not 0 <= figure.value <= MAX_VALUE:
            continue  # what a person could not type either; never a source's real count
        outcome, _ = kpi_store.upsert_daily(
            session, team_id=team_id, platform=figure.platform, day=figure.day,
            metric=figure.metric, value=figure.value, now=now,
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
    report: SyncReport | None = None,
) -> SyncReport:
    """Fetch and store these days (consecutive runs of them in one request each, split
    further by the source), recording each day that came back whole."""
    report = report or SyncReport()
    for first, last in _runs(sorted(days)):
        try:
            figures = source.fetch_daily(first, last)
        except SourceError as error:
            store_daily(session, team_id=team_id, figures=error.figures, now=now, report=report)
            report.error = error
            return report
        store_daily(session, team_id=team_id, figures=figures, now=now, report=report)
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            if ledger.claim_run(
                session, team_id=team_id, job=job_name(source), period=day.isoformat(), now=now
            ):
                report.days.append(day)
    return report


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) pairs."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def sync_recent(ctx: Context, source: KpiSource, *, until: date) -> SyncReport:
    """The days of the last week up to `until` that this source has not given yet:
    yesterday's figures, and any day a failure left out."""
    start = until - timedelta(days=CATCH_UP_DAYS - 1)
    days = days_to_sync(ctx.session, team_id=ctx.team.id, source=source, start=start, end=until)
    report = sync_days(ctx.session, team_id=ctx.team.id, source=source, days=days, now=ctx.now())
    if report.error is not None:
        log.warning(
            "kpi source %s of team %s: %s", source.name, ctx.team.id,
            ctx.t(report.error.message_key, **report.error.params),
        )  # fmt: skip
    return report


def _sync_job(ctx: Context, scheduled: date) -> list[Outgoing]:
    """Each morning: every source of the team, for the days it has not given yet. It
    posts nothing; the figures show in `/kpi show`, the digest and the summary."""
    yesterday = platform_yesterday(ctx.clock)
    for source in ctx.kpi_sources:
        sync_recent(ctx, source, until=yesterday)
    return []


KPI_SYNC = CronJob(
    "kpi_sync",
    cron=lambda team: team.schedule.kpi_sync,
    build=_sync_job,
    applies=lambda team: bool(team.kpi_sources),
)
