"""Slack, on Bolt: slash commands and buttons in, Block Kit out, posts through the outbox.

Translate and transport only: a slash command becomes a neutral `Command` for
`OpsBot.handle`, the `Reply` becomes Block Kit. Bolt checks every request's signature
(and its 5-minute window) before anything runs. The app runs with
`process_before_response=True` (Bolt's fastest setup): the command is handled in a
worker thread and its reply is the acknowledgement itself; if the database is slow and
the reply is not ready within 2 seconds, Slack gets "working on it" and the reply
follows through the command's `response_url`, so Slack's 3-second limit is never missed.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.app import OpsBot
from bot.config import SlackSettings, TeamSettings
from bot.messages import Audience, Command, Reply, Tone
from bot.outbox import DeliveryError, OutgoingMessage
from bot.render.slack import ACTION_PREFIX, render_messages
from storage import members as member_store
from storage.db import transaction
from storage.inbound import first_delivery

log = logging.getLogger(__name__)

FAMILIES = ("topic", "publish", "task", "standup", "kpi", "digest", "summary", "team", "help")
COMMAND_PATTERN = re.compile(rf"^/({'|'.join(FAMILIES)})$")
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]+))?>")
ANSWER_WITHIN_SECONDS = 2.0
CHANNEL_INTERVAL_SECONDS = 1.0  # Slack allows about one message a second per channel
RETRYABLE_ERRORS = {
    "ratelimited",
    "service_unavailable",
    "internal_error",
    "fatal_error",
    "request_timeout",
}


def web_client(settings: SlackSettings) -> WebClient:
    """The Web API client; 429s are retried after Slack's Retry-After (off by default)."""
    return WebClient(
        token=settings.bot_token,
        base_url=settings.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )


