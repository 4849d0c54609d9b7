"""The `opsbot` command line (SPEC §5).

stdout carries only each command's own output (so `opsbot export | jq` works); logs and
errors go to stderr. Exit codes: 0 success, 2 bad usage or config, 1 anything else.

A failure is one line on stderr that names the file, key or path and says what to do, in
the configured locale (the `cli.` texts of the catalogue), never a traceback: a
newcomer's first week is spent reading these lines (`OPSBOT_LOG_LEVEL=DEBUG` shows the
traceback as well). Nothing is created or half-written by a command that fails: an
output file is checked before any work and written whole, or not at all.

`opsbot --help` reads no config and opens no database, so it imports neither: each
command imports what it uses when it runs (SQLAlchemy and the settings for any command,
the handlers for one that opens the bot, APScheduler and the server for `run` only).
"""

from __future__ import annotations

import argparse
import errno
import gc
import getpass
import logging
import os
import re
import sqlite3
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from datetime import date, datetime, time, timedelta
from pathlib import Path
from time import monotonic
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, NoReturn, TextIO, cast

from bot import __version__
from bot.runtime.logs import configure_logging, mask_secrets

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.chat.console.adapter import ConsoleAdapter
    from bot.core.config import Settings, TeamSettings
    from bot.core.i18n import Translator
    from bot.core.jobs import CronJob
    from bot.runtime.app import OpsBot
    from bot.runtime.server import BackgroundServer
    from bot.runtime.wiring import ChatPlatforms

log = logging.getLogger("opsbot")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_LOCALE = "zh-CN"  # the locale of failures before the config says otherwise


class UsageError(Exception):
    """Bad usage that argparse cannot see (a bad OPSBOT_NOW, an unknown team …)."""


