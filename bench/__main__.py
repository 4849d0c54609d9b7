"""How fast opsbot answers, and how the weekly summary's cost grows with history.

Each figure is the median of repeated runs, with min and max. Benchmarks print figures;
nothing fails on a figure. Figures the landed code cannot support yet are listed as
skipped, with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from bot.app import OpsBot
from bot.clock import FrozenClock
from bot.config import Settings
from bot.messages import Command
from bot.metrics import METRIC_KEYS
from handlers.summary import gather_summary_input
from handlers.weekly_summary import build_weekly_summary
from storage.db import transaction
from storage.models import KpiDaily, Post

RESULTS = Path(__file__).with_name("results.json")
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
PLATFORMS = ("wechat", "xiaohongshu", "douyin", "weibo", "zhihu", "bilibili", "channels",
             "miniprogram", "toutiao", "kuaishou")  # fmt: skip


@dataclass
class Figure:
    name: str
    unit: str
    median: float
    low: float
    high: float
    note: str = ""


def _timed(action: Callable[[], object], repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def _figure(name: str, unit: str, samples: list[float], note: str = "") -> Figure:
    return Figure(name, unit, statistics.median(samples), min(samples), max(samples), note)


def _settings(url: str) -> Settings:
    members = [{"id": "alice", "role": "admin"}, {"id": "bob", "role": "editor"}]
    team = {"id": "bench", "name": "Bench", "platforms": ["kuaishou"], "members": members}
    return Settings.model_validate({"storage": {"url": url}, "teams": [team]})


COMMAND_MIX = (
    "/topic add 选题 {n} #标签 p:wechat t:4 v:3 c:5",
    "@bob /topic vote {n}",
    "/topic list",
    "/task add 任务 {n} q1 ~1h",
    "/task list",
    "/publish list week",
    "/kpi log wechat 11-20 reads={n} shares=3",
)


def command_core(url: str, label: str, commands: int, repeats: int) -> Figure:
    """Commands per second through OpsBot.handle (router, handlers, storage), no network."""
    bot = OpsBot.open(_settings(url), FrozenClock(NOW))
    counter = iter(range(1, 10**9))

    def run() -> None:
        for index in range(commands):
            n = next(counter)
            text = COMMAND_MIX[index % len(COMMAND_MIX)].format(n=max(1, n // len(COMMAND_MIX)))
            speaker = "alice"
            if text.startswith("@bob "):
                speaker, text = "bob", text[5:]
            bot.handle(Command(text=text, team_id="bench", user_id=speaker))

    samples = [commands / seconds for seconds in _timed(run, repeats)]
    bot.engine.dispose()
    return _figure(f"command core ({label})", "commands/s", samples, f"{commands} commands a run")


def _fill_history(bot: OpsBot, days: int, posts: int) -> None:
    first = date(2026, 11, 22) - timedelta(days=days - 1)
    rows = [
        {"team_id": "bench", "platform": platform, "day": first + timedelta(days=offset),
         "metric": metric, "value": float(100 + offset), "updated_at": NOW}
        for offset in range(days)
        for platform in PLATFORMS
        for metric in METRIC_KEYS
    ]  # fmt: skip
    post_rows = [
        {
            "team_id": "bench",
            "title": f"post {n}",
            "platform": PLATFORMS[n % len(PLATFORMS)],
            "planned_at": NOW - timedelta(hours=n),
            "owner": "alice",
            "status": "published",
            "published_at": NOW - timedelta(hours=n),
            "created_by": "alice",
            "created_at": NOW,
            "updated_at": NOW,
        }
        for n in range(posts)
    ]
    with transaction(bot.engine) as session:
        for start in range(0, len(rows), 5000):
            session.execute(insert(KpiDaily), rows[start : start + 5000])
        if post_rows:
            session.execute(insert(Post), post_rows)


def summary_scaling(directory: Path, days: int, label: str, repeats: int) -> Figure:
    """Time to gather and compute one weekly summary over a history of `days` days."""
    bot = OpsBot.open(_settings(f"sqlite:///{directory / f'summary-{days}.db'}"), FrozenClock(NOW))
    _fill_history(bot, days, posts=10_000)
    team = bot.settings.team()

    def run() -> None:
        with transaction(bot.engine) as session:
            data = gather_summary_input(session, team=team, week_start=date(2026, 11, 16), now=NOW)
        build_weekly_summary(data)

    samples = [seconds * 1000 for seconds in _timed(run, repeats)]
    rows = days * len(PLATFORMS) * len(METRIC_KEYS)
    bot.engine.dispose()
    return _figure(
        f"weekly summary, {label}", "ms", samples, f"{rows:,} daily KPI rows + 10,000 posts"
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (for CI)")
    arguments = parser.parse_args()
    repeats = 3 if arguments.quick else 7
    commands = 100 if arguments.quick else 400
    figures: list[Figure] = []
    skipped: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        figures.append(
            command_core(f"sqlite:///{directory / 'core.db'}", "SQLite", commands, repeats)
        )
        if os.environ.get("OPSBOT_TEST_PG_URL"):
            figures.append(_postgres_core(commands, repeats))
        else:
            skipped.append(("command core (PostgreSQL)", "OPSBOT_TEST_PG_URL is not set"))
        for days, label in ((30, "1 month"), (365, "1 year"), (3 * 365, "3 years")):
            figures.append(summary_scaling(directory, days, label, repeats))
    skipped += [
        ("slash commands over HTTP vs bare Bolt", "the Slack adapter has not landed yet"),
        ("Feishu and WeCom callbacks", "those adapters have not landed yet"),
        ("digest scaling", "the morning digest has not landed yet"),
        ("footprint of opsbot run", "opsbot run has no HTTP server yet"),
    ]
    _print(figures, skipped)
    RESULTS.write_text(
        json.dumps(
            {
                "figures": [asdict(f) for f in figures],
                "skipped": [{"name": n, "why": w} for n, w in skipped],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return 0


def _postgres_core(commands: int, repeats: int) -> Figure:
    import uuid

    from sqlalchemy import create_engine, text

    from storage.db import normalise_url

    base = os.environ["OPSBOT_TEST_PG_URL"]
    schema = f"opsbot_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(base))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in base else "?"
        return command_core(
            f"{base}{separator}options=-csearch_path%3D{schema}", "PostgreSQL", commands, repeats
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _print(figures: list[Figure], skipped: list[tuple[str, str]]) -> None:
    width = max(len(f.name) for f in figures)
    print(f"{'benchmark':<{width}}  {'median':>10}  {'min':>10}  {'max':>10}  unit")
    for f in figures:
        numbers = f"{f.median:>10.1f}  {f.low:>10.1f}  {f.high:>10.1f}"
        print(f"{f.name:<{width}}  {numbers}  {f.unit}  ({f.note})")
    base = next((f for f in figures if f.name == "weekly summary, 1 month"), None)
    if base is not None:
        for f in figures:
            if f.name.startswith("weekly summary") and f is not base:
                print(f"  {f.name}: {f.median / base.median:.2f}× the 1-month time")
    for name, why in skipped:
        print(f"skipped: {name} — {why}")


if __name__ == "__main__":
    raise SystemExit(main())
