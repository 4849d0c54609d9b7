"""`opsbot export` writes rows as it reads them, and writes the same bytes as when it
built every table in memory first: `json.dump(tables, ensure_ascii=False, indent=2)` and
the CSV of the lists, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from bot.chat import CHAT_PLATFORM_NAMES
from bot.runtime.demo import load_demo
from bot.runtime.export import write_csv, write_csv_directory, write_json
from storage.db import transaction
from storage.export import export_tables, stream_tables
from storage.models import KpiDaily
from tests.conftest import BotDriver, BotFactory


@pytest.fixture
def bot(make_bot: BotFactory, database_url: str) -> BotDriver:
    return make_bot(url=database_url)


@pytest.fixture
def lived_in(bot: BotDriver) -> BotDriver:
    """The demo team's week, plus quotes, newlines, Chinese, fractions and tags."""
    load_demo(bot.bot, team_id="content")
    for line in (
        '/topic add "双十一" 选题\\n第二行 #促销 #双11 p:wechat t:5 v:4 c:4',
        "@bob /topic vote 1",
        "/kpi log wechat reads=1.5 shares=3",
        "/task add 写稿 q1 ~1h",
    ):
        bot.send(line)
    return bot


def _tables(bot: BotDriver) -> dict[str, list[dict[str, Any]]]:
    zone = bot.bot.settings.team().zone
    with transaction(bot.bot.engine) as session:
        return export_tables(
            session, zone_for_team=lambda _: zone, chat_platforms=CHAT_PLATFORM_NAMES
        )


def _streamed(bot: BotDriver, writer: Any, out: Any) -> None:
    zone = bot.bot.settings.team().zone
    with transaction(bot.bot.engine) as session:
        tables = stream_tables(
            session, zone_for_team=lambda _: zone, chat_platforms=CHAT_PLATFORM_NAMES
        )
        writer(tables, out)


def test_streamed_json_is_the_json_of_the_tables(lived_in: BotDriver) -> None:
    tables = _tables(lived_in)
    assert len(tables["kpi_daily"]) > 100 and any(topic["tags"] for topic in tables["topics"])
    expected = json.dumps(tables, ensure_ascii=False, indent=2) + "\n"

    streamed = io.StringIO()
    _streamed(lived_in, write_json, streamed)
    from_lists = io.StringIO()
    write_json(tables, from_lists)

    assert streamed.getvalue() == expected
    assert from_lists.getvalue() == expected


def _reference_csv(tables: dict[str, list[dict[str, Any]]]) -> str:
    """The CSV as it was written from lists: `# <table>`, a header from the first row's
    fields, lists joined by spaces, a blank line between tables."""
    out = io.StringIO()
    for index, (name, rows) in enumerate(tables.items()):
        out.write(("\n" if index else "") + f"# {name}\n")
        if rows:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {k: " ".join(v) if isinstance(v, list) else v for k, v in row.items()}
                )
    return out.getvalue()


def test_streamed_csv_is_the_csv_of_the_tables(lived_in: BotDriver, tmp_path: Path) -> None:
    tables = _tables(lived_in)

    streamed = io.StringIO()
    _streamed(lived_in, write_csv, streamed)
    _streamed(lived_in, write_csv_directory, tmp_path / "streamed")
    write_csv_directory(tables, tmp_path / "lists")

    assert streamed.getvalue() == _reference_csv(tables)
    files = sorted(path.name for path in (tmp_path / "lists").iterdir())
    assert files == sorted(f"{name}.csv" for name in tables)
    for name in files:
        assert (tmp_path / "streamed" / name).read_bytes() == (tmp_path / "lists" / name).read_bytes()  # fmt: skip


@pytest.mark.parametrize(
    "tables",
    [
        {},
        {"members": []},
        {"members": [], "topics": [{}]},
        {"t": [{"s": '中"\\\n\t\u2028\x00', "none": None, "yes": True, "no": False, "int": -3,
                "float": 1.5, "big": 1e308, "small": 5e-324, "nan": float("nan"),
                "inf": float("inf"), "-inf": float("-inf"), "tags": ["促销", "a b"], "empty": [],
                "nested": {"k": [1, {"z": None}]}, "none_here": {}},
               {"x": 12000.0, "y": 10**20}],
         "u": [{"only": "one"}]},
    ],
)  # fmt: skip
def test_the_json_writer_writes_what_the_standard_encoder_does(tables: dict[str, Any]) -> None:
    out = io.StringIO()
    write_json(tables, out)

    assert out.getvalue() == json.dumps(tables, ensure_ascii=False, indent=2) + "\n"


def _add_kpis(bot: BotDriver, first: int, count: int) -> None:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    values = [
        {"team_id": "content", "platform": platform, "day": date(2026, 11, 22) - timedelta(days=n),
         "metric": "reads", "value": float(n), "updated_at": now}
        for n in range(first // 2, (first + count) // 2)
        for platform in ("wechat", "douyin")
    ]  # fmt: skip
    with transaction(bot.bot.engine) as session:
        session.execute(insert(KpiDaily), values)


def _peak_bytes_of_export(bot: BotDriver) -> int:
    class Discard(io.StringIO):
        def write(self, text: str) -> int:
            return len(text)

    tracemalloc.start()
    try:
        _streamed(bot, write_json, Discard())
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_an_export_is_written_as_it_is_read(bot: BotDriver) -> None:
    """Ten times the rows, not ten times the memory: the rows are never all held."""
    _add_kpis(bot, 0, 4_000)  # more than a batch read and a batch written
    _peak_bytes_of_export(bot)  # the first export also fills SQLAlchemy's caches
    small = _peak_bytes_of_export(bot)
    _add_kpis(bot, 4_000, 36_000)
    big = _peak_bytes_of_export(bot)

    assert big < 1.5 * small  # held in memory, 40,000 rows take 30 times as much
