"""KPI files people actually have: Excel workbooks from the creator centres, `;` and tab
separated text, repeated lines, thousands of bad lines, and the WeChat export without
`--platform`.

Every test asserts what is stored (`kpi_daily`) and what the report says.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from handlers.kpi_import import ImportError_, ImportReport, import_kpi_csv, render_import_report
from storage.db import transaction
from tests.conftest import BotDriver
from tests.e2e.test_cli import opsbot


def kpis(bot: BotDriver) -> list[tuple[str, str, str, float]]:
    rows = bot.export()["kpi_daily"]
    return sorted((k["platform"], k["day"], k["metric"], k["value"]) for k in rows)


def _import(
    bot: BotDriver, data: bytes, platform: str | None = None, filename: str | None = None
) -> ImportReport:
    with transaction(bot.bot.engine) as session:
        return import_kpi_csv(
            session, data, team_id="content", content_platforms=bot.bot.content_platforms,
            default_platform=platform, today=bot.clock.now().date(), now=bot.clock.now(),
            filename=filename,
        )  # fmt: skip


def _counts(report: ImportReport) -> tuple[int, int, int, int]:
    return (report.imported, report.updated, report.unchanged, len(report.rejected))


def _lines(bot: BotDriver, report: ImportReport) -> list[str]:
    reply = render_import_report(report, bot.bot.t)
    return [reply.title, *(line for section in reply.sections for line in section.lines)]


def xlsx(*sheets: tuple[str, list[list[Any]]]) -> bytes:
    """A workbook with these sheets (name, rows), as Excel would save it."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets:
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- Excel ----------------------------------------------------------------------------


def test_an_xlsx_export_is_read_from_its_cells(bot: BotDriver) -> None:
    data = xlsx(
        ("说明", [["本表由后台导出"], ["数据口径：自然日"]]),
        (
            "数据",
            [
                ["公众号数据导出 2026-11-16 至 2026-11-17"],
                [],
                ["日期", "阅读次数", "分享次数", "新关注人数", "累积关注人数", "完播率"],
                [date(2026, 11, 16), 12000, 340.0, "1,200", 50250, 0.125],
                [datetime(2026, 11, 17, 0, 0), 12000.5, 0, "", 50520, "12.5%"],
            ],
        ),
    )

    report = _import(bot, data)

    assert _counts(report) == (2, 0, 0, 0)
    assert kpis(bot) == [
        ("wechat", "2026-11-16", "followers", 50250),
        ("wechat", "2026-11-16", "new_followers", 1200),
        ("wechat", "2026-11-16", "reads", 12000),
        ("wechat", "2026-11-16", "shares", 340),
        ("wechat", "2026-11-17", "followers", 50520),
        ("wechat", "2026-11-17", "reads", 12000.5),
        ("wechat", "2026-11-17", "shares", 0),
    ]
    assert _lines(bot, report) == [
        "导入完成（宽表）：新增 2 行 · 更新 0 行 · 未变 0 行 · 拒绝 0 行",
        "文件没有平台列，也没有给 --platform：按表头认作公众号后台的导出",
        "读取的工作表：数据",
        "忽略的列：完播率",
    ]
    again = _import(bot, data)
    assert _counts(again) == (0, 0, 2, 0)


def test_a_bad_cell_of_a_workbook_is_named_by_its_excel_row(bot: BotDriver) -> None:
    data = xlsx(
        (
            "Sheet1",
            [
                ["日期", "播放量", "作品点赞"],
                [date(2026, 11, 16), 9000, 300],
                [date(2026, 11, 17), -5, 2],
                [None, None, None],
                ["2026年11月18日", "1.2万", True],
            ],
        )
    )

    report = _import(bot, data, platform="douyin")

    assert [(r.line, r.key, r.params) for r in report.rejected] == [
        (3, "import.reject.negative", {"value": "-5", "column": "播放量"}),
        (5, "import.reject.number", {"value": "TRUE", "column": "作品点赞"}),
    ]
    assert kpis(bot) == [
        ("douyin", "2026-11-16", "likes", 300),
        ("douyin", "2026-11-16", "plays", 9000),
    ]


