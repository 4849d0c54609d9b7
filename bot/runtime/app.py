"""The one place where the parts are wired: settings, storage, clock, router, handlers.

`OpsBot.dispatch` is the whole bot as far as a chat plug-in is concerned (it follows
`bot.core.dispatch.Dispatcher`): a neutral Command and how it came in, a neutral Reply
out. Each command runs in one transaction, so a rejected or failed command stores
nothing — not even the registration of a first-time speaker, nor the record that a
platform's delivery was handled (so a retry of a failed command runs again).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.chat import CONSOLE
from bot.core.clock import Clock
from bot.core.commands import CommandFamily, CommandIndex, Context, Speaker, SubCommand
from bot.core.config import ConfigError, Settings, TeamSettings
from bot.core.dispatch import Delivery, WouldWait
from bot.core.i18n import Translator
from bot.core.jobs import Job
from bot.core.kpi_sources import KpiSource
from bot.core.messages import Command, Mention, Reply, Section, Tone
from bot.core.router import NotACommand, Route, Router, UnknownCommand, UnknownSubcommand
from bot.runtime.kpi_sources import build_kpi_source
from bot.runtime.posting import post_notices
from bot.vocab.content_platforms import PlatformCatalogue
from bot.vocab.errors import InputError
from handlers.help import family_help
from storage import identities, speakers
from storage import members as member_store
from storage.db import WouldWait as StorageWouldWait
from storage.db import (
    create_engine_for,
    is_lock_timeout,
    snapshot,
    transaction,
    transaction_at_once,
    works_at_once,
)
from storage.inbound import first_delivery

log = logging.getLogger(__name__)

MEMBER_ID_MAX_LENGTH = 64  # members.id

MEMBER_ID = re.compile(r"^[\w.\-]{1,64}$")
# Control characters (tab and newlines pass), and lone surrogates — no text at all, which
# a console script read with surrogateescape or a JSON "\ud800" can bring, and which no
# database can store.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class _Rejected(Exception):
    """Carries an error reply out of the transaction, so that it rolls back."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.title)
        self.reply = reply


class _NeedsName(Exception):
    """The speaker is new and the platform can tell their name: it is looked up outside
    the transaction (which rolls back, having changed nothing), then the command runs
    again. Known speakers, nearly every command, never pay for the lookup."""


@dataclass(frozen=True)
class _Found:
    """The team a command reached, and whether it came from that team's own channel
    (or the plug-in named the team) — the only place a newcomer may join from."""

    team: TeamSettings
    own_channel: bool
    member: speakers.MemberRecord | None = None  # the speaker, when the team was found by them


class _LazyIndex:
    """The router as `/help` sees it, built only if it is asked: what the bot does on
    its own (the digest of `opsbot digest`) never asks, nor imports every feature."""

    def __init__(self, bot: OpsBot) -> None:
        self._bot = bot

    @property
    def families(self) -> Sequence[CommandFamily]:
        return self._bot.router.families

    def family(self, word: str) -> CommandFamily | None:
        return self._bot.router.family(word)


