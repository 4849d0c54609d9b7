"""Slack, on Bolt: slash commands and buttons in, Block Kit out, posts through the outbox.

Translate and transport only: a slash command becomes a neutral `Command` for the
dispatcher, the `Reply` becomes Block Kit. Bolt checks every request's signature (and
its 5-minute window) before anything runs.

The app runs with `process_before_response=True`, Bolt's fastest setup: Bolt and the
command run together and the reply *is* the acknowledgement, so the person sees the
answer in one round trip. Where they run depends on whether the command can wait:

- On a SQLite file, a slash command is first tried at once in the caller's thread (the
  HTTP server's event loop), dispatched with `may_wait=False`, which works whenever it
  needs no waiting: a read from a snapshot no writer can hold up, a write when the
  write lock is free this instant. Handing a command to another thread costs more than
  running it.
- Otherwise (a writer holds the database, a newcomer to register, PostgreSQL, a
  button) it runs on one of the adapter's command threads (`workers`). Slack's 3-second
  limit is kept by whoever waits for the answer (`answer_in_time`, or the event loop):
  at `answer_within` seconds it sends "working on it" instead, and the reply follows
  through the command's `response_url` when it is ready.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient

from bot.chat.base import ChatServices
from bot.chat.slack.client import web_client
from bot.chat.slack.forms import CALLBACK_PREFIX, modal_view, submitted_command
from bot.chat.slack.names import command_text, spelled_for_slack
from bot.chat.slack.render import ACTION_PREFIX, render_messages
from bot.chat.slack.settings import SlackSettings
from bot.core.dispatch import Delivery, WouldWait
from bot.core.messages import Audience, Command, Mention, Reply, Tone

log = logging.getLogger(__name__)

PLATFORM = "slack"
COMMAND_PATTERN = re.compile(r"^/\S+$")  # the router knows the families; Slack sends ours
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]+))?>")
ANSWER_WITHIN_SECONDS = 2.0
AT_ONCE = "opsbot_at_once"  # request context: answer without waiting or not at all
NEEDS_A_THREAD = "opsbot_needs_a_thread"  # request context: it would have had to wait


class Dispatch:
    """One request on its way through Bolt, racing Slack's deadline.

    `run` does the work (in some worker thread); `give_up` is called by the waiter when
    the deadline passes. Whichever comes second knows what to do: a late `give_up`
    returns the finished answer, a late `run` sends its answer to the `response_url`.
    """

    def __init__(self, adapter: SlackAdapter, request: BoltRequest) -> None:
        self.adapter = adapter
        self.request = request
        self._lock = threading.Lock()
        self._answer: BoltResponse | None = None
        self._gave_up = False

    def run(self) -> BoltResponse:
        answer = self.adapter.app.dispatch(self.request)
        with self._lock:
            if not self._gave_up:
                self._answer = answer
                return answer
        self.adapter.answer_late(self.request, answer)
        return answer

    def give_up(self) -> BoltResponse:
        with self._lock:
            if self._answer is not None:
                return self._answer
            self._gave_up = True
        return self.adapter.stand_in(self.request)


class SlackAdapter:
    """Slash commands, buttons and Socket Mode envelopes in; answers out."""

    def __init__(self, services: ChatServices, settings: SlackSettings) -> None:
        self.services = services
        self.settings = settings
        self.client = web_client(settings)
        self.answer_within = ANSWER_WITHIN_SECONDS
        self.commands_at_once = services.answers_at_once
        self.concurrency = services.command_threads
        self.workers = ThreadPoolExecutor(self.concurrency, thread_name_prefix="slack-command")
        # Posts to a response_url wait on Slack; they must not hold up the command threads.
        self.responders = ThreadPoolExecutor(4, thread_name_prefix="slack-respond")
        self.app = App(  # the bot token travels in the client
            signing_secret=settings.signing_secret,
            client=self.client,
            process_before_response=True,
            token_verification_enabled=False,  # checked by `opsbot doctor`, not at import
        )
        self.app.command(COMMAND_PATTERN)(self._on_command)
        self.app.event("message")(self._on_direct_message)
        self.app.event("app_home_opened")(self._on_home_opened)
        self.app.view(re.compile(f"^{CALLBACK_PREFIX}"))(self._on_form)
        self.app.action(re.compile(f"^{ACTION_PREFIX}_"))(self._on_button)

    # -- answering on time ---------------------------------------------------------------

    def answer_at_once(self, request: BoltRequest) -> BoltResponse | None:
        """The answer to a slash command that needs no waiting, computed in the caller's
        thread; None if the request needs a command thread (`dispatch`).

        Never waits for the database, so the event loop may call it. A forged request
        is refused here as anywhere (401). The request is spent either way: dispatch a
        fresh one.
        """
        if not self.commands_at_once or "command" not in request.body:
            return None
        request.context[AT_ONCE] = True
        answer = self.app.dispatch(request)
        return None if request.context.get(NEEDS_A_THREAD) else answer

    def dispatch(self, request: BoltRequest) -> Dispatch:
        return Dispatch(self, request)

    def answer_in_time(self, request: BoltRequest) -> BoltResponse:
        """Dispatch `request` and answer within `answer_within` seconds (Socket Mode; the
        HTTP server does the same waiting on its event loop, without this extra thread)."""
        dispatch = self.dispatch(request)
        future = self.workers.submit(dispatch.run)
        try:
            return future.result(timeout=self.answer_within)
        except FutureTimeout:
            return dispatch.give_up()

    def stand_in(self, request: BoltRequest) -> BoltResponse:
        """What Slack gets at the deadline: "working on it" for a command; a button's
        listener has acknowledged already and answers through `respond` itself."""
        if "command" not in request.body:
            return BoltResponse(status=200, body="")
        working = {"response_type": "ephemeral", "text": self.services.t("slack.working")}
        return BoltResponse(
            status=200,
            body=json.dumps(working, ensure_ascii=False),
            headers={"content-type": "application/json;charset=utf-8"},
        )

    def answer_late(self, request: BoltRequest, answer: BoltResponse) -> None:
        """A command's answer that missed the deadline goes to its `response_url`."""
        response_url = request.body.get("response_url")
        if "command" not in request.body or not response_url or not answer.body:
            return
        self.responders.submit(self._send_to_response_url, response_url, json.loads(answer.body))

    @staticmethod
    def _send_to_response_url(response_url: str, message: dict[str, Any]) -> None:
        try:
            WebhookClient(response_url).send_dict(message)
        except OSError:
            log.exception("slack: an answer could not be sent to the response_url")

    def socket_mode_handler(self, app_token: str) -> SocketModeHandler:
        """Bolt's Socket Mode handler, answering each envelope in time."""
        adapter = self

        class TimelySocketModeHandler(SocketModeHandler):
            def handle(self, client: Any, req: SocketModeRequest) -> None:
                adapter.answer_envelope(client, req)

        return TimelySocketModeHandler(self.app, app_token)

    def answer_envelope(self, client: Any, envelope: SocketModeRequest) -> None:
        """One Socket Mode envelope: dispatch it like an HTTP request, acknowledge it with
        the answer (a failed dispatch is left unacknowledged, as Bolt does)."""
        headers: dict[str, str | Sequence[str]] = {}
        if envelope.retry_attempt is not None:
            headers["x-slack-retry-num"] = str(envelope.retry_attempt)

        def request() -> BoltRequest:
            return BoltRequest(mode="socket_mode", body=envelope.payload, headers=headers)

        answer = self.answer_at_once(request()) or self.answer_in_time(request())
        if answer.status != 200:
            log.warning("slack: envelope %s failed (%s)", envelope.envelope_id, answer.status)
            return
        payload = json.loads(answer.body) if answer.body else None
        client.send_socket_mode_response(
            SocketModeResponse(envelope_id=envelope.envelope_id, payload=payload)
        )

    # -- incoming -----------------------------------------------------------------------

    @staticmethod
    def _command(
        text: str, user_id: str, user_name: str | None, channel: str | None, *,
        direct: bool = False,
    ) -> Command:  # fmt: skip
        """`<@U123|bob>` mentions become placeholders the dispatcher resolves to members."""
        mentions: list[Mention] = []

        def placeholder(match: re.Match[str]) -> str:
            mentions.append(Mention(f"@⟦{len(mentions)}⟧", match.group(1), match.group(2)))
            return mentions[-1].placeholder

        return Command(
            text=MENTION.sub(placeholder, text), team_id=None, user_id=user_id,
            user_name=user_name, channel_id=channel, mentions=tuple(mentions), direct=direct,
        )  # fmt: skip

    def _handle(self, body: dict[str, Any], user_id: str, user_name: str | None, text: str,
                channel: str | None, *, at_once: bool = False) -> Reply | None:  # fmt: skip
        """Run the command once per Slack trigger (None: this trigger was handled before);
        `at_once`: without waiting, or raise `WouldWait`."""
        trigger = body.get("trigger_id")
        delivery = Delivery(
            PLATFORM, event_id=str(trigger) if trigger else None, may_wait=not at_once
        )
        command = self._command(text, user_id, user_name, channel)
        return self.services.dispatcher.dispatch(command, delivery)

    def response(self, reply: Reply) -> dict[str, Any]:
        blocks, text = render_messages(spelled_for_slack(reply, self.settings.command))[0]
        in_channel = reply.audience is Audience.CHANNEL and reply.tone is not Tone.ERROR
        return {
            "text": text,
            "blocks": blocks,
            "response_type": "in_channel" if in_channel else "ephemeral",
        }

    def _on_command(self, ack: Any, body: dict[str, Any], context: dict[str, Any]) -> None:
        text = command_text(body["command"], body.get("text", ""), self.settings.command)
        try:
            reply = self._handle(
                body, body["user_id"], body.get("user_name"), text, body.get("channel_id"),
                at_once=context.get(AT_ONCE, False),
            )  # fmt: skip
        except WouldWait:
            context[NEEDS_A_THREAD] = True
            ack()
            return
        if reply is None:
            ack()
        elif reply.form is not None and body.get("trigger_id") and self._open_form(body, reply):
            ack()  # the modal is the answer
        else:
            ack(**self.response(reply))

    def _open_form(self, body: dict[str, Any], reply: Reply) -> bool:
        """Show the reply's form as a modal; False (so the text is shown) if Slack refuses."""
        assert reply.form is not None
        try:
            self.client.views_open(
                trigger_id=body["trigger_id"], view=modal_view(reply.form, self.services.t)
            )
        except SlackApiError as error:
            log.warning("slack: the form could not be opened (%s)", error.response.get("error"))
            return False
        return True

    def _on_button(self, ack: Any, body: dict[str, Any]) -> None:
        """A button runs the command it carries, as the person who clicked it."""
        ack()
        user = body["user"]
        reply = self._handle(
            body,
            user["id"],
            user.get("username") or user.get("name"),
            body["actions"][0]["value"],
            (body.get("channel") or {}).get("id"),
        )
        if reply is not None and reply.form is not None and self._open_form(body, reply):
            return
        if reply is not None and body.get("response_url"):
            message = self.response(reply) | {"replace_original": reply.tone is not Tone.ERROR}
            self.responders.submit(self._send_to_response_url, body["response_url"], message)

    # -- the direct message and forms --------------------------------------------------

    def _on_direct_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """A plain message in the bot's DM (the `message.im` event): a conversation with
        the bot, such as answering the stand-up. Other messages are not ours."""
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
            return
        command = self._command(
            event.get("text", ""), event.get("user", ""), None, event.get("channel"), direct=True
        )
        reply = self.services.dispatcher.dispatch(
            command, Delivery(PLATFORM, event_id=body.get("event_id"))
        )
        if reply is not None:
            message = self.response(reply)
            self.client.chat_postMessage(
                channel=event["channel"], text=message["text"], blocks=message["blocks"]
            )

    def _on_form(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        """A submitted modal runs the command it stands for; a refusal is shown on the
        field (`response_action: errors`) and nothing is stored."""
        text, field = submitted_command(view)
        user = body.get("user") or {}
        command = self._command(text, user.get("id", ""), user.get("username"), None)
        event_id = f"view:{view.get('id')}:{view.get('hash')}"
        reply = self.services.dispatcher.dispatch(command, Delivery(PLATFORM, event_id=event_id))
        if reply is not None and reply.is_error:
            ack(response_action="errors", errors={field: reply.title[:150]})
            return
        ack()
        if reply is not None:
            opened = self.client.conversations_open(users=user.get("id", ""))
            message = self.response(reply)
            self.client.chat_postMessage(
                channel=opened["channel"]["id"], text=message["text"], blocks=message["blocks"]
            )

    def _on_home_opened(self, event: dict[str, Any]) -> None:
        """The App Home tab shows the member their day, fresh each time they open it."""
        if event.get("tab", "home") != "home":
            return
        user = event.get("user", "")
        command = self._command("/digest me", user, None, None, direct=True)
        reply = self.services.dispatcher.dispatch(command, Delivery(PLATFORM))
        if reply is None:
            return
        blocks, _ = render_messages(spelled_for_slack(reply, self.settings.command))[0]
        self.client.views_publish(user_id=user, view={"type": "home", "blocks": blocks})
