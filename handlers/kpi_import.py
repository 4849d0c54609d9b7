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

Every line is checked whole before anything is written: a bad line is reported with its
number and never half-written, and it never stops the good ones. A line with more or
fewer fields than the header (an unquoted `12,000` is two fields) is refused rather than
read shifted, and every number goes through the one metric value reader
(`bot/vocab/metrics.py:read_value`), so a file and a chat message accept and refuse the
same spellings. Two lines of one file for the same platform, day and metric are not both
written: the first is, and the later one is refused naming it, because "the last one wins"
would store whichever came last without anyone choosing it, and would make importing the
same file again report "updated". Importing the same file again changes nothing.

Then what is stored is read with one range read per platform and metric, and only the new
and changed values are written, in batches of `BATCH_ROWS` upserts, each in a savepoint;
a batch the database refuses is written again line by line, so that only the line at
fault is refused. (A SELECT, a savepoint and a flush per line made 200,000 lines take
four and a half minutes; this takes seconds, see `bench/files.py`.)

Exports with one row per post (Douyin's 作品列表, Xiaohongshu's 笔记列表明细, WeChat's
已发表内容) are refused with a reason: their figures are each post's totals so far, keyed
by when the post went out, and storing them as that day's account figures would be wrong.
"""

from __future__ import annotations

import csv
import io
import math
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain, islice
from typing import Any

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
from storage.kpis import DailyValue
from storage.models import IMPORTED

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
    return _decoded(data)[0]


def _decoded(data: bytes) -> tuple[str, str]:
    """The text and the codec it was read with."""
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise ImportError_("the file starts as UTF-16 text but is not valid UTF-16") from None
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030"), "gb18030"
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


def _text_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """The non-blank rows of a text file with their number, read as they are asked for: a
    file of 200,000 lines is never held as 200,000 lists at once.

    The rows are decoded from the bytes as they are read, not from the decoded text: a
    `StringIO` of it holds 4 bytes a character (23 MB for a 6 MB file).
    """
    text, encoding = _decoded(data)
    separator = sniff_separator(text)
    del text
    lines = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    reader = csv.reader(lines, delimiter=separator)
    try:
        for number, row in enumerate(reader, start=1):
            if any(map(str.strip, row)):
                yield number, row
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
    # The first non-blank rows, where the header row is looked for, and the rest, read
    # (and, for text, checked) only as the import asks for them.
    head: Rows
    rest: Iterator[tuple[int, list[str]]]
    # Text rows must have as many fields as the header (a split `12,000` is caught so);
    # workbook cells cannot split, and calamine pads every row to the sheet's width.
    workbook: bool
    sheet: str | None = None

    def drain(self) -> None:
        """Read the rest, for the error a text file has further down (which wins over
        "no header row", as when the whole file was read first)."""
        for _ in self.rest:
            pass


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
        cells = chosen.rows()
        head, rest = cells[:HEADER_SEARCH_LINES], iter(cells[HEADER_SEARCH_LINES:])
        return _Table(head, rest, workbook=True, sheet=sheet)

    def text_rows() -> Iterator[tuple[int, list[str]]]:
        try:
            yield from _text_rows(data)
        except ImportError_:
            if _looks_like_spreadsheet(filename):
                raise ImportError_(_not_a_workbook(data)) from None
            raise

    rows = text_rows()
    return _Table(list(islice(rows, HEADER_SEARCH_LINES)), rows, workbook=False)


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


Key = tuple[str, date, str]  # (platform, day, metric)


@dataclass
class _Values:
    """The values of the lines that passed, in file order, each line's together.

    One dict and two arrays rather than an object per line: 200,000 lines take a few tens
    of MB this way, not hundreds (`bench/files.py` measures it).
    """

    # (platform, day, metric) → its position; the dict's order is the file's.
    positions: dict[Key, int] = field(default_factory=dict)
    values: array[float] = field(default_factory=lambda: array("d"))
    # The number of the line each position came from.
    lines: array[int] = field(default_factory=lambda: array("q"))
    line_count: int = 0

    def add(self, number: int, values: dict[Key, float]) -> None:
        for key, value in values.items():
            self.positions[key] = len(self.values)
            self.values.append(value)
            self.lines.append(number)
        self.line_count += 1

    def add_one(self, number: int, key: Key, value: float) -> None:
        self.positions[key] = len(self.values)
        self.values.append(value)
        self.lines.append(number)
        self.line_count += 1


# Cells that say "no figure" (a blank is one too).
_NO_VALUE = frozenset({"-", "–", "--"})
# Not yet looked up (None is a lookup's answer: "not a date", "not a platform").
_UNREAD: Any = object()


class _Rejected(Exception):
    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key, self.params = key, params


def _parse_rows(
    rows: Iterable[tuple[int, list[str]]],
    header: list[str],
    kind: str,
    *,
    strict_fields: bool,
    default_platform: str | None,
    content_platforms: PlatformCatalogue,
    today: date,
    report: ImportReport,
) -> _Values:
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
    wide_names = {metric: header[index].strip() for index, metric in metric_columns.items()}

    def value(text: str, index: int) -> float:
        try:
            return read_value(text)
        except InputError as error:
            params = {name: str(param) for name, param in error.params.items()}
            raise _Rejected(
                _NUMBER_REJECTIONS.get(error.message_key, "import.reject.number"),
                **{**params, "value": text[:30], "column": header[index].strip()},
            ) from None

    def duplicate(first: int, key: Key, column: str) -> _Rejected:
        platform, day, _ = key
        return _Rejected(
            "import.reject.duplicate",
            first=str(stored.lines[first]),
            platform=platform,
            day=day.isoformat(),
            column=column[:30],
        )

    # A file repeats its few days, platforms and metrics on every line: each spelling is
    # read once (the readers are pure, so this changes nothing but the time).
    days: dict[str, date | None] = {}
    platforms: dict[str, str | None] = {}
    metrics: dict[str, str | None] = {}
    stored = _Values()
    positions, width = stored.positions, len(header)
    for number, row in rows:
        try:
            # An unquoted `12,000` splits one value into two fields: the line no longer
            # lines up with the header, and reading it anyway would store 12 (or worse, shift
            # every later column). Refuse it whole, with a hint.
            if strict_fields and len(row) != width:
                shape = "too_many_fields" if len(row) > width else "too_few_fields"
                raise _Rejected(f"import.reject.{shape}", found=str(len(row)), expected=str(width))
            text = row[date_column].strip() if date_column < len(row) else ""
            day = days.get(text, _UNREAD)
            if day is _UNREAD:
                day = days[text] = parse_day(text)
            if day is None:
                raise _Rejected("import.reject.date", value=text[:30])
            if day > today:
                raise _Rejected("import.reject.future", value=day.isoformat())
            platform = default_platform
            if platform_column is not None and platform_column < len(row):
                text = row[platform_column].strip()
                if text:
                    platform = platforms.get(text, _UNREAD)
                    if platform is _UNREAD:
                        platform = platforms[text] = content_platforms.resolve(text)
                    if platform is None:
                        raise _Rejected("import.reject.platform", value=text[:30])
            if platform is None:
                raise _Rejected("import.reject.no_platform")
            if kind == "long":
                text = row[metric_column].strip() if metric_column < len(row) else ""
                metric = metrics.get(text, _UNREAD)
                if metric is _UNREAD:
                    metric = metrics[text] = resolve_metric(text)
                if metric is None:
                    raise _Rejected("import.reject.metric", value=text[:30])
                named = text
                text = row[value_column].strip() if value_column < len(row) else ""
                if not text or text in _NO_VALUE:
                    raise _Rejected("import.reject.empty")
                number_read = value(text, value_column)
                key = (platform, day, metric)
                first = positions.get(key)
                if first is not None:
                    raise duplicate(first, key, named)
                stored.add_one(number, key, number_read)
                continue
            values: dict[Key, float] = {}
            for index, metric in metric_columns.items():
                text = row[index].strip() if index < len(row) else ""
                if text and text not in _NO_VALUE:
                    values[(platform, day, metric)] = value(text, index)
            if not values:
                raise _Rejected("import.reject.empty")
            for key in values:
                first = positions.get(key)
                if first is not None:
                    raise duplicate(first, key, wide_names[key[2]])
            stored.add(number, values)
        except _Rejected as rejection:
            report.rejected.append(Rejection(number, rejection.key, rejection.params))
    return stored


# --- storing lines --------------------------------------------------------------------

# Values written per upsert statement (and savepoint). Big enough that a file of 200,000
# lines is a handful of statements; small enough that one batch's parameters stay small.
BATCH_ROWS = 10_000
# What storing a value does, ordered so that a line's outcome is the largest of its values'.
_UNCHANGED, _UPDATED, _INSERTED = 0, 1, 2


def _compare_with_stored(session: Session, values: _Values, *, team_id: str) -> bytearray:
    """What storing each value would do, from one range read per (platform, metric) over
    the days the file has, instead of one SELECT per value."""
    bounds: dict[tuple[str, str], list[date]] = {}
    for platform, day, metric in values.positions:
        span = bounds.get((platform, metric))
        if span is None:
            bounds[(platform, metric)] = [day, day]
        elif day < span[0]:
            span[0] = day
        elif day > span[1]:
            span[1] = day
    outcomes = bytearray([_INSERTED]) * len(values.values)
    ranges = (
        (platform, metric, first, last) for (platform, metric), (first, last) in bounds.items()
    )
    for platform, day, metric, value in kpi_store.stored_daily_ranges(
        session, team_id=team_id, ranges=ranges
    ):
        position = values.positions.get((platform, day, metric))
        if position is not None:
            same = kpi_store.same_value(value, values.values[position])
            outcomes[position] = _UNCHANGED if same else _UPDATED
    return outcomes


@dataclass
class _Batch:
    """Values to write and the lines they come from: (number, outcome, first, end) with
    first:end their slice of `rows`."""

    rows: list[DailyValue] = field(default_factory=list)
    lines: list[tuple[int, int, int, int]] = field(default_factory=list)


def _store(
    session: Session,
    values: _Values,
    *,
    team_id: str,
    now: datetime,
    report: ImportReport,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Write the new and changed values in batches of `BATCH_ROWS` upserts, each in a
    savepoint, and count each line as imported, updated or unchanged.

    A batch the database refuses is written again line by line, each in a savepoint of
    its own, so that the line at fault is reported and the others are stored.
    """
    session.flush()
    outcomes = _compare_with_stored(session, values, team_id=team_id)
    counted = {_INSERTED: 0, _UPDATED: 0, _UNCHANGED: 0}

    def write(batch: _Batch) -> None:
        try:
            with session.begin_nested():
                kpi_store.upsert_daily_values(
                    session, team_id=team_id, rows=batch.rows, now=now, source=IMPORTED
                )
        except SQLAlchemyError:
            for number, outcome, first, end in batch.lines:
                try:
                    with session.begin_nested():
                        kpi_store.upsert_daily_values(
                            session, team_id=team_id, rows=batch.rows[first:end], now=now,
                            source=IMPORTED,
                        )  # fmt: skip
                except SQLAlchemyError:
                    report.rejected.append(Rejection(number, "import.reject.storage", {}))
                else:
                    counted[outcome] += 1
        else:
            for _, outcome, _, _ in batch.lines:
                counted[outcome] += 1

    batch, done, start = _Batch(), 0, 0
    keys = list(values.positions)
    lines = values.lines
    while start < len(keys):
        end = start + 1
        while end < len(keys) and lines[end] == lines[start]:
            end += 1
        outcome = max(outcomes[start:end])
        if outcome == _UNCHANGED:
            counted[_UNCHANGED] += 1
        else:
            first = len(batch.rows)
            if end == start + 1:  # one value (every line of a long file)
                batch.rows.append((*keys[start], values.values[start]))
            else:
                batch.rows.extend(
                    (*keys[position], values.values[position])
                    for position in range(start, end)
                    if outcomes[position] != _UNCHANGED
                )
            batch.lines.append((lines[start], outcome, first, len(batch.rows)))
        done += 1
        start = end
        if len(batch.rows) >= BATCH_ROWS:
            write(batch)
            batch = _Batch()
            if progress is not None:
                progress(done, values.line_count)
    if batch.rows:
        write(batch)
    if progress is not None and values.line_count:
        progress(values.line_count, values.line_count)
    report.imported += counted[_INSERTED]
    report.updated += counted[_UPDATED]
    report.unchanged += counted[_UNCHANGED]


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

    Every line is read and checked before anything is written; then what is stored is
    read in a few range queries, and only new and changed values are written, in
    batches. Its cost so grows with the file, not with one round trip per line.
    """
    table = read_table(data, filename)
    header_at = _find_header(table.head)
    if header_at is None:
        table.drain()
        export = _per_post_export(table.head)
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
    header = table.head[header_at][1]
    kind = _header_kind(header) or "wide"
    report = ImportReport(shape=kind, sheet=table.sheet)
    values = _parse_rows(
        chain(table.head[header_at + 1 :], table.rest), header, kind,
        strict_fields=not table.workbook, default_platform=default_platform,
        content_platforms=content_platforms, today=today, report=report,
    )  # fmt: skip
    _store(session, values, team_id=team_id, now=now, report=report, progress=progress)
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