class OpsBot:
    """The dispatcher of every chat platform, and what the scheduler and CLI build on."""

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        clock: Clock,
        families: Iterable[CommandFamily] | None = None,
        jobs: Sequence[Job] | None = None,
    ) -> None:
        """`families` and `jobs` default to every feature (`handlers.registry`)."""
        self.settings = settings
        self.engine = engine
        self.clock = clock
        if families is not None:
            self.router = Router(families)
        if jobs is not None:
            self.jobs = tuple(jobs)
        self.content_platforms = PlatformCatalogue(
            name for team in settings.teams for name in team.content_platforms
        )
        self.t = Translator(settings.locale)
        self._outer: Session | None = None  # see `replaying`
        self._kpi_sources: dict[str, list[KpiSource]] = {}

    @classmethod
    def open(cls, settings: Settings, clock: Clock) -> OpsBot:
        """Connect, apply pending migrations and seed the configured members."""
        from storage.migrate import upgrade_database  # Alembic: only when opened this way

        engine = create_engine_for(settings.storage.url)
        upgrade_database(engine)
        bot = cls(settings=settings, engine=engine, clock=clock)
        bot.sync_configured_members()
        return bot

    @cached_property
    def router(self) -> Router:
        """Every feature's commands, imported when the first command is routed: a CLI
        command that needs one feature (`opsbot digest`) is spared importing all of
        them, a fifth of its start-up. `opsbot run` builds it before it serves."""
        from handlers.registry import ALL_FAMILIES

        return Router(ALL_FAMILIES)

    @cached_property
    def jobs(self) -> tuple[Job, ...]:
        """Every feature's scheduled jobs, imported when the scheduler first asks."""
        from handlers.registry import ALL_JOBS

        return ALL_JOBS

    def import_features(self) -> None:
        """Import every feature now, so that the first command is not the one to wait."""
        _ = self.router, self.jobs

    @property
    def answers_at_once(self) -> bool:
        """Whether a command dispatched with `may_wait=False` can succeed (a SQLite file)."""
        return works_at_once(self.engine)

    @property
    def command_threads(self) -> int:
        """How many commands to run at the same time.

        SQLite admits one writer: more threads would only queue for its lock, handing it
        and the interpreter lock back and forth (measured with 8 concurrent clients: one
        thread gives about 15% more throughput and a p99 a third lower than eight).
        PostgreSQL works on several at once.
        """
        return 1 if self.engine.dialect.name == "sqlite" else 4

    def sync_configured_members(self) -> None:
        """Seed the configured members. Replicas started together all try it: the ones
        that lose the race to insert a member (a unique key) find it there on a second
        pass, which then has nothing left to add."""
        for attempt in (1, 2):
            try:
                with transaction(self.engine) as session:
                    for team in self.settings.teams:
                        member_store.sync_configured_members(
                            session,
                            team_id=team.id,
                            configured=[
                                (member.id, member.display_name, member.role,
                                 dict(member.identities))
                                for member in team.members
                            ],
                            now=self.clock.now(),
                        )  # fmt: skip
                return
            except IntegrityError:
                if attempt == 2:
                    raise
                log.info("another process seeded the configured members first; reading theirs")

    # -- dispatching ----------------------------------------------------------------------

    def say(self, text: str, *, speaker: str, team_id: str | None = None) -> Reply:
        """`text` said on the console by the member `speaker` (the demo, benchmarks and
        tests speak this way); a shorthand for `dispatch`."""
        command = Command(text=text, team_id=team_id or self.settings.team().id, user_id=speaker)
        reply = self.dispatch(command, Delivery(CONSOLE))
        assert reply is not None  # only a platform's retried delivery goes unanswered
        return reply

    def dispatch(self, command: Command, delivery: Delivery) -> Reply | None:
        """Run one command; the reply, or None for a delivery already handled.

        Never raises, except `WouldWait` (having changed nothing) when the delivery may
        not wait. A delivery with an event id is recorded in the command's own
        transaction: one write instead of two on the hot path, and a command that failed
        is not marked as handled. A rejected command is recorded on its own, so that its
        retry is not run later against a state that has changed in between. A command
        that only reads is not recorded at all: its retry is answered again, which
        changes nothing.
        """
        if _CONTROL.search(command.text):
            # NUL and terminal escapes in stored text would break databases and screens.
            return Reply(self.t("errors.control_characters"), tone=Tone.ERROR)
        try:
            route = self.router.route(command.text)
        except NotACommand:
            conversation = self.router.conversation(command.text) if command.direct else None
            if conversation is None or not command.text.strip():
                return Reply(self.t("errors.not_a_command"), tone=Tone.ERROR)
            route = conversation
        except UnknownCommand as unknown:
            return Reply(
                self.t("errors.unknown_command", command=unknown.word[:40]), tone=Tone.ERROR
            )
        except UnknownSubcommand as unknown:
            return self._unknown_subcommand_reply(unknown)
        reads_only = route.subcommand is None or route.subcommand.reads_only
        event_id = None if reads_only else delivery.event_id
        opener = self._opener(may_wait=delivery.may_wait, reads_only=reads_only)
        # A newcomer's name, when the platform can tell it, is asked only once they turn
        # out to be new: outside any transaction, and then the command runs again.
        name = command.user_name or (command.user_id if command.describe_user is None else None)
        try:
            for _attempt in range(2):
                try:
                    with opener(self.engine) as session:
                        if event_id is not None and not self._first_delivery(
                            session, delivery, event_id
                        ):
                            log.info("%s delivery %s already handled", delivery.platform, event_id)
                            return None
                        return self._run_in(
                            session, command, delivery, route, name=name, reads_only=reads_only
                        )
                except _NeedsName:
                    assert command.describe_user is not None
                    name = command.describe_user() or command.user_id
            raise AssertionError("a named newcomer was asked for their name again")
        except _Rejected as rejected:
            if event_id is not None:
                with self._opener(may_wait=delivery.may_wait, reads_only=False)(
                    self.engine
                ) as session:
                    self._first_delivery(session, delivery, event_id)
            return rejected.reply
        except (StorageWouldWait, WouldWait) as would_wait:
            raise WouldWait(str(would_wait)) from None
        except Exception as error:
            if is_lock_timeout(error):
                # Another process held SQLite's write lock for the whole busy timeout:
                # nothing was stored, and the same command will work in a moment.
                log.warning("database busy for %s command: %.200r", delivery.platform, command.text)
                return Reply(self.t("errors.database_busy"), tone=Tone.ERROR)
            log.exception("command failed: %.200r", command.text)
            return Reply(self.t("errors.internal"), tone=Tone.ERROR)

    def _run_in(
        self,
        session: Session,
        command: Command,
        delivery: Delivery,
        route: Route,
        *,
        name: str | None,
        reads_only: bool,
    ) -> Reply:
        found = self._team_for(session, command, delivery)
        team = found.team
        # A newcomer's read on a snapshot cannot register them: it must wait after all.
        may_register = delivery.may_wait or not reads_only
        speaker = self._speaker(
            session, command, delivery, found, name=name, may_register=may_register
        )
        args = self._resolve_mentions(session, team, delivery, command.mentions, route.args)
        context = self._context(session, command, team, speaker)
        if route.subcommand is None:
            return family_help(context, route.family)
        reply = self._run(context, route.subcommand, args)
        if reply.is_error:
            raise _Rejected(reply)
        post_notices(session, self.settings, team, reply.notices, now=self.clock.now())
        return reply

    @contextmanager
    def replaying(self, session: Session) -> Iterator[None]:
        """Run every command inside `session` (each in a savepoint), so that a sequence
        of them — the demo — is stored whole or not at all."""
        self._outer = session
        try:
            yield
        finally:
            self._outer = None

    @contextmanager
    def _in_outer(self, engine: Engine) -> Iterator[Session]:
        assert self._outer is not None
        with self._outer.begin_nested():
            yield self._outer

    def _opener(
        self, *, may_wait: bool, reads_only: bool
    ) -> Callable[[Engine], AbstractContextManager[Session]]:
        if self._outer is not None:
            return self._in_outer
        if may_wait:
            return transaction
        return snapshot if reads_only else transaction_at_once

    def _first_delivery(self, session: Session, delivery: Delivery, event_id: str) -> bool:
        return first_delivery(
            session, platform=delivery.platform, event_id=event_id, now=self.clock.now()
        )

    def _run(self, context: Context, subcommand: SubCommand, args: list[str]) -> Reply:
        try:
            return subcommand.handler(context, args)
        except InputError as error:
            reason = self.t(error.message_key, **error.params)
            if error.show_usage:
                usage = self.t(f"{subcommand.catalogue_key}.usage")
                reason = self.t("errors.with_usage", reason=reason, usage=usage)
            raise _Rejected(Reply(reason, tone=Tone.ERROR)) from None

    def _unknown_subcommand_reply(self, unknown: UnknownSubcommand) -> Reply:
        usages = [self.t(f"{sub.catalogue_key}.usage") for sub in unknown.family.subcommands]
        return Reply(
            self.t("errors.unknown_subcommand", family=unknown.family.name, word=unknown.word[:40]),
            tone=Tone.ERROR,
            sections=[Section(lines=usages)],
        )

    # -- who, where -----------------------------------------------------------------------

    def _team_for(self, session: Session, command: Command, delivery: Delivery) -> _Found:
        """The command's team (SPEC §3): named by the plug-in, else the one whose channel
        it came from, else the one the speaker is a member of. Never a guess — a stranger
        writing from anywhere else reaches no team, and is told how to join."""
        if command.team_id is not None:
            return _Found(self.settings.team(command.team_id), own_channel=True)
        if command.channel_id:
            for team in self.settings.teams:
                if team.channels.get(delivery.platform) == command.channel_id:
                    return _Found(team, own_channel=True)
        for member in speakers.memberships_of_identity(
            session, platform=delivery.platform, external_id=command.user_id
        ):
            try:
                return _Found(self.settings.team(member.team_id), own_channel=False, member=member)
            except ConfigError:
                continue  # a team that was removed from the config
        raise _Rejected(
            Reply(
                self.t("errors.no_team", platform=delivery.platform, user=command.user_id[:64]),
                tone=Tone.ERROR,
            )
        )

    def _resolve_mentions(
        self,
        session: Session,
        team: TeamSettings,
        delivery: Delivery,
        mentions: Sequence[Mention],
        args: list[str],
    ) -> list[str]:
        """Placeholders the plug-in left for mentions → `@handle` of the member with that
        platform id, else `@` and the name the platform showed."""
        if not mentions:
            return args
        handles = {}
        for mention in mentions:
            member = identities.member_by_identity(
                session, team_id=team.id, platform=delivery.platform,
                external_id=mention.external_id,
            )  # fmt: skip
            shown = member.id if member else (mention.display_name or mention.external_id)
            handles[mention.placeholder] = f"@{shown.replace(' ', '_')}"
        longest_first = sorted(handles, key=len, reverse=True)
        resolved = []
        for word in args:
            for placeholder in longest_first:
                word = word.replace(placeholder, handles[placeholder])
            resolved.append(word)
        return resolved

    def kpi_sources(self, team: TeamSettings) -> list[KpiSource]:
        """The team's KPI sources, built on first use (an entry that cannot be built —
        an unknown source, a missing credential — raises `SourceError` naming it)."""
        if team.id not in self._kpi_sources:
            self._kpi_sources[team.id] = [
                build_kpi_source(entry, self.clock) for entry in team.kpi_sources
            ]
        return self._kpi_sources[team.id]

    def system_context(self, session: Session, team: TeamSettings) -> Context:
        """A context for what the bot does on its own (digest, summary, reminders):
        the speaker is the bot itself, never stored."""
        bot_member = speakers.MemberRecord(
            team_id=team.id, id="opsbot", name="opsbot", role="admin", away_from=None,
            away_to=None, active=True, created_at=self.clock.now(),
        )  # fmt: skip
        command = Command(text="", team_id=team.id, user_id="opsbot")
        context = self._context(session, command, team, bot_member, index=_LazyIndex(self))
        context.kpi_sources = self.kpi_sources(team) if team.kpi_sources else ()
        return context

    def _context(
        self,
        session: Session,
        command: Command,
        team: TeamSettings,
        member: Speaker,
        *,
        index: CommandIndex | None = None,
    ) -> Context:
        return Context(
            command=command,
            session=session,
            settings=self.settings,
            team=team,
            clock=self.clock,
            member=member,
            t=self.t,
            content_platforms=self.content_platforms,
            router=self.router if index is None else index,
        )

    @staticmethod
    def _new_member_id(session: Session, team: TeamSettings, name: str, fallback: str) -> str:
        """A newcomer's handle: their chat name when it is usable and free, else their id."""
        handle = name.strip().replace(" ", "_")
        if (
            MEMBER_ID.match(handle)
            and member_store.get_member(session, team_id=team.id, member_id=handle) is None
        ):
            return handle
        if len(fallback) <= MEMBER_ID_MAX_LENGTH:
            return fallback
        # A platform id longer than a handle may be: cut, and made unique by its digest.
        digest = hashlib.sha256(fallback.encode()).hexdigest()[:12]
        return f"{fallback[: MEMBER_ID_MAX_LENGTH - 13]}_{digest}"

    def _speaker(
        self,
        session: Session,
        command: Command,
        delivery: Delivery,
        found: _Found,
        *,
        name: str | None,
        may_register: bool,
    ) -> Speaker:
        """The member who sent the command (SPEC §3), or a refusal that stores nothing.

        On a chat platform the speaker is named by their id there: the platform vouches
        for a real person, who is registered on first use. On the console the speaker is
        a handle anyone can type (`--as zoe`, a line starting `@bobb `), so only members
        speak there — a typo would otherwise become a member whose vote counts and who is
        "not answered" in every stand-up. A removed member is refused everywhere, never
        registered again. The first person in a team with no members at all becomes its
        admin, so a team configured without a member list can still manage itself.
        Newcomers join only from the team's own channel, and only while the team's
        `open_registration` allows it: a DM or a stranger's channel proves no membership.
        """
        team = found.team
        on_console = delivery.platform == CONSOLE
        member: speakers.MemberRecord | None
        if found.member is not None:  # the team was found by its member: read already
            member = found.member
        elif on_console:
            member = speakers.speaker_by_id(session, team_id=team.id, member_id=command.user_id)
        else:
            member = speakers.speaker_by_identity(
                session, team_id=team.id, platform=delivery.platform, external_id=command.user_id
            )
        if member is not None:
            if not member.active:
                raise self._speaker_refused(session, team, "errors.removed_speaker", member.id)
            return member
        first = not member_store.list_members(session, team_id=team.id, include_removed=True)
        if on_console and not first:
            raise self._speaker_refused(session, team, "errors.unknown_speaker", command.user_id)
        if not on_console and not (found.own_channel and team.open_registration):
            key = "errors.closed_team" if found.own_channel else "errors.no_team"
            reply = self.t(
                key, team=team.display_name, platform=delivery.platform, user=command.user_id[:64]
            )
            raise _Rejected(Reply(reply, tone=Tone.ERROR))
        if not may_register:
            raise WouldWait(f"{command.user_id} is new and must be registered")
        if name is None:
            raise _NeedsName
        member_id = (
            command.user_id
            if on_console
            else self._new_member_id(session, team, name, fallback=command.user_id)
        )
        linked = {} if on_console else {delivery.platform: command.user_id}
        try:
            with session.begin_nested():
                return member_store.add_member(
                    session,
                    team_id=team.id,
                    member_id=member_id,
                    name=name if not on_console else command.user_name or member_id,
                    role="admin" if first else "member",
                    now=self.clock.now(),
                    identities_by_platform=linked,
                )
        except IntegrityError:
            # The same newcomer's other first command registered them a moment ago.
            registered = identities.member_by_identity(
                session, team_id=team.id, platform=delivery.platform, external_id=command.user_id
            )
            if registered is None:
                raise
            return registered

    def _speaker_refused(
        self, session: Session, team: TeamSettings, key: str, handle: str
    ) -> _Rejected:
        """A refused speaker's reply names the team's members and how an admin adds one,
        so that a typo in a handle is seen at once and a newcomer knows whom to ask."""
        known = ", ".join(m.id for m in member_store.list_members(session, team_id=team.id))
        return _Rejected(Reply(self.t(key, name=handle[:40], known=known), tone=Tone.ERROR))
