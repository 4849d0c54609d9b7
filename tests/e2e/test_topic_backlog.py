"""A content team captures, ranks and trims its topic backlog through the console."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import BotDriver, BotFactory


def test_capture_a_topic_with_score_and_priority(bot: BotDriver) -> None:
    reply = bot.send("/topic add 双十一选题 #促销 p:wechat t:5 v:4 c:4")

    assert reply == "✅ 选题 #1「双十一选题」已保存 · 公众号 · #促销 · 评分 4.33 · 优先级 高"
    topic = bot.topic(1)
    assert topic["title"] == "双十一选题"
    assert topic["tags"] == ["促销"]
    assert topic["platform"] == "wechat"
    assert (topic["timeliness"], topic["value"], topic["conversion"]) == (5, 4, 4)
    assert topic["score"] == 4.33
    assert topic["priority"] == "high"
    assert topic["status"] == "idea"
    assert topic["created_by"] == "alice"
    assert topic["created_at"] == "2026-11-23T10:00:00+08:00"


def test_chinese_aliases_and_platform_names(bot: BotDriver) -> None:
    reply = bot.send("/选题 新增 冬至节气海报 #节日 p:小红书 t:5 v:4 c:4")

    assert reply.startswith("✅ 选题 #1「")
    assert bot.topic(1)["platform"] == "xiaohongshu"
    bot.send("／选题 新增 第二个 p：xhs")  # full-width slash and colon from a Chinese IME
    assert bot.topic(2)["platform"] == "xiaohongshu"


def test_ratings_default_to_three_and_set_the_priority_band(bot: BotDriver) -> None:
    assert bot.send("/topic add 普通选题").endswith("评分 3.00 · 优先级 中")
    assert bot.send("/topic add 刚好高 t:4 v:4 c:4").endswith("评分 4.00 · 优先级 高")
    assert bot.send("/topic add 中 t:3 v:2 c:3").endswith("评分 2.67 · 优先级 中")
    assert bot.send("/topic add 刚好中 t:2 v:3 c:3 ").endswith("评分 2.67 · 优先级 中")
    assert bot.send("/topic add 刚好不到中 t:1 v:3 c:3").endswith("评分 2.33 · 优先级 低")
    assert bot.send("/topic add 低 t:1 v:2 c:3").endswith("评分 2.00 · 优先级 低")


def test_scoring_weights_come_from_config(make_bot: BotFactory) -> None:
    bot = make_bot(scoring={"timeliness": 2, "value": 1, "conversion": 1})

    assert bot.send("/topic add 热门 t:5 v:3 c:3").endswith("评分 4.00 · 优先级 高")


def test_list_orders_by_priority_score_votes_then_age(bot: BotDriver) -> None:
    bot.send("/topic add 老的中等 t:3 v:3 c:3")
    bot.send("/topic add 高分 t:5 v:5 c:4")
    bot.send("/topic add 新的中等 t:3 v:3 c:3")
    bot.send("/topic add 有票的中等 t:3 v:3 c:3")
    bot.send("/topic add 低分 t:1 v:1 c:1")
    bot.send("@bob /topic vote 4")

    listing = bot.send("/topic list").splitlines()

    assert listing[0] == "选题库 · 5 个"
    titles = [line.split()[3] for line in listing[1:]]
    assert titles == ["高分", "有票的中等", "老的中等", "新的中等", "低分"]
    assert "👍1" in listing[2]


def test_list_filters(bot: BotDriver) -> None:
    bot.send("/topic add 节日海报 #节日 p:xhs t:5 v:5 c:5")
    bot.send("@bob /topic add 促销长文 #促销 p:wechat t:3 v:3 c:3")
    bot.send("@bob /topic add 低优先 #促销 t:1 v:1 c:1")

    def titles(line: str) -> list[str]:
        return [row.split()[3] for row in bot.send(line).splitlines()[1:]]

    assert titles("/topic list mine") == ["节日海报"]
    assert titles("/topic list #促销") == ["促销长文", "低优先"]
    assert titles("/topic list p:公众号") == ["促销长文"]
    assert titles("/topic list high") == ["节日海报"]
    assert titles("/选题 列表 低 #促销") == ["低优先"]
    assert bot.send("/topic list #没有") == "没有符合条件的选题。用 /选题 新增 <标题> 记下一个吧"


def test_list_all_includes_dropped_topics_with_their_status(bot: BotDriver) -> None:
    bot.send("/topic add 留下")
    bot.send("/topic add 放弃的")
    bot.send("/topic drop 2 重复")

    assert "放弃的" not in bot.send("/topic list")
    everything = bot.send("/topic list all")
    assert "放弃的" in everything and "已放弃" in everything


def test_one_vote_per_member(bot: BotDriver) -> None:
    bot.send("/topic add 双十一选题")

    assert bot.send("@bob /topic vote 1") == "✅ 已为 #1「双十一选题」投票 · 共 1 票"
    assert bot.send("@bob /topic vote #1") == "你已经给 #1「双十一选题」投过票了 · 共 1 票"
    assert bot.send("@carol /选题 投票 1") == "✅ 已为 #1「双十一选题」投票 · 共 2 票"
    assert bot.topic(1)["votes"] == 2
    assert [(v["topic_id"], v["member"]) for v in bot.export()["votes"]] == [
        (1, "bob"),
        (1, "carol"),
    ]


def test_hot_topic_gets_timeliness_five_and_a_deadline(bot: BotDriver) -> None:
    reply = bot.send("/topic hot 双十一战报 #促销 p:wechat v:4 c:4")

    assert reply == (
        "✅ 🔥 热点 #1「双十一战报」已保存 · 评分 4.33 · 优先级 高 · 11-23 14:00 前出稿（4 小时）"
    )
    topic = bot.topic(1)
    assert topic["hot"] is True
    assert topic["timeliness"] == 5
    assert topic["deadline"] == "2026-11-23T14:00:00+08:00"
    assert "🔥 11-23 14:00 截止" in bot.send("/topic list")


def test_hot_topic_hours_come_from_the_team_schedule(make_bot: BotFactory) -> None:
    bot = make_bot(team={"schedule": {"hot_topic_hours": 2}})
    bot.send("/选题 热点 突发新闻")
    assert bot.topic(1)["deadline"] == "2026-11-23T12:00:00+08:00"


def test_rescore_changes_score_and_priority(bot: BotDriver) -> None:
    bot.send("/topic add 用户故事征集")
    bot.clock.advance(timedelta(hours=1))

    assert bot.send("/topic score 1 t:5 v:5") == "✅ #1 重新评分 3.00 → 4.33 · 优先级 高"
    topic = bot.topic(1)
    assert (topic["timeliness"], topic["value"], topic["conversion"]) == (5, 5, 3)
    assert topic["updated_at"] == "2026-11-23T11:00:00+08:00"


def test_edit_title_tags_and_platform(bot: BotDriver) -> None:
    bot.send("/topic add 旧标题 #旧 p:wechat")

    assert bot.send("/topic edit 1 新标题 #新 #视频 p:抖音").startswith("✅ #1「新标题」已修改")
    topic = bot.topic(1)
    assert (topic["title"], topic["tags"], topic["platform"]) == (
        "新标题",
        ["新", "视频"],
        "douyin",
    )
    bot.send("/topic edit 1 p:weibo")
    assert bot.topic(1)["title"] == "新标题"
    assert bot.topic(1)["platform"] == "weibo"


def test_drop_with_a_reason(bot: BotDriver) -> None:
    bot.send("/topic add 重复的选题")

    assert bot.send("/选题 放弃 1 和上周重复") == "✅ 已放弃 #1「重复的选题」：和上周重复"
    assert bot.topic(1)["status"] == "dropped"
    assert bot.topic(1)["drop_reason"] == "和上周重复"
    assert bot.send("/topic vote 1") == "❌ #1 已放弃，不能再修改或投票"


def test_only_author_editor_or_admin_may_change_a_topic(bot: BotDriver) -> None:
    bot.send("@bob /topic add 鲍勃的选题")

    assert bot.send("@dave /topic drop 1") == (
        "❌ #1 不是你提的选题，只有提出人、编辑和管理员可以修改"
    )
    assert bot.topic(1)["status"] == "idea"
    assert bot.send("@carol /topic score 1 t:5").startswith("✅")  # carol is an editor
    bot.send("@dave /topic add 戴夫的选题")
    assert bot.send("@dave /topic edit 2 戴夫改过的").startswith("✅")


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        (
            "/topic add",
            "❌ 缺少标题。用法：/topic add <标题> [#标签…] [p:平台] [t:1-5] [v:1-5] [c:1-5]",
        ),
        (
            "/topic add 标题 t:9",
            "❌ t:9 不对，评分是 1 到 5 的整数。用法：/topic add <标题> [#标签…] [p:平台] [t:1-5] [v:1-5] [c:1-5]",
        ),
        ("/topic vote 99", "❌ 没有编号为 #99 的选题。用法：/topic vote <编号>"),
        ("/topic vote abc", "❌ 「abc」不是有效的编号。用法：/topic vote <编号>"),
        ("/topic vote", "❌ 缺少编号。用法：/topic vote <编号>"),
        (
            "/topic score 1",
            "❌ 没有编号为 #1 的选题。用法：/topic score <编号> t:<1-5> v:<1-5> c:<1-5>",
        ),
        (
            "/topic list 奇怪",
            "❌ 不认识的筛选条件「奇怪」。用法：/topic list [mine|all|#标签|p:平台|high|mid|low]",
        ),
        ("/topic edit", "❌ 缺少编号。用法：/topic edit <编号> [新标题…] [#标签…] [p:平台]"),
    ],
)
def test_bad_input_gets_the_reason_and_the_usage_line(
    bot: BotDriver, line: str, reply: str
) -> None:
    assert bot.send(line) == reply
    assert bot.export()["topics"] == []


def test_unknown_platform_lists_the_known_ones(bot: BotDriver) -> None:
    reply = bot.send("/topic add 标题 p:myspace")

    assert reply.startswith("❌ 不认识平台「myspace」，可用：wechat, xiaohongshu, douyin")
    assert bot.export()["topics"] == []


def test_a_huge_title_is_refused_and_nothing_is_stored(bot: BotDriver) -> None:
    reply = bot.send("/topic add " + "长" * 10_000)

    assert reply.startswith("❌ 标题太长（10000 字），最多 200 字")
    assert bot.export()["topics"] == []
    assert bot.send("/topic add " + "长" * 200).startswith("✅")


def test_a_rejected_command_does_not_register_its_speaker(make_bot: BotFactory) -> None:
    bot = make_bot(team={"members": []})  # the console registers only a team's first member
    bot.send("@zed /topic add")
    assert "zed" not in [member["id"] for member in bot.export()["members"]]

    bot.send("@zed /topic add 新人的选题")
    zed = next(member for member in bot.export()["members"] if member["id"] == "zed")
    assert zed["role"] == "admin"


def test_unknown_commands_and_sub_commands(bot: BotDriver) -> None:
    assert bot.send("/launch") == "❌ 没有 /launch 这个命令。发送 /帮助 查看全部命令"
    assert bot.send("hello") == "❌ 我只懂以 / 开头的命令。发送 /帮助 查看全部命令"
    reply = bot.send("/topic frobnicate").splitlines()
    assert reply[0] == "❌ /topic 没有「frobnicate」这个子命令"
    assert "  /topic vote <编号>" in reply


def test_english_replies(bot_en: BotDriver) -> None:
    assert bot_en.send("/topic add Winter guide #skincare p:wechat t:5 v:4 c:4") == (
        '✅ Topic #1 "Winter guide" saved · WeChat · #skincare · score 4.33 · priority high'
    )
    assert bot_en.send("@bob /topic vote 1") == '✅ Voted for #1 "Winter guide" · 1 vote'
    assert bot_en.send("/topic add") == (
        "❌ Missing title. Usage: /topic add <title> [#tag…] [p:platform] [t:1-5] [v:1-5] [c:1-5]"
    )
    assert bot_en.send("/topic list").splitlines()[1].split() == [
        "#1", "high", "4.33", "Winter", "guide", "#skincare", "WeChat", "👍1",
    ]  # fmt: skip


def test_the_backlog_works_the_same_on_every_database(
    make_bot: BotFactory, database_url: str
) -> None:
    bot = make_bot(url=database_url)

    bot.send("/topic add 节日海报 #节日 p:xhs t:5 v:5 c:4")
    bot.send("@Bob /topic add 促销长文 #促销 p:wechat")
    bot.send("@bob /topic vote 1")
    bot.send("@bob /topic vote 1")
    bot.send("/topic drop 2 重复")

    assert bot.send("/topic list all").splitlines()[1:] == [
        "  #1  高 4.67  节日海报  #节日  小红书  👍1",
        "  #2  中 3.00  促销长文  #促销  公众号  已放弃",
    ]
    assert bot.topic(1)["votes"] == 1
    assert [member["id"] for member in bot.export()["members"]].count("bob") == 1
