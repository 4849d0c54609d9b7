"""Each person's week in the weekly summary, worked out by hand for W47 (16–22 November
2026): Bob away on Wednesday and Thursday, Erin joining on Wednesday, Alice idle.

By default each person gets their own lines by DM and the channel keeps the team's
totals; `summary.per_member: channel` puts the table in the channel; `off` neither.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.core.render.text import render_text
from storage import kpis as kpi_store
from storage import posts as post_store
from storage.db import transaction
from storage.models import Post
from tests.conftest import BotDriver, BotFactory
from tests.e2e.test_scheduler import tick

MEMBERS = [
    {"id": "alice", "name": "Alice", "role": "admin"},
    {"id": "bob", "name": "Bob", "role": "editor"},
    {"id": "carol", "name": "Carol", "role": "member"},
]
QUIET = {"digest": "0 23 * * *", "standup_prompt": "1 23 * * *", "standup_reminder": "2 23 * * *"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-{text}+08:00")


def went_out(bot: BotDriver, title: str, planned: str, out: str, **metrics: float) -> None:
    with transaction(bot.bot.engine) as session:
        post = post_store.add_post(session, Post(
            team_id="content", title=title, platform="wechat", planned_at=at(planned),
            owner="bob", status="published", published_at=at(out), created_by="bob",
            created_at=at(planned), updated_at=at(out),
        ))  # fmt: skip
        for metric, value in metrics.items():
            kpi_store.upsert_post_metric(
                session, post_id=post.id or 0, metric=metric, value=value, now=at(out)
            )


def week_47(make_bot: BotFactory, per_member: str | None = None) -> BotDriver:
    team: dict[str, object] = {"members": MEMBERS, "schedule": QUIET}
    if per_member is not None:
        team["summary"] = {"per_member": per_member}
    bot = make_bot(now=at("16T09:00"), team=team)
    bot.send("@bob /选题 新增 冬至海报 #冬至")
    bot.send("@bob /选题 新增 元旦计划")
    assert "✅" in bot.send("/选题 排期 1 公众号 11-17 20:00 @bob")
    bot.send("@bob /任务 新增 写初稿 q1 ~2h")
    bot.send("@bob /任务 新增 找配图 q2 ~1h")
    bot.send("@bob /任务 新增 回留言 q3 ~30m")
    bot.send("@bob /任务 完成 1")
    bot.send("@bob /任务 完成 2")
    bot.send("@bob /站会 今天：写初稿")
    bot.send("/团队 请假 @bob 11-18 11-19")
    bot.clock.set(at("17T09:40"))
    bot.send("@bob /站会 今天：改稿 | 阻碍：等设计稿")
    bot.clock.set(at("18T10:00"))
    bot.send("/团队 新增 @erin")
    bot.clock.set(at("19T09:40"))
    bot.send("@erin /站会 今天：熟悉选题库")
    bot.clock.set(at("20T09:40"))
    bot.send("@bob /站会 今天：发热点 | 阻碍：无")
    went_out(bot, "冬至海报", "17T20:00", "17T20:10", reads=3000, shares=120)
    went_out(bot, "周末热点", "20T12:00", "20T15:00", reads=800)
    return bot


def test_each_member_gets_their_own_week_by_dm(make_bot: BotFactory) -> None:
    bot = week_47(make_bot)

    sent = tick(bot, "2026-11-23T09:30:00+08:00")

    assert sent.to_team() == ["weekly_summary"]
    team_post = render_text(next(m.reply for m in sent.sent if m.target == "team"))
    assert "每个人的一周" not in team_post and "Bob：" not in team_post
    dms = {m.target: render_text(m.reply) for m in sent.sent if m.target != "team"}
    assert set(dms) == {"member:alice", "member:bob", "member:carol", "member:erin"}
    bob = dms["member:bob"]
    assert "Bob 的一周 · 第 47 周（11-16 – 11-22）" in bob
    # Tuesday's went out 10 minutes late (on time), Friday's three hours late.
    assert "发布 2 篇：准时 1，迟了 1 · 阅读 3,800 · 分享 120" in bob
    assert "提了 2 个选题，1 个已排期或已发布" in bob
    assert "任务完成 2/3（3/3.5 小时）" in bob
    # Away Wednesday and Thursday: Monday, Tuesday and Friday expected, all answered;
    # one blocker (Friday's 无 is none).
    assert "站会 3/3 天 · 提出阻碍 1 个" in bob
    # Erin joined on Wednesday: Wednesday to Friday expected, Thursday answered.
    assert "站会 1/3 天" in dms["member:erin"]
    assert "站会 0/5 天" in dms["member:alice"]


def test_the_table_goes_in_the_channel_when_the_team_wants_it(make_bot: BotFactory) -> None:
    bot = week_47(make_bot, "channel")

    sent = tick(bot, "2026-11-23T09:30:00+08:00")

    assert [m.target for m in sent.sent] == ["team"]
    text = render_text(sent.sent[0].reply)
    assert "👥 每个人的一周" in text
    assert (
        "Bob：发布 2（准时 1，迟 1）· 阅读 3,800 · 分享 120 · 选题 2（排期 1）· 任务 2/3"
        " · 站会 3/3 · 阻碍 1"
    ) in text


def test_off_sends_no_ones_lines(make_bot: BotFactory) -> None:
    bot = week_47(make_bot, "off")
    sent = tick(bot, "2026-11-23T09:30:00+08:00")
    assert [m.target for m in sent.sent] == ["team"]
    assert "每个人的一周" not in render_text(sent.sent[0].reply)


@pytest.mark.parametrize(("speaker", "allowed"), [("bob", True), ("alice", True), ("carol", False)])
def test_one_persons_week_for_themselves_editors_and_admins(
    make_bot: BotFactory, speaker: str, allowed: bool
) -> None:
    bot = week_47(make_bot)
    bot.clock.set(at("23T10:00"))

    reply = bot.send(f"@{speaker} /周报 @bob 2026-W47")

    if allowed:
        assert "Bob 的一周 · 第 47 周" in reply and "任务完成 2/3" in reply
    else:
        assert "只能看自己的一周" in reply
    assert "只能看自己的一周" not in bot.send("@carol /summary @carol")
    assert "W47" in bot.send("@bob /summary @bob last").replace("第 47 周", "W47")


def test_the_week_and_the_member_in_either_order(make_bot: BotFactory) -> None:
    bot = week_47(make_bot)
    bot.clock.set(at("23T10:00"))
    assert "Bob 的一周 · 第 47 周" in bot.send("/周报 2026-W47 @bob")
    assert "Bob 的一周 · 第 47 周" in bot.send("/周报 @bob 第47周")
