"""`/playbook` (`/手册`): lessons recorded with their tags and post, found again by tag and
by words (on SQLite and PostgreSQL: the tag test is the database's JSON), shown in the
digest beside a post tagged alike, and exported."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.core.clock import FrozenClock
from bot.runtime.app import OpsBot
from tests.conftest import DEFAULT_NOW, BotDriver, make_settings


@pytest.fixture
def bot(database_url: str) -> Iterator[BotDriver]:
    opsbot = OpsBot.open(make_settings(database_url), FrozenClock(DEFAULT_NOW))
    yield BotDriver(opsbot, opsbot.clock)  # type: ignore[arg-type]
    opsbot.engine.dispose()


def test_a_lesson_is_stored_as_typed_with_its_tags_and_post(bot: BotDriver) -> None:
    bot.send("/发布 新增 冬至海报 p:公众号 明天 20:00")

    reply = bot.send("/手册 新增 节气海报提前三天发，阅读高一倍 #冬至 #成功经验 post 1")

    assert reply.startswith("✅ 已记入手册：#1 节气海报提前三天发，阅读高一倍（2026-11-23）")
    assert "#冬至 #成功经验" in reply and "来自《冬至海报》（发布 #1）" in reply
    (lesson,) = bot.export()["playbook"]
    assert lesson["text"] == "节气海报提前三天发，阅读高一倍"
    assert lesson["tags"] == ["冬至", "成功经验"] and lesson["post_id"] == 1
    assert lesson["created_by"] == "alice"


def test_a_hash_inside_the_lesson_stays_in_its_text(bot: BotDriver) -> None:
    bot.send("/playbook add titles that start with #数字 do better #标题")
    (lesson,) = bot.export()["playbook"]
    assert lesson["text"] == "titles that start with #数字 do better"
    assert lesson["tags"] == ["标题"]


def test_what_it_cannot_store_it_refuses_and_stores_nothing(bot: BotDriver) -> None:
    assert "经验的内容是空的" in bot.send("/手册 新增 #冬至")
    assert "没有编号为 #9 的稿子" in bot.send("/手册 新增 早点发 post 9")
    assert "「冬至」不是有效的编号" in bot.send("/手册 新增 早点发 post 冬至")  # not kept as text
    assert "最多 1000 字" in bot.send("/手册 新增 " + "长" * 1001)
    assert bot.export()["playbook"] == []


def test_lessons_are_found_by_tag_and_by_words(bot: BotDriver) -> None:
    bot.send("/手册 新增 节气海报提前三天发 #冬至 #成功经验")
    bot.send("/手册 新增 直播前一天预热，转化翻倍 #直播 #成功经验")
    bot.send("/手册 新增 冬至推文标题太长，打开率低 #冬至 #失败教训")
    bot.send("/playbook add 100% giveaways bring followers who leave #活动")

    by_tag = bot.send("/手册 #冬至")
    assert "手册里「#冬至」的经验 · 2 条" in by_tag
    assert by_tag.index("#3 冬至推文标题太长") < by_tag.index("#1 节气海报")  # newest first
    assert "直播" not in by_tag
    both = bot.send("/手册 #冬至 #成功经验")
    assert "· 1 条" in both and "#1 节气海报" in both
    words = bot.send("/手册 转化")
    assert "#2 直播前一天预热" in words and "冬至" not in words.split("\n", 1)[1]
    assert "#4 100% giveaways" in bot.send("/playbook GIVEAWAYS")
    assert "100%" in bot.send("/playbook 100%") and "#1" not in bot.send("/playbook 100%")
    assert "没有「#春节」的经验" in bot.send("/手册 #春节")
    assert "运营手册 · 共 4 条" in bot.send("/手册")


def test_only_the_author_an_editor_or_an_admin_deletes_a_lesson(bot: BotDriver) -> None:
    bot.send("@dave /手册 新增 周五发热点 #热点")
    bot.send("/手册 新增 别在周日发长文 #排期")

    assert "只有记录这条经验的人" in bot.send("@dave /手册 删除 2")
    assert "已从手册删除：#1 周五发热点" in bot.send("@dave /手册 删除 1")
    assert "已从手册删除：#2" in bot.send("@bob /playbook delete 2")
    assert bot.export()["playbook"] == []


def test_the_digest_shows_a_lesson_tagged_like_a_post_of_the_day(bot: BotDriver) -> None:
    bot.send("/手册 新增 节气海报提前三天发 #冬至")
    bot.send("/选题 新增 冬至海报 #冬至 p:公众号")
    bot.send("/发布 新增 冬至海报 p:公众号 今天 20:00")
    plain = bot.send("/日报")
    assert "📒 手册" not in plain  # the post has no topic, so no tags

    bot.send("/选题 排期 1 公众号 今天 21:00")
    digest = bot.send("/日报")
    assert "📒 手册（#冬至）：节气海报提前三天发（#1）" in digest


def test_quotes_punctuation_and_a_second_post_are_read_as_meant(bot: BotDriver) -> None:
    bot.send("/发布 新增 冬至海报 p:公众号 明天 20:00")
    bot.send('/手册 新增 "标签在里面 #x" #真')
    bot.send("/手册 新增 复盘：双十一 #失败教训，")
    lessons = bot.export()["playbook"]
    assert [(row["text"], row["tags"]) for row in lessons] == [
        ("标签在里面 #x", ["真"]),
        ("复盘：双十一", ["失败教训"]),
    ]
    assert "只能关联一次发布" in bot.send("/手册 新增 第四条 #时间 post 1 post 1")
    assert "后面要写发布的编号" in bot.send("/手册 新增 测试 #a post")
    assert "没有编号为 #5 的稿子" in bot.send("/手册 新增 测试 post #5")
    assert len(bot.export()["playbook"]) == 2


def test_words_find_tags_too_and_tags_any_case(bot: BotDriver) -> None:
    bot.send("/手册 新增 节气海报提前三天发 #冬至")
    bot.send("/playbook add Short titles win #Titles")
    assert "#1 节气海报提前三天发" in bot.send("/手册 冬至")
    assert "#2 Short titles win" in bot.send("/playbook #titles")


def test_a_deleted_lessons_id_is_never_given_again(bot: BotDriver) -> None:
    bot.send("/手册 新增 第一条")
    bot.send("/手册 新增 第二条")
    bot.send("/手册 删除 2")
    assert bot.send("/手册 新增 第三条").startswith("✅ 已记入手册：#3 第三条")
    assert "已从手册删除：#3" in bot.send("/手册 删除 ３")  # full-width, as typed in Chinese
