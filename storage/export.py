"""All stored data as plain rows, in the shape of SPEC §8.

Instants are written in ISO 8601 with the offset of the row's team timezone, so a
spreadsheet shows the times the team saw.

`stream_tables` gives each table's rows as they are read (in batches of `BATCH_ROWS`, a
server-side cursor on PostgreSQL), so that an export of 200,000 KPI rows is written as it
is read instead of being built in memory first; `export_tables` is the same as lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from itertools import chain
from typing import Any

import sqlalchemy
from sqlmodel import Session, col, select

from storage import identities
from storage.models import (
    CalendarDate,
    Campaign,
    CampaignLink,
    JobRun,
    KpiDaily,
    Lesson,
    Member,
    OutboxItem,
    Post,
    PostMetric,
    Series,
    Standup,
    Target,
    Task,
    Topic,
    Vote,
)

# Every table of SPEC §8 and §9, in order; those not built yet export as empty lists so
# that consumers can rely on the keys.
EXPORT_TABLES = (
    "members", "identities", "topics", "votes", "posts", "tasks", "standups",
    "kpi_daily", "post_metrics", "targets", "job_runs", "outbox", "playbook",
    "calendar_dates", "series", "campaigns", "campaign_links",
)  # fmt: skip

Row = dict[str, Any]
ZoneForTeam = Callable[[str], tzinfo]
# Rows read from the database at a time.
BATCH_ROWS = 2_000


def _instant(value: datetime | None, zone: tzinfo) -> str | None:
    return None if value is None else value.astimezone(zone).isoformat()


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True)
class _Export:
    """What every table's rows need: the session, each team's zone, the chat platforms."""

    session: Session
    zone: ZoneForTeam
    chat_platforms: tuple[str, ...]


def _stream(export: _Export, statement: Any) -> Iterator[Any]:
    """The statement's rows (or objects), read `BATCH_ROWS` at a time (by the batch: one
    at a time went through four layers of SQLAlchemy for each row)."""
    result = export.session.exec(statement.execution_options(yield_per=BATCH_ROWS))
    return chain.from_iterable(result.partitions())


def _members(export: _Export) -> Iterator[Row]:
    """Members, removed ones included (`active` false), with a column per chat platform
    for their id there (SPEC §8)."""
    linked: dict[tuple[str, str], dict[str, str]] = {}
    for identity in identities.all_identities(export.session):
        linked.setdefault((identity.team_id, identity.member_id), {})[identity.platform] = (
            identity.external_id
        )
    members = _stream(
        export, select(Member).order_by(col(Member.team_id), col(Member.created_at), col(Member.id))
    )
    yield from (
        {
            "team": member.team_id,
            "id": member.id,
            "name": member.name,
            "role": member.role,
            "active": member.active,  # false: removed from the team, history kept
            **{
                platform: linked.get((member.team_id, member.id), {}).get(platform)
                for platform in export.chat_platforms
            },
            "away_from": _day(member.away_from),
            "away_to": _day(member.away_to),
            "created_at": _instant(member.created_at, export.zone(member.team_id)),
        }
        for member in members
    )


def _identities(export: _Export) -> Iterator[Row]:
    yield from (
        {
            "team": identity.team_id,
            "member": identity.member_id,
            "platform": identity.platform,
            "external_id": identity.external_id,
        }
        for identity in identities.all_identities(export.session)
    )


def _topics(export: _Export) -> Iterator[Row]:
    topics = _stream(export, select(Topic).order_by(col(Topic.id)))
    yield from (
        {
            "team": topic.team_id,
            "id": topic.id,
            "title": topic.title,
            "tags": list(topic.tags),
            "platform": topic.platform,
            "timeliness": topic.timeliness,
            "value": topic.value,
            "conversion": topic.conversion,
            "score": topic.score,
            "priority": topic.priority,
            "status": topic.status,
            "votes": topic.votes,
            "hot": topic.hot,
            "deadline": _instant(topic.deadline, export.zone(topic.team_id)),
            "created_by": topic.created_by,
            "created_at": _instant(topic.created_at, export.zone(topic.team_id)),
            "updated_at": _instant(topic.updated_at, export.zone(topic.team_id)),
            "drop_reason": topic.drop_reason,
        }
        for topic in topics
    )


def _votes(export: _Export) -> Iterator[Row]:
    statement = (
        select(Vote, Topic.team_id)
        .join(Topic, col(Topic.id) == col(Vote.topic_id))
        .order_by(col(Vote.topic_id), col(Vote.voted_at))
    )
    yield from (
        {
            "topic_id": vote.topic_id,
            "member": vote.member_id,
            "voted_at": _instant(vote.voted_at, export.zone(team_id)),
        }
        for vote, team_id in _stream(export, statement)
    )


def _posts(export: _Export) -> Iterator[Row]:
    posts = _stream(export, select(Post).order_by(col(Post.id)))
    yield from (_post_row(post, export.zone(post.team_id)) for post in posts)


def _tasks(export: _Export) -> Iterator[Row]:
    tasks = _stream(export, select(Task).order_by(col(Task.id)))
    yield from (
        {
            "team": task.team_id,
            "id": task.id,
            "owner": task.owner,
            "text": task.text,
            "quadrant": task.quadrant,
            "estimate_minutes": task.estimate_minutes,
            # A plan item carries its week or month instead of a day, and both once it
            # is taken into a day.
            "day": task.day.isoformat() if task.day else None,
            "week": task.week,
            "month": task.month,
            "status": task.status,
            "created_by": task.created_by,
            "created_at": _instant(task.created_at, export.zone(task.team_id)),
            "done_at": _instant(task.done_at, export.zone(task.team_id)),
        }
        for task in tasks
    )


def _standups(export: _Export) -> Iterator[Row]:
    standups = _stream(export, select(Standup).order_by(col(Standup.day), col(Standup.answered_at)))
    yield from (
        {
            "team": standup.team_id,
            "member": standup.member,
            "day": standup.day.isoformat(),
            "yesterday": standup.yesterday,
            "today": standup.today,
            "blockers": standup.blockers,
            "answered_at": _instant(standup.answered_at, export.zone(standup.team_id)),
        }
        for standup in standups
    )


def _kpi_daily(export: _Export) -> Iterator[Row]:
    # Columns, not KpiDaily objects: this is the table with 200,000 rows, and building an
    # object per row cost more than reading and writing it.
    table = KpiDaily.__table__.c  # type: ignore[attr-defined]
    kpis = _stream(
        export,
        sqlalchemy.select(
            table.team_id, table.platform, table.day, table.metric, table.value, table.source
        ).order_by(table.team_id, table.day, table.platform, table.metric),
    )
    for team, platform, day, metric, value, source in kpis:
        yield {
            "team": team, "platform": platform, "day": day.isoformat(), "metric": metric,
            "value": value, "source": source,
        }  # fmt: skip


def _post_metrics(export: _Export) -> Iterator[Row]:
    metrics = _stream(
        export, select(PostMetric).order_by(col(PostMetric.post_id), col(PostMetric.metric))
    )
    yield from ({"post_id": m.post_id, "metric": m.metric, "value": m.value} for m in metrics)


def _targets(export: _Export) -> Iterator[Row]:
    targets = _stream(
        export,
        select(Target).order_by(
            col(Target.team_id), col(Target.month), col(Target.platform), col(Target.metric)
        ),
    )
    yield from (
        {
            "team": g.team_id,
            "platform": g.platform,
            "month": g.month,
            "metric": g.metric,
            "value": g.value,
        }
        for g in targets
    )


def _job_runs(export: _Export) -> Iterator[Row]:
    runs = _stream(export, select(JobRun).order_by(col(JobRun.id)))
    yield from (
        {
            "team": run.team_id,
            "job": run.job,
            "period": run.period,
            "status": run.status,
            "ran_at": _instant(run.ran_at, export.zone(run.team_id)),
        }
        for run in runs
    )


def _outbox(export: _Export) -> Iterator[Row]:
    items = _stream(export, select(OutboxItem).order_by(col(OutboxItem.id)))
    yield from (
        {
            "team": item.team_id,
            "id": item.id,
            "idempotency_key": item.idempotency_key,
            "platform": item.platform,
            "target": item.target,
            "kind": item.kind,
            "status": item.status,
            "attempts": item.attempts,
            "parts_sent": item.parts_sent,
            "last_error": item.last_error,
            "created_at": _instant(item.created_at, export.zone(item.team_id)),
            "sent_at": _instant(item.sent_at, export.zone(item.team_id)),
        }
        for item in items
    )


def _playbook(export: _Export) -> Iterator[Row]:
    lessons = _stream(export, select(Lesson).order_by(col(Lesson.id)))
    yield from (
        {
            "team": lesson.team_id,
            "id": lesson.id,
            "text": lesson.text,
            "tags": list(lesson.tags),
            "post_id": lesson.post_id,
            "created_by": lesson.created_by,
            "created_at": _instant(lesson.created_at, export.zone(lesson.team_id)),
        }
        for lesson in lessons
    )


def _calendar_dates(export: _Export) -> Iterator[Row]:
    """A team's own dates (`own`, with a day) and the built-in ones it hid (`hidden`, by
    name). The feed's token (`calendar_feeds`) is a secret and is not exported."""
    rows = _stream(export, select(CalendarDate).order_by(col(CalendarDate.id)))
    yield from (
        {
            "team": row.team_id,
            "id": row.id,
            "kind": row.kind,
            "day": _day(row.day),
            "name": row.name,
            "created_by": row.created_by,
            "created_at": _instant(row.created_at, export.zone(row.team_id)),
        }
        for row in rows
    )


