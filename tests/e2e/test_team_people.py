"""Who may speak and be named: only the team's members, and a member who left is removed
(deactivated) — their history stays, but nothing prompts, counts or names them any more."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

from bot.core.dispatch import Delivery
from bot.core.messages import Command, Reply
from bot.core.outbound import OutgoingMessage
from bot.core.render.text import render_text
from bot.runtime.delivery import deliver_due
from bot.runtime.scheduler import Scheduler
from tests.conftest import BotDriver, BotFactory
from tests.e2e.test_cli import ROOT, opsbot

ZH_MEMBERS = "现有成员：alice, bob, carol, dave"


def _members(bot: BotDriver) -> dict[str, tuple[str, bool]]:
    return {m["id"]: (m["role"], m["active"]) for m in bot.export()["members"]}


def _stored(bot: BotDriver) -> dict[str, object]:
    """Everything a refused command must leave alone."""
    exported = bot.export()
    return {table: exported[table] for table in ("members", "topics", "votes", "tasks")}


def _on_slack(bot: BotDriver, text: str, user_id: str) -> Reply:
    """A command from a chat platform, where the platform vouches for who speaks."""
    command = Command(text=text, team_id="content", user_id=user_id)
    reply = bot.bot.dispatch(command, Delivery("slack"))
    assert reply is not None
    return reply


class RecordingSender:
    """Stands in for the console's sender: keeps what the scheduler delivered."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message)

    def targets(self, kind: str) -> set[str]:
        return {message.target for message in self.sent if message.kind == kind}


def tick(bot: BotDriver, when: str) -> RecordingSender:
    """What the scheduler posts at `when`."""
    bot.clock.set(datetime.fromisoformat(when))
    Scheduler(bot.bot).tick()
    sender = RecordingSender()
    deliver_due(bot.bot.engine, {"console": sender}, bot.clock)
    return sender


# -- only members speak on the console -----------------------------------------------------


def test_an_unknown_console_speaker_is_refused_and_nothing_is_stored(bot: BotDriver) -> None:
    bot.send("/topic add 冬季护肤指南")
    before = _stored(bot)

    assert bot.send("@bobb /topic vote 1") == (
        "❌ 团队里没有 @bobb，这条命令没有执行，也没有保存任何内容。"
        f"{ZH_MEMBERS}。要登记新成员，请管理员发送 /团队 新增 @bobb"
    )
    assert bot.send("@zoe /team list").startswith("❌ 团队里没有 @zoe")
    assert bot.send("@zoe /help").startswith("❌ 团队里没有 @zoe")
    assert _stored(bot) == before
    assert bot.topic(1)["votes"] == 0


def test_an_unknown_speaker_is_refused_in_english(bot_en: BotDriver) -> None:
    assert bot_en.send("@zoe /topic add Winter guide") == (
        "❌ There is no @zoe in the team, so the command was not run and nothing was saved. "
        "Members: alice, bob, carol, dave. To register someone new, an admin sends /team add @zoe"
    )
    assert bot_en.export()["topics"] == []


def test_once_added_a_newcomer_speaks(bot: BotDriver) -> None:
    assert bot.send("/团队 新增 @zoe") == "✅ 已添加 zoe（成员）"
    assert bot.send("@zoe /topic add 新人的选题").startswith("✅ 选题 #1「")
    assert _members(bot)["zoe"] == ("member", True)


def test_the_first_speaker_of_a_team_without_members_is_still_its_admin(
    make_bot: BotFactory,
) -> None:
    bot = make_bot(team={"members": []})

    assert bot.send("@solo /topic add 第一个选题").startswith("✅")
    assert bot.send("@typo /topic add 第二个").startswith("❌ 团队里没有 @typo")
    assert _members(bot) == {"solo": ("admin", True)}


def test_a_mention_of_an_unknown_member_lists_the_members(bot: BotDriver) -> None:
    assert bot.send("/task add 写稿 @bobb").startswith(f"❌ 团队里没有 @bobb。{ZH_MEMBERS}")
    assert bot.send("/publish add 稿子 p:wechat 今天 20:00 @zed").startswith(
        f"❌ 团队里没有 @zed。{ZH_MEMBERS}"
    )
    assert bot.export()["tasks"] == [] and bot.export()["posts"] == []


def test_a_chat_platform_newcomer_is_still_registered(bot: BotDriver) -> None:
    assert not _on_slack(bot, "/topic add 来自 Slack", "U09").is_error
    assert _members(bot)["U09"] == ("member", True)


def test_the_console_refuses_with_exit_status_zero_and_stores_nothing(tmp_path: Path) -> None:
    """A refused line is a reply like any bad input: a script goes on and reads why."""
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")

    result = opsbot("console", "--as", "zoe", cwd=tmp_path, stdin="/topic add 双十一选题\n")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "❌ 团队里没有 @zoe，这条命令没有执行，也没有保存任何内容。"
        f"{ZH_MEMBERS}。要登记新成员，请管理员发送 /团队 新增 @zoe"
    ]
    exported = json.loads(opsbot("export", "--format", "json", cwd=tmp_path).stdout)
    assert [m["id"] for m in exported["members"]] == ["alice", "bob", "carol", "dave"]
    assert exported["topics"] == []


