"""A stand-up answered, then corrected: answering again changes only the parts it names,
`+tasks` does not make the same task twice, and `show`/`edit`/`help` are never stored as
an answer. Alice is admin, Bob and Carol editors, Dave a member; it is Monday
23 November 2026, 10:00 in Shanghai."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import BotDriver

FULL_ANSWER = "/站会 昨天：完成选题会 | 今天：写推文初稿 | 阻碍：等设计素材"
USAGE = "/standup [昨天：… | 今天：… | 阻碍：…] [+任务]"


def _answer(bot: BotDriver) -> tuple[Any, ...]:
    (row,) = bot.export()["standups"]
    return (row["member"], row["yesterday"], row["today"], row["blockers"], row["answered_at"])


def _tasks(bot: BotDriver) -> list[tuple[Any, ...]]:
    return [
        (row["id"], row["owner"], row["text"], row["day"], row["status"])
        for row in bot.export()["tasks"]
    ]


def test_answering_again_replaces_only_the_parts_given_and_names_them(bot: BotDriver) -> None:
    assert bot.send(FULL_ANSWER).splitlines()[0] == "✅ 已记录 Alice 的站会（11-23）"
    bot.clock.advance(timedelta(minutes=30))

    assert bot.send("/站会 问题：服务器挂了").splitlines() == [
        "✅ 已更新 Alice 的站会（11-23）：阻碍",
        "  昨天：完成选题会",
        "  今天：写推文初稿",
        "  🚧 阻碍：服务器挂了",
    ]
    assert _answer(bot) == (
        "alice", "完成选题会", "写推文初稿", "服务器挂了", "2026-11-23T10:30:00+08:00",
    )  # fmt: skip


def test_unlabelled_text_again_replaces_today_only(bot: BotDriver) -> None:
    bot.send(FULL_ANSWER)

    assert bot.send("/站会 改推文标题").splitlines()[0] == "✅ 已更新 Alice 的站会（11-23）：今天"
    assert _answer(bot)[1:4] == ("完成选题会", "改推文标题", "等设计素材")


def test_several_parts_again_are_all_named(bot: BotDriver) -> None:
    bot.send(FULL_ANSWER)

    assert bot.send("/站会 昨天：开会 | 阻碍：没有素材").splitlines()[0] == (
        "✅ 已更新 Alice 的站会（11-23）：昨天、阻碍"
    )
    assert _answer(bot)[1:4] == ("开会", "写推文初稿", "没有素材")


def test_naming_a_part_as_nothing_clears_it_and_says_so(bot: BotDriver) -> None:
    bot.send(FULL_ANSWER)

    assert bot.send("/站会 阻碍：无").splitlines() == [
        "✅ 已更新 Alice 的站会（11-23）：阻碍",
        "  昨天：完成选题会",
        "  今天：写推文初稿",
        "  已清空：阻碍",
    ]
    assert _answer(bot)[1:4] == ("完成选题会", "写推文初稿", None)


def test_clearing_the_last_part_is_refused_and_keeps_the_answer(bot: BotDriver) -> None:
    bot.send("/站会 今天：写稿")

    assert bot.send("/站会 今天：无") == f"❌ 站会内容是空的。用法：{USAGE}"
    assert _answer(bot)[1:4] == (None, "写稿", None)


def test_a_bad_item_on_a_re_answer_keeps_the_previous_answer(bot: BotDriver) -> None:
    bot.send(FULL_ANSWER)

    assert bot.send("/站会 今天：写稿 q9 +任务").startswith("❌ 「q9」不是象限")
    assert _answer(bot)[1:4] == ("完成选题会", "写推文初稿", "等设计素材")
    assert bot.export()["tasks"] == []


def test_tasks_on_a_re_answer_are_made_only_for_new_items(bot: BotDriver) -> None:
    first = bot.send("/站会 今天：写推文初稿 q1 ~2h，回复留言 q3 ~30m +任务")
    assert first.splitlines()[-1] == "  已新增任务 #1 #2"

    assert bot.send("/站会 今天：写推文初稿 q1，回复留言，剪视频 ~1h +任务").splitlines() == [
        "✅ 已更新 Alice 的站会（11-23）：今天",
        "  今天：写推文初稿 q1，回复留言，剪视频 ~1h",
        "  已新增任务 #3",
        "  已有任务，未重复新增：写推文初稿 #1、回复留言 #2",
    ]
    assert [
        (row["id"], row["text"], row["quadrant"], row["estimate_minutes"])
        for row in bot.export()["tasks"]
    ] == [
        (1, "写推文初稿", "q1", 120),  # the earlier task is left as it was
        (2, "回复留言", "q3", 30),
        (3, "剪视频", "q2", 60),
    ]


def test_an_answer_again_with_only_known_items_adds_no_task(bot: BotDriver) -> None:
    bot.send("/站会 今天：写稿，剪视频 +任务")

    assert bot.send("/站会 今天：写稿，剪视频 +任务").splitlines()[1:] == [
        "  今天：写稿，剪视频",
        "  已有任务，未重复新增：写稿 #1、剪视频 #2",
    ]
    assert len(bot.export()["tasks"]) == 2


def test_done_tasks_count_as_made_dropped_ones_do_not(bot: BotDriver) -> None:
    bot.send("/task add 写稿")
    bot.send("/task done 1")
    bot.send("/task add 剪视频")
    bot.send("/任务 删除 2")

    reply = bot.send("/站会 今天：写稿，剪视频，剪视频 +任务")

    assert reply.splitlines()[-2:] == [
        "  已新增任务 #3",
        "  已有任务，未重复新增：写稿 #1、剪视频 #3",  # listed twice: one task
    ]
    assert _tasks(bot) == [
        (1, "alice", "写稿", "2026-11-23", "done"),
        (2, "alice", "剪视频", "2026-11-23", "dropped"),
        (3, "alice", "剪视频", "2026-11-23", "open"),
    ]


def test_the_same_text_for_another_owner_or_day_is_a_new_task(bot: BotDriver) -> None:
    bot.send("/站会 今天：写稿 +任务")
    bot.send("@bob /站会 今天：写稿 +任务")
    bot.clock.advance(timedelta(days=1))

    assert bot.send("/站会 今天：写稿 +任务").splitlines()[0] == "✅ 已记录 Alice 的站会（11-24）"
    assert _tasks(bot) == [
        (1, "alice", "写稿", "2026-11-23", "open"),
        (2, "bob", "写稿", "2026-11-23", "open"),
        (3, "alice", "写稿", "2026-11-24", "open"),
    ]


def test_an_item_for_a_colleague_is_matched_on_their_tasks(bot: BotDriver) -> None:
    bot.send("/站会 今天：审核脚本 @carol +任务")

    assert bot.send("/站会 今天：审核脚本 @carol，写稿 +任务").splitlines()[-2:] == [
        "  已新增任务 #2",
        "  已有任务，未重复新增：审核脚本 #1",
    ]
    assert _tasks(bot) == [
        (1, "carol", "审核脚本", "2026-11-23", "open"),
        (2, "alice", "写稿", "2026-11-23", "open"),
    ]


@pytest.mark.parametrize(
    "line",
    [
        "/standup edit",
        "/standup show",
        "/standup help",
        "/standup ?",
        "/站会 修改",
        "/站会 查看",
        "/站会 帮助",
        "／站会 ？",
    ],
)
def test_sub_words_alone_are_never_stored(bot: BotDriver, line: str) -> None:
    assert not bot.send(line).startswith("✅")
    assert bot.export()["standups"] == []


def test_show_your_answer_of_today(bot: BotDriver) -> None:
    assert bot.send("/站会 查看") == (
        "你今天（11-23）还没有回复站会。回复：/站会 昨天：… | 今天：… | 阻碍：…"
    )
    bot.send(FULL_ANSWER)
    bot.clock.advance(timedelta(minutes=5))
    bot.send("/站会 阻碍：服务器挂了")

    assert bot.send("/standup show").splitlines() == [
        "Alice 的站会（11-23，10:05 回复）",
        "  昨天：完成选题会",
        "  今天：写推文初稿",
        "  🚧 阻碍：服务器挂了",
    ]
    assert bot.send("@bob /站会 查看").startswith("你今天（11-23）还没有回复站会")


def test_edit_alone_explains_how_and_shows_the_answer(bot: BotDriver) -> None:
    how = (
        "要修改今天的站会，再发一次，只写要改的部分，其余部分保持不变。例如 /站会 阻碍：服务器挂了"
    )
    assert bot.send("/站会 修改") == how
    bot.send(FULL_ANSWER)

    assert bot.send("/standup edit").splitlines() == [
        how,
        "你现在的回答：",
        "  昨天：完成选题会",
        "  今天：写推文初稿",
        "  🚧 阻碍：等设计素材",
    ]
    assert _answer(bot)[1:4] == ("完成选题会", "写推文初稿", "等设计素材")


def test_edit_with_labelled_parts_is_an_answer_again(bot: BotDriver) -> None:
    bot.send(FULL_ANSWER)

    assert bot.send("/standup edit 今天：写稿").splitlines()[0] == (
        "✅ 已更新 Alice 的站会（11-23）：今天"
    )
    assert _answer(bot)[1:4] == ("完成选题会", "写稿", "等设计素材")


def test_edit_as_the_first_answer_is_saved(bot: BotDriver) -> None:
    assert bot.send("/站会 修改 今天：写稿 +任务").splitlines() == [
        "✅ 已记录 Alice 的站会（11-23）",
        "  今天：写稿",
        "  已新增任务 #1",
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            "/站会 修改 推文初稿",
            "「修改」后面要写明改哪一部分，所以这条没有记录。例如 /站会 修改 今天：推文初稿；"
            "若「修改 推文初稿」就是今天的计划，请写 /站会 今天：修改 推文初稿",
        ),
        (
            "/站会 查看 数据",
            "「查看」后面不接内容，所以这条没有记录。若「查看 数据」是你的站会回答，"
            "请写明部分，例如 /站会 今天：查看 数据",
        ),
        (
            "/站会 帮助 新人 排版",
            "「帮助」后面不接内容，所以这条没有记录。若「帮助 新人 排版」是你的站会回答，"
            "请写明部分，例如 /站会 今天：帮助 新人 排版",
        ),
        (
            "/standup show the client the draft",
            "「show」后面不接内容，所以这条没有记录。若「show the client the draft」是你的"
            "站会回答，请写明部分，例如 /站会 今天：show the client the draft",
        ),
    ],
)
def test_a_sub_word_with_unlabelled_text_is_refused_and_stores_nothing(
    bot: BotDriver, line: str, reason: str
) -> None:
    bot.send(FULL_ANSWER)

    assert bot.send(line) == f"❌ {reason}"
    assert _answer(bot)[1:4] == ("完成选题会", "写推文初稿", "等设计素材")


def test_the_words_as_part_of_an_answer_are_still_an_answer(bot: BotDriver) -> None:
    bot.send("/站会 今天：修改 推文初稿")
    assert _answer(bot)[1:4] == (None, "修改 推文初稿", None)
    bot.send("/站会 修改推文初稿")  # one word, not the sub-word
    assert _answer(bot)[1:4] == (None, "修改推文初稿", None)


def test_help_lists_the_answer_show_and_edit(bot: BotDriver) -> None:
    help_text = bot.send("/help standup")

    assert [line for line in help_text.splitlines() if line.startswith("/standup")] == [
        "/standup /站会 · 站会：昨天、今天、阻碍；不带内容时查看谁还没回复",
        USAGE,
        "/standup show",
        "/standup edit [昨天：…] [今天：…] [阻碍：…] [+任务]",
        "/standup form",
        "/standup history [@成员|全部] [开始 结束|本周|上周|本月|上月]",
    ]
    assert bot.send("/站会 帮助") == help_text
    assert bot.send("/standup help") == help_text


def test_status_alone_is_unchanged(bot: BotDriver) -> None:
    bot.send(FULL_ANSWER)
    bot.send("/站会 问题：服务器挂了")

    assert bot.send("/站会").splitlines() == [
        "🧍 站会 11-23 · 已回复 1/4",
        "  未回复：Bob, Carol, Dave",
        "  Alice  写推文初稿",
        "🚧 阻碍",
        "  Alice：服务器挂了",
    ]


def test_english_edits(bot_en: BotDriver) -> None:
    bot_en.send(
        "/standup yesterday: topic meeting | today: draft q1, reply q3 | blockers: none +tasks"
    )

    assert bot_en.send("/standup blockers: no footage").splitlines() == [
        "✅ Updated Alice's stand-up (11-23): blockers",
        "  Yesterday: topic meeting",
        "  Today: draft q1, reply q3",
        "  🚧 Blockers: no footage",
    ]
    assert bot_en.send("/standup today: draft, edit video +tasks").splitlines()[-3:] == [
        "  🚧 Blockers: no footage",
        "  Tasks added: #3",
        "  Already tasks, not added again: draft #1",
    ]
    assert bot_en.send("/standup show").splitlines()[0] == (
        "Alice's stand-up (11-23, answered 10:00)"
    )
    assert bot_en.send("/standup edit the video") == (
        '❌ Name the part after "edit"; nothing was saved. E.g. /standup edit today: the video; '
        'if "edit the video" is your plan for today, write /standup today: edit the video'
    )
    assert [(row["text"], row["owner"]) for row in bot_en.export()["tasks"]] == [
        ("draft", "alice"),
        ("reply", "alice"),
        ("edit video", "alice"),
    ]
    (row,) = bot_en.export()["standups"]
    assert (row["yesterday"], row["today"], row["blockers"]) == (
        "topic meeting", "draft, edit video", "no footage",
    )  # fmt: skip
