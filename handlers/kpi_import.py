"""`opsbot kpi import`: KPI rows from a CSV or Excel file, idempotently.

Three shapes are recognised from the header row:
- long: `date,platform,metric,value` (platform may come from `--platform`);
- wide: a date column, an optional platform column, and one column per metric;
- the WeChat Official Account backend export: a wide file with Chinese headers
  (日期, 阅读次数, 分享次数, 新关注人数, 取消关注人数, 累积关注人数 …), often in GB18030. Its
  headers name the platform, so it needs no `--platform`.

What the file is comes from its content, not its name: a ZIP or OLE2 workbook (`.xlsx`,
`.xls`, `.ods`, as the Xiaohongshu and Douyin creator centres export) is read as one, and
anything else as text — UTF-8 with or without a BOM, UTF-16 with a BOM (Excel's "Unicode
text"), or GB18030 — separated by `,`, `;` or tabs, whichever makes a header row.

Each line is checked whole before anything of it is written, and written in its own
savepoint: a bad line is reported with its number and never half-written, and it never
stops the good ones. A line with more or fewer fields than the header (an unquoted
`12,000` is two fields) is refused rather than read shifted, and every number goes through
the one metric value reader (`bot/vocab/metrics.py:read_value`), so a file and a chat
message accept and refuse the same spellings. Two lines of one file for the same platform,
day and metric are not both written: the first is, and the later one is refused naming it,
because "the last one wins" would store whichever came last without anyone choosing it, and
would make importing the same file again report "updated". Importing the same file again
changes nothing.

Exports with one row per post (Douyin's 作品列表, Xiaohongshu's 笔记列表明细, WeChat's
已发表内容) are refused with a reason: their figures are each post's totals so far, keyed
by when the post went out, and storing them as that day's account figures would be wrong.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from python_calamine import (
    CalamineError,
    CalamineWorkbook,
    PasswordError,
    SheetTypeEnum,
    SheetVisibleEnum,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.core.i18n import Translator
from bot.core.messages import Reply, Section, Tone
from bot.vocab.content_platforms import PlatformCatalogue
from bot.vocab.errors import InputError
from bot.vocab.metrics import (
    DATE_HEADERS,
    DERIVED_HEADERS,
    NEGATIVE,
    NOT_A_GROUP,
    NOT_A_NUMBER,
    PLATFORM_HEADERS,
    TOO_LARGE,
    read_value,
    resolve_metric,
)
from storage import kpis as kpi_store
from storage.kpis import Upsert

HEADER_SEARCH_LINES = 10
# The report lists this many rejected lines and counts the rest: 63,542 lines of reasons
# bury the first one, which is usually the one that explains all the others.
REJECTIONS_SHOWN = 20
# Separators a text file may use, in the order that wins a tie.
SEPARATORS = (",", ";", "\t")
_SNIFF_CHARS = 65_536
_SNIFF_LINES = 50
# Why the number reader refused a value → the report's reason, which names the column.
_NUMBER_REJECTIONS = {
    NOT_A_NUMBER: "import.reject.number",
    NOT_A_GROUP: "import.reject.not_a_group",
    NEGATIVE: "import.reject.negative",
    TOO_LARGE: "import.reject.too_large",
}
_DATE = re.compile(r"^(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?(?:[ T].*)?$")
_ZIP = b"PK\x03\x04"  # .xlsx, .xlsm, .ods
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (and password-protected .xlsx)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")

# Headers of the WeChat Official Account backend export (user and article analysis) that no
# other platform's export uses; two of them in a header row name the platform.
_WECHAT_EXPORT_HEADERS = frozenset(
    {
        "阅读次数",
        "阅读人数",
        "分享次数",
        "新关注人数",
        "取消关注人数",
        "净增关注人数",
        "累积关注人数",
    }
)
_PLATFORM_SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = (("wechat", _WECHAT_EXPORT_HEADERS),)
# A post's title and when it went out: the two columns of every one-row-per-post export.
_POST_TITLE_HEADERS = frozenset({"作品名称", "视频名称", "笔记标题", "内容标题"})
_POST_TIME_HEADERS = frozenset({"发布时间", "首次发布时间", "发表日期", "发表时间"})
# Which export that is, by columns only it has (as seen in published parsers of them).
_POST_EXPORTS: tuple[tuple[str, frozenset[str]], ...] = (
    ("Douyin's 作品列表", frozenset({"审核状态", "5s完播率", "2s跳出率", "主页访问量"})),
    ("Xiaohongshu's 笔记列表明细", frozenset({"笔记标题", "首次发布时间", "人均观看时长"})),
    ("WeChat's 已发表内容", frozenset({"内容标题", "发表日期", "送达人数"})),
)


class ImportError_(Exception):
    """The file cannot be imported at all (unreadable, or no recognisable header)."""


@dataclass(frozen=True)
class Rejection:
    """A rejected line: its number and why, as a catalogue key with parameters."""

    line: int
    key: str
    params: dict[str, str]


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    shape: str = ""
    # The platform the headers named, when neither the file nor `--platform` gave one.
    detected_platform: str | None = None
    # The worksheet read, when the workbook has more than one.
    sheet: str | None = None


def decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), UTF-16 with a BOM (Excel's "Unicode text", which is
    tab-separated), else GB18030 — what Chinese spreadsheets save."""
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportError_("the file starts as UTF-16 text but is not valid UTF-16") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise ImportError_("the file is neither UTF-8 nor GB18030 text") from None


