"""Logging KPIs in chat, setting targets, quick views, and importing CSV files."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.kpi_import import import_kpi_csv
from storage.db import transaction
from tests.conftest import BotDriver
from tests.e2e.test_cli import opsbot

WECHAT_EXPORT = (
    "日期,阅读次数,阅读人数,分享次数,新关注人数,取消关注人数,净增关注人数,累积关注人数,在看次数\n"
    "2026-11-16,5000,4000,120,300,50,250,50250,7\n"
    "2026-11-17,6000,4500,130,310,40,270,50520,9\n"
)


def kpis(bot: BotDriver) -> list[tuple[str, str, str, float]]:
    return [(k["platform"], k["day"], k["metric"], k["value"]) for k in bot.export()["kpi_daily"]]


def test_log_in_chinese_and_correct_a_day(bot: BotDriver) -> None:
    assert bot.send("/数据 记录 公众号 阅读=12000 分享=340 新增关注=150") == (
        "✅ 公众号 11月23日 周一 已记录：阅读 12,000 · 分享 340 · 新增关注 150"
    )
    assert bot.send("/kpi log wechat today reads=1.3万 转发=340") == (
        "✅ 公众号 11月23日 周一 已记录：阅读 13,000 · 分享 340\n  替换了之前的数据：阅读 12,000 → 13,000"
    )
    assert sorted(kpis(bot)) == [
        ("wechat", "2026-11-23", "new_followers", 150),
        ("wechat", "2026-11-23", "reads", 13000),
        ("wechat", "2026-11-23", "shares", 340),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            "/kpi log wechat reads=abc",
            "「reads=abc」：「abc」不是数字，请写 12000、12,000 或 1.2万",
        ),
        ("/kpi log wechat reads=-5", "「reads=-5」：「-5」是负数，数值必须是 0 或以上"),
        ("/kpi log wechat 心情=5", "不认识的指标「心情」"),
        ("/kpi log wechat reads", "「reads」缺少数值，请写 reads=12000"),
        ("/kpi log wechat reads=1 阅读=2", "阅读 写了两次"),
        ("/kpi log wechat", "缺少数据，例如 阅读=12000"),
        ("/kpi log myspace reads=1", "不认识平台「myspace」"),
        ("/kpi log wechat 12-25 reads=1", "2026-12-25 还没到，不能记录未来的数据"),
    ],
)
def test_bad_kpi_input_stores_nothing(bot: BotDriver, line: str, reason: str) -> None:
    reply = bot.send(line)
    assert reply.startswith(f"❌ {reason}")
    assert reply.endswith("用法：/kpi log <平台> [日期] <指标>=<数值>…")
    assert kpis(bot) == []


def test_targets_are_for_admins(bot: BotDriver) -> None:
    assert bot.send("@bob /kpi target wechat 2026-11 reads=200000") == "❌ 只有管理员可以这样做"
    assert bot.send("/kpi target wechat 2026-11 reads=200000 新增关注=3000") == (
        "✅ 公众号 2026-11 目标：阅读 200,000 · 新增关注 3,000"
    )
    assert bot.export()["targets"] == [
        {
            "team": "content",
            "platform": "wechat",
            "month": "2026-11",
            "metric": "new_followers",
            "value": 3000,
        },
        {
            "team": "content",
            "platform": "wechat",
            "month": "2026-11",
            "metric": "reads",
            "value": 200000,
        },
    ]
    assert bot.send("/kpi target wechat 2026-13 reads=1").startswith("❌ 「2026-13」不是月份")


def test_post_metrics(bot: BotDriver) -> None:
    bot.send("/publish add 冬季护肤指南 p:wechat 今天 20:00")
    assert bot.send("/数据 文章 1 阅读=12300 分享=410") == (
        "✅ 《冬季护肤指南》 的数据已记录：阅读 12,300 · 分享 410"
    )
    assert bot.export()["post_metrics"] == [
        {"post_id": 1, "metric": "reads", "value": 12300},
        {"post_id": 1, "metric": "shares", "value": 410},
    ]
    assert bot.send("/kpi post 9 reads=1").startswith("❌ 没有编号为 #9 的稿子")


def test_quick_views_of_the_week_and_the_month(bot: BotDriver) -> None:
    bot.send("/kpi log wechat 11-02 reads=1000")
    bot.send("/kpi log wechat 11-23 reads=500 followers=50000")
    bot.send("/kpi log wechat 11-22 followers=49000")
    bot.send("/kpi target wechat 2026-11 reads=3000")

    assert bot.send("/kpi show wechat").splitlines() == [
        "📈 本周数据 11-23 – 11-23",
        "公众号",
        "  阅读  500",
        "  关注  50,000",
    ]
    assert bot.send("/kpi show month").splitlines() == [
        "📈 本月数据 11-01 – 11-23",
        "公众号",
        "  阅读  1,500   / 3,000 (50%)",
        "  关注  50,000",
    ]


def _import(bot: BotDriver, data: bytes, platform: str | None = "wechat"):  # type: ignore[no-untyped-def]
    with transaction(bot.bot.engine) as session:
        return import_kpi_csv(
            session, data, team_id="content", content_platforms=bot.bot.content_platforms,
            default_platform=platform, today=bot.clock.now().date(), now=bot.clock.now(),
        )  # fmt: skip


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8", "utf-8-sig"])
def test_wechat_backend_export_in_any_encoding(bot: BotDriver, encoding: str) -> None:
    report = _import(bot, WECHAT_EXPORT.encode(encoding))

    assert (report.imported, report.updated, report.unchanged, report.rejected) == (2, 0, 0, [])
    assert report.ignored_columns == ["在看次数"]  # 净增关注人数 is derived, not stored
    stored = {(day, metric): value for _, day, metric, value in kpis(bot)}
    assert stored == {
        ("2026-11-16", "reads"): 5000, ("2026-11-16", "users"): 4000,
        ("2026-11-16", "shares"): 120, ("2026-11-16", "new_followers"): 300,
        ("2026-11-16", "unfollows"): 50, ("2026-11-16", "followers"): 50250,
        ("2026-11-17", "reads"): 6000, ("2026-11-17", "users"): 4500,
        ("2026-11-17", "shares"): 130, ("2026-11-17", "new_followers"): 310,
        ("2026-11-17", "unfollows"): 40, ("2026-11-17", "followers"): 50520,
    }  # fmt: skip


def test_reimporting_the_same_file_changes_nothing(bot: BotDriver) -> None:
    _import(bot, WECHAT_EXPORT.encode("gb18030"))
    before = kpis(bot)

    report = _import(bot, WECHAT_EXPORT.encode("gb18030"))

    assert (report.imported, report.updated, report.unchanged) == (0, 0, 2)
    assert kpis(bot) == before
    changed = WECHAT_EXPORT.replace("2026-11-17,6000", "2026-11-17,6100").encode()
    report = _import(bot, changed)
    assert (report.imported, report.updated, report.unchanged) == (0, 1, 1)


def test_long_format_with_platforms_in_the_file(bot: BotDriver) -> None:
    data = "date,platform,metric,value\n2026-11-16,xhs,reads,100\n2026-11-16,小红书,收藏,5\n2026-11-16,抖音,plays,9000\n"

    report = _import(bot, data.encode(), platform=None)

    assert (report.shape, report.imported, report.rejected) == ("long", 3, [])
    assert sorted(kpis(bot)) == [
        ("douyin", "2026-11-16", "plays", 9000),
        ("xiaohongshu", "2026-11-16", "favorites", 5),
        ("xiaohongshu", "2026-11-16", "reads", 100),
    ]


def test_wide_format_in_english(bot: BotDriver) -> None:
    data = "date,reads,shares,likes\n2026/11/16,100,10,3\n20261117,200,,4\n"

    report = _import(bot, data.encode(), platform="weibo")

    assert (report.shape, report.imported) == ("wide", 2)
    assert ("weibo", "2026-11-17", "shares", 10) not in kpis(bot)
    assert ("weibo", "2026-11-17", "likes", 4) in kpis(bot)


def test_bad_lines_are_reported_and_never_half_written(bot: BotDriver) -> None:
    data = (
        "日期,阅读次数,分享次数\n"
        "2026-11-16,100,10\n"
        "2026-11-17,200,abc\n"  # reads fine, shares bad: nothing of this line
        "2026-13-01,1,1\n"
        "2026-12-30,1,1\n"
        "2026-11-18,,\n"
        "2026-11-19,300,30\n"
    )

    report = _import(bot, data.encode())

    assert (report.imported, report.updated) == (2, 0)
    assert [(r.line, r.key, r.params) for r in report.rejected] == [
        (3, "import.reject.number", {"value": "abc", "column": "分享次数"}),
        (4, "import.reject.date", {"value": "2026-13-01"}),
        (5, "import.reject.future", {"value": "2026-12-30"}),
        (6, "import.reject.empty", {}),
    ]
    assert {day for _, day, _, _ in kpis(bot)} == {"2026-11-16", "2026-11-19"}


def test_the_import_command_reports_and_sets_the_exit_status(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "config.yaml").write_text(
        (root / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "export.csv").write_bytes(WECHAT_EXPORT.encode("gb18030"))
    (tmp_path / "bad.csv").write_bytes(b"date,reads\n2026-11-16,x\n")
    env = {"OPSBOT_NOW": "2026-11-23T10:00:00+08:00"}

    first = opsbot("kpi", "import", "export.csv", "--platform", "公众号", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert (
        first.stdout.splitlines()[0]
        == "✅ 导入完成（宽表）：新增 2 行 · 更新 0 行 · 未变 0 行 · 拒绝 0 行"
    )
    again = opsbot("kpi", "import", "export.csv", "--platform", "wechat", cwd=tmp_path, env=env)
    assert "新增 0 行 · 更新 0 行 · 未变 2 行" in again.stdout
    bad = opsbot("kpi", "import", "bad.csv", "--platform", "wechat", cwd=tmp_path, env=env)
    assert bad.returncode == 1
    assert "第 2 行：reads 的「x」不是数字" in bad.stdout
    missing = opsbot("kpi", "import", "bad.csv", cwd=tmp_path, env=env)
    assert missing.returncode == 2
    assert "no platform column: give one with --platform" in missing.stderr

    summary = opsbot("summary", "--week", "2026-W47", cwd=tmp_path, env=env)
    assert summary.returncode == 0, summary.stderr
    assert summary.stdout.splitlines()[2].startswith("  阅读 11,000 – ")
