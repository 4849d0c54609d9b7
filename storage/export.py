"""All stored data as plain rows, in the shape of SPEC §8.

Instants are written in ISO 8601 with the offset of the row's team timezone, so a
spreadsheet shows the times the team saw.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlmodel import Session, col, select

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

# Every table of SPEC §8, in order; those not built yet export as empty lists so that
# consumers can rely on the keys.
EXPORT_TABLES = (
    "members", "topics", "votes", "posts", "tasks", "standups",
    "kpi_daily", "post_metrics", "targets", "job_runs", "outbox",
)  # fmt: skip

Row = dict[str, Any]
ZoneForTeam = Callable[[str], tzinfo]


def _instant(value: datetime | None, zone: tzinfo) -> str | None:
    return None if value is None else value.astimezone(zone).isoformat()


def export_tables(
    session: Session, *, zone_for_team: ZoneForTeam = lambda _: UTC
) -> dict[str, list[Row]]:
    members = session.exec(
        select(Member).order_by(col(Member.team_id), col(Member.created_at), col(Member.id))
    )
    topics = list(session.exec(select(Topic).order_by(col(Topic.id))))
    votes = session.exec(select(Vote).order_by(col(Vote.topic_id), col(Vote.voted_at)))
    counts = vote_counts(session, topic_ids=[topic.id for topic in topics if topic.id])
    team_of_topic = {topic.id: topic.team_id for topic in topics}

    tables: dict[str, list[Row]] = {name: [] for name in EXPORT_TABLES}
    tables["members"] = [
        {
            "team": member.team_id,
            "id": member.id,
            "name": member.name,
            "role": member.role,
            "slack": member.slack,
            "feishu": member.feishu,
            "wecom": member.wecom,
            "away_from": member.away_from.isoformat() if member.away_from else None,
            "away_to": member.away_to.isoformat() if member.away_to else None,
            "created_at": _instant(member.created_at, zone_for_team(member.team_id)),
        }
        for member in members
    ]
    tables["topics"] = [
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
            "deadline": _instant(topic.deadline, zone_for_team(topic.team_id)),
            "created_by": topic.created_by,
            "created_at": _instant(topic.created_at, zone_for_team(topic.team_id)),
            "updated_at": _instant(topic.updated_at, zone_for_team(topic.team_id)),
            "drop_reason": topic.drop_reason,
        }
        for topic in topics
    ]
    tables["votes"] = [
        {
            "topic_id": vote.topic_id,
            "member": vote.member_id,
            "voted_at": _instant(
                vote.voted_at, zone_for_team(team_of_topic.get(vote.topic_id, ""))
            ),
        }
        for vote in votes
    ]
    posts = session.exec(select(Post).order_by(col(Post.id)))
    tables["posts"] = [_post_row(post, zone_for_team(post.team_id)) for post in posts]
    tasks = session.exec(select(Task).order_by(col(Task.id)))
    tables["tasks"] = [
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
            "created_at": _instant(task.created_at, zone_for_team(task.team_id)),
            "done_at": _instant(task.done_at, zone_for_team(task.team_id)),
        }
        for task in tasks
    ]
    standups = session.exec(select(Standup).order_by(col(Standup.day), col(Standup.answered_at)))
    tables["standups"] = [
        {
            "team": standup.team_id,
            "member": standup.member,
            "day": standup.day.isoformat(),
            "yesterday": standup.yesterday,
            "today": standup.today,
            "blockers": standup.blockers,
            "answered_at": _instant(standup.answered_at, zone_for_team(standup.team_id)),
        }
        for standup in standups
    ]
    kpis = session.exec(
        select(KpiDaily).order_by(
            col(KpiDaily.team_id), col(KpiDaily.day), col(KpiDaily.platform), col(KpiDaily.metric)
        )
    )
    tables["kpi_daily"] = [
        {
            "team": k.team_id,
            "platform": k.platform,
            "day": k.day.isoformat(),
            "metric": k.metric,
            "value": k.value,
        }
        for k in kpis
    ]
    metrics = session.exec(
        select(PostMetric).order_by(col(PostMetric.post_id), col(PostMetric.metric))
    )
    tables["post_metrics"] = [
        {"post_id": m.post_id, "metric": m.metric, "value": m.value} for m in metrics
    ]
    targets = session.exec(
        select(Target).order_by(
            col(Target.team_id), col(Target.month), col(Target.platform), col(Target.metric)
        )
    )
    tables["targets"] = [
        {
            "team": g.team_id,
            "platform": g.platform,
            "month": g.month,
            "metric": g.metric,
            "value": g.value,
        }
        for g in targets
    ]
    runs = session.exec(select(JobRun).order_by(col(JobRun.id)))
    tables["job_runs"] = [
        {
            "team": run.team_id,
            "job": run.job,
            "period": run.period,
            "status": run.status,
            "ran_at": _instant(run.ran_at, zone_for_team(run.team_id)),
        }
        for run in runs
    ]
    items = session.exec(select(OutboxItem).order_by(col(OutboxItem.id)))
    tables["outbox"] = [
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
            "created_at": _instant(item.created_at, zone_for_team(item.team_id)),
            "sent_at": _instant(item.sent_at, zone_for_team(item.team_id)),
        }
        for item in items
    ]
    return tables


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
    }