def parse_day(text: str) -> date | None:
    match = _DATE.match(text.strip())
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def _header_kind(cells: Sequence[str]) -> str | None:
    folded = [cell.strip().casefold() for cell in cells]
    if not any(cell in DATE_HEADERS for cell in folded):
        return None
    if {"metric", "value"} <= set(folded) or {"指标", "数值"} <= set(folded):
        return "long"
    return "wide"


Rows = list[tuple[int, list[str]]]


def _find_header(rows: Rows) -> int | None:
    """The position in `rows` of the header row: the first of the first lines with a date
    column (exports put a title or a note above it)."""
    return next(
        (
            position
            for position, (_, row) in enumerate(rows[:HEADER_SEARCH_LINES])
            if _header_kind(row)
        ),
        None,
    )


def _non_blank(rows: Rows) -> Rows:
    return [(number, row) for number, row in rows if any(cell.strip() for cell in row)]


# --- reading: text --------------------------------------------------------------------


def sniff_separator(text: str) -> str:
    """The separator under which the first lines hold a header row with a date column, and
    the widest one if several do (`,` first on a tie).

    Not `csv.Sniffer`: it guesses from character frequencies over the whole sample, so a
    comma file whose values are quoted `"12,000"` or whose title line has semicolons can
    come out wrong. Asking "which separator makes a header we recognise" decides it from the
    one line that matters, and a quoted `"12,000"` stays one field in a comma file.
    """
    sample = "\n".join(text[:_SNIFF_CHARS].splitlines()[:_SNIFF_LINES])
    best, best_width = SEPARATORS[0], 0
    for separator in SEPARATORS:
        try:
            rows = _non_blank(
                list(enumerate(csv.reader(io.StringIO(sample), delimiter=separator), start=1))
            )
        except csv.Error:
            continue
        header_at = _find_header(rows)
        if header_at is not None and len(rows[header_at][1]) > best_width:
            best, best_width = separator, len(rows[header_at][1])
    return best


def _read_text(data: bytes) -> Rows:
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_separator(text))
    try:
        return _non_blank(list(enumerate(reader, start=1)))
    except csv.Error as error:
        raise ImportError_(f"line {reader.line_num}: {error}") from None


# --- reading: workbooks ---------------------------------------------------------------

Cell = int | float | str | bool | time | date | datetime | timedelta


def cell_text(value: Cell) -> str:
    """A workbook cell as the text the rest of the import reads: numbers as digits
    (`12000`, not `12000.0`, which is what `str()` gives for Excel's floats), dates as
    ISO dates, so a number cell and a typed `12000` go through the same reader."""
    if isinstance(value, bool):  # before int: a bool is an int
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):  # before date: a datetime is a date
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass
class _Sheet:
    name: str
    cells: list[list[Cell]]

    def rows(self, limit: int | None = None) -> Rows:
        """Non-blank rows with their row number as Excel shows it (1 is the first)."""
        numbered = list(enumerate(self.cells[:limit] if limit else self.cells, start=1))
        return _non_blank([(number, [cell_text(v) for v in row]) for number, row in numbered])


