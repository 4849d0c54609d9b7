"""Shared fixtures: a real database (SQLite file, or PostgreSQL when asked), the frozen
clock, and `bot` — the console adapter in front of a fully wired OpsBot.

PostgreSQL runs when `OPSBOT_TEST_PG_URL` is set (`.ci/run` sets it to the local
server); each test then gets a schema of its own, dropped afterwards.

A bot on a new SQLite file starts from a copy of one migrated once per test process
(`start_migrated`): migrating from nothing for every test was most of a test's set-up.
The migrations' own tests start from empty files and never come here.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from bot.chat import CHAT_PLATFORM_NAMES
from bot.chat.console.adapter import ConsoleAdapter
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.messages import Reply
from bot.runtime.app import OpsBot
from bot.runtime.settings import settings_from
from storage.db import create_engine_for, normalise_url, sqlite_file, transaction
from storage.export import export_tables

# Monday 23 November 2026, 10:00 in Shanghai.
DEFAULT_NOW = datetime.fromisoformat("2026-11-23T10:00:00+08:00")

DEFAULT_MEMBERS = [
    {"id": "alice", "name": "Alice", "role": "admin"},
    {"id": "bob", "name": "Bob", "role": "editor"},
    {"id": "carol", "name": "Carol", "role": "editor"},
    {"id": "dave", "name": "Dave", "role": "member"},
]


def _postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    base = os.environ.get("OPSBOT_TEST_PG_URL")
    if not base:
        pytest.skip("OPSBOT_TEST_PG_URL is not set, so the PostgreSQL variant is skipped")
    schema = f"opsbot_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(base))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, then the real PostgreSQL if configured."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'opsbot.db'}"
    else:
        yield from _postgres_url(request)


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh schema on the real PostgreSQL, for what only PostgreSQL does."""
    yield from _postgres_url(request)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'opsbot.db'}"


@functools.cache
def _migrated_sqlite() -> Path:
    """A SQLite file at the head revision, migrated by this process, with nothing else."""
    from storage.migrate import upgrade_database

    folder = Path(tempfile.mkdtemp(prefix="opsbot-migrated-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    file = folder / "opsbot.db"
    engine = create_engine_for(f"sqlite:///{file}")
    upgrade_database(engine)
    engine.dispose()  # the last connection closed: the WAL is written back and removed
    assert not file.with_name("opsbot.db-wal").exists()
    return file


def start_migrated(url: str) -> None:
    """If `url` names a SQLite file that does not exist yet, create it as a copy of the
    migrated one; `OpsBot.open` then finds no migration to apply. Anything else (a file
    already there, PostgreSQL, a folder still to be made or not writable) is left to
    `OpsBot.open`, which then fails or migrates as it would have."""
    file = sqlite_file(url)
    if file is not None and not file.exists() and file.parent.is_dir():
        with contextlib.suppress(OSError):
            shutil.copyfile(_migrated_sqlite(), file)


def make_settings(url: str, **overrides: Any) -> Settings:
    team = {
        "id": "content",
        "name": "内容组",
        "platforms": ["wechat", "xiaohongshu", "douyin"],
        "members": DEFAULT_MEMBERS,
    }
    team.update(overrides.pop("team", {}))
    document = {"locale": "zh-CN", "storage": {"url": url}, "teams": [team], **overrides}
    return settings_from(document)


class BotDriver:
    """Talks to the bot the way a person at the console does, and reads what was stored."""

    def __init__(self, bot: OpsBot, clock: FrozenClock, speaker: str = "alice") -> None:
        self.bot = bot
        self.clock = clock
        team = bot.settings.team()
        self.console = ConsoleAdapter(
            bot, bot.t, team_id=team.id, team_name=team.display_name, speaker=speaker
        )

    def send(self, line: str) -> str:
        """Send one console line (`@bob /topic vote 1` speaks as bob); the rendered reply."""
        reply = self.console.reply_to(line)
        assert reply is not None
        return reply

    def reply(self, text: str, *, speaker: str = "alice") -> Reply:
        return self.bot.say(text, speaker=speaker)

    def export(self) -> dict[str, list[dict[str, Any]]]:
        zone = self.bot.settings.team().zone
        with transaction(self.bot.engine) as session:
            return export_tables(
                session, zone_for_team=lambda _: zone, chat_platforms=CHAT_PLATFORM_NAMES
            )

    def topic(self, topic_id: int) -> dict[str, Any]:
        return next(row for row in self.export()["topics"] if row["id"] == topic_id)


BotFactory = Callable[..., BotDriver]


@pytest.fixture
def make_bot(sqlite_url: str) -> Iterator[BotFactory]:
    """Build a bot on a fresh SQLite file: `make_bot(locale="en", team={...})`."""
    opened: list[OpsBot] = []

    def factory(
        *, url: str = sqlite_url, now: datetime = DEFAULT_NOW, **overrides: Any
    ) -> BotDriver:
        clock = FrozenClock(now)
        start_migrated(url)
        bot = OpsBot.open(make_settings(url, **overrides), clock)
        opened.append(bot)
        return BotDriver(bot, clock)

    yield factory
    for bot in opened:
        bot.engine.dispose()


@pytest.fixture
def bot(make_bot: BotFactory) -> BotDriver:
    """The shipped team (Alice admin, Bob and Carol editors, Dave member), zh-CN."""
    return make_bot()


@pytest.fixture
def bot_en(make_bot: BotFactory) -> BotDriver:
    return make_bot(locale="en")


@pytest.fixture
def first_topic_write_fails(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The first `/topic add` hits a database error (the disk, a dropped connection);
    later ones work. Yields the titles each attempt tried to store."""
    from sqlalchemy.exc import OperationalError

    from handlers import topics

    real_add = topics.topic_store.add_topic
    tried: list[str] = []

    def add_failing_once(session, topic):  # type: ignore[no-untyped-def]
        tried.append(topic.title)
        if len(tried) == 1:
            raise OperationalError("INSERT INTO topics", {}, Exception("disk I/O error"))
        return real_add(session, topic)

    monkeypatch.setattr(topics.topic_store, "add_topic", add_failing_once)
    return tried