def test_creator_centre_daily_headers_are_metric_names(bot: BotDriver) -> None:
    douyin = xlsx(
        (
            "Sheet1",
            [
                [
                    "日期",
                    "播放量",
                    "作品点赞",
                    "作品评论",
                    "作品分享",
                    "净增粉丝",
                    "取关粉丝",
                    "总粉丝量",
                    "主页访问",
                    "完播率",
                ],
                [date(2026, 11, 16), 9000, 300, 20, 15, 40, 5, 12000, 80, 0.31],
            ],
        )
    )
    xiaohongshu = xlsx(
        (
            "Sheet1",
            [
                ["日期", "曝光", "观看", "点赞", "收藏", "评论", "分享", "涨粉", "主页访客"],
                [date(2026, 11, 16), 20000, 1500, 90, 60, 12, 8, 25, 70],
            ],
        )
    )

    first = _import(bot, douyin, platform="douyin")
    second = _import(bot, xiaohongshu, platform="xiaohongshu")

    assert first.ignored_columns == ["主页访问", "完播率"]  # 净增粉丝 is derived, not stored
    assert second.ignored_columns == ["主页访客"]
    assert kpis(bot) == [
        ("douyin", "2026-11-16", "comments", 20),
        ("douyin", "2026-11-16", "followers", 12000),
        ("douyin", "2026-11-16", "likes", 300),
        ("douyin", "2026-11-16", "plays", 9000),
        ("douyin", "2026-11-16", "shares", 15),
        ("douyin", "2026-11-16", "unfollows", 5),
        ("xiaohongshu", "2026-11-16", "comments", 12),
        ("xiaohongshu", "2026-11-16", "favorites", 60),
        ("xiaohongshu", "2026-11-16", "likes", 90),
        ("xiaohongshu", "2026-11-16", "new_followers", 25),
        ("xiaohongshu", "2026-11-16", "reads", 1500),
        ("xiaohongshu", "2026-11-16", "shares", 8),
        ("xiaohongshu", "2026-11-16", "views", 20000),
    ]


def test_daily_creator_centre_headers_do_not_guess_the_platform(bot: BotDriver) -> None:
    data = xlsx(("Sheet1", [["日期", "播放量", "作品点赞"], [date(2026, 11, 16), 9000, 300]]))

    with pytest.raises(ImportError_, match="no platform column: give one with --platform"):
        _import(bot, data)
    assert kpis(bot) == []


@pytest.mark.parametrize(
    ("rows", "export"),
    [
        (
            [
                [
                    "作品名称",
                    "发布时间",
                    "体裁",
                    "审核状态",
                    "播放量",
                    "完播率",
                    "5s完播率",
                    "封面点击率",
                    "2s跳出率",
                    "平均播放时长",
                    "点赞量",
                    "分享量",
                    "评论量",
                    "收藏量",
                    "主页访问量",
                    "粉丝增量",
                ],
                [
                    "冬季护肤指南",
                    datetime(2026, 11, 16, 20, 0),
                    "视频",
                    "公开",
                    9000,
                    0.2,
                    0.5,
                    0.1,
                    0.3,
                    12.5,
                    300,
                    15,
                    20,
                    40,
                    80,
                    12,
                ],
            ],
            "Douyin's 作品列表",
        ),
        (
            [
                ["创作者中心导出"],
                [
                    "笔记标题",
                    "首次发布时间",
                    "体裁",
                    "曝光",
                    "观看量",
                    "封面点击率",
                    "点赞",
                    "评论",
                    "收藏",
                    "涨粉",
                    "分享",
                    "人均观看时长",
                ],
                [
                    "冬季护肤指南",
                    "2026年11月16日 20:00",
                    "图文",
                    20000,
                    1500,
                    "7.5%",
                    90,
                    12,
                    60,
                    25,
                    8,
                    14,
                ],
            ],
            "Xiaohongshu's 笔记列表明细",
        ),
    ],
)
def test_a_per_post_export_is_refused_with_the_reason(
    bot: BotDriver, rows: list[list[Any]], export: str
) -> None:
    with pytest.raises(ImportError_) as refused:
        _import(bot, xlsx(("Sheet1", rows)), platform="douyin")

    assert str(refused.value).startswith(f"this is {export}, one row per post:")
    assert "not imported as daily KPIs" in str(refused.value)
    assert kpis(bot) == []


