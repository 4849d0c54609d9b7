"""Slack's outbox sender: the team's channel with chat.postMessage, people by DM.

Posts to one channel are paced to Slack's one a second; a reply too long for one
message goes out in parts, each recorded as the platform takes it. A reply's picture
(the weekly summary's chart) is one more part after the text, uploaded through Slack's
external-upload flow: `files.getUploadURLExternal` → the bytes to the URL it returns →
`files.completeUploadExternal` into the channel. (`files.upload` is retired.)

The picture only illustrates a text that is already complete: when Slack refuses it for
good (a missing `files:write` scope, a channel the bot is not in) it is logged and the
post still counts as sent; when Slack or the network is down for the moment the whole
item is retried, from the picture, so the text is never posted twice.

Every message carries Slack message metadata naming its outbox key and part
(`event_type` `opsbot_outbox`). A deliverer killed between Slack taking a post and the
outbox recording it leaves the item `sending`; `parts_sent` cannot tell whether that part
went out. So when the delivery loop says an earlier try may have reached Slack
(`maybe_sent_since`), the channel's history since then is read first
(`conversations.history` with `include_all_metadata`; `channels:history`, `groups:history`
or `im:history` by the kind of conversation), and a part found there counts as delivered
instead of being posted again. A picture carries no metadata; it is found by its file's
name and title (the name is the summary's week, so it is the item's own). When Slack
refuses the history for good (the scope is missing) the item is posted as before — a
possible duplicate rather than a lost post — and that is logged; when Slack is down the
item is retried, so that the check is not skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.chat.slack.errors import hint
from bot.chat.slack.render import Block, render_messages
from bot.core.messages import Image, Reply
from bot.core.outbound import DeliveryError, OutgoingMessage

log = logging.getLogger(__name__)

CHANNEL_INTERVAL_SECONDS = 1.0  # Slack allows about one message a second per channel
RETRYABLE_UPLOAD_STATUSES = {408, 429}  # and every 5xx

Part = tuple[list[Block], str] | Image  # (blocks, text) of a message, or a picture

METADATA_EVENT = "opsbot_outbox"
# Slack stamps a message with its own clock: look back a little further than the try
# began, so that a few minutes' skew between this host and Slack hides nothing.
HISTORY_MARGIN = timedelta(minutes=10)
HISTORY_PAGE = 50
HISTORY_PAGES = 10  # at most 500 messages since the try: a busy channel still ends


def metadata(key: str, part: int) -> dict[str, Any]:
    """The message metadata that names a post's outbox item and part."""
    return {"event_type": METADATA_EVENT, "event_payload": {"key": key, "part": part}}


class ImageRefused(Exception):
    """Slack will not take the picture, and asking again will not change its mind."""