class CliError(Exception):
    """A failure worded by the catalogue (`cli.<…>`), with the exit code it ends with.

    The key is translated only when the failure is reported, in the locale of the config
    (which may not be loaded yet where the failure is found)."""

    def __init__(self, key: str, exit_code: int = EXIT_USAGE, /, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.exit_code = exit_code
        self.params = params

    def words(self, t: Translator) -> str:
        from bot.core.i18n import CATALOGUES

        # From the catalogue itself: a `{key}` placeholder (the config key at fault)
        # would collide with the translator's own `key` argument.
        return CATALOGUES[t.locale][self.key].format(**self.params)


class _Parser(argparse.ArgumentParser):
    """argparse, with its refusal on one line (it prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="config file (default: $OPSBOT_CONFIG, then ./config.yaml)",
    )
    parser = _Parser(
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
    digest.add_argument("--force", action="store_true", help="with --post: post it again")
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
    summary.add_argument("--force", action="store_true", help="with --post: post it again")

    kpi = commands.add_parser("kpi", parents=[common], help="KPI data")
    kpi_commands = kpi.add_subparsers(dest="kpi_command", metavar="action", required=True)
    kpi_import = kpi_commands.add_parser("import", parents=[common], help="import a CSV file")
    kpi_import.add_argument("file", type=Path, help="long, wide or WeChat-export CSV")
    kpi_import.add_argument("--platform", help="platform of files without a platform column")
    kpi_import.add_argument("--team", metavar="TEAM", help="team id (default: the first team)")
    kpi_sync = kpi_commands.add_parser(
        "sync", parents=[common], help="fetch figures from the teams' KPI sources"
    )
    kpi_sync.add_argument("--team", metavar="TEAM", help="team id (default: every team)")
    kpi_sync.add_argument("--source", metavar="SOURCE", help="one source (default: all)")
    kpi_sync.add_argument("--since", type=date.fromisoformat, metavar="DATE",
                          help="first day (default: a week before --until)")  # fmt: skip
    kpi_sync.add_argument("--until", type=date.fromisoformat, metavar="DATE",
                          help="last day (default: yesterday, the platforms' latest)")  # fmt: skip

    calendar = commands.add_parser("calendar", parents=[common], help="the team's calendar feed")
    calendar_commands = calendar.add_subparsers(
        dest="calendar_command", metavar="action", required=True
    )
    calendar_export = calendar_commands.add_parser(
        "export", parents=[common], help="write the calendar as iCalendar (.ics)"
    )
    calendar_export.add_argument("--ics", action="store_true", help="iCalendar (the only format)")
    calendar_export.add_argument("--team", metavar="TEAM", help="team id (default: the first team)")
    calendar_export.add_argument("--out", type=Path, metavar="PATH", help="file (default: stdout)")
    calendar_token = calendar_commands.add_parser(
        "token", parents=[common], help="print the token of GET /calendar/<team>.ics"
    )
    calendar_token.add_argument("--team", metavar="TEAM", help="team id (default: the first team)")
    calendar_token.add_argument("--rotate", action="store_true", help="replace it with a new one")

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
    from bot.core.config import ConfigError

    try:
        return settings.team(team_id)
    except ConfigError:
        known = ", ".join(team.id for team in settings.teams)
        raise CliError("cli.unknown_team", team=(team_id or "")[:40], known=known) from None


LOCK_PATIENCE_SECONDS = 5 * 60  # how long a command waits for another process's write
SYNC_WEEK = 7  # `opsbot kpi sync` fetches and stores a week at a time (the shortest API limit)


def _open_bot(
    settings: Settings, *, writes: bool = True, migrate_apart: bool = False, serves: bool = False
) -> OpsBot:
    """The bot, on a database it can use (migrated by a child process with
    `migrate_apart`: see `wiring.open_bot`), with every feature imported already if it
    `serves` commands. A command that writes refuses a SQLite file it
    may not write at once, naming it: SQLite itself opens a read-only file without a
    word and fails only at the first write, each command of a console session apart."""
    from sqlalchemy.exc import OperationalError

    from bot.core.clock import MissingOffset, clock_from_environment
    from bot.runtime.wiring import open_bot
    from storage.db import DatabaseUnavailable, is_lock_timeout, sqlite_file, sqlite_write_locked

    try:
        clock = clock_from_environment(os.environ.get("OPSBOT_NOW"))
    except ValueError as error:
        key = "cli.bad_now_offset" if isinstance(error, MissingOffset) else "cli.bad_now"
        raise CliError(key, value=os.environ.get("OPSBOT_NOW", "")[:60]) from error
    file = sqlite_file(settings.storage.url)
    if writes and file is not None and file.exists() and not os.access(file, os.W_OK):
        raise DatabaseUnavailable(file, os.strerror(errno.EACCES))
    # Another process writing (a long import, a `tick`) holds SQLite's one write lock:
    # say so and wait for it, rather than fail after the busy timeout.
    told = False
    if file is not None and sqlite_write_locked(file):
        _say_waiting(settings, file)
        told = True
    patience = monotonic() + LOCK_PATIENCE_SECONDS
    while True:
        try:
            bot = open_bot(settings, clock, migrate_apart=migrate_apart)
            if serves:
                bot.import_features()
            _start_up_done()
            return bot
        except (OperationalError, sqlite3.OperationalError) as error:
            if not is_lock_timeout(error) or monotonic() > patience:
                raise
            if not told:
                _say_waiting(settings, file)
                told = True


def _say_waiting(settings: Settings, file: Path | None) -> None:
    from bot.core.i18n import Translator

    t = Translator(settings.locale)
    print(t("cli.database.waiting", path=str(file or _shown_url(settings))), file=sys.stderr)


def _console_adapter(bot: OpsBot, team: TeamSettings, speaker: str | None) -> ConsoleAdapter:
    from bot.chat.console.adapter import ConsoleAdapter

    return ConsoleAdapter(
        bot, bot.t, team_id=team.id, team_name=team.display_name,
        speaker=speaker or _default_speaker(team),
    )  # fmt: skip


def _chat_in_console(adapter: ConsoleAdapter) -> None:
    from bot.chat.console.adapter import keep_logs_off_the_prompt

    if sys.stdin.isatty():
        keep_logs_off_the_prompt()  # the scheduler's thread logs while people type
        adapter.run_interactive(sys.stdout)
    else:
        adapter.run_script(sys.stdin, sys.stdout)


def _console(settings: Settings, speaker: str | None, team_id: str | None) -> int:
    team = _team(settings, team_id)
    bot = _open_bot(settings, serves=True)
    _chat_in_console(_console_adapter(bot, team, speaker))
    return EXIT_OK


def _tick_and_deliver(
    bot: OpsBot, platforms: ChatPlatforms, stopping: Callable[[], bool] | None = None
) -> None:
    """Run the jobs due now, then deliver the outbox. Once `opsbot run` is `stopping`, no
    tick begins, and the delivery ends with the item it is sending."""
    from bot.runtime.scheduler import Scheduler
    from bot.runtime.wiring import deliver_outbox

    if stopping is not None and stopping():
        return
    Scheduler(bot).tick()
    deliver_outbox(bot, platforms, stopping)


def _start_scheduler(
    bot: OpsBot, platforms: ChatPlatforms, stopping: Callable[[], bool] | None = None
) -> BackgroundScheduler:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    from bot.core.clock import SystemClock

    background = BackgroundScheduler(timezone="UTC")
    background.add_job(  # APScheduler itself runs on real time; tick reads the bot's clock
        _tick_and_deliver, IntervalTrigger(seconds=30), args=[bot, platforms, stopping],
        id="tick", next_run_time=SystemClock().now(), max_instances=1, coalesce=True,
    )  # fmt: skip
    background.start()
    return background


STOP_WITHIN_SECONDS = 9.0  # `docker stop` (and Kubernetes) kill 10 s after the SIGTERM


class _Stopping:
    """What SIGTERM (or Ctrl-C) does to `opsbot run` with chat platforms.

    The handler only sets flags and writes a byte to a pipe: it runs in the main thread
    between two bytecodes of whatever that thread was doing, so it takes no lock. The
    flags stop the HTTP server (uvicorn's own `should_exit`), and tell the tick and the
    delivery loop to begin nothing new; `_run` then waits for what is in flight. The
    byte wakes a watchdog, which exits anyway, with 0, `within` seconds after the signal,
    should something still be busy (a platform that does not answer): an outbox item
    left `sending` is checked for on the next start, as after a crash, and a command
    whose transaction was cut short is retried by its platform. A second signal exits at
    once, with 1.
    """

    def __init__(
        self, within: float = STOP_WITHIN_SECONDS, exit_now: Callable[[int], object] = os._exit
    ) -> None:
        import threading

        self.within = within
        self._exit = exit_now
        self.stopping = False  # asked to stop, by a signal or because `_run` is ending
        self.signalled: int | None = None
        self.server: BackgroundServer | None = None
        self._signalled_r, self._signalled_w = os.pipe()
        threading.Thread(target=self._watch, name="stop-watchdog", daemon=True).start()

    def requested(self) -> bool:
        return self.stopping

    def install(self) -> None:
        import signal

        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self.handle)

    def handle(self, number: int, frame: object = None) -> None:
        if self.signalled is not None:
            self._exit(EXIT_FAILURE)
            return
        self.signalled, self.stopping = number, True
        if self.server is not None:
            self.server.stop_soon()
        os.write(self._signalled_w, b"!")

    def _watch(self) -> None:
        import signal
        from time import sleep

        os.read(self._signalled_r, 1)  # until the first signal
        name = signal.Signals(self.signalled or signal.SIGTERM).name
        log.info("%s: stopping; what is in flight is finished first", name)
        sleep(self.within)
        log.warning(
            "still busy %g s after %s: exiting without waiting (an outbox item still being "
            "sent is checked for on the next start)", self.within, name,
        )  # fmt: skip
        self._exit(EXIT_OK)


def _run(settings: Settings) -> int:
    """Start what the config asks for, with the scheduler posting in the background.

    With no chat platform: the console. Otherwise each configured plug-in, and the HTTP
    server for their callbacks, `/healthz` and `/metrics`, until SIGTERM or Ctrl-C; then,
    in this order: no new event is taken (the server stops listening, then the long
    connections are closed), the commands in flight are finished, and so is the tick in
    flight, whose delivery ends with the item it is sending; then the exit status is 0.
    `_Stopping` bounds all of it.
    """
    from concurrent.futures import ThreadPoolExecutor

    from bot.runtime.settings import configured_platforms
    from bot.runtime.wiring import EVENT_THREADS, connect_chat_platforms

    bot = _open_bot(settings, migrate_apart=True, serves=True)
    if not configured_platforms(settings):
        background = _start_scheduler(bot, connect_chat_platforms(bot))
        try:
            _chat_in_console(_console_adapter(bot, settings.team(), None))
        finally:
            background.shutdown(wait=True)
        return EXIT_OK
    stopping = _Stopping()
    stopping.install()
    events = ThreadPoolExecutor(EVENT_THREADS, thread_name_prefix="chat-event")
    platforms = connect_chat_platforms(bot, events)
    background = _start_scheduler(bot, platforms, stopping.requested)
    try:
        _serve(bot, platforms, stopping)
    finally:
        stopping.stopping = True  # however `_serve` ended: the tick begins nothing more
        events.shutdown(wait=True)  # the commands in flight (Feishu, WeCom) are answered
        background.shutdown(wait=True)  # the tick in flight, and the item being sent
    return EXIT_OK


def _serve(bot: OpsBot, platforms: ChatPlatforms, stopping: _Stopping) -> None:
    """Serve until a signal stops the HTTP server, then close the long connections."""
    from bot.runtime.server import BackgroundServer, build_http_app

    where = bot.settings.server
    app = build_http_app(bot, platforms.routes())
    server = BackgroundServer(app, host=where.host, port=where.port)  # with the limits
    platforms.start()
    try:
        port = server.start()
        stopping.server = server
        if stopping.requested():  # a signal came while it was starting
            server.stop_soon()
        log.info("listening on http://%s:%d", where.host, port)
        server.wait()
        if not stopping.requested():
            raise RuntimeError("the HTTP server stopped")
    finally:
        server.stop()
        platforms.stop()  # Slack's Socket Mode, the long connections


def _tick(settings: Settings) -> int:
    from bot.runtime.wiring import connect_chat_platforms

    bot = _open_bot(settings)
    _tick_and_deliver(bot, connect_chat_platforms(bot))
    return EXIT_OK


class _FailedRuns(logging.Filter):
    """Catches the scheduler's report of a run that failed (it logs the traceback and
    carries on, as a long-running process should), so the CLI can end with one line
    naming the error instead; with OPSBOT_LOG_LEVEL=DEBUG the traceback shows too."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[BaseException] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


@contextmanager
def _failed_runs() -> Iterator[_FailedRuns]:
    from bot.runtime.scheduler import Scheduler

    caught = _FailedRuns()
    scheduler_log = logging.getLogger(Scheduler.__module__)
    scheduler_log.addFilter(caught)
    try:
        yield caught
    finally:
        scheduler_log.removeFilter(caught)


def _scheduled_period(bot: OpsBot, team: TeamSettings, job: CronJob, day: date) -> str:
    """The ledger period a tick would claim for `job` on `day`: from the day's first fire
    time of the team's cron when the job is scheduled that day (`2026-11-23T09:00` for
    the digest, `2026-W47` for the Monday summary), else the day itself.

    Asked of the scheduler's own arithmetic (workdays, the team's calendar), so that a
    post from the command line and the scheduled one are the same run: whichever comes
    first, the other sees it was posted.
    """
    from bot.runtime.scheduler import Scheduler
    from bot.vocab.cron import fire_times

    scheduler = Scheduler(bot)
    trigger = scheduler._trigger(team, job)
    start, end = (
        datetime.combine(midnight, time(0), tzinfo=team.zone) - timedelta(seconds=1)
        for midnight in (day, day + timedelta(days=1))
    )
    fires = fire_times(trigger, start, end)
    if fires and (job.next_workday or day in scheduler._scheduled_days(team, job, day)):
        return job.period(day, fires[0])
    return day.isoformat()


def _period_words(t: Translator, period: str) -> str:
    """`2026-11-23T09:00` as people say it (`2026-11-23 at 09:00`); others as they are."""
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})", period)
    return t("cli.post.period_at", day=match[1], time=match[2]) if match else period


