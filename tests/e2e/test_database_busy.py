"""A command that cannot get SQLite's write lock (another process holds it past the busy
timeout) is refused in words — nothing stored, "send it again" — never "something went
wrong" with a traceback."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from storage import db
from tests.conftest import BotFactory


def test_a_command_behind_another_process_s_long_write_is_refused_and_stores_nothing(
    make_bot: BotFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 50)  # not 10 s: the same outcome
    bot = make_bot()
    bot.send("/topic add 先存的选题")
    holder = sqlite3.connect(tmp_path / "opsbot.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with caplog.at_level(logging.WARNING):
            refused = bot.send("/topic add 被挡住的选题")
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert "数据库正被另一个进程长时间占用" in refused and "没有保存任何内容" in refused
    assert "Traceback" not in caplog.text
    assert [row["title"] for row in bot.export()["topics"]] == ["先存的选题"]
    assert "已保存" in bot.send("/topic add 被挡住的选题")  # and works once it is free
    assert [row["title"] for row in bot.export()["topics"]] == ["先存的选题", "被挡住的选题"]
