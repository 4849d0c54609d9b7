"""All stored data as plain rows, in the shape of SPEC §8.

Instants are written in ISO 8601 with the offset of the row's team timezone, so a
spreadsheet shows the times the team saw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlmodel import Session, col, select

from storage import identities
from storage.models import (
    JobRun,
    KpiDaily,
    Member,
    OutboxItem,
    Post,
    PostMetric,
    Standup,
    Target,
    Task,
    Topic,
    Vote,
)
from storage.topics import vote_counts

# Every table of SPEC §8 and §9, in order; those not built yet export as empty lists so
# that consumers can rely on the keys.
EXPORT_TABLES = (
    "members", "identities", "topics", "votes", "posts", "tasks", "standups",
    "kpi_daily", "post_metrics", "targets", "job_runs", "outbox",
)  # fmt: skip

Row = dict[str, Any]
ZoneForTeam = Callable[[str], tzinfo]


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


def _members(export: _Export) -> list[Row]:
    """Members, removed ones included (`active` false), with a column per chat platform
    for their id there (SPEC §8)."""
    linked: dict[tuple[str, str], dict[str, str]] = {}
    for identity in identities.all_identities(export.session):
        linked.setdefault((identity.team_id, identity.member_id), {})[identity.platform] = (
            identity.external_id
        )
    members = export.session.exec(
        select(Member).order_by(col(Member.team_id), col(Member.created_at), col(Member.id))
    )
    return [
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
    ]


def _identities(export: _Export) -> list[Row]:
    return [
        {
            "team": identity.team_id,
            "member": identity.member_id,
            "platform": identity.platform,
            "external_id": identity.external_id,
        }
        for identity in identities.all_identities(export.session)
    ]


def _topics(export: _Export) -> list[Row]:
    topics = list(export.session.exec(select(Topic).order_by(col(Topic.id))))
    counts = vote_counts(export.session, topic_ids=[topic.id for topic in topics if topic.id])
    return [
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
            "votes": counts.get(topic.id or 0, 0),
            "hot": topic.hot,
            "deadline": _instant(topic.deadline, export.zone(topic.team_id)),
            "created_by": topic.created_by,
            "created_at": _instant(topic.created_at, export.zone(topic.team_id)),
            "updated_at": _instant(topic.updated_at, export.zone(topic.team_id)),
            "drop_reason": topic.drop_reason,
        }
        for topic in topics
    ]


def _votes(export: _Export) -> list[Row]:
    statement = (
        select(Vote, Topic.team_id)
        .join(Topic, col(Topic.id) == col(Vote.topic_id))
        .order_by(col(Vote.topic_id), col(Vote.voted_at))
    )
    return [
        {
            "topic_id": vote.topic_id,
            "member": vote.member_id,
            "voted_at": _instant(vote.voted_at, export.zone(team_id)),
        }
        for vote, team_id in export.session.exec(statement)
    ]


def _posts(export: _Export) -> list[Row]:
    posts = export.session.exec(select(Post).order_by(col(Post.id)))
    return [_post_row(post, export.zone(post.team_id)) for post in posts]


def _tasks(export: _Export) -> list[Row]:
    tasks = export.session.exec(select(Task).order_by(col(Task.id)))
    return [
        {
            "team": task.team_id,
            "id": task.id,
            "owner": task.owner,
            "text": task.text,
            "quadrant": task.quadrant,
            "estimate_minutes": task.estimate_minutes,
            "day": task.day.isoformat(),
            "status": task.status,
            "created_by": task.created_by,
            "created_at": _instant(task.created_at, export.zone(task.team_id)),
            "done_at": _instant(task.done_at, export.zone(task.team_id)),
        }
        for task in tasks
    ]


def _standups(export: _Export) -> list[Row]:
    standups = export.session.exec(
        select(Standup).order_by(col(Standup.day), col(Standup.answered_at))
    )
    return [
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
    ]


def _kpi_daily(export: _Export) -> list[Row]:
    kpis = export.session.exec(
        select(KpiDaily).order_by(
            col(KpiDaily.team_id), col(KpiDaily.day), col(KpiDaily.platform), col(KpiDaily.metric)
        )
    )
    return [
        {
            "team": k.team_id,
            "platform": k.platform,
            "day": k.day.isoformat(),
            "metric": k.metric,
            "value": k.value,
        }
        for k in kpis
    ]


def _post_metrics(export: _Export) -> list[Row]:
    metrics = export.session.exec(
        select(PostMetric).order_by(col(PostMetric.post_id), col(PostMetric.metric))
    )
    return [{"post_id": m.post_id, "metric": m.metric, "value": m.value} for m in metrics]


def _targets(export: _Export) -> list[Row]:
    targets = export.session.exec(
        select(Target).order_by(
            col(Target.team_id), col(Target.month), col(Target.platform), col(Target.metric)
        )
    )
    return [
        {
            "team": g.team_id,
            "platform": g.platform,
            "month": g.month,
            "metric": g.metric,
            "value": g.value,
        }
        for g in targets
    ]


def _job_runs(export: _Export) -> list[Row]:
    runs = export.session.exec(select(JobRun).order_by(col(JobRun.id)))
    return [
        {
            "team": run.team_id,
            "job": run.job,
            "period": run.period,
            "status": run.status,
            "ran_at": _instant(run.ran_at, export.zone(run.team_id)),
        }
        for run in runs
    ]


def _outbox(export: _Export) -> list[Row]:
    items = export.session.exec(select(OutboxItem).order_by(col(OutboxItem.id)))
    return [
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
    ]


_TABLES: dict[str, Callable[[_Export], list[Row]]] = {
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
}


def export_tables(
    session: Session,
    *,
    zone_for_team: ZoneForTeam = lambda _: UTC,
    chat_platforms: Iterable[str] = (),
) -> dict[str, list[Row]]:
    """Every table as plain rows. `chat_platforms` names the per-platform id columns of
    the member rows (SPEC §8); the `identities` table has them all in any case."""
    export = _Export(session, zone_for_team, tuple(chat_platforms))
    return {name: _TABLES[name](export) for name in EXPORT_TABLES}


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
    }