def _earlier_run(bot: OpsBot, team: TeamSettings, job: str, period: str) -> str | None:
    """The ledger's status of (team, job, period): `done`, `skipped`, or None if unclaimed."""
    from sqlmodel import select

    from storage.db import transaction
    from storage.models import JobRun

    with transaction(bot.engine) as session:
        statement = select(JobRun.status).where(
            JobRun.team_id == team.id, JobRun.job == job, JobRun.period == period
        )
        return session.exec(statement).first()


def _post_once(bot: OpsBot, team: TeamSettings, job: CronJob, day: date, *, force: bool) -> None:
    """Post `job`'s run of `day` (the day it is scheduled on) as a tick would post it.

    The run claims the same (team, job, period) in the ledger as the scheduler, through
    `Scheduler.run`, so it goes out once per period whoever posts first; asking again
    says when it was posted. `--force` posts it again under a period of its own
    (`<period>:forced:<now>`), so the ledger shows that it was forced, and when.
    """
    from bot.runtime.scheduler import Scheduler
    from bot.runtime.wiring import deliver_outbox

    t, now = bot.t, bot.clock.now()
    period = _scheduled_period(bot, team, job, day)
    what, words = t(f"cli.what.{job.name}"), _period_words(t, period)
    claimed = f"{period}:forced:{now.isoformat()}" if force else period
    earlier = _earlier_run(bot, team, job.name, claimed)
    if earlier is None:
        with _failed_runs() as failed:
            posted = Scheduler(bot).run(
                team, job.name, claimed, lambda ctx: job.build(ctx, day), now
            )
        if failed.errors:
            raise failed.errors[-1]  # reported in one line by `main`, as any failure
        if posted:
            deliver_outbox(bot)
            if force:
                print(t("cli.post.forced", what=what, period=words, record=claimed),
                      file=sys.stderr)  # fmt: skip
            else:
                print(t("cli.post.done", what=what, period=words), file=sys.stderr)
            return
        earlier = _earlier_run(bot, team, job.name, claimed)  # another process was first
    key = "cli.post.skipped" if earlier == "skipped" else "cli.post.already"
    print(t(key, what=what, period=words), file=sys.stderr)


