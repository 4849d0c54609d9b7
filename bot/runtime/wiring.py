"""Connecting the bot: to its database, and to the chat plug-ins the config turns on.

The console is always connected: it is where posts go when no chat platform is
configured, and it takes no settings.

Opening the bot asks Alembic for nothing when the schema is already at the newest
revision shipped (almost every start): the revision in `alembic_version` is compared
with the head read from the migration files' `revision` and `down_revision` lines.
Alembic (with Mako, and SQLAlchemy's dialects of four other databases: 0.2 s and 3 MiB,
which a long-running `opsbot run` would keep) is needed only to migrate, or when the
files are not a plain chain that this reading can be sure of.
"""

from __future__ import annotations

import ast
import logging
import re
import sys
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import storage
from bot.chat import BY_NAME, CONSOLE
from bot.chat.base import ChatConnection, ChatServices, HttpRoute
from bot.core.outbound import Sender
from bot.runtime.settings import configured_platforms

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Engine

    from bot.core.clock import Clock
    from bot.core.config import Settings
    from bot.runtime.app import OpsBot
    from bot.runtime.delivery import DeliveryReport

log = logging.getLogger(__name__)

EVENT_THREADS = 8  # callbacks answered at once and handled after (Feishu, WeCom)

# Where `storage.migrate` points Alembic (`script_location`, and its `versions` folder),
# found without importing it: that module imports Alembic.
MIGRATION_VERSIONS = Path(storage.__file__).parent / "migrations" / "versions"
VERSION_TABLE = "alembic_version"  # Alembic's default, which `storage/migrations/env.py` keeps
# The files Alembic reads as migrations (`alembic.script.base._only_source_rev_file`).
_MIGRATION_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")
_MIGRATION_NAMES = ("revision", "down_revision", "depends_on")


def _migration_ids(path: Path) -> dict[str, object] | None:
    """The literal `revision`, `down_revision` and `depends_on` of one migration file, or
    None when any of them is set some other way than once, at the top, to a literal."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: dict[str, object] = {}
    for statement in tree.body:
        targets: list[ast.expr]
        if isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        elif isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in _MIGRATION_NAMES:
                if target.id in found:
                    return None
                try:
                    found[target.id] = ast.literal_eval(value)
                except ValueError:
                    return None
    stores = [
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
        and node.id in _MIGRATION_NAMES
    ]  # fmt: skip
    return found if len(stores) == len(found) and "revision" in found else None


def head_of(versions: Path) -> str | None:
    """The head of the migrations in `versions`, as Alembic would find it, or None when
    they are not one plain chain (a branch, a merge, a dependency, an id that is not a
    literal): then only Alembic can say."""
    parents: dict[str, tuple[str, ...]] = {}
    for path in sorted(versions.iterdir()):
        if not path.is_file() or not _MIGRATION_FILE.match(path.name):
            continue
        ids = _migration_ids(path)
        if ids is None or ids.get("depends_on") is not None:
            return None
        revision, down = ids["revision"], ids.get("down_revision")
        if not isinstance(revision, str) or revision in parents:
            return None
        if down is None:
            parents[revision] = ()
        elif isinstance(down, str):
            parents[revision] = (down,)
        else:
            return None
    referenced = {parent for chain in parents.values() for parent in chain}
    if not referenced <= parents.keys():
        return None
    heads = [revision for revision in parents if revision not in referenced]
    return heads[0] if len(heads) == 1 else None


@cache
def shipped_head() -> str | None:
    """The newest migration shipped with this version of opsbot (None: ask Alembic)."""
    return head_of(MIGRATION_VERSIONS)


def schema_revisions(engine: Engine) -> list[str]:
    """The revisions `alembic_version` holds (none for a database with no tables yet),
    read as Alembic reads them, without taking SQLite's write lock."""
    from sqlalchemy import inspect, text

    from storage.db import snapshot

    with snapshot(engine) as session:
        connection = session.connection()
        if not inspect(connection).has_table(VERSION_TABLE):
            return []
        rows = session.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        return [str(revision) for revision in rows.scalars()]


def schema_is_current(engine: Engine) -> bool:
    """Whether the database is at the shipped head (False when that is not sure)."""
    head = shipped_head()
    return head is not None and schema_revisions(engine) == [head]


def current_revision(engine: Engine) -> str | None:
    """Alembic's `current_revision`, asked of Alembic only for a database that holds
    more than one (which Alembic refuses in its own words)."""
    revisions = schema_revisions(engine)
    if len(revisions) <= 1:
        return revisions[0] if revisions else None
    from storage.migrate import current_revision as alembic_current_revision

    return alembic_current_revision(engine)


def head_revision() -> str | None:
    """Alembic's `head_revision`, read from the files when they are a plain chain."""
    head = shipped_head()
    if head is not None:
        return head
    from storage.migrate import head_revision as alembic_head_revision

    return alembic_head_revision()


