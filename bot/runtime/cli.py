"""The `opsbot` command line (SPEC §5).

stdout carries only each command's own output (so `opsbot export | jq` works); logs and
errors go to stderr. Exit codes: 0 success, 2 bad usage or config, 1 anything else.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot import __version__
from bot.chat import CHAT_PLATFORM_NAMES
from bot.chat.console.adapter import ConsoleAdapter
from bot.core.clock import SystemClock, clock_from_environment
from bot.core.config import ConfigError, Settings, TeamSettings
from bot.core.jobs import TEAM, Outgoing
from bot.core.messages import Reply
from bot.core.render.chart import ChartsUnavailable
from bot.core.render.text import render_text
from bot.runtime.app import OpsBot
from bot.runtime.demo import DEMO_COMMANDS_ABOUT, DemoError, load_demo
from bot.runtime.doctor import run_checks
from bot.runtime.export import write_csv, write_csv_directory, write_json
from bot.runtime.posting import post
from bot.runtime.progress import Progress
from bot.runtime.scheduler import Scheduler
from bot.runtime.settings import configured_platforms, load_settings
from bot.runtime.wiring import ChatPlatforms, connect_chat_platforms, deliver_outbox
from bot.vocab.errors import InputError
from bot.vocab.when import parse_date
from handlers.digest import digest_reply
from handlers.kpi_import import ImportError_, import_kpi_csv, render_import_report
from handlers.summary import (
    parse_iso_week,
    previous_week_start,
    summary_chart_png,
    weekly_summary_reply,
)
from storage.db import create_engine_for, transaction
from storage.export import export_tables
from storage.migrate import current_revision, upgrade_database

log = logging.getLogger("opsbot")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage that argparse cannot see (a bad OPSBOT_NOW, an unknown team …)."""


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="config file (default: $OPSBOT_CONFIG, then ./config.yaml)",
    )
    parser = argparse.ArgumentParser(
        prog="opsbot",
        description="The chat bot of a content-operations team.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"opsbot {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="command")

    commands.add_parser(
        "run", parents=[common], help="start the configured adapters (the console if none)"
    )
    console = commands.add_parser("console", parents=[common], help="chat with the bot here")
    console.add_argument("--as", dest="speaker", metavar="MEMBER", help="speak as this member")
    console.add_argument("--team", metavar="TEAM", help="team id (default: the first team)")

    commands.add_parser(
        "tick", parents=[common], help="run the jobs due now, deliver the outbox, and exit"
    )
    digest = commands.add_parser("digest", parents=[common], help="print the morning digest")
    digest.add_argument("--team", metavar="TEAM", help="team id (default: the first team)")
    digest.add_argument("--date", metavar="DATE", help="the day (default: today)")
    digest.add_argument("--post", action="store_true", help="post it through the outbox")
    demo = commands.add_parser("demo", parents=[common], help="load a realistic sample team")
    demo.add_argument("--team", metavar="TEAM", help="team id (default: the first team)")
    commands.add_parser("doctor", parents=[common], help="check config, database and platforms")

    export = commands.add_parser("export", parents=[common], help="dump all data")
    export.add_argument("--format", choices=("json", "csv"), default="json")
    export.add_argument(
        "--out", type=Path, metavar="PATH",
        help="write here instead of stdout (for csv: a folder, one file per table)",
    )  # fmt: skip

    summary = commands.add_parser("summary", parents=[common], help="print a weekly KPI summary")
    summary.add_argument("--team", metavar="TEAM", help="team id (default: the first team)")
    summary.add_argument(
        "--week", metavar="YYYY-Www", help="ISO week (default: the last complete week)"
    )
    summary.add_argument(
        "--chart", type=Path, metavar="PNG", help="also draw the last 8 weeks as a PNG here"
    )
    summary.add_argument("--post", action="store_true", help="post it through the outbox")

    kpi = commands.add_parser("kpi", parents=[common], help="KPI data")
    kpi_commands = kpi.add_subparsers(dest="kpi_command", metavar="action", required=True)
    kpi_import = kpi_commands.add_parser("import", parents=[common], help="import a CSV file")
    kpi_import.add_argument("file", type=Path, help="long, wide or WeChat-export CSV")
    kpi_import.add_argument("--platform", help="platform of files without a platform column")
    kpi_import.add_argument("--team", metavar="TEAM", help="team id (default: the first team)")

    database = commands.add_parser("db", parents=[common], help="database maintenance")
    database_commands = database.add_subparsers(dest="db_command", metavar="action", required=True)
    database_commands.add_parser("upgrade", parents=[common], help="apply migrations")
    return parser


def _default_speaker(team: TeamSettings) -> str:
    """The first admin of the team, else its first member, else the login name."""
    for member in team.members:
        if member.role == "admin":
            return member.id
    if team.members:
        return team.members[0].id
    try:
        return getpass.getuser()
    except Exception:
        return "me"


def _team(settings: Settings, team_id: str | None) -> TeamSettings:
    try:
        return settings.team(team_id)
    except ConfigError as error:
        raise UsageError(str(error)) from None


def _open_bot(settings: Settings) -> OpsBot:
    try:
        clock = clock_from_environment(os.environ.get("OPSBOT_NOW"))
    except ValueError as error:
        raise UsageError(f"OPSBOT_NOW: {error}") from None
    return OpsBot.open(settings, clock)


def _console_adapter(bot: OpsBot, team: TeamSettings, speaker: str | None) -> ConsoleAdapter:
    return ConsoleAdapter(
        bot, bot.t, team_id=team.id, team_name=team.display_name,
        speaker=speaker or _default_speaker(team),
    )  # fmt: skip


def _chat_in_console(adapter: ConsoleAdapter) -> None:
    if sys.stdin.isatty():
        adapter.run_interactive(sys.stdout)
    else:
        adapter.run_script(sys.stdin, sys.stdout)


def _console(settings: Settings, speaker: str | None, team_id: str | None) -> int:
    team = _team(settings, team_id)
    bot = _open_bot(settings)
    _chat_in_console(_console_adapter(bot, team, speaker))
    return EXIT_OK


def _tick_and_deliver(bot: OpsBot, platforms: ChatPlatforms) -> None:
    Scheduler(bot).tick()
    deliver_outbox(bot, platforms)


def _start_scheduler(bot: OpsBot, platforms: ChatPlatforms) -> BackgroundScheduler:
    background = BackgroundScheduler(timezone="UTC")
    background.add_job(  # APScheduler itself runs on real time; tick reads the bot's clock
        _tick_and_deliver, IntervalTrigger(seconds=30), args=[bot, platforms], id="tick",
        next_run_time=SystemClock().now(), max_instances=1, coalesce=True,
    )  # fmt: skip
    background.start()
    return background


def _run(settings: Settings) -> int:
    """Start what the config asks for, with the scheduler posting in the background.

    With no chat platform: the console. Otherwise each configured plug-in, and the HTTP
    server for their callbacks, `/healthz` and `/metrics`.
    """
    bot = _open_bot(settings)
    platforms = connect_chat_platforms(bot)
    background = _start_scheduler(bot, platforms)
    try:
        if not configured_platforms(settings):
            _chat_in_console(_console_adapter(bot, settings.team(), None))
            return EXIT_OK
        _serve(bot, platforms)
    finally:
        background.shutdown(wait=True)
    return EXIT_OK


def _serve(bot: OpsBot, platforms: ChatPlatforms) -> None:
    import uvicorn

    from bot.runtime.server import build_http_app

    platforms.start()
    try:
        uvicorn.run(
            build_http_app(bot, platforms.routes()), host=bot.settings.server.host,
            port=bot.settings.server.port, log_level="warning",
        )  # fmt: skip
    finally:
        platforms.stop()


def _tick(settings: Settings) -> int:
    bot = _open_bot(settings)
    _tick_and_deliver(bot, connect_chat_platforms(bot))
    return EXIT_OK


def _post_now(bot: OpsBot, team: TeamSettings, job: str, reply: Reply) -> None:
    """Post a reply asked for on the command line, as the scheduler posts its runs."""
    now = bot.clock.now()
    with transaction(bot.engine) as session:
        period = f"manual:{now.isoformat()}"
        post(session, bot.settings, team, job=job, period=period, outgoing=[Outgoing(TEAM, reply)],
             now=now)  # fmt: skip
    deliver_outbox(bot)


def _digest(settings: Settings, team_id: str | None, day_text: str | None, to_post: bool) -> int:
    team = _team(settings, team_id)
    bot = _open_bot(settings)
    today = bot.clock.now().astimezone(team.zone).date()
    try:
        day = parse_date([day_text], today=today) if day_text else today
    except InputError as error:
        raise UsageError(f"--date: {bot.t(error.message_key, **error.params)}") from None
    with transaction(bot.engine) as session:
        reply = digest_reply(bot.system_context(session, team), day)
    if to_post:
        _post_now(bot, team, "digest", reply)
    else:
        print(render_text(reply))
    return EXIT_OK


def _demo(settings: Settings, team_id: str | None) -> int:
    team = _team(settings, team_id)
    bot = _open_bot(settings)
    try:
        progress = Progress("loading the demo", DEMO_COMMANDS_ABOUT)
        count = load_demo(bot, team_id=team.id, progress=progress)
        progress.finish()
    except DemoError as error:
        raise UsageError(f"demo: {error}") from None
    print(f"demo data loaded into team {team.id} ({count} commands replayed)", file=sys.stderr)
    return EXIT_OK


def _doctor(settings: Settings, source: str) -> int:
    checks = run_checks(settings, source)
    for check in checks:
        print(f"{'✓' if check.ok else '✗'} {check.text}")
    return EXIT_OK if all(check.ok for check in checks) else EXIT_FAILURE


def _export(settings: Settings, output_format: str, out: Path | None) -> int:
    bot = _open_bot(settings)
    zones = {team.id: team.zone for team in settings.teams}
    default_zone = settings.team().zone
    progress = Progress("exporting", 2)
    with transaction(bot.engine) as session:
        tables = export_tables(
            session,
            zone_for_team=lambda team: zones.get(team, default_zone),
            chat_platforms=CHAT_PLATFORM_NAMES,
        )
    progress.update(1)
    if output_format == "csv" and out is not None:
        for path in write_csv_directory(tables, out):
            log.info("wrote %s", path)
        return EXIT_OK
    writer = write_json if output_format == "json" else write_csv
    if out is None:
        writer(tables, sys.stdout)
    else:
        with out.open("w", encoding="utf-8") as stream:
            writer(tables, stream)
    progress.finish()
    return EXIT_OK


def _summary(
    settings: Settings, team_id: str | None, week: str | None, chart: Path | None, to_post: bool
) -> int:
    team = _team(settings, team_id)
    bot = _open_bot(settings)
    today = bot.clock.now().astimezone(team.zone).date()
    try:
        week_start = parse_iso_week(week, today=today) if week else previous_week_start(today)
    except InputError as error:
        raise UsageError(bot.t(error.message_key, **error.params)) from None
    with transaction(bot.engine) as session:
        reply = weekly_summary_reply(
            session, team=team, week_start=week_start, now=bot.clock.now(), t=bot.t,
            content_platforms=bot.content_platforms,
        )  # fmt: skip
        png = None
        if chart is not None:
            try:
                png = summary_chart_png(
                    session,
                    team=team,
                    week_start=week_start,
                    t=bot.t,
                    content_platforms=bot.content_platforms,
                )
            except ChartsUnavailable as error:
                raise UsageError(f"--chart: {error}") from None
    if to_post:
        _post_now(bot, team, "weekly_summary", reply)
    else:
        print(render_text(reply))
    if chart is not None and png is not None:
        chart.write_bytes(png)
        log.info("wrote %s", chart)
    return EXIT_OK


def _kpi_import(settings: Settings, path: Path, platform: str | None, team_id: str | None) -> int:
    team = _team(settings, team_id)
    bot = _open_bot(settings)
    default_platform = None
    if platform is not None:
        default_platform = bot.content_platforms.resolve(platform)
        if default_platform is None:
            raise UsageError(f"--platform: unknown platform {platform!r}")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"{path}: {error.strerror or error}") from None
    now = bot.clock.now()
    bar: Progress | None = None

    def show(done: int, total: int) -> None:
        nonlocal bar
        bar = bar or Progress(f"importing {path.name}", total)
        bar.update(done)

    try:
        with transaction(bot.engine) as session:
            report = import_kpi_csv(
                session, data, team_id=team.id, content_platforms=bot.content_platforms,
                default_platform=default_platform, today=now.astimezone(team.zone).date(), now=now,
                progress=show,
            )  # fmt: skip
    except ImportError_ as error:
        raise UsageError(f"{path}: {error}") from None
    if bar is not None:
        bar.finish()
    print(render_text(render_import_report(report, bot.t)))
    return EXIT_FAILURE if report.rejected else EXIT_OK


