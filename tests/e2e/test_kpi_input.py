"""KPI input is understood or refused: numbers with separators, `：` in pairs, relative
dates, `/kpi delete`, and CSV lines whose fields do not line up with the header.

Every test asserts both the reply and what is stored (or that nothing is).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.kpi_import import ImportReport, import_kpi_csv, render_import_report
from storage.db import transaction
from tests.conftest import BotDriver
from tests.e2e.test_cli import opsbot

USAGE_LOG = "用法：/kpi log <平台> [日期] <指标>=<数值>…"
USAGE_DELETE = "用法：/kpi delete <平台> <日期> [指标]"


def kpis(bot: BotDriver) -> list[tuple[str, str, str, float]]:
    rows = bot.export()["kpi_daily"]
    return sorted((k["platform"], k["day"], k["metric"], k["value"]) for k in rows)


# --- chat: separators, numbers, dates -------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "/数据 记录 公众号 阅读：12000",
        "/数据 记录 公众号 阅读:12000",
        "/数据 记录 公众号 阅读＝12000",
        "/数据 记录 公众号 阅读=12000",
        "/数据 记录 公众号 阅读=12,000",
        "/数据 记录 公众号 阅读：12，000",
        "/数据 记录 公众号 阅读=1.2万",
        "/数据 记录 公众号 阅读=1.2w",
        "/数据 记录 公众号 阅读=12k",
    ],
)
def test_every_way_of_writing_a_pair_stores_the_same(bot: BotDriver, line: str) -> None:
    assert bot.send(line) == "✅ 公众号 11月23日 周一 已记录：阅读 12,000"
    assert kpis(bot) == [("wechat", "2026-11-23", "reads", 12000)]


def test_a_full_width_colon_is_a_pair_not_a_date(bot: BotDriver) -> None:
    reply = bot.send("/数据 记录 公众号 阅读：12000 分享：340 新增关注:150")

    assert reply == "✅ 公众号 11月23日 周一 已记录：阅读 12,000 · 分享 340 · 新增关注 150"
    assert "不是日期" not in reply
    assert kpis(bot) == [
        ("wechat", "2026-11-23", "new_followers", 150),
        ("wechat", "2026-11-23", "reads", 12000),
        ("wechat", "2026-11-23", "shares", 340),
    ]


def test_pairs_glued_with_a_chinese_comma_are_read_as_pairs(bot: BotDriver) -> None:
    assert bot.send("/数据 记录 公众号 阅读=12,000，分享=340、点赞：1.5k") == (
        "✅ 公众号 11月23日 周一 已记录：阅读 12,000 · 分享 340 · 点赞 1,500"
    )
    assert kpis(bot) == [
        ("wechat", "2026-11-23", "likes", 1500),
        ("wechat", "2026-11-23", "reads", 12000),
        ("wechat", "2026-11-23", "shares", 340),
    ]


def test_large_and_fractional_values(bot: BotDriver) -> None:
    assert bot.send("/kpi log wechat reads=1,234,567 revenue=12000.5 plays=1.5亿") == (
        "✅ 公众号 11月23日 周一 已记录：阅读 1,234,567 · 收入 12,000.5 · 播放 150,000,000"
    )
    assert kpis(bot) == [
        ("wechat", "2026-11-23", "plays", 150_000_000),
        ("wechat", "2026-11-23", "reads", 1234567),
        ("wechat", "2026-11-23", "revenue", 12000.5),
    ]


@pytest.mark.parametrize(
    ("words", "day"),
    [("昨天", "2026-11-22"), ("前天", "2026-11-21"), ("yesterday", "2026-11-22")],
)
def test_the_date_may_be_yesterday(bot: BotDriver, words: str, day: str) -> None:
    shown = {"2026-11-22": "11月22日 周日", "2026-11-21": "11月21日 周六"}[day]
    assert bot.send(f"/数据 记录 公众号 {words} 阅读：12000") == (
        f"✅ 公众号 {shown} 已记录：阅读 12,000"
    )
    assert kpis(bot) == [("wechat", day, "reads", 12000)]


def test_a_day_of_another_year_is_echoed_with_its_year(bot: BotDriver) -> None:
    assert bot.send("/kpi log wechat 2025-11-22 reads=5") == (
        "✅ 公众号 2025年11月22日 周六 已记录：阅读 5"
    )
    assert kpis(bot) == [("wechat", "2025-11-22", "reads", 5)]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            "/数据 记录 公众号 阅读=1,2",
            "「阅读=1,2」：「1,2」里的逗号不是千位分隔符（每三位一个，如 12,000），请写 12000 或 12,000",
        ),
        (
            "/数据 记录 公众号 阅读=12,00",
            "「阅读=12,00」：「12,00」里的逗号不是千位分隔符（每三位一个，如 12,000），请写 12000 或 12,000",
        ),
        (
            "/数据 记录 公众号 阅读：1,2345",
            "「阅读：1,2345」：「1,2345」里的逗号不是千位分隔符（每三位一个，如 12,000），请写 12000 或 12,000",
        ),
        ("/数据 记录 公众号 阅读=-5", "「阅读=-5」：「-5」是负数，数值必须是 0 或以上"),
        (
            "/数据 记录 公众号 阅读：－1.2万",
            "「阅读：－1.2万」：「－1.2万」是负数，数值必须是 0 或以上",
        ),
        (
            "/数据 记录 公众号 阅读=很多",
            "「阅读=很多」：「很多」不是数字，请写 12000、12,000 或 1.2万",
        ),
        ("/数据 记录 公众号 阅读=", "「阅读=」缺少数值，请写 阅读=12000"),
        ("/数据 记录 公众号 阅读", "「阅读」缺少数值，请写 阅读=12000"),
        ("/数据 记录 公众号 11-22 阅读 12000", "「阅读」缺少数值，请写 阅读=12000"),
        ("/数据 记录 公众号 阅读12000", "「阅读12000」不是 指标=数值 的格式"),
        ("/数据 记录 公众号 ：12000", "「：12000」不是 指标=数值 的格式"),
        ("/数据 记录 公众号 阅读=1 12000", "「12000」不是 指标=数值 的格式"),
        ("/数据 记录 公众号 心情：5", "不认识的指标「心情」"),
        # one bad pair refuses the whole line: the good pair before it is not stored
        ("/数据 记录 公众号 分享=340 阅读=1,2", "「阅读=1,2」：「1,2」里的逗号不是千位分隔符"),
    ],
)
def test_a_wrong_pair_is_named_and_nothing_is_stored(
    bot: BotDriver, line: str, reason: str
) -> None:
    reply = bot.send(line)

    assert reply.startswith(f"❌ {reason}"), reply
    assert reply.endswith(USAGE_LOG)
    assert "不是日期" not in reply
    assert kpis(bot) == []


def test_negative_and_not_a_number_are_distinct_in_english(bot_en: BotDriver) -> None:
    assert bot_en.send("/kpi log wechat reads=-5").startswith(
        '❌ "reads=-5": "-5" is negative: a value must be 0 or more'
    )
    assert bot_en.send("/kpi log wechat reads=abc").startswith(
        '❌ "reads=abc": "abc" is not a number: write 12000, 12,000 or 1.2万'
    )
    assert bot_en.send("/kpi log wechat reads=1,2").startswith(
        '❌ "reads=1,2": "1,2": the comma is not a thousands separator'
    )
    assert kpis(bot_en) == []


def test_targets_and_post_metrics_take_the_same_pairs(bot: BotDriver) -> None:
    assert (
        bot.send("/数据 目标 公众号 2026-11 阅读：20万") == "✅ 公众号 2026-11 目标：阅读 200,000"
    )
    bot.send("/publish add 冬季护肤指南 p:wechat 今天 20:00")
    assert bot.send("/数据 文章 1 阅读：12,300") == "✅ 《冬季护肤指南》 的数据已记录：阅读 12,300"
    assert bot.send("/数据 文章 1 阅读=1,23").startswith("❌ 「阅读=1,23」：")

    assert [(t["metric"], t["value"]) for t in bot.export()["targets"]] == [("reads", 200000)]
    assert bot.export()["post_metrics"] == [{"post_id": 1, "metric": "reads", "value": 12300}]


# --- /kpi delete ----------------------------------------------------------------------


def _log_the_22nd(bot: BotDriver) -> None:
    assert bot.send("/数据 记录 公众号 11-22 阅读=12000 分享=340").startswith("✅")
    assert bot.send("/数据 记录 公众号 11-23 阅读=500").startswith("✅")


def test_delete_a_whole_day_echoes_every_value(bot: BotDriver) -> None:
    _log_the_22nd(bot)

    assert (
        bot.send("@bob /数据 删除 公众号 11-22")
        == "✅ 已删除 公众号 11月22日 周日 的 阅读 12,000 · 分享 340"
    )
    assert kpis(bot) == [("wechat", "2026-11-23", "reads", 500)]


def test_delete_one_metric_keeps_the_others(bot: BotDriver) -> None:
    _log_the_22nd(bot)

    assert (
        bot.send("/kpi delete wechat yesterday 转发")
        == "✅ 已删除 公众号 11月22日 周日 的 分享 340"
    )
    assert kpis(bot) == [
        ("wechat", "2026-11-22", "reads", 12000),
        ("wechat", "2026-11-23", "reads", 500),
    ]


def test_delete_a_day_with_nothing_stored_says_so(bot: BotDriver) -> None:
    _log_the_22nd(bot)
    before = kpis(bot)

    assert (
        bot.send("/数据 删除 公众号 11-21")
        == "公众号 11月21日 周六 没有记录任何数据，没有删除任何内容"
    )
    assert (
        bot.send("/数据 删除 公众号 11-22 点赞")
        == "公众号 11月22日 周日 没有记录点赞，没有删除任何内容"
    )
    assert (
        bot.send("/数据 删除 小红书 11-22")
        == "小红书 11月22日 周日 没有记录任何数据，没有删除任何内容"
    )
    assert kpis(bot) == before


def test_members_may_not_delete(bot: BotDriver) -> None:
    _log_the_22nd(bot)
    before = kpis(bot)

    assert (
        bot.send("@dave /数据 删除 公众号 11-22") == "❌ 只有管理员和编辑可以删除数据（/数据 删除）"
    )
    assert kpis(bot) == before


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("/数据 删除", "缺少平台"),
        ("/数据 删除 公众号", "缺少日期，例如 11-22 或 昨天"),
        ("/数据 删除 公众号 阅读", "缺少日期，例如 11-22 或 昨天"),
        ("/数据 删除 公众号 11-22 心情", "不认识的指标「心情」"),
        ("/数据 删除 公众号 十一月", "「十一月」不是日期"),
        ("/数据 删除 myspace 11-22", "不认识平台「myspace」"),
    ],
)
def test_bad_delete_input_deletes_nothing(bot: BotDriver, line: str, reason: str) -> None:
    _log_the_22nd(bot)
    before = kpis(bot)

    reply = bot.send(line)

    assert reply.startswith(f"❌ {reason}"), reply
    assert reply.endswith(USAGE_DELETE)
    assert kpis(bot) == before


def test_delete_in_english(bot_en: BotDriver) -> None:
    bot_en.send("/kpi log wechat 11-22 reads=12000 shares=340")

    assert (
        bot_en.send("/kpi delete wechat 11-22 reads")
        == "✅ Deleted WeChat Sun 22 Nov: reads 12,000"
    )
    assert bot_en.send("/kpi delete wechat 11-22 reads") == (
        "No reads is stored for WeChat on Sun 22 Nov; nothing was deleted"
    )
    assert bot_en.send("@dave /kpi delete wechat 11-22") == (
        "❌ Only admins and editors can delete figures (/kpi delete)"
    )
    assert kpis(bot_en) == [("wechat", "2026-11-22", "shares", 340)]


# --- CSV ------------------------------------------------------------------------------


def _import(bot: BotDriver, text: str, platform: str | None = "wechat") -> ImportReport:
    with transaction(bot.bot.engine) as session:
        return import_kpi_csv(
            session, text.encode(), team_id="content", content_platforms=bot.bot.content_platforms,
            default_platform=platform, today=bot.clock.now().date(), now=bot.clock.now(),
        )  # fmt: skip


def _rejections(report: ImportReport) -> list[tuple[int, str, dict[str, str]]]:
    return [(r.line, r.key, r.params) for r in report.rejected]


def test_an_unquoted_thousands_separator_rejects_the_line(bot: BotDriver) -> None:
    data = (
        "date,platform,metric,value\n"
        "2026-11-09,wechat,likes,500\n"
        "2026-11-10,wechat,likes,12,000\n"
        '2026-11-11,wechat,likes,"12,000"\n'
    )

    report = _import(bot, data, platform=None)

    assert (report.imported, report.updated, report.unchanged) == (2, 0, 0)
    assert _rejections(report) == [
        (3, "import.reject.too_many_fields", {"found": "5", "expected": "4"}),
    ]
    assert kpis(bot) == [
        ("wechat", "2026-11-09", "likes", 500),
        ("wechat", "2026-11-11", "likes", 12000),
    ]
    assert render_import_report(report, bot.bot.t).sections[0].lines == [
        '第 3 行：这一行有 5 个字段，表头只有 4 个；带千位分隔符的数字请加引号（"12,000"）'
        "或去掉逗号（12000）"
    ]


def test_numbers_in_fields_go_through_the_same_reader(bot: BotDriver) -> None:
    data = (
        "日期,阅读次数,分享次数\n"
        '2026-11-16,"12,000",1.2万\n'
        '2026-11-17,"1,2",10\n'
        "2026-11-18,100,-5\n"
        "2026-11-19,abc,1\n"
        "2026-11-20,100\n"
        "2026-11-21,100,10,\n"
        '2026-11-22,"1,234,567",3.5k\n'
    )

    report = _import(bot, data)

    assert report.imported == 2
    assert _rejections(report) == [
        (3, "import.reject.not_a_group", {"value": "1,2", "column": "阅读次数"}),
        (4, "import.reject.negative", {"value": "-5", "column": "分享次数"}),
        (5, "import.reject.number", {"value": "abc", "column": "阅读次数"}),
        (6, "import.reject.too_few_fields", {"found": "2", "expected": "3"}),
        (7, "import.reject.too_many_fields", {"found": "4", "expected": "3"}),
    ]
    assert kpis(bot) == [
        ("wechat", "2026-11-16", "reads", 12000),
        ("wechat", "2026-11-16", "shares", 12000),
        ("wechat", "2026-11-22", "reads", 1234567),
        ("wechat", "2026-11-22", "shares", 3500),
    ]
    assert render_import_report(report, bot.bot.t).sections[0].lines == [
        "第 3 行：阅读次数 的「1,2」里的逗号不是千位分隔符（每三位一个，如 12,000）",
        "第 4 行：分享次数 的「-5」是负数，数值必须是 0 或以上",
        "第 5 行：阅读次数 的「abc」不是数字",
        "第 6 行：这一行只有 2 个字段，表头有 3 个；空着的值也要留下逗号（如 2026-11-16,100,,4）",
        '第 7 行：这一行有 4 个字段，表头只有 3 个；带千位分隔符的数字请加引号（"12,000"）'
        "或去掉逗号（12000）",
    ]


def test_the_import_command_rejects_a_misaligned_line_and_exits_1(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "config.yaml").write_text(
        (root / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "likes.csv").write_text(
        "date,platform,metric,value\n2026-11-10,wechat,likes,12,000\n2026-11-11,wechat,likes,7\n",
        encoding="utf-8",
    )
    env = {"OPSBOT_NOW": "2026-11-23T10:00:00+08:00"}

    result = opsbot("kpi", "import", "likes.csv", cwd=tmp_path, env=env)

    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[0] == (
        "⚠️ 导入完成（长表）：新增 1 行 · 更新 0 行 · 未变 0 行 · 拒绝 1 行"
    )
    assert "第 2 行：这一行有 5 个字段，表头只有 4 个；带千位分隔符的数字请加引号" in result.stdout