def _digest(
    settings: Settings, team_id: str | None, day_text: str | None, to_post: bool, force: bool
) -> int:
    from bot.core.render.text import render_text
    from bot.vocab.errors import InputError
    from bot.vocab.when import parse_date
    from handlers.digest import DIGEST, digest_reply
    from storage.db import transaction

    if force and not to_post:
        raise CliError("cli.force_without_post")
    team = _team(settings, team_id)
    bot = _open_bot(settings, writes=to_post)
    today = bot.clock.now().astimezone(team.zone).date()
    try:
        day = parse_date([day_text], today=today) if day_text else today
    except InputError as error:
        raise UsageError(f"--date: {bot.t(error.message_key, **error.params)}") from None
    if to_post:
        _post_once(bot, team, DIGEST, day, force=force)
        return EXIT_OK
    with transaction(bot.engine) as session:
        reply = digest_reply(bot.system_context(session, team), day)
    print(render_text(reply))
    return EXIT_OK


def _demo(settings: Settings, team_id: str | None) -> int:
    from bot.runtime.demo import DEMO_COMMANDS_ABOUT, DemoError, load_demo
    from bot.runtime.progress import Progress

    team = _team(settings, team_id)
    bot = _open_bot(settings)
    try:
        progress = Progress(bot.t("cli.progress.demo"), DEMO_COMMANDS_ABOUT)
        count = load_demo(bot, team_id=team.id, progress=progress)
        progress.finish()
    except DemoError as error:
        raise UsageError(f"demo: {error}") from None
    print(bot.t("cli.demo.loaded", team=team.id, count=count), file=sys.stderr)
    return EXIT_OK