def test_a_file_named_xlsx_is_read_by_its_content(bot: BotDriver) -> None:
    text = "日期,阅读次数,分享次数\n2026-11-16,100,10\n".encode("gb18030")

    report = _import(bot, text, filename="export.xls")  # a CSV saved with an Excel name
    assert _counts(report) == (1, 0, 0, 0)

    login_page = b'{"BaseResp":{"StatusCode":8,"StatusMessage":"\xe7\x94\xa8\xe6\x88\xb7\xe6\x9c\xaa\xe7\x99\xbb\xe5\xbd\x95"}}'
    with pytest.raises(
        ImportError_, match=r"""not an Excel workbook \(it starts with '\{"BaseResp"""
    ):
        _import(bot, login_page, platform="douyin", filename="作品列表.xlsx")
    with pytest.raises(ImportError_, match="not an Excel workbook"):
        _import(bot, b"\x00\x9f\x92\x96 binary", platform="douyin", filename="data.xlsx")
    with pytest.raises(ImportError_, match="looks like a workbook but cannot be read"):
        _import(bot, b"PK\x03\x04 truncated", platform="douyin")
    assert kpis(bot) == [
        ("wechat", "2026-11-16", "reads", 100),
        ("wechat", "2026-11-16", "shares", 10),
    ]


# --- separators and encodings ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("日期;阅读次数;分享次数\n2026-11-16;12000;340\n2026-11-17;12,000;\n", "utf-8"),
        ("日期;阅读次数;分享次数\n2026-11-16;12000;340\n2026-11-17;12,000;\n", "gb18030"),
        ("日期\t阅读次数\t分享次数\n2026-11-16\t12000\t340\n2026-11-17\t12,000\t\n", "utf-8-sig"),
        # Excel's "Unicode text": UTF-16 with a BOM, tab separated
        (
            "日期\t阅读次数\t分享次数\r\n2026-11-16\t12000\t340\r\n2026-11-17\t12,000\t\r\n",
            "utf-16",
        ),
        # comma separated with a quoted thousands separator and semicolons in a title line
        (
            '公众号;数据;导出\n日期,阅读次数,分享次数\n2026-11-16,12000,340\n2026-11-17,"12,000",\n',
            "utf-8",
        ),
    ],
)
def test_semicolon_tab_and_comma_files_are_told_apart(
    bot: BotDriver, text: str, encoding: str
) -> None:
    report = _import(bot, text.encode(encoding), platform="wechat")

    assert (report.shape, *_counts(report)) == ("wide", 2, 0, 0, 0)
    assert kpis(bot) == [
        ("wechat", "2026-11-16", "reads", 12000),
        ("wechat", "2026-11-16", "shares", 340),
        ("wechat", "2026-11-17", "reads", 12000),
    ]


def test_a_long_semicolon_file(bot: BotDriver) -> None:
    data = "date;platform;metric;value\n2026-11-16;xhs;reads;100\n2026-11-16;抖音;plays;1,2\n"

    report = _import(bot, data.encode())

    assert report.shape == "long"
    assert [(r.line, r.key) for r in report.rejected] == [(3, "import.reject.not_a_group")]
    assert kpis(bot) == [("xiaohongshu", "2026-11-16", "reads", 100)]


# --- the same day twice ---------------------------------------------------------------