def upgrade_if_behind(engine: Engine) -> None:
    """`storage.migrate.upgrade_database`, unless the schema is at the head already."""
    if schema_is_current(engine):
        return
    from storage.migrate import upgrade_database

    upgrade_database(engine)


def _upgrade_in_child(url: str, engine: Engine) -> None:
    """`upgrade_database` in a forked child: what migrating takes (the scripts, the
    tables Alembic reflects, Alembic itself if nothing else has imported it) goes with
    the child, instead of staying in a server that runs for weeks. The child's failure is
    raised here, the same exception, so it is reported (or waited out, for a lock) as if
    it had happened in this process.
    """
    import os
    import pickle

    from storage.db import create_engine_for

    engine.dispose()  # no SQLite connection may cross a fork (SQLite's own rule)
    readable, writable = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(readable)
            outcome: BaseException | None = None
            try:
                from storage.migrate import upgrade_database

                own = create_engine_for(url)
                upgrade_database(own)
                own.dispose()
            except BaseException as error:
                log.debug("migration failed", exc_info=True)  # the traceback, which pickle drops
                outcome = error
            try:
                answer = pickle.dumps(outcome)
            except Exception:
                answer = pickle.dumps(RuntimeError(f"{type(outcome).__name__}: {outcome}"))
            with os.fdopen(writable, "wb") as stream:
                stream.write(answer)
        finally:
            os._exit(0)  # never back into the parent's code, nor its exit handlers
    os.close(writable)
    with os.fdopen(readable, "rb") as stream:
        answer = stream.read()
    _, status = os.waitpid(child, 0)
    if not answer:
        raise RuntimeError(f"the migration process ended with no answer (wait status {status})")
    failure = pickle.loads(answer)
    if failure is not None:
        raise failure


def _may_fork(engine: Engine) -> bool:
    """Linux, one thread (a fork copies only the caller's), and a database another process
    can open (not SQLite in memory)."""
    import threading

    in_memory = engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")
    return sys.platform.startswith("linux") and threading.active_count() == 1 and not in_memory


def open_bot(settings: Settings, clock: Clock, *, migrate_apart: bool = False) -> OpsBot:
    """`OpsBot.open` (connect, apply pending migrations, seed the configured members),
    with Alembic imported only when there is a migration to apply, and with
    `migrate_apart` (for `opsbot run`, which lives long) in a child process where one
    can be forked."""
    from bot.runtime.app import OpsBot
    from storage.db import create_engine_for

    engine = create_engine_for(settings.storage.url)
    if not schema_is_current(engine):
        if migrate_apart and _may_fork(engine):
            _upgrade_in_child(settings.storage.url, engine)
        else:
            from storage.migrate import upgrade_database

            upgrade_database(engine)
    bot = OpsBot(settings=settings, engine=engine, clock=clock)
    bot.sync_configured_members()
    return bot


def chat_services(bot: OpsBot, executor: Executor | None = None) -> ChatServices:
    """What every plug-in gets: the dispatcher, words, time, and where to work after."""
    return ChatServices(
        dispatcher=bot,
        settings=bot.settings,
        clock=bot.clock,
        t=bot.t,
        executor=executor or ThreadPoolExecutor(EVENT_THREADS, thread_name_prefix="chat-event"),
        answers_at_once=bot.answers_at_once,
        command_threads=bot.command_threads,
    )


@dataclass
class ChatPlatforms:
    """The connected plug-ins, by name."""

    connections: dict[str, ChatConnection]

    def routes(self) -> list[HttpRoute]:
        return [route for connection in self.connections.values() for route in connection.routes()]

    def senders(self) -> dict[str, Sender]:
        return {name: connection.sender() for name, connection in self.connections.items()}

    def start(self) -> None:
        for connection in self.connections.values():
            connection.start()

    def stop(self) -> None:
        for connection in self.connections.values():
            connection.stop()


def connect_chat_platforms(bot: OpsBot, executor: Executor | None = None) -> ChatPlatforms:
    services = chat_services(bot, executor)
    connections = {CONSOLE: BY_NAME[CONSOLE].connect(None, services)}
    for configured in configured_platforms(bot.settings):
        connections[configured.name] = configured.platform.connect(configured.settings, services)
    return ChatPlatforms(connections)


def deliver_outbox(
    bot: OpsBot,
    platforms: ChatPlatforms | None = None,
    stopping: Callable[[], bool] | None = None,
) -> DeliveryReport:
    """Send what is due in the outbox through the connected plug-ins' senders (until
    `stopping()`: then the item being sent is finished and no other begun)."""
    from bot.runtime.delivery import TeamAddresses, deliver_due

    platforms = platforms or connect_chat_platforms(bot)
    return deliver_due(
        bot.engine, platforms.senders(), bot.clock, TeamAddresses(bot.settings), stopping
    )
