"""The one place where the parts are wired: settings, storage, clock, router, handlers.

`OpsBot.handle` is the whole bot as far as an adapter is concerned: a neutral Command
in, a neutral Reply out. Each command runs in one transaction, so a rejected or failed
command stores nothing — not even the registration of a first-time speaker.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager

from sqlalchemy import Engine
from sqlmodel import Session

from bot.core.clock import Clock
from bot.core.commands import CommandError, CommandFamily, Context, SubCommand
from bot.core.config import Settings, TeamSettings
from bot.core.i18n import Translator
from bot.core.messages import Command, Reply, Section, Tone
from bot.core.router import NotACommand, Router, UnknownCommand, UnknownSubcommand
from bot.vocab.content_platforms import PlatformCatalogue
from handlers import ALL_FAMILIES
from handlers.help import family_help
from storage import members as member_store
from storage.db import WouldWait, create_engine_for, snapshot, transaction, transaction_at_once
from storage.inbound import first_delivery
from storage.migrate import upgrade_database
from storage.models import Member

log = logging.getLogger(__name__)

PLATFORM_ID_KEYS = ("slack", "feishu", "wecom")
MEMBER_ID = re.compile(r"^[\w.\-]{1,64}$")


class _Rejected(Exception):
    """Carries an error reply out of the transaction, so that it rolls back."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.title)
        self.reply = reply