def _read_workbook(data: bytes) -> tuple[list[_Sheet], _Sheet]:
    """The worksheets of a workbook and the one to import: the first whose first lines hold
    a header row with a date column (visible sheets before hidden ones), else the first.

    python-calamine, not openpyxl: it reads `.xlsx`, `.xls` and `.ods` alike from bytes,
    gives number cells as numbers and date cells (Chinese date formats included) as dates,
    is actively maintained, ships binary wheels on PyPI, and read 60,000 rows of six columns
    in 0.5 s where openpyxl took 6.8 s. openpyxl reads only `.xlsx`; the tests use it to
    *write* workbooks, which calamine cannot.
    """
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except PasswordError:
        raise ImportError_(
            "the workbook is password-protected: save it without a password and import again"
        ) from None
    except CalamineError as error:
        raise ImportError_(f"the file looks like a workbook but cannot be read ({error})") from None
    sheets: list[tuple[bool, _Sheet]] = []
    with book:
        for index, meta in enumerate(book.sheets_metadata):
            if meta.typ is not SheetTypeEnum.WorkSheet:
                continue
            try:
                cells = book.get_sheet_by_index(index).to_python(skip_empty_area=False)
            except CalamineError:
                continue
            sheets.append((meta.visible is not SheetVisibleEnum.Visible, _Sheet(meta.name, cells)))
    if not sheets:
        raise ImportError_("the workbook has no worksheet with data")
    ordered = [sheet for _, sheet in sorted(sheets, key=lambda pair: pair[0])]
    chosen = next(
        (sheet for sheet in ordered if _find_header(sheet.rows(_SNIFF_LINES)) is not None),
        ordered[0],
    )
    return [sheet for _, sheet in sheets], chosen


# --- what the file is -----------------------------------------------------------------


@dataclass
class _Table:
    rows: Rows
    # Text rows must have as many fields as the header (a split `12,000` is caught so);
    # workbook cells cannot split, and calamine pads every row to the sheet's width.
    workbook: bool
    sheet: str | None = None


def read_table(data: bytes, filename: str | None = None) -> _Table:
    """The file's rows, read as a workbook or as text by what its bytes are.

    The name only explains a failure: a "report.xlsx" that is really text (a CSV saved
    with the wrong name, or the JSON error page a logged-out export downloads) is read as
    text if it can be, and otherwise refused as "not an Excel workbook" with its first
    characters, which says more than "no header row".
    """
    if data.startswith((_ZIP, _OLE2)):
        sheets, chosen = _read_workbook(data)
        sheet = chosen.name if len(sheets) > 1 else None
        return _Table(chosen.rows(), workbook=True, sheet=sheet)
    try:
        return _Table(_read_text(data), workbook=False)
    except ImportError_:
        if _looks_like_spreadsheet(filename):
            raise ImportError_(_not_a_workbook(data)) from None
        raise


def _looks_like_spreadsheet(filename: str | None) -> bool:
    return filename is not None and filename.casefold().endswith(SPREADSHEET_SUFFIXES)


def _not_a_workbook(data: bytes) -> str:
    start = data[:40].decode("utf-8", "replace").strip()
    return f"not an Excel workbook (it starts with {start!r}): download or save it again"


def _per_post_export(rows: Rows) -> str | None:
    """What a file with one row per post is ("Douyin's 作品列表" …), or None if it is not one."""
    for _, row in rows[:HEADER_SEARCH_LINES]:
        cells = {cell.strip() for cell in row}
        if cells & _POST_TITLE_HEADERS and cells & _POST_TIME_HEADERS:
            return next(
                (name for name, signature in _POST_EXPORTS if len(cells & signature) >= 2),
                "an export",
            )
    return None


def recognise_platform(header: Sequence[str]) -> str | None:
    """The platform whose backend export has these headers, if exactly one has two of them.

    Only WeChat's headers are listed: the daily exports of Xiaohongshu's and Douyin's
    creator centres use the plain metric names (点赞, 评论, 播放量 …) that any team's own
    sheet uses too, so guessing the platform from them would be a guess.
    """
    cells = {cell.strip() for cell in header}
    matches = [key for key, signature in _PLATFORM_SIGNATURES if len(cells & signature) >= 2]
    return matches[0] if len(matches) == 1 else None


# --- checking lines -------------------------------------------------------------------


