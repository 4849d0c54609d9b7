"""Several bot processes tick at the same instant against one database: each scheduled
post still runs once and is delivered once — on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import io
import multiprocessing
from contextlib import redirect_stdout
from datetime import datetime
from pathlib import Path

from bot.core.clock import FrozenClock
from bot.runtime.app import OpsBot
from tests.conftest import make_settings

PROCESSES = 4
MONDAY_0930 = datetime.fromisoformat("2026-11-23T09:30:00+08:00")


def _tick_in_process(url: str, barrier: multiprocessing.synchronize.Barrier, output: str) -> None:
    from bot.runtime.cli import _tick_and_deliver
    from bot.runtime.wiring import connect_chat_platforms

    bot = OpsBot.open(make_settings(url), FrozenClock(MONDAY_0930))
    buffer = io.StringIO()
    barrier.wait(timeout=30)
    with redirect_stdout(buffer):
        _tick_and_deliver(bot, connect_chat_platforms(bot))
    Path(output).write_text(buffer.getvalue(), encoding="utf-8")
    bot.engine.dispose()


def test_concurrent_ticks_post_once(database_url: str, tmp_path: Path) -> None:
    OpsBot.open(  # migrate first: the team exists since 08:00, so 09:00's digest is due
        make_settings(database_url), FrozenClock(MONDAY_0930.replace(hour=8))
    ).engine.dispose()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    outputs = [tmp_path / f"out-{index}.txt" for index in range(PROCESSES)]
    processes = [
        context.Process(target=_tick_in_process, args=(database_url, barrier, str(output)))
        for output in outputs
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0

    printed = "".join(output.read_text(encoding="utf-8") for output in outputs)
    assert printed.count("☀️ 内容组 · 11月23日 周一 早报") == 1
    assert printed.count("📊 内容组 · 第 47 周数据周报") == 1
    assert printed.count("── ✉️ @alice · standup_prompt ──") == 1
    bot = OpsBot.open(make_settings(database_url), FrozenClock(MONDAY_0930))
    from storage.db import transaction
    from storage.export import export_tables

    with transaction(bot.engine) as session:
        tables = export_tables(session)
    bot.engine.dispose()
    jobs = sorted((row["job"], row["period"]) for row in tables["job_runs"])
    assert jobs == [
        ("digest", "2026-11-23T09:00"),
        ("standup_prompt", "2026-11-23T09:30"),
        ("weekly_summary", "2026-W47"),
    ]
    kinds = sorted(row["kind"] for row in tables["outbox"])
    # The summary to the channel, and each member's own week to them.
    assert kinds == ["digest", *["standup_prompt"] * 4, *["weekly_summary"] * 5]
    assert {row["status"] for row in tables["outbox"]} == {"sent"}