def _series(export: _Export) -> Iterator[Row]:
    for series in _stream(export, select(Series).order_by(col(Series.id))):
        zone = export.zone(series.team_id)
        yield {
            "team": series.team_id, "id": series.id, "title": series.title,
            "platform": series.platform, "rule": series.rule, "kind": series.kind,
            "weekday": series.weekday, "month_day": series.month_day, "at": series.at,
            "keep": series.keep, "owner": series.owner, "reviewer": series.reviewer,
            "active": series.active, "ended_at": _instant(series.ended_at, zone),
            "created_by": series.created_by, "created_at": _instant(series.created_at, zone),
        }  # fmt: skip


def _campaigns(export: _Export) -> Iterator[Row]:
    for campaign in _stream(export, select(Campaign).order_by(col(Campaign.id))):
        zone = export.zone(campaign.team_id)
        yield {
            "team": campaign.team_id, "id": campaign.id, "name": campaign.name,
            "from": _day(campaign.starts_on), "to": _day(campaign.ends_on),
            "goal_metric": campaign.goal_metric, "goal_value": campaign.goal_value,
            "owner": campaign.owner, "review_state": campaign.review_state,
            "worked": campaign.worked, "didnt": campaign.didnt,
            "reviewed_by": campaign.reviewed_by,
            "reviewed_at": _instant(campaign.reviewed_at, zone),
            "created_by": campaign.created_by, "created_at": _instant(campaign.created_at, zone),
        }  # fmt: skip


