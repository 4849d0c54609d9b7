"""How `opsbot tick` grows with the number of teams, and how fast the outbox drains.

Each tick figure runs `opsbot tick` as the command line does (load the YAML config,
open the database, tick, deliver to the console), frozen at an instant through
`OPSBOT_NOW`, and divides by the teams. The teams keep the default schedule, three
members (who joined through chat, so the config lists none), a topic and two posts:

- nothing due: 09:05 on a workday, after the 09:00 digest went out;
- digest due: 09:00 on a workday, every team's digest built, posted and printed;
- three processes on PostgreSQL: three `opsbot tick` processes started together at
  09:00, from the first start to the last exit (the note says how the teams were shared);
- outbox: items a second through `deliver_due` to a sender that does nothing.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, insert, text

from bot.core.clock import FrozenClock
from bot.core.messages import Reply, Section, reply_to_dict
from bot.core.outbound import OutgoingMessage
from bot.runtime.app import OpsBot
from bot.runtime.delivery import TeamAddresses, deliver_due
from bot.runtime.settings import load_settings
from bot.vocab.workdays import is_workday
from storage.db import normalise_url, transaction
from storage.models import Member, OutboxItem, Post, Topic

Figure = tuple[str, str, list[float], str]

ZONE = ZoneInfo("Asia/Shanghai")
JOINED = datetime(2026, 11, 22, 20, 0, tzinfo=ZONE)  # Sunday evening: the teams exist since
FIRST_DAY = date(2026, 11, 23)  # a Monday
PROCESSES = 3
OUTBOX_ITEMS_MAX = 10_000
_HANDLED = re.compile(r"tick at \S+: (\d+) of (\d+) teams")


def tick_figures(directory: Path, teams: int, repeats: int, pg_url: str | None) -> list[Figure]:
    """(name, unit, samples, note) of each figure; samples are in the unit."""
    figures = list(_sqlite_ticks(directory, teams, repeats))
    if pg_url:
        figures += _postgres_ticks(directory, teams, repeats, pg_url)
    figures.append(_outbox(directory, min(max(teams, 1_000), OUTBOX_ITEMS_MAX), repeats))
    return figures


# -- the teams -------------------------------------------------------------------------


def _config(path: Path, url: str, teams: int) -> Path:
    lines = ["locale: zh-CN", "timezone: Asia/Shanghai", "storage:", f"  url: '{url}'", "teams:"]
    for n in range(teams):
        lines += [f"  - id: t{n:05d}", f"    name: Team {n}", "    platforms: [wechat, douyin]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _fill(bot: OpsBot) -> None:
    """Three members, a topic and two posts (tonight's, next week's) for every team."""
    members: list[dict[str, Any]] = []
    topics: list[dict[str, Any]] = []
    posts: list[dict[str, Any]] = []
    for team in bot.settings.teams:
        for member, role in (("alice", "admin"), ("bob", "editor"), ("carol", "member")):
            members.append({"team_id": team.id, "id": member, "name": member.title(),
                            "role": role, "created_at": JOINED})  # fmt: skip
        topics.append({"team_id": team.id, "title": "冬季护肤", "tags": [], "timeliness": 4,
                       "value": 3, "conversion": 3, "score": 3.3, "priority": "high",
                       "created_by": "alice", "created_at": JOINED, "updated_at": JOINED})  # fmt: skip
        for planned in (datetime(2026, 11, 23, 20, 0, tzinfo=ZONE), JOINED + timedelta(days=9)):
            posts.append({"team_id": team.id, "title": "双十一复盘", "platform": "wechat",
                          "planned_at": planned, "owner": "bob", "status": "planned",
                          "created_by": "alice", "created_at": JOINED, "updated_at": JOINED})  # fmt: skip
    with transaction(bot.engine) as session:
        for table, rows in ((Member, members), (Topic, topics), (Post, posts)):
            for start in range(0, len(rows), 2_000):
                session.execute(insert(table), rows[start : start + 2_000])


def _prepare(directory: Path, name: str, url: str, teams: int) -> Path:
    config = _config(directory / f"{name}.yaml", url, teams)
    bot = OpsBot.open(load_settings(config, environ={}), FrozenClock(JOINED))
    _fill(bot)
    bot.engine.dispose()
    return config


def _workdays(count: int) -> list[date]:
    days: list[date] = []
    day = FIRST_DAY
    while len(days) < count:
        if is_workday(day, calendar="CN", holidays=[]):
            days.append(day)
        day += timedelta(days=1)
    return days


def _at(day: date, hour: int, minute: int) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).isoformat()


class _Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _tick(config: Path, instant: str) -> float:
    """One `opsbot tick`, in this process (its printed posts discarded); seconds."""
    from bot.runtime.cli import main

    with _environment(OPSBOT_NOW=instant), contextlib.redirect_stdout(_Discard()):
        started = time.perf_counter()
        code = main(["tick", "--config", str(config)])
        elapsed = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"opsbot tick at {instant} exited with {code}")
    return elapsed


# -- SQLite ----------------------------------------------------------------------------


def _sqlite_ticks(directory: Path, teams: int, repeats: int) -> list[Figure]:
    config = _prepare(directory, "tick", f"sqlite:///{directory / 'tick.db'}", teams)
    nothing: list[float] = []
    digest: list[float] = []
    for day in _workdays(repeats):
        _tick(config, _at(day, 8, 0))  # yesterday's stand-up jobs, missed: recorded as skipped
        digest.append(_tick(config, _at(day, 9, 0)) * 1000 / teams)
        nothing.append(_tick(config, _at(day, 9, 5)) * 1000 / teams)
    note = f"{teams:,} teams, SQLite, the whole command (config, open, tick, delivery)"
    return [
        ("opsbot tick, nothing due", "ms/team", nothing, note),
        ("opsbot tick, digest due", "ms/team", digest, note + ", digests printed"),
    ]


# -- PostgreSQL ------------------------------------------------------------------------


@contextlib.contextmanager
def _postgres_schema(base: str) -> Iterator[str]:
    schema = f"opsbot_bench_{uuid.uuid4().hex[:8]}"
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


def _tick_processes(config: Path, instant: str, processes: int) -> tuple[float, list[int]]:
    """`processes` real `opsbot tick` processes started together: seconds from the first
    start to the last exit, and how many teams each one handled (from its log)."""
    environment = {**os.environ, "OPSBOT_NOW": instant, "OPSBOT_LOG_LEVEL": "INFO"}
    command = [sys.executable, "-m", "bot", "tick", "--config", str(config)]
    started = time.perf_counter()
    running = [
        subprocess.Popen(
            command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for _ in range(processes)
    ]
    shares = []
    for process in running:
        _, errors = process.communicate(timeout=3_600)
        if process.returncode != 0:
            raise RuntimeError(f"opsbot tick exited with {process.returncode}: {errors[-2000:]}")
        shares.append(sum(int(found[0]) for found in _HANDLED.findall(errors)))
    return time.perf_counter() - started, shares


def _postgres_ticks(directory: Path, teams: int, repeats: int, base: str) -> list[Figure]:
    with _postgres_schema(base) as url:
        config = _prepare(directory, "tick-pg", url, teams)
        one: list[float] = []
        together: list[float] = []
        shares: list[list[int]] = []
        days = _workdays(2 * repeats)
        for first, second in zip(days[::2], days[1::2], strict=True):
            _tick(config, _at(first, 8, 0))
            seconds, _ = _tick_processes(config, _at(first, 9, 0), 1)
            one.append(seconds * 1000 / teams)
            _tick(config, _at(second, 8, 0))
            seconds, share = _tick_processes(config, _at(second, 9, 0), PROCESSES)
            together.append(seconds * 1000 / teams)
            shares.append(share)
    split = "; ".join(" / ".join(f"{n:,}" for n in share) for share in shares)
    note = f"{teams:,} teams, digest due, start to exit of each process"
    return [
        ("opsbot tick on PostgreSQL, 1 process", "ms/team", one, note),
        (f"opsbot tick on PostgreSQL, {PROCESSES} processes together", "ms/team", together,
         f"{note}; teams each took: {split}"),
    ]  # fmt: skip


# -- the outbox ------------------------------------------------------------------------


class _NoOpSender:
    def __init__(self) -> None:
        self.sent = 0

    def send(self, message: OutgoingMessage) -> None:
        self.sent += 1


def _outbox(directory: Path, items: int, repeats: int) -> Figure:
    teams = max(items // 10, 1)
    config = _config(directory / "outbox.yaml", f"sqlite:///{directory / 'outbox.db'}", teams)
    settings = load_settings(config, environ={})
    clock = FrozenClock(JOINED)
    bot = OpsBot.open(settings, clock)
    reply = Reply("☀️ Team · 11月23日 周一 早报",
                  sections=[Section("📅 今日发布 (1)", lines=["20:00 公众号 双十一复盘"])])  # fmt: skip
    payload = reply_to_dict(reply)
    samples: list[float] = []
    for repeat in range(repeats):
        rows = [
            {"team_id": settings.teams[n % teams].id, "idempotency_key": f"{repeat}:{n}",
             "platform": "console", "target": "team", "kind": "digest", "payload": payload,
             "status": "pending", "attempts": 0, "next_attempt_at": JOINED,
             "created_at": JOINED}
            for n in range(items)
        ]  # fmt: skip
        with transaction(bot.engine) as session:
            for start in range(0, len(rows), 2_000):
                session.execute(insert(OutboxItem), rows[start : start + 2_000])
        sender = _NoOpSender()
        started = time.perf_counter()
        report = deliver_due(bot.engine, {"console": sender}, clock, TeamAddresses(settings))
        elapsed = time.perf_counter() - started
        if report.sent != items or sender.sent != items:
            raise RuntimeError(f"delivered {report.sent} of {items} outbox items")
        samples.append(items / elapsed)
    bot.engine.dispose()
    note = f"{items:,} items of {teams:,} teams a run, SQLite, through deliver_due"
    return ("outbox to a no-op sender", "items/s", samples, note)


if __name__ == "__main__":  # python -m bench.tick [teams] [repeats]
    import statistics
    import tempfile

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    times = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as folder:
        for name, unit, values, note in tick_figures(
            Path(folder), count, times, os.environ.get("OPSBOT_TEST_PG_URL")
        ):
            print(f"{name}: {statistics.median(values):.3f} {unit} "
                  f"(min {min(values):.3f}, max {max(values):.3f}; {note})")  # fmt: skip
