"""A reviewer sends a post back ("not yet: change this") with a reason; the author is
told by direct message, and their next confirmation starts the two steps again.
Alice is admin, Bob and Carol editors, Dave a member; it is Monday 23 November 2026,
10:00 in Shanghai."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.chat.console.adapter import ConsoleSender
from bot.core.i18n import Translator
from bot.core.messages import Button
from bot.core.outbound import OutgoingMessage
from bot.runtime.delivery import deliver_due
from bot.runtime.scheduler import Scheduler
from bot.vocab.content_platforms import PlatformCatalogue
from handlers.publish_reminders import PublishReminder, reminders_due, render_publish_reminder
from handlers.summary import gather_summary_input
from handlers.weekly_summary import build_weekly_summary
from storage.db import transaction
from storage.models import Member, Post
from tests.conftest import BotDriver, BotFactory

REASON = "标题太长，控制在 20 字以内"
SENT_BACK = (
    f"✅ Carol 已把 #1《冬季护肤指南》退回给作者 Bob 修改 · 原因：{REASON} · 已私信告诉 Bob\n"
    "  #1  20:00  公众号  《冬季护肤指南》  Bob → Carol  ↩ 退回修改"
)
NOTICE = (
    f"⚠️ Carol 把你的 #1《冬季护肤指南》（11月24日 周二 20:00 · 公众号）退回修改：{REASON}。"
    "改好后请发 /发布 确认 1，再由审核人确认"
)


def post(bot: BotDriver, post_id: int = 1) -> dict[str, Any]:
    return next(row for row in bot.export()["posts"] if row["id"] == post_id)


def stored(bot: BotDriver) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    exported = bot.export()
    return exported["posts"], exported["outbox"]


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message)


@pytest.fixture
def waiting(bot: BotDriver) -> BotDriver:
    """Bob's post for tomorrow 20:00, confirmed by Bob, waiting for Carol's review."""
    bot.send("@bob /topic add 冬季护肤指南 #护肤 p:wechat")
    bot.send("@bob /topic schedule 1 wechat 明天 20:00 @carol")
    bot.clock.advance(timedelta(minutes=30))
    assert bot.send("@bob /publish confirm 1").startswith("✅ Bob 已确认《冬季护肤指南》（作者）")
    bot.clock.advance(timedelta(minutes=30))
    return bot


# -- sending a post back ---------------------------------------------------------------------


def test_the_reviewer_sends_a_post_back_and_the_author_is_told_why(waiting: BotDriver) -> None:
    assert waiting.send(f"@carol /发布 退回 1 {REASON}") == SENT_BACK

    exported = post(waiting)
    assert (
        exported
        | {
            "status": "changes_requested",
            "author_confirmed_at": None,
            "reviewer_confirmed_at": None,
            "reviewer_confirmed_by": None,
            "changes_requested_reason": REASON,
            "changes_requested_by": "carol",
            "changes_requested_at": "2026-11-23T11:00:00+08:00",
            "reviewer": "carol",
            "owner": "bob",
        }
        == exported
    )
    assert waiting.topic(1)["status"] == "scheduled"  # still going out
    outbox = waiting.export()["outbox"]
    assert [(item["target"], item["kind"], item["status"]) for item in outbox] == [
        ("member:bob", "notice", "pending")
    ]

    screen = io.StringIO()
    report = deliver_due(
        waiting.bot.engine,
        {"console": ConsoleSender(screen, team_names={"content": "内容组"})},
        waiting.clock,
    )
    assert report.sent == 1
    assert screen.getvalue() == f"── ✉️ @bob · notice ──\n{NOTICE}\n"
    assert [item["status"] for item in waiting.export()["outbox"]] == ["sent"]


def test_the_direct_message_offers_the_authors_next_step(waiting: BotDriver) -> None:
    reply = waiting.reply(f"/publish reject 1 {REASON}", speaker="carol")

    (notice,) = reply.notices
    assert notice.member_id == "bob"
    assert notice.reply.buttons == [Button("✅ 已修改，确认", "/publish confirm 1", "primary")]


def test_in_english(make_bot: BotFactory) -> None:
    bot = make_bot(locale="en")
    bot.send("@bob /publish add Winter guide p:wechat tomorrow 20:00")
    bot.send("@bob /publish confirm 1")

    assert bot.send("/publish reject 1") == (
        "❌ Say what to change, so the author knows: send /publish reject 1 <reason>."
        " Usage: /publish reject <id> <reason>"
    )
    assert bot.send("/publish reject 1 The title is too long") == (
        '✅ Alice sent #1 "Winter guide" back to its author Bob · reason: The title is too long'
        " · Bob has been told by direct message\n"
        '  #1  20:00  WeChat  "Winter guide"  Bob → any editor  ↩ changes requested'
    )
    assert bot.send("/publish confirm 1") == (
        '❌ "Winter guide" was sent back for changes: its author Bob must confirm the changes first'
    )
    assert bot.send("@bob /publish confirm 1") == (
        '✅ Bob confirmed the changes to "Winter guide" (author). Waiting for reviewer: any editor'
        " · asked for: The title is too long"
    )


def test_the_reason_is_required(waiting: BotDriver) -> None:
    before = stored(waiting)

    assert waiting.send("@carol /发布 退回 1") == (
        "❌ 退回要写明原因，作者才知道改什么：请发送 /发布 退回 1 <原因>。"
        "用法：/publish reject <编号> <原因>"
    )
    assert waiting.send("@carol /发布 退回 1   ").startswith("❌ 退回要写明原因")
    assert waiting.send('@carol /发布 退回 1 ""').startswith("❌ 退回要写明原因")
    assert waiting.send("@carol /publish reject 1 " + "长" * 501) == (
        "❌ 原因太长，最多 500 字。用法：/publish reject <编号> <原因>"
    )
    assert waiting.send("@carol /publish reject").startswith("❌ 缺少编号")
    assert waiting.send("@carol /publish reject 9 太长") == (
        "❌ 没有编号为 #9 的稿子。用法：/publish reject <编号> <原因>"
    )
    assert stored(waiting) == before


def test_a_reason_in_quotes_is_stored_without_them(waiting: BotDriver) -> None:
    waiting.send("@carol /发布 退回 1 「配图换成冬天的」")

    assert post(waiting)["changes_requested_reason"] == "配图换成冬天的"


def test_only_someone_who_may_review_it_sends_a_post_back(waiting: BotDriver) -> None:
    before = stored(waiting)

    assert waiting.send("@bob /发布 退回 1 太长") == (
        "❌ 你是《冬季护肤指南》的作者；退回修改由审核人来做（改标题用 /发布 修改，改时间用 /发布 改期）"
    )
    assert waiting.send("@dave /发布 退回 1 太长") == (
        "❌ 只有编辑、管理员或指定的审核人（Carol）可以审核"
    )
    assert stored(waiting) == before  # nothing stored, nobody told

    # An editor or admin other than the named reviewer stands in, as for confirming.
    assert waiting.send("/发布 退回 1 配图不清楚").startswith(
        "✅ Alice 已把 #1《冬季护肤指南》退回给作者 Bob 修改 · 原因：配图不清楚"
    )
    assert (post(waiting)["changes_requested_by"], post(waiting)["reviewer"]) == ("alice", "carol")


def test_a_member_named_as_reviewer_may_send_it_back(bot: BotDriver) -> None:
    bot.send("@bob /publish add 通勤防晒三件套 p:xhs 明天 12:00 @dave")

    assert bot.send("@dave /publish reject 1 少了价格").startswith(
        "✅ Dave 已把 #1《通勤防晒三件套》退回给作者 Bob 修改"
    )
    assert post(bot)["status"] == "changes_requested"


def test_a_post_not_yet_confirmed_or_already_confirmed_can_be_sent_back(bot: BotDriver) -> None:
    bot.send("@bob /publish add 冬季护肤指南 p:wechat 明天 20:00 @carol")
    bot.send("@bob /publish add 通勤防晒三件套 p:xhs 明天 12:00 @carol")
    bot.send("@bob /publish confirm 2")
    bot.send("@carol /publish confirm 2")

    bot.send("@carol /publish reject 1 先别急，选题要改")
    bot.send("@carol /publish reject 2 价格写错了")

    assert [(row["status"], row["author_confirmed_at"], row["reviewer_confirmed_by"])
            for row in bot.export()["posts"]] == [
        ("changes_requested", None, None), ("changes_requested", None, None),
    ]  # fmt: skip


def test_sending_back_again_replaces_the_reason_and_tells_the_author_again(
    waiting: BotDriver,
) -> None:
    waiting.send(f"@carol /publish reject 1 {REASON}")
    waiting.clock.advance(timedelta(minutes=5))
    waiting.send("/publish reject 1 还有配图")

    exported = post(waiting)
    assert (exported["changes_requested_reason"], exported["changes_requested_by"]) == (
        "还有配图",
        "alice",
    )
    assert exported["changes_requested_at"] == "2026-11-23T11:05:00+08:00"
    assert [item["target"] for item in waiting.export()["outbox"]] == ["member:bob"] * 2


def test_a_closed_post_cannot_be_sent_back(waiting: BotDriver) -> None:
    waiting.send("@bob /publish add 通勤防晒三件套 p:xhs 明天 12:00 @carol")
    waiting.send("@carol /publish confirm 1")
    waiting.send("@bob /publish done 1")
    waiting.send("@bob /publish cancel 2")

    assert waiting.send("@carol /publish reject 1 太长") == (
        "❌ 《冬季护肤指南》：📤 已发布，不能再操作"
    )
    assert waiting.send("@carol /publish reject 2 太长") == (
        "❌ 《通勤防晒三件套》：✖ 已取消，不能再操作"
    )
    assert waiting.export()["outbox"] == []


def test_a_removed_author_is_not_messaged(bot: BotDriver) -> None:
    bot.send("@dave /publish add 通勤防晒三件套 p:xhs 明天 12:00 @carol")
    bot.send("/team remove @dave")

    assert bot.send("@carol /publish reject 1 少了价格") == (
        "✅ Carol 已把 #1《通勤防晒三件套》退回给作者 Dave 修改 · 原因：少了价格\n"
        "  #1  12:00  小红书  《通勤防晒三件套》  Dave → Carol  ↩ 退回修改"
    )
    assert bot.export()["outbox"] == []


# -- the buttons ---------------------------------------------------------------------------


def test_the_reviewer_sees_request_changes_beside_confirm(waiting: BotDriver) -> None:
    waiting.send("@bob /publish add 通勤防晒三件套 p:xhs 明天 12:00 @carol")

    reply = waiting.reply("/publish confirm 2", speaker="bob")

    assert reply.buttons == [
        Button("✅ 确认", "/publish confirm 2", "primary"),
        Button("↩ 退回修改", "/publish reject 2", "danger"),
    ]


def test_the_button_asks_for_the_reason_and_stores_nothing(waiting: BotDriver) -> None:
    reply = waiting.reply("/publish reject 1", speaker="carol")  # what the button sends

    assert reply.is_error
    assert "/发布 退回 1 <原因>" in reply.title
    assert post(waiting)["status"] == "author_confirmed"


# -- the author confirms again ----------------------------------------------------------------


def test_the_authors_next_confirmation_starts_the_two_steps_again(waiting: BotDriver) -> None:
    waiting.send(f"@carol /publish reject 1 {REASON}")
    waiting.clock.advance(timedelta(hours=1))

    assert waiting.send("@carol /publish confirm 1") == (
        "❌ 《冬季护肤指南》已退回修改，要等作者 Bob 改好并重新确认，之后才能审核"
    )
    assert waiting.send("@dave /publish confirm 1") == "❌ 《冬季护肤指南》要先由作者 Bob 确认"
    assert waiting.send("@bob /publish edit 1 冬季护肤三步走") == (
        "✅ 稿子 #1 的标题已从《冬季护肤指南》改为《冬季护肤三步走》，"
        "仍是退回修改状态：作者 Bob 改好后发 /发布 确认 1"
    )
    reply = waiting.reply("/publish confirm 1", speaker="bob")
    assert reply.title == (
        f"Bob 已确认修改后的《冬季护肤三步走》（作者）。等待审核：Carol · 退回原因：{REASON}"
    )
    assert [button.command for button in reply.buttons] == [
        "/publish confirm 1",
        "/publish reject 1",
    ]
    assert post(waiting)["status"] == "author_confirmed"
    assert post(waiting)["author_confirmed_at"] == "2026-11-23T12:00:00+08:00"

    assert waiting.send("@carol /publish confirm 1").startswith(
        "✅ Carol 已审核《冬季护肤三步走》，可以发布了"
    )
    exported = post(waiting)
    assert (exported["status"], exported["reviewer_confirmed_by"]) == ("confirmed", "carol")
    # The latest request stays on the post, for the record.
    assert (exported["changes_requested_reason"], exported["changes_requested_by"]) == (
        REASON,
        "carol",
    )


def test_moving_or_renaming_a_sent_back_post_keeps_it_sent_back(waiting: BotDriver) -> None:
    waiting.send(f"@carol /publish reject 1 {REASON}")

    assert waiting.send("@bob /publish move 1 明天 21:00") == (
        "✅ 《冬季护肤指南》已改期到 11月24日 周二 21:00，"
        "仍是退回修改状态：作者 Bob 改好后发 /发布 确认 1"
    )
    assert waiting.send("@carol /publish edit 1 冬季护肤") == (
        "✅ 稿子 #1 的标题已从《冬季护肤指南》改为《冬季护肤》，"
        "仍是退回修改状态：作者 Bob 改好后发 /发布 确认 1"
    )
    exported = post(waiting)
    assert (exported["status"], exported["planned_at"], exported["changes_requested_reason"]) == (
        "changes_requested",
        "2026-11-24T21:00:00+08:00",
        REASON,
    )


def test_publishing_a_sent_back_post_anyway_is_flagged(waiting: BotDriver) -> None:
    waiting.send(f"@carol /publish reject 1 {REASON}")

    assert waiting.send("@bob /publish done 1") == (
        "✅ 📤 《冬季护肤指南》已在公众号发布 · 11-23 11:00\n"
        f"  ⚠️ 发布时仍是退回修改状态（原因：{REASON}），没有完成双人确认"
    )


def test_a_sent_back_post_keeps_its_topic_scheduled(waiting: BotDriver) -> None:
    waiting.send(f"@carol /publish reject 1 {REASON}")

    assert waiting.send("@bob /topic schedule 1 wechat 周五 20:00").startswith("❌ ")
    assert waiting.topic(1)["status"] == "scheduled"


# -- shown everywhere ---------------------------------------------------------------------------


def test_the_calendar_shows_the_state(bot: BotDriver) -> None:
    bot.send("@bob /publish add 冬季护肤指南 p:wechat 今天 20:00 @carol")
    bot.send("@carol /publish reject 1 标题太长")

    assert bot.send("/publish today") == (
        "📅 今日发布 · 11-23 周一 (1)\n"
        "  #1  20:00  公众号  《冬季护肤指南》  Bob → Carol  ↩ 退回修改"
    )
    assert bot.send("@bob /publish list mine").endswith("Bob → Carol  ↩ 退回修改")


def test_the_digest_lists_it_under_needs_attention_with_the_reason(bot: BotDriver) -> None:
    bot.send("@bob /publish add 冬季护肤指南 p:wechat 今天 20:00 @carol")
    bot.send("@dave /publish add 通勤防晒三件套 p:xhs 今天 12:00")
    bot.send("/publish reject 1 标题太长")

    lines = bot.send("/digest").splitlines()
    start = lines.index("⚠️ 需要处理")
    assert lines[start + 1 : start + 3] == [
        "  · 《通勤防晒三件套》12:00 发布，作者和审核都还没有确认",
        "  · 《冬季护肤指南》20:00 发布，Alice 退回修改：标题太长；等作者 Bob 改好后重新确认",
    ]


def test_a_post_never_sent_back_exports_empty_request_columns(waiting: BotDriver) -> None:
    exported = post(waiting)
    assert (
        exported["changes_requested_reason"],
        exported["changes_requested_by"],
        exported["changes_requested_at"],
    ) == (None, None, None)


# -- publish reminders ------------------------------------------------------------------------


@pytest.fixture
def quiet_bot(make_bot: BotFactory) -> BotDriver:
    """Only publish reminders happen at the times that matter here."""
    return make_bot(
        team={"schedule": {"digest": "0 23 * * *", "standup_prompt": "0 23 * * *",
                           "standup_reminder": "5 23 * * *", "weekly_summary": "10 23 * * 0"}},
    )  # fmt: skip


def test_the_author_is_reminded_with_the_reason(quiet_bot: BotDriver) -> None:
    quiet_bot.send("@bob /publish add 冬季护肤指南 p:wechat 今天 20:00 @carol")
    quiet_bot.send("@bob /publish confirm 1")
    quiet_bot.send("@carol /publish reject 1 标题太长")
    deliver_due(quiet_bot.bot.engine, {"console": RecordingSender()}, quiet_bot.clock)  # notice

    quiet_bot.clock.set(datetime.fromisoformat("2026-11-23T18:00:00+08:00"))
    Scheduler(quiet_bot.bot).tick()
    sender = RecordingSender()
    deliver_due(quiet_bot.bot.engine, {"console": sender}, quiet_bot.clock)

    assert [(m.kind, m.target) for m in sender.sent] == [
        ("publish_reminder", "member:bob"),
        ("publish_reminder", "member:carol"),
    ]
    to_bob = sender.sent[0].reply
    assert to_bob.title == (
        "⏰ 《冬季护肤指南》20:00 在公众号发布，Carol 退回修改：标题太长。改好后请发 /发布 确认 1"
    )
    assert [button.command for button in to_bob.buttons] == ["/publish confirm 1"]
    assert sender.sent[1].reply.buttons == []  # Carol: a heads-up, nothing to do yet


SHANGHAI = ZoneInfo("Asia/Shanghai")
AT_20 = datetime(2026, 11, 24, 20, 0, tzinfo=SHANGHAI)
LEAD = timedelta(minutes=120)
MEMBERS = [
    Member(team_id="content", id=m, name=m.title(), role=role, created_at=AT_20)
    for m, role in (("alice", "admin"), ("bob", "editor"), ("carol", "editor"))
]


def _post(status: str, reviewer: str | None = "carol") -> Post:
    return Post(
        id=1, team_id="content", title="冬季护肤指南", platform="wechat", planned_at=AT_20,
        owner="bob", reviewer=reviewer, status=status, created_by="bob", created_at=AT_20,
        updated_at=AT_20, changes_requested_reason="标题太长", changes_requested_by="carol",
    )  # fmt: skip


def test_a_sent_back_post_counts_as_unconfirmed_for_reminders() -> None:
    now = AT_20 - LEAD
    assert reminders_due([_post("changes_requested")], MEMBERS, now=now, lead=LEAD) == [
        PublishReminder(1, "bob", "changes"),
        PublishReminder(1, "carol", "reviewer_waiting"),
    ]
    assert reminders_due([_post("changes_requested", None)], MEMBERS, now=now, lead=LEAD) == [
        PublishReminder(1, "bob", "changes"),
        PublishReminder(1, "alice", "reviewer_waiting"),  # no named reviewer: every editor
        PublishReminder(1, "carol", "reviewer_waiting"),
    ]


def test_the_reviewers_reminder_offers_request_changes_beside_confirm() -> None:
    reply = render_publish_reminder(
        PublishReminder(1, "carol", "reviewer"), _post("author_confirmed"),
        t=Translator("en"), content_platforms=PlatformCatalogue(), zone=SHANGHAI,
        names={"bob": "Bob", "carol": "Carol"},
    )  # fmt: skip

    assert reply.buttons == [
        Button("✅ Confirm", "/publish confirm 1", "primary"),
        Button("↩ Request changes", "/publish reject 1", "danger"),
    ]


# -- the weekly summary ---------------------------------------------------------------------


def test_the_weekly_summary_counts_a_sent_back_post_as_slipped(make_bot: BotFactory) -> None:
    bot = make_bot(now=datetime.fromisoformat("2026-11-16T09:00:00+08:00"))
    bot.send("@bob /publish add 冬季护肤指南 p:wechat 11-18 20:00 @carol")
    bot.send("@bob /publish add 通勤防晒三件套 p:xhs 11-19 12:00 @carol")
    bot.send("@bob /publish confirm 1")
    bot.send("@carol /publish reject 1 标题太长")  # and never confirmed again
    bot.clock.set(datetime.fromisoformat("2026-11-19T12:10:00+08:00"))
    bot.send("@bob /publish done 2")
    bot.clock.set(datetime.fromisoformat("2026-11-23T10:00:00+08:00"))

    with transaction(bot.bot.engine) as session:
        data = gather_summary_input(
            session, team=bot.bot.settings.team(), week_start=date(2026, 11, 16),
            now=bot.clock.now(),
        )  # fmt: skip
    record = build_weekly_summary(data).publishing

    assert (record.planned, record.published, record.on_time, record.slipped, record.cancelled) == (
        2, 1, 1, 1, 0,
    )  # fmt: skip