class SlackAdapter:
    def __init__(self, bot: OpsBot, settings: SlackSettings) -> None:
        self.bot = bot
        self.settings = settings
        self.client = web_client(settings)
        self.workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="slack-command")
        self.app = App(  # the bot token travels in the client
            signing_secret=settings.signing_secret,
            client=self.client,
            process_before_response=True,
            token_verification_enabled=False,  # checked by `opsbot doctor`, not at import
        )
        self.app.middleware(self._once)
        self.app.command(COMMAND_PATTERN)(self._on_command)
        self.app.action(re.compile(f"^{ACTION_PREFIX}_"))(self._on_button)

    # -- incoming -----------------------------------------------------------------------

    def team_for(self, channel_id: str | None) -> TeamSettings:
        for team in self.bot.settings.teams:
            if channel_id and team.channels.get("slack") == channel_id:
                return team
        return self.bot.settings.team()

    def _once(self, body: dict[str, Any], next: Any) -> BoltResponse | None:
        """Drop a delivery already handled (Slack retries events; a trigger is used once)."""
        key = body.get("event_id") or body.get("trigger_id")
        if key:
            with transaction(self.bot.engine) as session:
                if not first_delivery(
                    session, platform="slack", event_id=str(key), now=self.bot.clock.now()
                ):
                    log.info("slack delivery %s already handled", key)
                    return BoltResponse(status=200, body="")
        return next()

    def _mentions_to_members(self, team: TeamSettings, text: str) -> str:
        """`<@U123|bob>` → `@bob` (the member with that Slack id, else the Slack name)."""

        def replace(match: re.Match[str]) -> str:
            with transaction(self.bot.engine) as session:
                member = member_store.find_member_by_platform_id(
                    session, team_id=team.id, platform="slack", platform_user_id=match.group(1)
                )
            return f"@{member.id if member else (match.group(2) or match.group(1))}"

        return MENTION.sub(replace, text)

    def _handle(
        self,
        team: TeamSettings,
        user_id: str,
        user_name: str | None,
        text: str,
        channel: str | None,
    ) -> Reply:
        command = Command(
            text=self._mentions_to_members(team, text), team_id=team.id, user_id=user_id,
            platform="slack", user_name=user_name, channel_id=channel,
        )  # fmt: skip
        return self.bot.handle(command)

    @staticmethod
    def response(reply: Reply) -> dict[str, Any]:
        blocks, text = render_messages(reply)[0]
        in_channel = reply.audience is Audience.CHANNEL and reply.tone is not Tone.ERROR
        return {
            "text": text,
            "blocks": blocks,
            "response_type": "in_channel" if in_channel else "ephemeral",
        }

    def _on_command(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        team = self.team_for(body.get("channel_id"))
        text = f"{body['command']} {body.get('text', '')}".strip()
        future = self.workers.submit(
            self._handle, team, body["user_id"], body.get("user_name"), text, body.get("channel_id")
        )
        try:
            reply = future.result(timeout=ANSWER_WITHIN_SECONDS)
        except FutureTimeout:
            ack(text=self.bot.t("slack.working"), response_type="ephemeral")
            future.add_done_callback(lambda done: respond(**self.response(done.result())))
            return
        ack(**self.response(reply))

    def _on_button(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        """A button runs the command it carries, as the person who clicked it."""
        ack()
        action = body["actions"][0]
        channel = (body.get("channel") or {}).get("id")
        user = body["user"]
        reply = self._handle(
            self.team_for(channel),
            user["id"],
            user.get("username") or user.get("name"),
            action["value"],
            channel,
        )
        if reply.tone is Tone.ERROR:
            respond(**self.response(reply), replace_original=False)
        else:
            respond(**self.response(reply), replace_original=True)


class SlackSender:
    """Delivers outbox items: the team's channel with chat.postMessage, people by DM."""

    def __init__(self, bot: OpsBot, client: WebClient) -> None:
        self.bot = bot
        self.client = client
        self._last_post: dict[str, float] = {}
        self._lock = threading.Lock()

    def _channel(self, message: OutgoingMessage) -> str:
        team = self.bot.settings.team(message.team_id)
        if message.target == "team":
            channel = team.channels.get("slack")
            if not channel:
                raise DeliveryError(f"teams.{team.id}.channels.slack is not set", retryable=False)
            return channel
        member_id = message.target.removeprefix("member:")
        with transaction(self.bot.engine) as session:
            member = member_store.get_member(session, team_id=team.id, member_id=member_id)
        if member is None or not member.slack:
            raise DeliveryError(f"member {member_id} has no Slack id", retryable=False)
        opened = self.client.conversations_open(users=member.slack)
        return str(opened["channel"]["id"])

    def _pace(self, channel: str) -> None:
        with self._lock:
            wait = self._last_post.get(channel, 0.0) + CHANNEL_INTERVAL_SECONDS - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_post[channel] = time.monotonic()

    def send(self, message: OutgoingMessage) -> None:
        try:
            channel = self._channel(message)
            for blocks, text in render_messages(message.reply):
                self._pace(channel)
                self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        except SlackApiError as error:
            code = error.response.get("error", "") if error.response is not None else ""
            if error.response is not None and error.response.status_code == 429:
                retry_after = float(error.response.headers.get("Retry-After", "1"))
                raise DeliveryError("slack: rate limited", retry_after=retry_after) from error
            raise DeliveryError(
                f"slack: {code or error}", retryable=code in RETRYABLE_ERRORS
            ) from error
        except OSError as error:
            raise DeliveryError(f"slack: {error}") from error


def check_slack(settings: SlackSettings) -> tuple[bool, str]:
    """Whether the bot token works (`auth.test`), for `opsbot doctor`."""
    try:
        result = web_client(settings).auth_test()
    except SlackApiError as error:
        return (
            False,
            f"platforms.slack: the bot token was refused ({error.response.get('error', error)})",
        )
    except OSError as error:
        return False, f"platforms.slack: {settings.api_url} cannot be reached ({error})"
    who = f"{result.get('team', '?')} as {result.get('user', '?')}"
    return True, f"platforms.slack: token works for {who} (mode {settings.mode})"