def test_a_repeated_day_keeps_the_first_line_and_names_it(bot: BotDriver) -> None:
    data = (
        "日期,阅读次数,分享次数\n"
        "2026-11-16,5000,120\n"
        "2026-11-17,6000,130\n"
        "2026-11-16,6000,120\n"  # the same day again, another value
        "2026-11-16,5000,120\n"  # and again, the same values
    ).encode("gb18030")

    report = _import(bot, data, platform="wechat")

    assert _counts(report) == (2, 0, 0, 2)
    assert kpis(bot) == [
        ("wechat", "2026-11-16", "reads", 5000),
        ("wechat", "2026-11-16", "shares", 120),
        ("wechat", "2026-11-17", "reads", 6000),
        ("wechat", "2026-11-17", "shares", 130),
    ]
    assert _lines(bot, report)[1:] == [
        "第 4 行：公众号 2026-11-16 的「阅读次数」第 2 行已经有了：同一文件里同一天的同一指标只导入第一行",
        "第 5 行：公众号 2026-11-16 的「阅读次数」第 2 行已经有了：同一文件里同一天的同一指标只导入第一行",
    ]

    again = _import(bot, data, platform="wechat")

    assert _counts(again) == (0, 0, 2, 2)  # nothing new, nothing updated
    assert kpis(bot) == [
        ("wechat", "2026-11-16", "reads", 5000),
        ("wechat", "2026-11-16", "shares", 120),
        ("wechat", "2026-11-17", "reads", 6000),
        ("wechat", "2026-11-17", "shares", 130),
    ]


def test_a_repeat_is_found_through_aliases_and_per_platform(bot_en: BotDriver) -> None:
    data = (
        "date,platform,metric,value\n"
        "2026-11-16,wechat,reads,5000\n"
        "2026-11-16,xhs,reads,700\n"  # another platform: not a repeat
        "2026-11-16,公众号,阅读,5100\n"  # wechat reads again, spelled in Chinese
        "2026-11-16,wechat,shares,120\n"  # another metric: not a repeat
    ).encode()

    report = _import(bot_en, data)

    assert _counts(report) == (3, 0, 0, 1)
    assert kpis(bot_en) == [
        ("wechat", "2026-11-16", "reads", 5000),
        ("wechat", "2026-11-16", "shares", 120),
        ("xiaohongshu", "2026-11-16", "reads", 700),
    ]
    assert _lines(bot_en, report)[1] == (
        'line 4: WeChat 2026-11-16 "阅读" is already on line 2: a file gives a day\'s metric '
        "once, and the first line is kept"
    )
    assert _counts(_import(bot_en, data)) == (0, 0, 3, 1)


def test_two_columns_for_one_metric_refuse_the_file(bot: BotDriver) -> None:
    data = "日期,阅读,阅读次数\n2026-11-16,5000,5100\n".encode()

    with pytest.raises(ImportError_, match="'阅读' and '阅读次数' are both the metric 'reads'"):
        _import(bot, data, platform="wechat")
    assert kpis(bot) == []


def test_an_empty_platform_cell_rejects_the_line(bot: BotDriver) -> None:
    data = b"date,platform,reads\n2026-11-16,,5\n2026-11-16,wechat,6\n"

    report = _import(bot, data)

    assert [(r.line, r.key) for r in report.rejected] == [(2, "import.reject.no_platform")]
    assert kpis(bot) == [("wechat", "2026-11-16", "reads", 6)]
    assert _lines(bot, report)[1] == "第 2 行：这一行的平台是空的：请填上平台，或用 --platform 指定"


# --- many rejected lines --------------------------------------------------------------


def test_rejections_are_listed_up_to_twenty_then_counted(bot: BotDriver) -> None:
    bad = "".join(f"2026-11-{1 + n % 20:02d},x{n}\n" for n in range(1025))
    data = f"日期,阅读次数\n2026-11-21,7\n{bad}2026-11-22,8\n".encode()

    report = _import(bot, data, platform="wechat")

    assert _counts(report) == (2, 0, 0, 1025)
    lines = _lines(bot, report)
    assert lines[0] == "导入完成（宽表）：新增 2 行 · 更新 0 行 · 未变 0 行 · 拒绝 1,025 行"
    assert len(lines) == 1 + 20 + 1
    assert lines[1] == "第 3 行：阅读次数 的「x0」不是数字"
    assert lines[20] == "第 22 行：阅读次数 的「x19」不是数字"
    assert lines[21] == "… 另有 1,005 行被拒绝"
    assert kpis(bot) == [("wechat", "2026-11-21", "reads", 7), ("wechat", "2026-11-22", "reads", 8)]


