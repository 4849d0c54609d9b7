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
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

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
            for number, part in message.undelivered(self.parts(message.reply)):
                self._pace(channel)
                if isinstance(part, Image):
                    self._post_image(channel, part, message)
                else:
                    blocks, text = part
                    self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
                message.delivered(number)
        except SlackApiError as error:
            raise _delivery_error(error) from error
        except (OSError, httpx.TransportError) as error:
            raise DeliveryError(f"slack: {error}") from error

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