def _doctor(settings: Settings, config: Path) -> int:
    from bot.core.clock import clock_from_environment
    from bot.runtime.doctor import run_checks

    try:
        clock = clock_from_environment(os.environ.get("OPSBOT_NOW"))
    except ValueError:
        clock = None  # the doctor looks anyway; the commands that use the time say why
    found = config if config.exists() else None
    checks = run_checks(settings, config=found, looked_at=config, clock=clock)
    for check in checks:
        print(f"{'✓' if check.ok else '✗'} {check.text}")
    return EXIT_OK if all(check.ok for check in checks) else EXIT_FAILURE


class WholeFile:
    """A file written whole or not at all: a new file beside it, renamed over it at the
    end (and removed if the command fails), so a failed export or chart leaves no
    half-written file behind, nor a damaged earlier one.

    Opening it is the check that the file can be written there, made before any work so
    that a bad path fails first, in one line, before anything is printed or created.
    """

    def __init__(self, option: str, path: Path, *, binary: bool = False) -> None:
        self.option, self.path = option, path
        self._temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
        if path.is_dir():
            raise CliError("cli.path.is_folder", option=option, path=path)
        folder = path.absolute().parent
        if not folder.is_dir():
            raise CliError("cli.path.no_folder", option=option, path=path, folder=folder)
        try:
            descriptor = os.open(self._temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as error:
            raise CliError(
                "cli.path.not_writable", option=option, path=path, folder=folder,
                reason=error.strerror or error,
            ) from None  # fmt: skip
        self.stream: IO[Any] = (
            os.fdopen(descriptor, "wb") if binary else os.fdopen(descriptor, "w", encoding="utf-8")
        )
        self._done = False

    @contextmanager
    def writing(self) -> Iterator[IO[Any]]:
        """The stream to write the content to; a failure to write (a full disk) ends the
        command in one line, and the partial file is removed."""
        try:
            yield self.stream
        except OSError as error:
            self._failed(error)

    def commit(self) -> None:
        """Put the finished file in place (one rename: readers see all of it or none)."""
        try:
            self.stream.close()
            os.replace(self._temporary, self.path)
        except OSError as error:
            self._failed(error)
        self._done = True

    def _failed(self, error: OSError) -> NoReturn:
        self.discard()
        raise CliError(
            "cli.path.write_failed", EXIT_FAILURE, option=self.option, path=self.path,
            reason=error.strerror or error,
        ) from None  # fmt: skip

    def discard(self) -> None:
        if self._done:
            return
        self._done = True
        with suppress(OSError):  # the file goes anyway
            self.stream.close()
        self._temporary.unlink(missing_ok=True)

    def __enter__(self) -> WholeFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None
    ) -> None:
        self.discard()  # unless committed: the command failed, so leave nothing behind