def test_the_count_of_the_rest_in_english(bot_en: BotDriver) -> None:
    data = "date,reads\n" + "".join(f"2026-11-16,bad{n}\n" for n in range(21))

    report = _import(bot_en, data.encode(), platform="wechat")

    assert _lines(bot_en, report)[-1] == "… and 1 more rejected lines"
    assert kpis(bot_en) == []


# --- the WeChat export names its platform ---------------------------------------------


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig"])
def test_wechat_headers_need_no_platform(bot: BotDriver, encoding: str) -> None:
    data = (
        "日期,阅读次数,阅读人数,分享次数,新关注人数,取消关注人数,净增关注人数,累积关注人数\n"
        "2026-11-16,5000,4000,120,300,50,250,50250\n"
    ).encode(encoding)

    report = _import(bot, data)

    assert (report.detected_platform, *_counts(report)) == ("wechat", 1, 0, 0, 0)
    assert {platform for platform, _, _, _ in kpis(bot)} == {"wechat"}
    assert len(kpis(bot)) == 6
    assert _lines(bot, report)[1] == (
        "文件没有平台列，也没有给 --platform：按表头认作公众号后台的导出"
    )


def test_platform_given_or_in_the_file_wins_over_the_headers(bot: BotDriver) -> None:
    given = _import(bot, "日期,阅读次数,分享次数\n2026-11-16,1,2\n".encode(), platform="weibo")
    in_file = _import(bot, "日期,平台,阅读次数,分享次数\n2026-11-17,知乎,3,4\n".encode())

    assert (given.detected_platform, in_file.detected_platform) == (None, None)
    assert {(platform, day) for platform, day, _, _ in kpis(bot)} == {
        ("weibo", "2026-11-16"),
        ("zhihu", "2026-11-17"),
    }


def test_one_wechat_header_is_not_enough(bot: BotDriver) -> None:
    with pytest.raises(ImportError_, match="give one with --platform"):
        _import(bot, "日期,阅读次数,点赞\n2026-11-16,1,2\n".encode())
    assert kpis(bot) == []


# --- the command ----------------------------------------------------------------------


def test_the_import_command_reads_an_xlsx_without_platform(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "config.yaml").write_text(
        (root / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    rows = [
        ["日期", "阅读次数", "分享次数", "新关注人数", "取消关注人数"],
        [date(2026, 11, 16), 5000, 120, 300, 50],
        [date(2026, 11, 17), 6000, 130, 310, 40],
        [date(2026, 11, 17), 6100, 130, 310, 40],
    ]
    (tmp_path / "export.xlsx").write_bytes(xlsx(("Sheet1", rows)))
    env = {"OPSBOT_NOW": "2026-11-23T10:00:00+08:00"}

    first = opsbot("kpi", "import", "export.xlsx", cwd=tmp_path, env=env)

    assert first.returncode == 1, first.stderr  # the repeated day is a rejected line
    assert first.stdout.splitlines()[:3] == [
        "⚠️ 导入完成（宽表）：新增 2 行 · 更新 0 行 · 未变 0 行 · 拒绝 1 行",
        "  文件没有平台列，也没有给 --platform：按表头认作公众号后台的导出",
        "  第 4 行：公众号 2026-11-17 的「阅读次数」第 3 行已经有了：同一文件里同一天的同一指标只导入第一行",
    ]
    again = opsbot("kpi", "import", "export.xlsx", cwd=tmp_path, env=env)
    assert "新增 0 行 · 更新 0 行 · 未变 2 行 · 拒绝 1 行" in again.stdout