# -- /team remove ----------------------------------------------------------------------------


def test_an_admin_removes_a_member_and_their_history_stays(bot: BotDriver) -> None:
    bot.send("@dave /topic add 秋冬穿搭合集")
    bot.send("@dave /topic vote 1")
    bot.send("@dave /task add 剪视频 q1 ~1h")
    bot.send("@dave /standup today: 剪视频")

    assert bot.send("/team remove @dave") == (
        "✅ 已将 Dave（@dave，成员）移出团队：不再提醒、不计入统计、不能被指派；历史记录保留。"
        "/团队 新增 @dave 可让其回来"
    )

    exported = bot.export()
    dave = next(m for m in exported["members"] if m["id"] == "dave")
    assert (dave["role"], dave["active"]) == ("member", False)
    assert [m["active"] for m in exported["members"] if m["id"] != "dave"] == [True] * 3
    assert exported["topics"][0]["created_by"] == "dave"
    assert [v["member"] for v in exported["votes"]] == ["dave"]
    assert [t["owner"] for t in exported["tasks"]] == ["dave"]
    assert [s["member"] for s in exported["standups"]] == ["dave"]
    assert bot.topic(1)["votes"] == 1
    assert bot.send("/team list").splitlines() == [
        "内容组 · 3 位成员",
        "  @alice  Alice  管理员",
        "  @bob    Bob    编辑",
        "  @carol  Carol  编辑",
        "  已移出 1 位：@dave",
    ]


def test_remove_in_chinese_and_in_english(bot: BotDriver, bot_en: BotDriver) -> None:
    assert bot.send("/团队 移除 @Dave").startswith("✅ 已将 Dave（@dave，成员）移出团队")
    assert bot_en.send("/team remove @carol") == (
        "✅ Removed Carol (@carol, editor) from the team: no prompts, not counted, cannot be "
        "assigned; their history stays. /team add @carol brings them back"
    )


def test_a_removed_member_cannot_speak(bot: BotDriver) -> None:
    bot.send("/team remove @dave")
    before = _stored(bot)

    assert bot.send("@dave /topic add 我还在吗") == (
        "❌ @dave 已被移出团队，这条命令没有执行。要回到团队，请管理员发送 /团队 新增 @dave。"
        "现有成员：alice, bob, carol"
    )
    assert bot.send("@Dave /team list").startswith("❌ @dave 已被移出团队")
    assert _stored(bot) == before


def test_a_removed_chat_platform_member_is_refused_not_registered_again(bot: BotDriver) -> None:
    _on_slack(bot, "/team list", "U09")
    bot.send("/team remove @U09")

    reply = _on_slack(bot, "/topic add 还能发吗", "U09")

    assert reply.is_error
    assert reply.title.startswith("@U09 已被移出团队，这条命令没有执行")
    assert [m["id"] for m in bot.export()["members"]].count("U09") == 1
    assert _members(bot)["U09"] == ("member", False)
    assert bot.export()["topics"] == []


def test_a_removed_member_is_no_longer_named_in_commands(bot: BotDriver) -> None:
    bot.send("/team remove @carol")
    removed = "❌ @carol 已被移出团队。现有成员：alice, bob, dave"

    assert bot.send("/task add 写稿 @carol").startswith(removed)
    assert bot.send("/publish add 稿子 p:wechat 今天 20:00 @carol").startswith(removed)
    assert bot.send("/topic add 选题").startswith("✅")
    assert bot.send("/topic schedule 1 wechat 今天 20:00 @carol").startswith(removed)
    assert bot.send("/task list @carol").startswith(removed)
    assert bot.send("/team role @carol admin").startswith(removed)
    assert bot.send("/team away @carol 11-24 11-25").startswith(removed)
    assert bot.export()["tasks"] == [] and bot.export()["posts"] == []
    assert _members(bot)["carol"] == ("editor", False)


def test_the_last_admin_cannot_be_removed(bot: BotDriver) -> None:
    assert bot.send("/team remove @alice") == "❌ 不能移除最后一位管理员，请先任命另一位管理员"
    assert bot.send("/team remove @me") == "❌ 不能移除最后一位管理员，请先任命另一位管理员"
    bot.send("/team role @bob admin")

    assert bot.send("/team remove @me").startswith("✅ 已将 Alice（@alice，管理员）移出团队")
    assert bot.send("/team list").startswith("❌ @alice 已被移出团队")
    # A removed admin does not count: Bob is now the last one.
    assert bot.send("@bob /team role @bob member") == (
        "❌ 团队至少要有一位管理员，请先任命另一位管理员"
    )
    assert bot.send("@bob /team remove @bob") == "❌ 不能移除最后一位管理员，请先任命另一位管理员"