class SlackSender:
    """Delivers outbox items: the team's channel with chat.postMessage, people by DM."""

    def __init__(self, client: WebClient, http: httpx.Client | None = None) -> None:
        self.client = client
        # The upload URL is not a Web API method: its bytes go by plain HTTP POST, with
        # the Web API client's own timeout and proxy.
        self.http = http or httpx.Client(timeout=client.timeout, proxy=client.proxy)
        self.interval = CHANNEL_INTERVAL_SECONDS
        self._last_post: dict[str, float] = {}
        self._lock = threading.Lock()

    def _channel(self, message: OutgoingMessage) -> str:
        """The team's channel id, or the member's DM channel opened from their user id."""
        if message.to_team:
            return message.address
        opened = self.client.conversations_open(users=message.address)
        return str(opened["channel"]["id"])

    def _pace(self, channel: str) -> None:
        with self._lock:
            wait = self._last_post.get(channel, 0.0) + self.interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_post[channel] = time.monotonic()

    @staticmethod
    def parts(reply: Reply) -> Iterator[Part]:
        """The text's messages, then the picture: the same list on every try, so that
        `parts_sent` names the same parts."""
        yield from render_messages(reply)
        if reply.image is not None:
            yield reply.image

    def send(self, message: OutgoingMessage) -> None:
        try:
            channel = self._channel(message)
            history = self._history(channel, message)
            for number, part in message.undelivered(self.parts(message.reply)):
                if history is not None and history.holds(message.idempotency_key, number, part):
                    log.info(
                        "slack: outbox item %s (%s) part %s was already posted; not again",
                        message.id, message.kind, number,
                    )  # fmt: skip
                    message.delivered(number)
                    continue
                self._pace(channel)
                if isinstance(part, Image):
                    self._post_image(channel, part, message)
                else:
                    blocks, text = part
                    self.client.chat_postMessage(
                        channel=channel, text=text, blocks=blocks,
                        metadata=metadata(message.idempotency_key, number),
                    )  # fmt: skip
                message.delivered(number)
        except SlackApiError as error:
            raise _delivery_error(error) from error
        except (OSError, httpx.TransportError) as error:
            raise DeliveryError(f"slack: {error}") from error

    def _history(self, channel: str, message: OutgoingMessage) -> History | None:
        """What the channel holds since an earlier try that may have reached Slack began;
        None when no try was in flight, or when Slack will not show the history."""
        if message.maybe_sent_since is None:
            return None
        oldest = (message.maybe_sent_since - HISTORY_MARGIN).timestamp()
        messages: list[dict[str, Any]] = []
        cursor: str | None = None
        try:
            for _ in range(HISTORY_PAGES):
                page = self.client.conversations_history(
                    channel=channel, oldest=f"{oldest:.6f}", include_all_metadata=True,
                    limit=HISTORY_PAGE, cursor=cursor,
                )  # fmt: skip
                messages.extend(page.get("messages") or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not page.get("has_more") or not cursor:
                    break
        except SlackApiError as error:
            if _transient(error):
                raise  # Slack is down: retry later rather than post blind
            log.warning(
                "slack: cannot read %s's history to check outbox item %s (%s) was not posted "
                "already, so it may be posted twice: %s (add channels:history, groups:history "
                "and im:history: reinstall the app from slack/manifest.yaml)",
                channel, message.id, message.kind, _error_code(error) or error,
            )  # fmt: skip
            return None
        return History(messages)

    def _post_image(self, channel: str, image: Image, message: OutgoingMessage) -> None:
        """Upload the picture into the channel; a refusal for good is logged, not raised."""
        try:
            self.upload_image(channel, image)
        except ImageRefused as refusal:
            log.warning(
                "slack: outbox item %s (%s) went out without its picture %s: %s",
                message.id, message.kind, image.filename, refusal,
            )  # fmt: skip

    def upload_image(self, channel: str, image: Image) -> str:
        """The three steps of Slack's external upload; returns the file's id.

        Raises `ImageRefused` for what a retry will not change, `SlackApiError`,
        `DeliveryError` or a network error for what it may.
        """
        png = image.png
        try:
            ticket = self.client.files_getUploadURLExternal(
                filename=image.filename, length=len(png), alt_txt=image.alt
            )
        except SlackApiError as error:
            _refuse_unless_transient(error, "files.getUploadURLExternal")
            raise
        file_id, upload_url = str(ticket["file_id"]), str(ticket["upload_url"])
        response = self.http.post(
            upload_url, content=png, headers={"Content-Type": "application/octet-stream"}
        )
        if response.status_code != 200:
            status = response.status_code
            if status >= 500 or status in RETRYABLE_UPLOAD_STATUSES:
                raise DeliveryError(f"slack: uploading {image.filename}: HTTP {status}")
            raise ImageRefused(f"uploading {image.filename}: HTTP {status} {response.text[:200]}")
        try:
            self.client.files_completeUploadExternal(
                files=[{"id": file_id, "title": image.alt}], channel_id=channel
            )
        except SlackApiError as error:
            _refuse_unless_transient(error, "files.completeUploadExternal")
            raise
        return file_id


class History:
    """A conversation's recent messages, as `conversations.history` with
    `include_all_metadata` returns them."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages

    def holds(self, key: str, number: int, part: Part) -> bool:
        """Whether part `number` of the outbox item `key` is among the messages: a text by
        its metadata, a picture by its file's name and title."""
        for posted in self.messages:
            if isinstance(part, Image):
                for file in posted.get("files") or []:
                    if file.get("name") == part.filename and file.get("title") == part.alt:
                        return True
            elif _names(posted.get("metadata"), key, number):
                return True
        return False


def _names(found: Any, key: str, number: int) -> bool:
    """Whether a message's metadata is ours for this key and part (Slack may hand the
    payload's values back as strings)."""
    if not isinstance(found, dict) or found.get("event_type") != METADATA_EVENT:
        return False
    payload = found.get("event_payload")
    if not isinstance(payload, dict):
        return False
    return payload.get("key") == key and str(payload.get("part")) == str(number)


def _transient(error: SlackApiError) -> bool:
    """Only Slack's documented permanent errors (`errors.PERMANENT`) are for good;
    rate limits, 5xx answers, HTML error pages and unknown codes are tried again."""
    return hint(_error_code(error)) is None


def _refuse_unless_transient(error: SlackApiError, method: str) -> None:
    if not _transient(error):
        code = error.response.get("error", "") if error.response is not None else ""
        raise ImageRefused(f"{method}: {code or error}") from error


def _error_code(error: SlackApiError) -> str:
    """Slack's `error` code, or "" when the answer was no JSON (an HTML error page)."""
    response = error.response
    if response is None or not isinstance(response.data, dict):
        return ""
    return str(response.data.get("error", "") or "")


def _delivery_error(error: SlackApiError) -> DeliveryError:
    """A Slack refusal as the delivery loop wants it: retried (after Retry-After on a
    429) unless it is one of the documented permanent errors, which fail with advice."""
    response = error.response
    if response is not None and response.status_code == 429:
        retry_after = float(response.headers.get("Retry-After", "1"))
        return DeliveryError("slack: rate limited", retry_after=retry_after)
    code = _error_code(error)
    advice = hint(code)
    if advice:
        return DeliveryError(f"slack: {code} — {advice}", retryable=False)
    status = response.status_code if response is not None else "?"
    return DeliveryError(f"slack: {code or 'HTTP ' + str(status)} (will retry)")