class OpsBot:
    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        clock: Clock,
        families: Iterable[CommandFamily] = ALL_FAMILIES,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.router = Router(families)
        self.platforms = PlatformCatalogue(
            name for team in settings.teams for name in team.platforms
        )
        self.t = Translator(settings.locale)

    @classmethod
    def open(cls, settings: Settings, clock: Clock) -> OpsBot:
        """Connect, apply pending migrations and seed the configured members."""
        engine = create_engine_for(settings.storage.url)
        upgrade_database(engine)
        bot = cls(settings=settings, engine=engine, clock=clock)
        bot.sync_configured_members()
        return bot

    def sync_configured_members(self) -> None:
        with transaction(self.engine) as session:
            for team in self.settings.teams:
                member_store.sync_configured_members(
                    session,
                    team_id=team.id,
                    configured=[
                        (
                            member.id,
                            member.display_name,
                            member.role,
                            {key: getattr(member, key) for key in PLATFORM_ID_KEYS},
                        )
                        for member in team.members
                    ],
                    now=self.clock.now(),
                )

    def handle(self, command: Command) -> Reply:
        """Run one command and return the reply; never raises."""
        reply = self._handle(command, delivery_id=None)
        assert reply is not None  # only a known delivery id is ever skipped
        return reply

    def handle_once(self, command: Command, *, delivery_id: str) -> Reply | None:
        """Run a command a platform may deliver more than once; None if it already ran.

        The delivery is recorded in the command's own transaction: one write instead of
        two on the hot path, and a command that failed is not marked as handled. A
        rejected command is recorded on its own, so that its retry is not run later
        against a state that has changed in between. A command that only reads is not
        recorded at all: its retry is answered again, which changes nothing.
        """
        return self._handle(command, delivery_id=delivery_id)

    def answer_at_once(self, command: Command, *, delivery_id: str | None) -> Reply | None:
        """`handle_once` (or `handle`, without a delivery id), but only if the command
        needs no waiting; raises `storage.db.WouldWait`, having changed nothing, if it
        does. Lets an adapter answer where waiting is not allowed (an event loop).

        A read runs on a snapshot of the last commit (`storage.db.snapshot`), so no
        writer can hold it up; a newcomer's read waits, as it must register them. A
        write runs only if the write lock is free this instant.
        """
        return self._handle(command, delivery_id=delivery_id, at_once=True)

    def _handle(
        self, command: Command, *, delivery_id: str | None, at_once: bool = False
    ) -> Reply | None:
        try:
            route = self.router.route(command.text)
        except NotACommand:
            return Reply(self.t("errors.not_a_command"), tone=Tone.ERROR)
        except UnknownCommand as unknown:
            return Reply(
                self.t("errors.unknown_command", command=unknown.word[:40]), tone=Tone.ERROR
            )
        except UnknownSubcommand as unknown:
            return self._unknown_subcommand_reply(unknown)
        try:
            team = self.settings.team(command.team_id)
            reads_only = route.subcommand is None or route.subcommand.reads_only
            if reads_only:
                delivery_id = None  # a retry is answered again; nothing to record
            open_transaction = self._opener(at_once=at_once, reads_only=reads_only)
            with open_transaction(self.engine) as session:
                if delivery_id is not None and not self._first_delivery(
                    session, command, delivery_id
                ):
                    log.info("%s delivery %s already handled", command.platform, delivery_id)
                    return None
                context = self._context(
                    session, command, team, may_register=not (at_once and reads_only)
                )
                if route.subcommand is None:
                    return family_help(context, route.family)
                reply = self._run(context, route.subcommand, route.args)
                if reply.is_error:
                    raise _Rejected(reply)
                return reply
        except _Rejected as rejected:
            if delivery_id is not None:
                with self._opener(at_once=at_once, reads_only=False)(self.engine) as session:
                    self._first_delivery(session, command, delivery_id)
            return rejected.reply
        except WouldWait:
            raise
        except Exception:
            log.exception("command failed: %.200r", command.text)
            return Reply(self.t("errors.internal"), tone=Tone.ERROR)

    @staticmethod
    def _opener(
        *, at_once: bool, reads_only: bool
    ) -> Callable[[Engine], AbstractContextManager[Session]]:
        if not at_once:
            return transaction
        return snapshot if reads_only else transaction_at_once

    def _first_delivery(self, session: Session, command: Command, delivery_id: str) -> bool:
        return first_delivery(
            session, platform=command.platform, event_id=delivery_id, now=self.clock.now()
        )

    def _run(self, context: Context, subcommand: SubCommand, args: list[str]) -> Reply:
        try:
            return subcommand.handler(context, args)
        except CommandError as error:
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

    def system_context(self, session: Session, team: TeamSettings) -> Context:
        """A context for what the bot does on its own (digest, summary, reminders):
        the speaker is the bot itself, never stored."""
        bot_member = Member(
            team_id=team.id, id="opsbot", name="opsbot", role="admin", created_at=self.clock.now()
        )
        return Context(
            command=Command(text="", team_id=team.id, user_id="opsbot", platform="scheduler"),
            session=session,
            settings=self.settings,
            team=team,
            clock=self.clock,
            member=bot_member,
            t=self.t,
            platforms=self.platforms,
            router=self.router,
        )

    def _context(
        self, session: Session, command: Command, team: TeamSettings, *, may_register: bool = True
    ) -> Context:
        return Context(
            command=command,
            session=session,
            settings=self.settings,
            team=team,
            clock=self.clock,
            member=self._speaker(session, command, team, may_register=may_register),
            t=self.t,
            platforms=self.platforms,
            router=self.router,
        )

    @staticmethod
    def _new_member_id(session: Session, team: TeamSettings, command: Command) -> str:
        """A newcomer's handle: their chat name when it is usable and free, else their id."""
        name = (command.user_name or "").strip().replace(" ", "_")
        if (
            MEMBER_ID.match(name)
            and member_store.get_member(session, team_id=team.id, member_id=name) is None
        ):
            return name
        return command.user_id

    def _speaker(
        self, session: Session, command: Command, team: TeamSettings, *, may_register: bool
    ) -> Member:
        """The member who sent the command, registered on first use (SPEC §3).

        The first person in a team with no members yet becomes its admin, so a team
        configured without a member list can still manage itself.
        """
        if command.platform in PLATFORM_ID_KEYS:
            member = member_store.find_member_by_platform_id(
                session,
                team_id=team.id,
                platform=command.platform,
                platform_user_id=command.user_id,
            )
            if member is not None:
                return member
            if not may_register:
                raise WouldWait(f"{command.user_id} is new and must be registered")
            member_id = self._new_member_id(session, team, command)
            platform_ids = {command.platform: command.user_id}
        else:
            member = member_store.get_member(session, team_id=team.id, member_id=command.user_id)
            if member is not None:
                return member
            if not may_register:
                raise WouldWait(f"{command.user_id} is new and must be registered")
            member_id = command.user_id
            platform_ids = {}
        first = not member_store.list_members(session, team_id=team.id)
        return member_store.add_member(
            session,
            team_id=team.id,
            member_id=member_id,
            name=command.user_name or member_id,
            role="admin" if first else "member",
            now=self.clock.now(),
            platform_ids=platform_ids,
        )