@dataclass
class _Line:
    number: int
    platform: str
    day: date
    values: dict[str, float]


class _Rejected(Exception):
    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key, self.params = key, params


def _parse_rows(
    rows: Rows,
    header: list[str],
    kind: str,
    *,
    strict_fields: bool,
    default_platform: str | None,
    content_platforms: PlatformCatalogue,
    today: date,
    report: ImportReport,
) -> list[_Line]:
    folded = [cell.strip().casefold() for cell in header]
    date_column = next(i for i, cell in enumerate(folded) if cell in DATE_HEADERS)
    platform_column = next((i for i, cell in enumerate(folded) if cell in PLATFORM_HEADERS), None)
    if platform_column is None and default_platform is None:
        default_platform = recognise_platform(header)
        if default_platform is None:
            raise ImportError_("the file has no platform column: give one with --platform")
        report.detected_platform = default_platform
    metric_columns: dict[int, str] = {}
    if kind == "long":
        metric_column = folded.index("metric") if "metric" in folded else folded.index("指标")
        value_column = folded.index("value") if "value" in folded else folded.index("数值")
    else:
        for index, heading in enumerate(header):
            if index in (date_column, platform_column):
                continue
            metric = resolve_metric(heading)
            if metric is None:
                if heading.strip() and heading.strip() not in DERIVED_HEADERS:
                    report.ignored_columns.append(heading.strip())
                continue
            # Two columns for one metric (阅读 and 阅读次数): which one is right is not ours
            # to guess, and taking either silently drops the other.
            first = next((i for i, m in metric_columns.items() if m == metric), None)
            if first is not None:
                raise ImportError_(
                    f"the columns {header[first].strip()!r} and {heading.strip()!r} are both "
                    f"the metric {metric!r}: keep one of them"
                )
            metric_columns[index] = metric

    def cell(row: list[str], index: int) -> str:
        return row[index].strip() if index < len(row) else ""

    # (platform, day, metric) → the line that gave it first.
    claimed: dict[tuple[str, date, str], int] = {}
    lines = []
    for number, row in rows:
        try:
            # An unquoted `12,000` splits one value into two fields: the line no longer
            # lines up with the header, and reading it anyway would store 12 (or worse, shift
            # every later column). Refuse it whole, with a hint.
            if strict_fields and len(row) != len(header):
                key = "too_many_fields" if len(row) > len(header) else "too_few_fields"
                raise _Rejected(
                    f"import.reject.{key}", found=str(len(row)), expected=str(len(header))
                )
            day = parse_day(cell(row, date_column))
            if day is None:
                raise _Rejected("import.reject.date", value=cell(row, date_column)[:30])
            if day > today:
                raise _Rejected("import.reject.future", value=day.isoformat())
            platform = default_platform
            if platform_column is not None and cell(row, platform_column):
                platform = content_platforms.resolve(cell(row, platform_column))
                if platform is None:
                    raise _Rejected("import.reject.platform", value=cell(row, platform_column)[:30])
            if platform is None:
                raise _Rejected("import.reject.no_platform")
            values: dict[str, float] = {}
            if kind == "long":
                metric = resolve_metric(cell(row, metric_column))
                if metric is None:
                    raise _Rejected("import.reject.metric", value=cell(row, metric_column)[:30])
                columns = {value_column: metric}
                named = {metric: cell(row, metric_column)}
            else:
                columns = metric_columns
                named = {metric: header[index].strip() for index, metric in columns.items()}
            for index, metric in columns.items():
                text = cell(row, index)
                if not text or text in ("-", "–", "--"):
                    continue
                try:
                    values[metric] = read_value(text)
                except InputError as error:
                    params = {name: str(param) for name, param in error.params.items()}
                    raise _Rejected(
                        _NUMBER_REJECTIONS.get(error.message_key, "import.reject.number"),
                        **{**params, "value": text[:30], "column": header[index].strip()},
                    ) from None
            if not values:
                raise _Rejected("import.reject.empty")
            for metric in values:
                first = claimed.get((platform, day, metric))
                if first is not None:
                    raise _Rejected(
                        "import.reject.duplicate",
                        first=str(first),
                        platform=platform,
                        day=day.isoformat(),
                        column=named[metric][:30],
                    )
            claimed.update({(platform, day, metric): number for metric in values})
            lines.append(_Line(number, platform, day, values))
        except _Rejected as rejection:
            report.rejected.append(Rejection(number, rejection.key, rejection.params))
    return lines


