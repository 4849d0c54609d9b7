"""Slack's outbox sender: the team's channel with chat.postMessage, people by DM.

Posts to one channel are paced to Slack's one a second; a reply too long for one
message goes out in parts, each recorded as the platform takes it.
"""

from __future__ import annotations

import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.chat.slack.render import render_messages
from bot.core.outbound import DeliveryError, OutgoingMessage

CHANNEL_INTERVAL_SECONDS = 1.0  # Slack allows about one message a second per channel
RETRYABLE_ERRORS = {
    "ratelimited",
    "service_unavailable",
    "internal_error",
    "fatal_error",
    "request_timeout",
}


class SlackSender:
    """Delivers outbox items: the team's channel with chat.postMessage, people by DM."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
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

    def send(self, message: OutgoingMessage) -> None:
        try:
            channel = self._channel(message)
            for number, (blocks, text) in message.undelivered(render_messages(message.reply)):
                self._pace(channel)
                self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
                message.delivered(number)
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
