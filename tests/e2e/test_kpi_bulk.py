"""Big KPI files, on SQLite and PostgreSQL: the import reads every line first, compares
the file with what is stored in a few range reads and writes only new and changed values
in batches — so its statements grow with the batches, not with the lines — while the
report still counts each line as new, updated or unchanged, and a line the database
refuses is reported and leaves the others stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from handlers import kpi_import
from handlers.kpi_import import ImportError_, ImportReport, import_kpi_csv
from storage.db import transaction
from tests.conftest import BotDriver, BotFactory

LAST_DAY = date(2026, 11, 22)  # the day before the frozen clock's
PLATFORMS = ("wechat", "douyin", "xiaohongshu")
METRICS = ("reads", "shares")


@pytest.fixture
def bot(make_bot: BotFactory, database_url: str) -> BotDriver:
    return make_bot(url=database_url)


def long_file(days: int, *, value: Any = None, start: int = 0, limit: int | None = None) -> bytes:
    """`date,platform,metric,value` for `days` days back from LAST_DAY (after skipping
    `start`), each platform and metric of a day on its own line, the first `limit` lines
    of them; `value(offset, platform, metric)` chooses the value."""
    lines = [
        f"{(LAST_DAY - timedelta(days=offset)).isoformat()},{platform},{metric},"
        f"{value(offset, platform, metric) if value else offset * 10 + len(metric)}"
        for offset in range(start, start + days)
        for platform in PLATFORMS
        for metric in METRICS
    ]
    return "\n".join(["date,platform,metric,value", *lines[:limit]]).encode() + b"\n"


def _import(bot: BotDriver, data: bytes, platform: str | None = None) -> ImportReport:
    with transaction(bot.bot.engine) as session:
        return import_kpi_csv(
            session, data, team_id="content", content_platforms=bot.bot.content_platforms,
            default_platform=platform, today=bot.clock.now().date(), now=bot.clock.now(),
        )  # fmt: skip


def _counts(report: ImportReport) -> tuple[int, int, int, int]:
    return (report.imported, report.updated, report.unchanged, len(report.rejected))


def stored(bot: BotDriver) -> dict[tuple[str, str, str], tuple[float, str]]:
    """(platform, day, metric) → (value, updated_at) of every stored value."""
    with bot.bot.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT platform, day, metric, value, updated_at FROM kpi_daily")
        ).all()
    return {(p, str(d)[:10], m): (v, str(u)) for p, d, m, v, u in rows}


def test_a_file_then_the_same_file_then_a_corrected_one(bot: BotDriver) -> None:
    first = _import(bot, long_file(400))

    assert _counts(first) == (2400, 0, 0, 0)
    before = stored(bot)
    assert len(before) == 2400
    assert before[("douyin", "2026-11-22", "shares")][0] == 6
    assert before[("wechat", "2025-10-19", "reads")][0] == 3995  # 399 days back

    bot.clock.advance(timedelta(hours=1))
    again = _import(bot, long_file(400))

    assert _counts(again) == (0, 0, 2400, 0)
    assert stored(bot) == before  # not even the time of a write changed

    # Three corrected values, and two days more at the far end.
    def corrected(offset: int, platform: str, metric: str) -> int:
        changed = offset in (0, 7) and platform == "wechat" and metric == "reads"
        changed |= offset == 3 and platform == "douyin" and metric == "shares"
        return offset * 10 + len(metric) + (1000 if changed else 0)

    bot.clock.advance(timedelta(hours=1))
    third = _import(bot, long_file(402, value=corrected))

    assert _counts(third) == (12, 3, 2397, 0)
    after = stored(bot)
    assert len(after) == 2412
    changed = {key for key in before if after[key] != before[key]}
    assert changed == {
        ("wechat", "2026-11-22", "reads"),
        ("wechat", "2026-11-15", "reads"),
        ("douyin", "2026-11-19", "shares"),
    }
    assert after[("wechat", "2026-11-22", "reads")][0] == 1005
    assert after[("douyin", "2026-11-19", "shares")][0] == 1036
    assert after[("xiaohongshu", "2025-10-17", "shares")][0] == 4016  # a new day


def test_a_wide_line_is_new_if_one_value_is_and_updated_if_one_changed(bot: BotDriver) -> None:
    assert _counts(_import(bot, b"date,reads,shares\n2026-11-16,100,\n2026-11-17,200,20\n", "wechat")) == (2, 0, 0, 0)  # fmt: skip

    report = _import(
        bot,
        b"date,reads,shares\n2026-11-16,100,10\n2026-11-17,201,20\n2026-11-18,300,30\n",
        "wechat",
    )

    # 16th: reads unchanged, shares new → new; 17th: reads changed → updated; 18th: new.
    assert _counts(report) == (2, 1, 0, 0)
    assert {key: value for key, (value, _) in stored(bot).items()} == {
        ("wechat", "2026-11-16", "reads"): 100,
        ("wechat", "2026-11-16", "shares"): 10,
        ("wechat", "2026-11-17", "reads"): 201,
        ("wechat", "2026-11-17", "shares"): 20,
        ("wechat", "2026-11-18", "reads"): 300,
        ("wechat", "2026-11-18", "shares"): 30,
    }


def test_values_of_other_teams_and_days_are_left_alone(bot: BotDriver) -> None:
    """The range reads cover each (platform, metric) from its first to its last day: what
    is stored in between and is not in the file, or is another team's, stays as it is."""
    with bot.bot.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO kpi_daily (team_id, platform, day, metric, value, updated_at) VALUES "
                "('other', 'wechat', '2026-11-20', 'reads', 1, '2026-11-01 00:00:00'), "
                "('content', 'wechat', '2026-11-20', 'likes', 2, '2026-11-01 00:00:00')"
            )
        )

    report = _import(bot, b"date,reads\n2026-11-21,5\n2026-11-19,6\n2026-11-20,7\n", "wechat")

    assert _counts(report) == (3, 0, 0, 0)
    values = {key: value for key, (value, _) in stored(bot).items()}
    assert values[("wechat", "2026-11-20", "likes")] == 2
    with bot.bot.engine.connect() as connection:
        other = connection.execute(text("SELECT value FROM kpi_daily WHERE team_id = 'other'"))
        assert other.scalar_one() == 1


