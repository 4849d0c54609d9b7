"""`opsbot kpi import`: KPI rows from a CSV file, idempotently.

Three shapes are recognised from the header row:
- long: `date,platform,metric,value` (platform may come from `--platform`);
- wide: a date column, an optional platform column, and one column per metric;
- the WeChat Official Account backend export: a wide file with Chinese headers
  (日期, 阅读次数, 分享次数, 新关注人数, 取消关注人数, 累积关注人数 …), often in GB18030.

Each line is checked whole before anything of it is written, and written in its own
savepoint: a bad line is reported with its number and never half-written, and it never
stops the good ones. A line with more or fewer fields than the header (an unquoted
`12,000` is two fields) is refused rather than read shifted, and every number goes through
the one metric value reader (`bot/vocab/metrics.py:read_value`), so a file and a chat
message accept and refuse the same spellings. Importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

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
    read_value,
    resolve_metric,
)
from storage import kpis as kpi_store
from storage.kpis import Upsert

HEADER_SEARCH_LINES = 10
# Why the number reader refused a value → the report's reason, which names the column.
_NUMBER_REJECTIONS = {
    NOT_A_NUMBER: "import.reject.number",
    NOT_A_GROUP: "import.reject.not_a_group",
    NEGATIVE: "import.reject.negative",
}
_DATE = re.compile(r"^(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?(?:[ T].*)?$")


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


def decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), else GB18030 — what Chinese spreadsheets save."""
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


def _header_kind(cells: list[str]) -> str | None:
    folded = [cell.strip().casefold() for cell in cells]
    if not any(cell in DATE_HEADERS for cell in folded):
        return None
    if {"metric", "value"} <= set(folded) or {"指标", "数值"} <= set(folded):
        return "long"
    return "wide"


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
    rows: list[tuple[int, list[str]]],
    header: list[str],
    kind: str,
    *,
    default_platform: str | None,
    content_platforms: PlatformCatalogue,
    today: date,
    report: ImportReport,
) -> list[_Line]:
    folded = [cell.strip().casefold() for cell in header]
    date_column = next(i for i, cell in enumerate(folded) if cell in DATE_HEADERS)
    platform_column = next((i for i, cell in enumerate(folded) if cell in PLATFORM_HEADERS), None)
    if platform_column is None and default_platform is None:
        raise ImportError_("the file has no platform column: give one with --platform")
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
            metric_columns[index] = metric

    def cell(row: list[str], index: int) -> str:
        return row[index].strip() if index < len(row) else ""

    lines = []
    for number, row in rows:
        try:
            # An unquoted `12,000` splits one value into two fields: the line no longer
            # lines up with the header, and reading it anyway would store 12 (or worse, shift
            # every later column). Refuse it whole, with a hint.
            if len(row) != len(header):
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
            assert platform is not None
            values: dict[str, float] = {}
            if kind == "long":
                metric = resolve_metric(cell(row, metric_column))
                if metric is None:
                    raise _Rejected("import.reject.metric", value=cell(row, metric_column)[:30])
                columns = {value_column: metric}
            else:
                columns = metric_columns
            for index, metric in columns.items():
                text = cell(row, index)
                if not text or text in ("-", "–", "--"):
                    continue
                try:
                    values[metric] = read_value(text)
                except InputError as error:
                    raise _Rejected(
                        _NUMBER_REJECTIONS.get(error.message_key, "import.reject.number"),
                        value=text[:30],
                        column=header[index].strip(),
                    ) from None
            if not values:
                raise _Rejected("import.reject.empty")
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
) -> ImportReport:
    """Import one CSV file into kpi_daily and report, line by line, what happened.

    `progress(done, total)` is called as lines are written (the CLI shows it on a terminal).
    """
    text = decode(data)
    all_rows = [
        (number, row)
        for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
        if any(cell.strip() for cell in row)
    ]
    header_at = next(
        (
            position
            for position, (_, row) in enumerate(all_rows[:HEADER_SEARCH_LINES])
            if _header_kind(row)
        ),
        None,
    )
    if header_at is None:
        raise ImportError_("no header row with a date column (date / 日期) in the first lines")
    header = all_rows[header_at][1]
    kind = _header_kind(header) or "wide"
    report = ImportReport(shape=kind)
    lines = _parse_rows(
        all_rows[header_at + 1 :], header, kind,
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
    """What the import did, with the number and reason of every rejected line."""
    title = t(
        "import.report",
        shape=t(f"import.shape.{report.shape}"),
        imported=report.imported,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=len(report.rejected),
    )
    lines = [
        t("import.rejected_line", line=rejection.line, reason=t(rejection.key, **rejection.params))
        for rejection in report.rejected
    ]
    if report.ignored_columns:
        lines.append(t("import.ignored", columns=", ".join(report.ignored_columns)))
    tone = Tone.WARNING if report.rejected else Tone.SUCCESS
    return Reply(title, tone=tone, sections=[Section(lines=lines)] if lines else [])