def _campaign_links(export: _Export) -> Iterator[Row]:
    statement = (
        select(CampaignLink, Campaign.team_id)
        .join(Campaign, col(Campaign.id) == col(CampaignLink.campaign_id))
        .order_by(col(CampaignLink.id))
    )
    for link, team_id in _stream(export, statement):
        yield {
            "team": team_id, "campaign_id": link.campaign_id, "kind": link.kind,
            "id": link.ref_id, "created_by": link.created_by,
            "created_at": _instant(link.created_at, export.zone(team_id)),
        }  # fmt: skip


_TABLES: dict[str, Callable[[_Export], Iterator[Row]]] = {
    "members": _members,
    "identities": _identities,
    "topics": _topics,
    "votes": _votes,
    "posts": _posts,
    "tasks": _tasks,
    "standups": _standups,
    "kpi_daily": _kpi_daily,
    "post_metrics": _post_metrics,
    "targets": _targets,
    "job_runs": _job_runs,
    "outbox": _outbox,
    "playbook": _playbook,
    "calendar_dates": _calendar_dates,
    "series": _series,
    "campaigns": _campaigns,
    "campaign_links": _campaign_links,
}


def stream_tables(
    session: Session,
    *,
    zone_for_team: ZoneForTeam = lambda _: UTC,
    chat_platforms: Iterable[str] = (),
) -> Iterator[tuple[str, Iterator[Row]]]:
    """Every table's name and its rows, read as they are consumed: each table's rows must
    be consumed (or dropped) before the next table is asked for, within the session.
    `chat_platforms` names the per-platform id columns of the member rows (SPEC §8); the
    `identities` table has them all in any case."""
    export = _Export(session, zone_for_team, tuple(chat_platforms))
    for name in EXPORT_TABLES:
        yield name, _TABLES[name](export)


def export_tables(
    session: Session,
    *,
    zone_for_team: ZoneForTeam = lambda _: UTC,
    chat_platforms: Iterable[str] = (),
) -> dict[str, list[Row]]:
    """Every table as lists of plain rows (`stream_tables`, held in memory)."""
    tables = stream_tables(session, zone_for_team=zone_for_team, chat_platforms=chat_platforms)
    return {name: list(rows) for name, rows in tables}


def _post_row(post: Post, zone: tzinfo) -> Row:
    return {
        "team": post.team_id,
        "id": post.id,
        "topic_id": post.topic_id,
        "title": post.title,
        "platform": post.platform,
        "planned_at": _instant(post.planned_at, zone),
        "owner": post.owner,
        "reviewer": post.reviewer,
        "status": post.status,
        "author_confirmed_at": _instant(post.author_confirmed_at, zone),
        "reviewer_confirmed_at": _instant(post.reviewer_confirmed_at, zone),
        "reviewer_confirmed_by": post.reviewer_confirmed_by,
        "published_at": _instant(post.published_at, zone),
        "url": post.url,
        "created_by": post.created_by,
        "created_at": _instant(post.created_at, zone),
        # The latest request for changes (kept after the author confirms again).
        "changes_requested_reason": post.changes_requested_reason,
        "changes_requested_by": post.changes_requested_by,
        "changes_requested_at": _instant(post.changes_requested_at, zone),
        "series_id": post.series_id,
    }