def _db_upgrade(settings: Settings) -> int:
    engine = create_engine_for(settings.storage.url)
    upgrade_database(engine)
    print(f"database at revision {current_revision(engine)}", file=sys.stderr)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("OPSBOT_LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    arguments = _parser().parse_args(argv)
    try:
        settings = load_settings(getattr(arguments, "config", None))
        match arguments.command:
            case None | "run":
                return _run(settings)
            case "console":
                return _console(settings, arguments.speaker, arguments.team)
            case "export":
                return _export(settings, arguments.format, arguments.out)
            case "summary":
                return _summary(
                    settings, arguments.team, arguments.week, arguments.chart, arguments.post
                )
            case "tick":
                return _tick(settings)
            case "digest":
                return _digest(settings, arguments.team, arguments.date, arguments.post)
            case "demo":
                return _demo(settings, arguments.team)
            case "doctor":
                return _doctor(settings, str(getattr(arguments, "config", None) or "config.yaml"))
            case "kpi":
                return _kpi_import(settings, arguments.file, arguments.platform, arguments.team)
            case "db":
                return _db_upgrade(settings)
    except (ConfigError, UsageError) as error:
        print(f"opsbot: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except BrokenPipeError:
        # The reader went away (`opsbot export | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as error:
        log.debug("failed", exc_info=True)
        print(f"opsbot: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_USAGE