def test_only_admins_remove_members(bot: BotDriver) -> None:
    assert bot.send("@bob /team remove @dave") == "❌ 只有管理员可以这样做"
    assert _members(bot)["dave"] == ("member", True)


def test_bad_remove_input(bot: BotDriver) -> None:
    assert bot.send("/team remove") == "❌ 缺少成员，请用 @名字 指定。用法：/team remove @成员"
    assert bot.send("/team remove dave").startswith("❌ 缺少成员")
    assert bot.send("/team remove @zed") == (
        f"❌ 团队里没有 @zed。{ZH_MEMBERS}。用法：/team remove @成员"
    )
    assert bot.send("/team remove @dave 他离职了") == (
        "❌ 多余的内容：他离职了。用法：/team remove @成员"
    )
    assert all(active for _, active in _members(bot).values())
    bot.send("/team remove @dave")
    assert bot.send("/team remove @dave") == "❌ Dave 已经被移出团队了"


def test_add_brings_a_removed_member_back(bot: BotDriver) -> None:
    bot.send("@bob /topic add 促销长文")
    bot.send("/team remove @bob")

    assert bot.send("/team add @bob") == "✅ Bob 回到了团队（编辑）"
    assert _members(bot)["bob"] == ("editor", True)
    assert bot.send("@bob /topic vote 1").startswith("✅")
    assert bot.send("/team add @bob") == "❌ bob 已经在团队里了"

    bot.send("/team remove @bob")
    assert bot.send("/团队 新增 @Bob 成员") == "✅ Bob 回到了团队（成员）"
    assert _members(bot)["bob"] == ("member", True)
    assert bot.send("/team list").splitlines()[0] == "内容组 · 4 位成员"


def test_a_removed_member_stays_removed_across_a_restart(make_bot: BotFactory) -> None:
    bot = make_bot()
    bot.send("/team remove @dave")

    again = make_bot()  # the same database, the config still lists dave

    assert _members(again)["dave"] == ("member", False)
    assert again.send("@dave /topic list").startswith("❌ @dave 已被移出团队")


# -- prompts, reminders and counts skip removed members --------------------------------------


def test_removed_members_are_neither_prompted_nor_counted(make_bot: BotFactory) -> None:
    bot = make_bot(now=datetime.fromisoformat("2026-11-23T08:00:00+08:00"))
    bot.send("/team remove @dave")
    bot.send("/standup today: 写稿")

    digest = tick(bot, "2026-11-23T09:00:00+08:00")
    assert digest.targets("digest") == {"team"}
    text = render_text(digest.sent[0].reply)
    assert "🧍 站会 已回复 1/3 · 未回复 Bob, Carol" in text
    assert "Dave" not in text

    prompts = tick(bot, "2026-11-23T09:30:00+08:00")
    assert prompts.targets("standup_prompt") == {"member:alice", "member:bob", "member:carol"}

    reminders = tick(bot, "2026-11-23T11:00:00+08:00")
    assert reminders.targets("standup_reminder") == {"member:bob", "member:carol"}

    assert bot.send("/standup").splitlines()[:2] == [
        "🧍 站会 11-23 · 已回复 1/3",
        "  未回复：Bob, Carol",
    ]


def test_a_removed_member_who_answered_is_not_counted(bot: BotDriver) -> None:
    bot.send("@dave /standup today: 剪视频")
    bot.send("/team remove @dave")

    lines = bot.send("/standup").splitlines()

    assert lines[0] == "🧍 站会 11-23 · 已回复 0/3"
    assert any("剪视频" in line for line in lines)  # their answer stays in the history


def test_the_weekly_summary_expects_only_active_members(make_bot: BotFactory) -> None:
    bot = make_bot(now=datetime.fromisoformat("2026-11-16T08:00:00+08:00"))  # week 47 begins
    bot.clock.set(datetime.fromisoformat("2026-11-23T10:00:00+08:00"))
    assert (
        "🧍 站会   参与 0% (0/20) · 任务完成 0/0 · 阻碍 0 条" in bot.send("/summary").splitlines()
    )
    bot.send("/team remove @dave")

    assert (
        "🧍 站会   参与 0% (0/15) · 任务完成 0/0 · 阻碍 0 条" in bot.send("/summary").splitlines()
    )


def test_a_removed_editor_is_not_a_default_reviewer(make_bot: BotFactory) -> None:
    bot = make_bot(now=datetime.fromisoformat("2026-11-23T10:00:00+08:00"))
    bot.send("/publish add 冬季护肤指南 p:wechat 今天 12:00")  # no named reviewer
    bot.send("/team remove @carol")

    reminders = tick(bot, "2026-11-23T10:01:00+08:00")

    assert reminders.targets("publish_reminder") == {"member:alice", "member:bob"}  # author, editor
