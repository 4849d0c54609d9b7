"""Publish reminders as a function of (posts, members, now), driven by the clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.i18n import Translator
from bot.vocab.content_platforms import PlatformCatalogue
from handlers.publish_reminders import PublishReminder, reminders_due, render_publish_reminder
from storage.models import Member, Post

SHANGHAI = ZoneInfo("Asia/Shanghai")
AT_20 = datetime(2026, 11, 24, 20, 0, tzinfo=SHANGHAI)
LEAD = timedelta(minutes=120)


def _member(member_id: str, role: str) -> Member:
    return Member(
        team_id="content", id=member_id, name=member_id.title(), role=role, created_at=AT_20
    )


MEMBERS = [
    _member("alice", "admin"),
    _member("bob", "editor"),
    _member("carol", "editor"),
    _member("dave", "member"),
]


def _post(post_id: int, status: str, *, owner: str = "bob", reviewer: str | None = "carol") -> Post:
    return Post(
        id=post_id, team_id="content", title="冬季护肤指南", platform="wechat", planned_at=AT_20,
        owner=owner, reviewer=reviewer, status=status, created_by=owner, created_at=AT_20, updated_at=AT_20,
    )  # fmt: skip


def test_nothing_is_due_before_the_lead_time() -> None:
    early = AT_20 - LEAD - timedelta(minutes=1)
    assert reminders_due([_post(1, "planned")], MEMBERS, now=early, lead=LEAD) == []


def test_author_and_reviewer_are_reminded_within_the_lead_time() -> None:
    due = reminders_due([_post(1, "planned")], MEMBERS, now=AT_20 - LEAD, lead=LEAD)

    assert due == [
        PublishReminder(1, "bob", "author"),
        PublishReminder(1, "carol", "reviewer_waiting"),
    ]
    assert [reminder.period for reminder in due] == ["post-1:bob", "post-1:carol"]


def test_after_the_author_confirmed_only_the_reviewer_is_reminded() -> None:
    due = reminders_due(
        [_post(1, "author_confirmed")], MEMBERS, now=AT_20 - timedelta(minutes=30), lead=LEAD
    )
    assert due == [PublishReminder(1, "carol", "reviewer")]


def test_confirmed_published_cancelled_and_past_posts_are_left_alone() -> None:
    posts = [_post(1, "confirmed"), _post(2, "published"), _post(3, "cancelled")]
    assert reminders_due(posts, MEMBERS, now=AT_20 - timedelta(minutes=30), lead=LEAD) == []
    assert reminders_due([_post(4, "planned")], MEMBERS, now=AT_20, lead=LEAD) == []


def test_without_a_named_reviewer_every_other_editor_and_admin_is_asked() -> None:
    due = reminders_due(
        [_post(1, "author_confirmed", reviewer=None)],
        MEMBERS,
        now=AT_20 - timedelta(hours=1),
        lead=LEAD,
    )
    assert [reminder.recipient for reminder in due] == ["alice", "carol"]


def test_the_reminder_message_names_the_post_and_what_is_missing() -> None:
    post = _post(7, "planned")
    reply = render_publish_reminder(
        PublishReminder(7, "bob", "author"), post, t=Translator("zh-CN"), content_platforms=PlatformCatalogue(),
        zone=SHANGHAI, names={"bob": "Bob"},
    )  # fmt: skip
    assert (
        reply.title
        == "⏰ 《冬季护肤指南》20:00 在公众号发布，你（作者）还没有确认。确认请发 /发布 确认 7"
    )
    assert [button.command for button in reply.buttons] == ["/publish confirm 7"]

    reply = render_publish_reminder(
        PublishReminder(7, "carol", "reviewer_waiting"), post, t=Translator("en"), content_platforms=PlatformCatalogue(),
        zone=SHANGHAI, names={"bob": "Bob"},
    )  # fmt: skip
    assert reply.title == (
        '⏰ "冬季护肤指南" goes out on WeChat at 20:00; its author Bob has not confirmed yet, then it needs your review'
    )
    assert reply.buttons == []


def test_a_member_on_leave_gets_no_publish_reminder() -> None:
    from datetime import date

    carol = _member("carol", "editor")
    carol.away_from, carol.away_to = date(2026, 11, 24), date(2026, 11, 25)
    members = [_member("bob", "editor"), carol]

    due = reminders_due(
        [_post(7, "planned")], members, now=AT_20 - timedelta(hours=1), lead=LEAD, zone=SHANGHAI
    )

    assert [(r.recipient, r.reason) for r in due] == [("bob", "author")]  # carol is away