def _writable_folder(option: str, folder: Path) -> None:
    """Refuse, before any work, a folder that cannot be made or written (`--format csv
    --out`, which writes one file per table into it)."""
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise CliError("cli.path.not_a_folder", option=option, path=folder, folder=existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CliError(
            "cli.path.not_writable", option=option, path=folder, folder=existing,
            reason=os.strerror(errno.EACCES),
        )  # fmt: skip


def _export(settings: Settings, output_format: str, out: Path | None) -> int:
    from bot.chat import CHAT_PLATFORM_NAMES
    from bot.runtime.export import write_csv, write_csv_directory, write_json
    from bot.runtime.progress import Progress
    from storage.db import snapshot
    from storage.export import stream_tables

    with ExitStack() as stack:
        target: WholeFile | None = None
        if out is not None and output_format == "csv":
            _writable_folder("--out", out)
        elif out is not None:
            target = stack.enter_context(WholeFile("--out", out))
        bot = _open_bot(settings, writes=False)
        zones = {team.id: team.zone for team in settings.teams}
        default_zone = settings.team().zone
        progress = Progress(bot.t("cli.progress.exporting"), 2)
        # Streamed: each row is written as it is read, so an export of 200,000 rows never
        # holds them all; on a snapshot, so a slow reader of the pipe holds no write lock.
        with snapshot(bot.engine) as session:
            tables = stream_tables(
                session,
                zone_for_team=lambda team: zones.get(team, default_zone),
                chat_platforms=CHAT_PLATFORM_NAMES,
            )
            progress.update(1)
            if out is not None and target is None:
                for path in write_csv_directory(tables, out):
                    log.info("wrote %s", path)
                return EXIT_OK
            writer = write_json if output_format == "json" else write_csv
            if target is None:
                writer(tables, sys.stdout)
            else:
                with target.writing() as stream:
                    writer(tables, cast(TextIO, stream))
        if target is not None:
            target.commit()
        progress.finish()
    return EXIT_OK


def _calendar_export(settings: Settings, team_id: str | None, out: Path | None) -> int:
    """`opsbot calendar export --ics`: the team's feed, as `GET /calendar/<team>.ics`
    serves it, on stdout or written whole to `--out`."""
    from bot.runtime.calendar_feed import feed

    team = _team(settings, team_id)
    with ExitStack() as stack:
        target = stack.enter_context(WholeFile("--out", out, binary=True)) if out else None
        bot = _open_bot(settings, writes=False)
        body, posts, dates = feed(bot, team)
        if target is None:
            sys.stdout.buffer.write(body)
            sys.stdout.flush()
            return EXIT_OK
        with target.writing() as stream:
            stream.write(body)
        target.commit()
        print(bot.t("cli.calendar.exported", path=str(out), posts=posts, dates=dates),
              file=sys.stderr)  # fmt: skip
    return EXIT_OK


def _calendar_token(settings: Settings, team_id: str | None, rotate: bool) -> int:
    """`opsbot calendar token`: the feed's token on stdout (made on first use), and where
    to subscribe on stderr. Printed, never logged."""
    from bot.runtime.calendar_feed import team_token

    team = _team(settings, team_id)
    bot = _open_bot(settings)
    print(team_token(bot, team, rotate=rotate))
    print(bot.t("cli.calendar.token", team=team.id), file=sys.stderr)
    return EXIT_OK


def _summary(
    settings: Settings,
    team_id: str | None,
    week: str | None,
    chart: Path | None,
    to_post: bool,
    force: bool,
) -> int:
    from bot.core.render.chart import ChartsUnavailable
    from bot.core.render.text import render_text
    from bot.vocab.errors import InputError
    from handlers.summary import (
        WEEKLY_SUMMARY,
        parse_iso_week,
        previous_week_start,
        summary_chart_png,
        weekly_summary_reply,
    )
    from storage.db import transaction

    if force and not to_post:
        raise CliError("cli.force_without_post")
    team = _team(settings, team_id)
    with ExitStack() as stack:
        # The chart's file is opened first: a path that cannot be written fails before
        # the summary is printed or posted, not after.
        image = stack.enter_context(WholeFile("--chart", chart, binary=True)) if chart else None
        bot = _open_bot(settings, writes=to_post)
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
            if image is not None:
                try:
                    png = summary_chart_png(
                        session, team=team, week_start=week_start, t=bot.t,
                        content_platforms=bot.content_platforms,
                    )  # fmt: skip
                except ChartsUnavailable as error:
                    raise UsageError(f"--chart: {error}") from None
                with image.writing() as stream:
                    stream.write(png)
        if image is not None:
            image.commit()
            log.info("wrote %s", chart)
        if to_post:
            # The run of the Monday after the week, as the scheduler posts it.
            _post_once(bot, team, WEEKLY_SUMMARY, week_start + timedelta(days=7), force=force)
        else:
            print(render_text(reply))
    return EXIT_OK


def _kpi_sync(
    settings: Settings,
    team_id: str | None,
    source_name: str | None,
    since: date | None,
    until: date | None,
) -> int:
    """Backfill: each source asked for the days of the range it has not given yet, a
    week at a time (each stored in its own short transaction, with progress on a
    terminal), the requests split further by each API's own limit; one line per source,
    as the import reports."""
    from bot.core.kpi_sources import SourceError, platform_yesterday
    from bot.runtime.progress import Progress
    from bot.vocab.metrics import metric_name
    from handlers.kpi_sync import SyncReport, days_to_sync, fetch, store
    from storage.db import snapshot, transaction

    teams = [_team(settings, team_id)] if team_id else list(settings.teams)
    bot = _open_bot(settings)
    last = until or platform_yesterday(bot.clock)
    first = since or last - timedelta(days=6)
    if first > last:
        raise UsageError(bot.t("cli.kpi_sync.bad_range", since=first, until=last))
    failed = found = False
    for team in teams:
        try:
            sources = bot.kpi_sources(team)
        except SourceError as error:
            print(bot.t("cli.kpi_sync.failed", team=team.id, source="-",
                        reason=bot.t(error.message_key, **error.params)))  # fmt: skip
            failed = True
            continue
        for source in sources:
            if source_name is not None and source.name != source_name:
                continue
            found = True
            with snapshot(bot.engine) as session:
                days = days_to_sync(session, team_id=team.id, source=source, start=first, end=last)
            report = SyncReport()
            progress = Progress(f"{team.id} · {source.name}", len(days))
            for done in range(0, len(days), SYNC_WEEK):
                week = days[done : done + SYNC_WEEK]
                fetched = fetch(source, week, posts=(week[0], week[-1]))
                with transaction(bot.engine) as session:
                    store(session, team_id=team.id, fetched=fetched, now=bot.clock.now(),
                          report=report)  # fmt: skip
                progress.update(done + len(week))
                if report.error is not None:
                    break
            progress.finish()
            totals = {key: f"{value:,}" for key, value in report.totals().items()}
            print(bot.t("cli.kpi_sync.report", team=team.id, source=source.name,
                        days=len(report.days), asked=len(days), since=first, until=last,
                        **totals))  # fmt: skip
            for metric, counts in sorted(report.counts.items()):
                print(bot.t("cli.kpi_sync.metric", metric=metric_name(metric, bot.t.locale),
                            **{key: f"{value:,}" for key, value in counts.items()}))  # fmt: skip
            if report.posts_matched or report.posts_unmatched:
                unmatched = sorted(set(report.posts_unmatched))
                print(bot.t("cli.kpi_sync.posts", matched=report.posts_matched,
                            unmatched=len(unmatched),
                            titles="、".join(unmatched[:5]) or "-"))  # fmt: skip
            if report.error is not None:
                failed = True
                reason = bot.t(report.error.message_key, **report.error.params)
                print(bot.t("cli.kpi_sync.failed", team=team.id, source=source.name,
                            reason=reason))  # fmt: skip
    if not found and not failed:
        known = sorted({entry.key for team in teams for entry in team.kpi_sources})
        if source_name is not None and known:  # a name that is not one of them
            raise UsageError(bot.t("cli.kpi_sync.unknown_source", source=source_name,
                                   known=", ".join(known)))  # fmt: skip
        raise UsageError(bot.t("cli.kpi_sync.no_sources"))
    return EXIT_FAILURE if failed else EXIT_OK


def _kpi_import(settings: Settings, path: Path, platform: str | None, team_id: str | None) -> int:
    from bot.core.render.text import render_text
    from bot.runtime.progress import Progress
    from handlers.kpi_import import ImportError_, import_kpi_csv, render_import_report
    from storage.db import transaction

    team = _team(settings, team_id)
    bot = _open_bot(settings)
    default_platform = None
    if platform is not None:
        default_platform = bot.content_platforms.resolve(platform)
        if default_platform is None:
            known = ", ".join(bot.content_platforms.keys)
            raise CliError("cli.unknown_platform", value=platform[:40], known=known)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CliError(
            "cli.path.unreadable", EXIT_FAILURE, path=str(path), reason=error.strerror or str(error)
        ) from None
    now = bot.clock.now()
    bar: Progress | None = None

    def show(done: int, total: int) -> None:
        nonlocal bar
        bar = bar or Progress(bot.t("cli.progress.importing", file=path.name), total)
        bar.update(done)

    try:
        with transaction(bot.engine) as session:
            report = import_kpi_csv(
                session, data, team_id=team.id, content_platforms=bot.content_platforms,
                default_platform=default_platform, today=now.astimezone(team.zone).date(), now=now,
                progress=show, filename=path.name,
            )  # fmt: skip
    except ImportError_ as error:
        raise UsageError(f"{path}: {error}") from None
    if bar is not None:
        bar.finish()
    print(render_text(render_import_report(report, bot.t)))
    return EXIT_FAILURE if report.rejected else EXIT_OK


def _db_upgrade(settings: Settings) -> int:
    from bot.runtime.wiring import current_revision, upgrade_if_behind
    from storage.db import create_engine_for

    engine = create_engine_for(settings.storage.url)
    upgrade_if_behind(engine)
    print(f"database at revision {current_revision(engine)}", file=sys.stderr)
    return EXIT_OK


def _log_level(environ: Mapping[str, str]) -> tuple[str, str | None]:
    """The level `OPSBOT_LOG_LEVEL` asks for, and the value itself when it is no level
    (then WARNING, until the refusal is reported in the config's locale)."""
    value = environ.get("OPSBOT_LOG_LEVEL", "")
    name = value.strip().upper() or "WARNING"
    return (name, None) if name in LOG_LEVELS else ("WARNING", value)


def _config_path(arguments: argparse.Namespace, environ: Mapping[str, str]) -> Path:
    """Where the settings come from, as `load_settings` chooses: --config, then
    $OPSBOT_CONFIG, then ./config.yaml (which may be missing: then the defaults apply)."""
    from bot.core.config import DEFAULT_CONFIG_PATH

    named: Path | None = getattr(arguments, "config", None)
    if named is None and environ.get("OPSBOT_CONFIG"):
        named = Path(environ["OPSBOT_CONFIG"])
    return named or DEFAULT_CONFIG_PATH


def _check_database_url(settings: Settings, config: Path, environ: Mapping[str, str]) -> None:
    """Refuse a database opsbot does not support as the config mistake it is, naming
    where the URL came from, before a command fails on a driver that is not there."""
    from storage.db import UnsupportedDatabase, check_url

    try:
        check_url(settings.storage.url)
    except UnsupportedDatabase:
        key = "OPSBOT_DATABASE_URL" if environ.get("OPSBOT_DATABASE_URL") else (
            f"{config}: storage.url" if config.exists() else "storage.url"
        )  # fmt: skip
        raise CliError("cli.database.unsupported", key=key, url=_shown_url(settings)) from None


def _shown_url(settings: Settings) -> str:
    """The database URL without its password, fit to print."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from storage.db import normalise_url

    try:
        return make_url(normalise_url(settings.storage.url)).render_as_string(hide_password=True)
    except ArgumentError:
        return settings.storage.url[:80]


def _database_failure(error: Exception, settings: Settings) -> CliError:
    """One line for a database that cannot be used: the file and what to do when SQLite
    cannot open or write it, else the URL and the driver's reason (its first line only:
    SQLAlchemy adds the SQL and a link to its documentation)."""
    from storage.db import DatabaseUnavailable, cannot_open, sqlite_file

    file = sqlite_file(settings.storage.url)
    if isinstance(error, DatabaseUnavailable):
        return CliError(
            "cli.database.unwritable", EXIT_FAILURE, path=error.path.absolute(),
            reason=error.reason,
        )  # fmt: skip
    reason = cannot_open(error)
    if reason is not None and file is not None:
        return CliError("cli.database.unwritable", EXIT_FAILURE, path=file.absolute(),
                        reason=reason)  # fmt: skip
    original = getattr(error, "orig", None) or error
    first_line = (str(original).strip().splitlines() or [type(original).__name__])[0]
    return CliError(
        "cli.database.failed", EXIT_FAILURE, url=_shown_url(settings), reason=first_line[:300]
    )


def _fail(words: str) -> None:
    """The one line of a failure, on stderr, with any secret in it masked (an error may
    quote a URL with a token in it, as a log line may)."""
    print(f"opsbot: {mask_secrets(words)}", file=sys.stderr)


# Optional extras that libraries import whenever they happen to be installed, and that
# opsbot never uses: httpx's command-line client (click, Pygments, rich) and Mako's
# highlighting of its HTML error pages (Pygments, imported with Alembic). Both fall back
# on ImportError, which a None in `sys.modules` raises. Where Pygments is installed (pytest
# brings it), its lexers are 6 MiB that `opsbot run` would hold for its whole life.
UNUSED_EXTRAS = ("httpx._main", "mako.ext.pygmentplugin")


def _skip_unused_extras() -> None:
    for name in UNUSED_EXTRAS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: "not there"


def command_line() -> int:
    """The `opsbot` command: `main`, with the cyclic garbage collector paused while it
    starts up (see `_start_up_done`)."""
    global _collector_paused
    gc.disable()
    _collector_paused = True
    try:
        return main()
    finally:
        _start_up_done()


# Whether `command_line` paused the collector and it has not been resumed yet.
_collector_paused = False


def _start_up_done() -> None:
    """Resume the collector that `command_line` paused, with what start-up built frozen.

    Starting a command imports some 550 modules and builds the settings' and tables'
    models: some 200 collections, a full one among them, that find next to nothing to
    free, a tenth of `opsbot digest`'s start-up. What exists by now (modules, classes,
    settings) lives as long as the process, so it is frozen out of every later
    collection as well, which a long `opsbot run` is spared too (`gc.freeze`). Called
    once the bot is open, before a command's own work, whose garbage is collected.
    """
    global _collector_paused
    if _collector_paused:
        _collector_paused = False
        gc.freeze()
        gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    _skip_unused_extras()
    level, bad_level = _log_level(os.environ)
    configure_logging(level, sys.stderr)
    arguments = _parser().parse_args(argv)
    # A command, then, not `--help`: what every command needs is imported from here on.
    from sqlalchemy.exc import OperationalError

    from bot.core.config import ConfigError
    from bot.core.i18n import Translator
    from bot.runtime.settings import load_settings
    from storage.db import DatabaseUnavailable

    settings: Settings | None = None
    try:
        config = _config_path(arguments, os.environ)
        settings = load_settings(getattr(arguments, "config", None))
        if bad_level is not None:
            raise CliError("cli.log_level", value=bad_level, levels=", ".join(LOG_LEVELS))
        _check_database_url(settings, config, os.environ)
        try:
            return _command(arguments, settings, config)
        except (DatabaseUnavailable, OperationalError, sqlite3.OperationalError) as error:
            log.debug("failed", exc_info=True)
            raise _database_failure(error, settings) from None
    except CliError as error:
        t = Translator(settings.locale if settings is not None else DEFAULT_LOCALE)
        _fail(error.words(t))
        return error.exit_code
    except (ConfigError, UsageError) as error:
        _fail(str(error))
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
        t = Translator(settings.locale if settings is not None else DEFAULT_LOCALE)
        first_line = (str(error).strip().splitlines() or [""])[0][:300]
        _fail(t("cli.failed", error=f"{type(error).__name__}: {first_line}"))
        return EXIT_FAILURE


def _command(arguments: argparse.Namespace, settings: Settings, config: Path) -> int:
    """Run the command the arguments name."""
    match arguments.command:
        case None | "run":
            return _run(settings)
        case "console":
            return _console(settings, arguments.speaker, arguments.team)
        case "export":
            return _export(settings, arguments.format, arguments.out)
        case "summary":
            return _summary(
                settings, arguments.team, arguments.week, arguments.chart, arguments.post,
                arguments.force,
            )  # fmt: skip
        case "tick":
            return _tick(settings)
        case "digest":
            return _digest(
                settings, arguments.team, arguments.date, arguments.post, arguments.force
            )
        case "demo":
            return _demo(settings, arguments.team)
        case "doctor":
            return _doctor(settings, config)
        case "kpi" if arguments.kpi_command == "sync":
            return _kpi_sync(
                settings, arguments.team, arguments.source, arguments.since, arguments.until
            )
        case "kpi":
            return _kpi_import(settings, arguments.file, arguments.platform, arguments.team)
        case "calendar" if arguments.calendar_command == "token":
            return _calendar_token(settings, arguments.team, arguments.rotate)
        case "calendar":
            return _calendar_export(settings, arguments.team, arguments.out)
        case "db":
            return _db_upgrade(settings)
    return EXIT_USAGE
