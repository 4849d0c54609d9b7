"""Understand or refuse: what is stored is exactly what the person meant, or nothing is
stored and the reply says what was not understood."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import BotDriver, BotFactory

MONDAY_0730 = datetime.fromisoformat("2026-11-23T07:30:00+08:00")


@pytest.fixture
def early(make_bot: BotFactory) -> BotDriver:
    """Monday 07:30 in Shanghai: "today 08:00" is still ahead, the trap of the old parser."""
    return make_bot(now=MONDAY_0730)


def post(bot: BotDriver, post_id: int) -> dict:
    return next(row for row in bot.export()["posts"] if row["id"] == post_id)


def task(bot: BotDriver, task_id: int) -> dict:
    return next(row for row in bot.export()["tasks"] if row["id"] == task_id)


@pytest.mark.parametrize(
    ("words", "planned_at"),
    [
        ("明天 晚上 8点", "2026-11-24T20:00:00+08:00"),
        ("明天晚上8点", "2026-11-24T20:00:00+08:00"),
        ("明晚 8点", "2026-11-24T20:00:00+08:00"),
        ("周三 晚上 8点", "2026-11-25T20:00:00+08:00"),
        ("明早 9点", "2026-11-24T09:00:00+08:00"),
        ("下午3点", "2026-11-23T15:00:00+08:00"),
        ("tomorrow 8pm", "2026-11-24T20:00:00+08:00"),
        ("fri 3pm", "2026-11-27T15:00:00+08:00"),
    ],
)
def test_day_and_time_words_are_the_time_not_the_title(
    early: BotDriver, words: str, planned_at: str
) -> None:
    reply = early.send(f"/发布 新增 年终盘点 p:公众号 {words}")

    assert reply.startswith("✅ 已排期 #1《年终盘点》")
    (row,) = early.export()["posts"]
    assert (row["title"], row["planned_at"]) == ("年终盘点", planned_at)


def test_the_echo_names_the_day_in_full(early: BotDriver) -> None:
    assert early.send("/发布 新增 年终盘点 p:公众号 明天 晚上 8点") == (
        "✅ 已排期 #1《年终盘点》 · 11月24日 周二 20:00 · 公众号 · 审核：任一编辑"
    )
    assert early.send("/发布 新增 年终盘点 p:公众号 2027-11-25 20:00").startswith(
        "✅ 已排期 #2《年终盘点》 · 2027年11月25日 周四 20:00"
    )


def test_a_day_without_a_time_is_refused_and_nothing_is_stored(early: BotDriver) -> None:
    assert early.send("/发布 新增 半成品 p:公众号 明天 晚上").startswith(
        "❌ 「明天 晚上」缺少具体时间，例如「明天 晚上 8点」或「明天 20:00」"
    )
    assert early.export()["posts"] == []


def test_two_reviewers_are_refused_as_such(bot: BotDriver) -> None:
    reply = bot.send("/publish add 复盘 p:wechat 明天 20:00 @carol @bob")
    assert reply.startswith("❌ 只能指定一位审核人")
    assert bot.export()["posts"] == []


def test_options_are_read_from_the_end_of_a_task(bot: BotDriver) -> None:
    bot.send("/task add Plan Q1 campaign ~1.5h")
    bot.send("/任务 新增 和 @bob 对齐选题 ~30m")

    assert (task(bot, 1)["text"], task(bot, 1)["quadrant"], task(bot, 1)["estimate_minutes"]) == (
        "Plan Q1 campaign", "q2", 90,
    )  # fmt: skip
    assert (task(bot, 2)["text"], task(bot, 2)["owner"]) == ("和 @bob 对齐选题", "alice")


def test_the_same_option_twice_is_refused(bot: BotDriver) -> None:
    assert bot.send("/任务 新增 剪辑视频 q1 q2").startswith(
        "❌ 同一个选项给了两次（q1、q2），请只留一个"
    )
    assert bot.export()["tasks"] == []


def test_a_quoted_title_keeps_words_that_look_like_options(bot: BotDriver) -> None:
    bot.send('/task add "复盘 q3" q1 ~2h')
    bot.send("/topic add 「双十一 p:wechat 复盘」 #复盘")

    assert (task(bot, 1)["text"], task(bot, 1)["quadrant"]) == ("复盘 q3", "q1")
    (topic,) = bot.export()["topics"]
    assert (topic["title"], topic["platform"], topic["tags"]) == (
        "双十一 p:wechat 复盘",
        None,
        ["复盘"],
    )
    assert bot.send('/task add "没有结尾 q1').startswith('❌ 「"没有结尾 q1」的引号没有结尾')


def test_chinese_option_keys_and_tags_split_at_each_hash(bot: BotDriver) -> None:
    bot.send("/选题 新增 冬至海报 平台：小红书 时效:5 #促销#节日")

    (topic,) = bot.export()["topics"]
    assert (topic["title"], topic["platform"], topic["timeliness"], topic["tags"]) == (
        "冬至海报", "xiaohongshu", 5, ["促销", "节日"],
    )  # fmt: skip


def test_a_topic_is_scheduled_once_per_platform(bot: BotDriver) -> None:
    bot.send("/topic add 冬至海报")
    bot.send("/topic schedule 1 xhs 明天 12:00")

    assert bot.send("/topic schedule 1 xhs 明天 20:00") == (
        "❌ 选题 #1 在这个平台已经排期为稿子 #1（11月24日 周二 12:00）；改时间请用 /发布 改期 1 <时间>"
    )
    assert len(bot.export()["posts"]) == 1
    assert bot.send("/topic schedule 1 wechat 明天 20:00").startswith("✅ 已排期 #2")


def test_a_task_cannot_move_into_the_past(bot: BotDriver) -> None:
    bot.send("/task add 写稿")
    assert bot.send("/task move 1 2026-11-01") == (
        "❌ 11月1日 周日 已经过去了，任务只能改到今天或以后。用法：/task move <编号> <日期>"
    )
    assert task(bot, 1)["day"] == "2026-11-23"


def test_cancelled_posts_are_not_in_todays_list(bot: BotDriver) -> None:
    bot.send("/publish add 要发的 p:wechat 今天 20:00")
    bot.send("/publish add 不发了 p:wechat 今天 21:00")
    bot.send("/publish cancel 2")

    today = bot.send("/publish today")
    assert today.splitlines()[0].endswith("(1)")
    assert "不发了" not in today


def test_the_stand_in_reviewer_is_shown_after_confirming(bot: BotDriver) -> None:
    bot.send("@dave /publish add 稿子 p:wechat 明天 20:00 @carol")
    bot.send("@dave /publish confirm 1")
    bot.send("@bob /publish confirm 1")  # Bob, an editor, stands in for Carol

    assert "Dave → Bob" in bot.send("/publish list week")
    assert post(bot, 1)["reviewer_confirmed_by"] == "bob"


def test_take_a_vote_back(bot: BotDriver) -> None:
    bot.send("/topic add 冬至海报")
    bot.send("@bob /topic vote 1")

    assert bot.send("@bob /选题 取消投票 1") == "✅ 已收回对 #1「冬至海报」的投票 · 共 0 票"
    assert bot.topic(1)["votes"] == 0
    assert bot.send("@bob /topic unvote 1") == "你没有给 #1「冬至海报」投过票 · 共 0 票"


def test_edit_a_task_changes_only_what_is_given(bot: BotDriver) -> None:
    bot.send("/task add 写稿 q3 ~30m")

    assert bot.send("/任务 修改 1 q1 ~2h") == (
        "✅ 任务 #1 已修改：写稿 · Q1 · 2h · Alice · 11月23日 周一"
    )
    assert (task(bot, 1)["text"], task(bot, 1)["quadrant"], task(bot, 1)["estimate_minutes"]) == (
        "写稿", "q1", 120,
    )  # fmt: skip
    bot.send("/task edit 1 写双十二推文 @bob 明天")
    assert (task(bot, 1)["text"], task(bot, 1)["owner"], task(bot, 1)["day"]) == (
        "写双十二推文", "bob", "2026-11-24",
    )  # fmt: skip
    assert bot.send("/task edit 1").startswith("❌ 没有要修改的内容")


def test_edit_a_posts_title(bot: BotDriver) -> None:
    bot.send("/publish add 初稿标题 p:wechat 明天 20:00")

    assert (
        bot.send("/发布 修改 1 冬季护肤指南")
        == "✅ 稿子 #1 的标题已从《初稿标题》改为《冬季护肤指南》"
    )
    assert post(bot, 1)["title"] == "冬季护肤指南"
    assert bot.send("@dave /publish edit 1 别人的稿子").startswith("❌ 只有作者")


def test_my_tasks_and_my_posts(bot: BotDriver) -> None:
    bot.send("/task add 我的任务")
    bot.send("@bob /task add 别人的任务")
    bot.send("/publish add 我的稿子 p:wechat 明天 20:00")
    bot.send("@bob /publish add 别人的稿子 p:wechat 2026-12-20 20:00")

    mine = bot.send("/task list mine")
    assert "我的任务" in mine and "别人的任务" not in mine
    my_posts = bot.send("/publish list mine")
    assert "我的稿子" in my_posts and "别人的稿子" not in my_posts
    everything = bot.send("/发布 列表 全部")
    assert "我的稿子" in everything and "别人的稿子" in everything


WORD = st.text(alphabet="年终盘点冬至海报写稿剪辑视频复盘abcxyz", min_size=1, max_size=6)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    words=st.lists(WORD, min_size=1, max_size=4),
    quadrant=st.sampled_from(["", "q1", "q2", "q3", "q4"]),
    estimate=st.sampled_from([("", None), ("~30m", 30), ("~1.5h", 90), ("~2小时", 120)]),
)
def test_an_accepted_task_stores_exactly_what_its_reply_echoes(
    make_bot: BotFactory,
    tmp_path: Path,
    words: list[str],
    quadrant: str,
    estimate: tuple[str, int | None],
) -> None:
    bot = make_bot(url=f"sqlite:///{tmp_path / uuid.uuid4().hex}.db")  # one per example
    title = " ".join(words)
    reply = bot.send(f"/task add {title} {quadrant} {estimate[0]}")

    assert reply.startswith("✅ 任务 #1 已添加：")
    (row,) = bot.export()["tasks"]
    assert (row["text"], row["quadrant"], row["estimate_minutes"]) == (
        title, quadrant or "q2", estimate[1],
    )  # fmt: skip
    assert f"：{title} · {(quadrant or 'q2').upper()} · " in reply


LINES = st.sampled_from(
    ["/task add", "/task add x q1 q2", "/task add x ~0m", "/task add x q7", "/publish add x",
     "/publish add x p:wechat", "/publish add x p:nowhere 明天 20:00", "/publish add x p:wechat 明天",
     "/publish add x p:wechat 昨天 20:00", "/topic add", "/topic add x t:9", "/topic add x t:1 t:2",
     "/topic vote 99", "/task move 1 2026-11-01", "/publish add x p:wechat 明天 20:00 @nobody",
     "/kpi log wechat reads=abc", '/task add "x q1', "/topic add x #"]
)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(LINES, min_size=1, max_size=4))
def test_a_refused_command_changes_nothing(
    make_bot: BotFactory, tmp_path: Path, lines: list[str]
) -> None:
    bot = make_bot(url=f"sqlite:///{tmp_path / uuid.uuid4().hex}.db")  # one per example
    bot.send("/task add 已有的任务")
    before = bot.export()
    for line in lines:
        assert bot.send(line).startswith("❌"), line
    assert bot.export() == before


def test_help_explains_how_to_write_a_time(bot: BotDriver, bot_en: BotDriver) -> None:
    shown = bot.send("/帮助 时间")
    assert shown.startswith("时间怎么写")
    assert "明天 晚上 8点" in shown and "晚上 12点" in shown
    assert "tomorrow 8pm" in bot_en.send("/help when")