def import_kpi_csv(
    session: Session,
    data: bytes,
    *,
    team_id: str,
    content_platforms: PlatformCatalogue,
    default_platform: str | None,
    today: date,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
    filename: str | None = None,
) -> ImportReport:
    """Import one CSV or Excel file into kpi_daily and report, line by line, what happened.

    `data` is the file's bytes: whether it is a workbook or text is read from them, so
    callers that do not know the name still import `.xlsx` files; `filename` (optional)
    only makes the refusal of a misnamed file say so. `progress(done, total)` is called as
    lines are written (the CLI shows it on a terminal).
    """
    table = read_table(data, filename)
    header_at = _find_header(table.rows)
    if header_at is None:
        export = _per_post_export(table.rows)
        if export is not None:
            raise ImportError_(
                f"this is {export}, one row per post: its figures are each post's totals so "
                "far, not a day's, and are not imported as daily KPIs. Export the account's "
                "daily data (a 日期 column, one row per day), or log a post's figures with "
                "/kpi post"
            )
        if not table.workbook and _looks_like_spreadsheet(filename):
            raise ImportError_(_not_a_workbook(data))
        where = f" of the sheet {table.sheet!r}" if table.sheet else ""
        raise ImportError_(
            f"no header row with a date column (date / 日期) in the first lines{where}"
        )
    header = table.rows[header_at][1]
    kind = _header_kind(header) or "wide"
    report = ImportReport(shape=kind, sheet=table.sheet)
    lines = _parse_rows(
        table.rows[header_at + 1 :], header, kind, strict_fields=not table.workbook,
        default_platform=default_platform, content_platforms=content_platforms, today=today,
        report=report,
    )  # fmt: skip
    for index, line in enumerate(lines, start=1):
        if progress is not None:
            progress(index, len(lines))
        outcomes = set()
        try:
            with session.begin_nested():
                for metric, value in line.values.items():
                    outcome, _ = kpi_store.upsert_daily(
                        session, team_id=team_id, platform=line.platform, day=line.day,
                        metric=metric, value=value, now=now,
                    )  # fmt: skip
                    outcomes.add(outcome)
                session.flush()
        except SQLAlchemyError:
            report.rejected.append(Rejection(line.number, "import.reject.storage", {}))
            continue
        if Upsert.INSERTED in outcomes:
            report.imported += 1
        elif Upsert.UPDATED in outcomes:
            report.updated += 1
        else:
            report.unchanged += 1
    report.rejected.sort(key=lambda rejection: rejection.line)
    return report


def render_import_report(report: ImportReport, t: Translator) -> Reply:
    """What the import did: where the platform and sheet came from when the file did not
    say, the first `REJECTIONS_SHOWN` rejected lines with their number and reason and a
    count of the rest, and the columns that were ignored."""
    platforms = PlatformCatalogue()
    title = t(
        "import.report",
        shape=t(f"import.shape.{report.shape}"),
        imported=f"{report.imported:,}",
        updated=f"{report.updated:,}",
        unchanged=f"{report.unchanged:,}",
        rejected=f"{len(report.rejected):,}",
    )
    lines = []
    if report.detected_platform is not None:
        name = platforms.name(report.detected_platform, t.locale)
        lines.append(t("import.detected_platform", platform=name))
    if report.sheet is not None:
        lines.append(t("import.sheet", sheet=report.sheet))
    for rejection in report.rejected[:REJECTIONS_SHOWN]:
        params = dict(rejection.params)
        if "platform" in params:
            params["platform"] = platforms.name(params["platform"], t.locale)
        lines.append(
            t("import.rejected_line", line=rejection.line, reason=t(rejection.key, **params))
        )
    hidden = len(report.rejected) - REJECTIONS_SHOWN
    if hidden > 0:
        lines.append(t("import.more_rejected", count=f"{hidden:,}"))
    if report.ignored_columns:
        lines.append(t("import.ignored", columns=", ".join(report.ignored_columns)))
    tone = Tone.WARNING if report.rejected else Tone.SUCCESS
    return Reply(title, tone=tone, sections=[Section(lines=lines)] if lines else [])