def _refuse_value(engine: Engine, refused: float) -> None:
    """Make the database itself refuse to store `refused` (a trigger), as it refuses a
    value its column cannot hold."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON kpi_daily "
                    f"WHEN NEW.value = {refused} BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.value = {refused} THEN RAISE EXCEPTION 'refused'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON kpi_daily "
                    "FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )


def test_a_line_the_database_refuses_is_reported_and_the_rest_stored(
    bot: BotDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kpi_import, "BATCH_ROWS", 50)  # the refused line in the 3rd batch
    _refuse_value(bot.bot.engine, 777)

    def with_one_refused(offset: int, platform: str, metric: str) -> int:
        return 777 if (offset, platform, metric) == (20, "douyin", "reads") else offset + 1

    report = _import(bot, long_file(30, value=with_one_refused))

    assert _counts(report) == (179, 0, 0, 1)
    assert [(r.line, r.key) for r in report.rejected] == [(124, "import.reject.storage")]
    values = stored(bot)
    assert len(values) == 179
    assert ("douyin", "2026-11-02", "reads") not in values
    assert values[("douyin", "2026-11-02", "shares")][0] == 21  # the next line, same batch


# --- statements -----------------------------------------------------------------------


@pytest.fixture
def statements(bot: BotDriver) -> Iterator[list[str]]:
    """Every statement sent to the database while the test runs."""
    seen: list[str] = []

    def count(*arguments: Any) -> None:
        seen.append(arguments[2])

    event.listen(bot.bot.engine, "before_cursor_execute", count)
    yield seen
    event.remove(bot.bot.engine, "before_cursor_execute", count)


def test_statements_grow_with_batches_not_lines(
    bot: BotDriver, statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same platforms and metrics, 100 lines and then 2,000: one range read per
    (platform, metric) in both, and one upsert (with its savepoint) per batch."""
    monkeypatch.setattr(kpi_import, "BATCH_ROWS", 500)
    small, big = long_file(17, limit=100), long_file(334, start=17, limit=2000)

    statements.clear()
    assert _counts(_import(bot, small)) == (100, 0, 0, 0)
    for_small = len(statements)
    statements.clear()
    assert _counts(_import(bot, big)) == (2000, 0, 0, 0)
    for_big = len(statements)

    batches = math.ceil(2000 / 500)
    assert for_big - for_small <= 3 * batches  # SAVEPOINT, the upsert, RELEASE
    assert for_big < 40
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == len(PLATFORMS) * len(METRICS)

    statements.clear()
    assert _counts(_import(bot, big)) == (0, 0, 2000, 0)
    assert not [s for s in statements if "INSERT" in s.upper()]  # unchanged: no write


# --- reading the file as the import goes ------------------------------------------------


def test_a_broken_line_far_down_refuses_the_whole_file(bot: BotDriver) -> None:
    """The text is read as the lines are checked; a line the CSV reader cannot read at
    all still refuses the file before anything is stored."""
    huge = "9" * 200_000  # over the csv module's field limit
    data = long_file(20) + f"2026-11-01,wechat,reads,{huge}\n".encode()

    with pytest.raises(ImportError_, match=r"^line 122: field larger than field limit"):
        _import(bot, data)
    assert stored(bot) == {}


def test_a_file_without_header_names_a_broken_line_first(bot: BotDriver) -> None:
    data = ("title\n" * 20 + "x," + "9" * 200_000 + "\n").encode()

    with pytest.raises(ImportError_, match=r"^line 21: field larger than field limit"):
        _import(bot, data, platform="wechat")


def test_a_platform_too_long_for_its_column_is_refused_not_cut(
    make_bot: BotFactory, postgres_url: str
) -> None:
    """PostgreSQL refuses a value longer than its column; the batch write must not cut
    it short instead (a cast to VARCHAR(32) would, without a word)."""
    name = "a-platform-with-a-very-long-name-indeed"
    bot = make_bot(url=postgres_url, team={"platforms": ["wechat", name]})

    report = _import(
        bot, f"date,platform,reads\n2026-11-16,wechat,5\n2026-11-16,{name},6\n".encode()
    )

    assert _counts(report) == (1, 0, 0, 1)
    assert [(r.line, r.key) for r in report.rejected] == [(3, "import.reject.storage")]
    assert {key: value for key, (value, _) in stored(bot).items()} == {
        ("wechat", "2026-11-16", "reads"): 5
    }
