"""Data access for campaigns (专题/活动): their days and goals, what is tagged to them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import bindparam, func, or_
from sqlmodel import Session, col, select

from storage.models import Campaign, CampaignLink, Post, Task

TEAMS_PER_READ = 500


def add_campaign(session: Session, campaign: Campaign) -> Campaign:
    session.add(campaign)
    session.flush()
    return campaign


def campaign_named(session: Session, *, team_id: str, name: str) -> Campaign | None:
    """The team's campaign of this name, in any case."""
    statement = select(Campaign).where(
        Campaign.team_id == team_id, func.lower(col(Campaign.name)) == name.lower()
    )
    return session.exec(statement).first()


def campaigns_of_team(session: Session, *, team_id: str) -> list[Campaign]:
    """Newest first (by their first day)."""
    statement = select(Campaign).where(Campaign.team_id == team_id)
    return list(session.exec(statement.order_by(col(Campaign.starts_on).desc(), col(Campaign.id))))


def campaigns_between(session: Session, *, team_id: str, first: date, last: date) -> list[Campaign]:
    """Campaigns that run on at least one day of [first, last], in order of their start."""
    params = {"team_id": team_id, "first": first, "last": last}
    return list(session.exec(_BETWEEN, params=params))


_BETWEEN = (  # built once: every team's digest reads it
    select(Campaign)
    .where(
        Campaign.team_id == bindparam("team_id"),
        Campaign.starts_on <= bindparam("last"),
        Campaign.ends_on >= bindparam("first"),
    )
    .order_by(col(Campaign.starts_on), col(Campaign.id))
)


def add_link(session: Session, link: CampaignLink) -> bool:
    """Tag a record to a campaign; False when it was tagged already."""
    statement = select(CampaignLink.id).where(
        CampaignLink.campaign_id == link.campaign_id,
        CampaignLink.kind == link.kind,
        CampaignLink.ref_id == link.ref_id,
    )
    if session.exec(statement).first() is not None:
        return False
    session.add(link)
    session.flush()
    return True


def linked_ids(session: Session, *, campaign_id: int) -> dict[str, list[int]]:
    statement = select(CampaignLink.kind, CampaignLink.ref_id).where(
        CampaignLink.campaign_id == campaign_id
    )
    found: dict[str, list[int]] = {"topic": [], "post": [], "task": []}
    for kind, ref_id in session.exec(statement.order_by(col(CampaignLink.id))):
        found[kind].append(ref_id)
    return found


def campaign_posts(session: Session, *, team_id: str, campaign_id: int) -> list[Post]:
    """The posts tagged to the campaign, and those of the topics tagged to it."""
    links = linked_ids(session, campaign_id=campaign_id)
    if not links["post"] and not links["topic"]:
        return []
    statement = select(Post).where(
        Post.team_id == team_id,
        or_(col(Post.id).in_(links["post"]), col(Post.topic_id).in_(links["topic"])),
    )
    return list(session.exec(statement.order_by(col(Post.planned_at), col(Post.id))))


def campaign_tasks(session: Session, *, team_id: str, campaign_id: int) -> list[Task]:
    ids = linked_ids(session, campaign_id=campaign_id)["task"]
    if not ids:
        return []
    statement = select(Task).where(Task.team_id == team_id, col(Task.id).in_(ids))
    return list(session.exec(statement.order_by(col(Task.id))))


def teams_with_review_due(
    session: Session, *, team_ids: Iterable[str], ended_before: date
) -> set[str]:
    """Teams with a campaign over before `ended_before` whose owner was not asked yet, or
    with a review recorded and not yet posted (a superset: each team's own day decides)."""
    statement = select(Campaign.team_id).where(
        or_(
            (col(Campaign.review_state) == "pending") & (col(Campaign.ends_on) < ended_before),
            col(Campaign.review_state) == "answered",
        )
    )
    wanted = list(team_ids)
    if len(wanted) <= TEAMS_PER_READ:
        statement = statement.where(col(Campaign.team_id).in_(wanted))
    return set(session.exec(statement.distinct()))


def reviews_due(session: Session, *, team_id: str, today: date) -> list[Campaign]:
    """The team's campaigns over before today not yet asked about, and those answered."""
    statement = select(Campaign).where(
        Campaign.team_id == team_id,
        or_(
            (col(Campaign.review_state) == "pending") & (col(Campaign.ends_on) < today),
            col(Campaign.review_state) == "answered",
        ),
    )
    return list(session.exec(statement.order_by(col(Campaign.id))))
