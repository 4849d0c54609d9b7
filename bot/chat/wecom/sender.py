"""WeCom's outbox sender: team posts through the group robot (or to `channels.wecom`
users as app messages), reminders to the person as app messages.

A reply's picture (the weekly summary's chart) goes to the group robot as one more part
after the markdown, as an `image` post, when it is within the robot's 2 MB. App
messages would need the picture uploaded as media first: they go without it (logged).
A refusal of the picture for good is logged and the post still counts as sent — the
text is complete without it; a rate limit or a busy WeCom retries from the picture.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import httpx

from bot.chat.wecom.client import ROBOT_IMAGE_BYTES, WecomClient, WecomError
from bot.chat.wecom.errors import RATE_LIMITED, hint
from bot.core.outbound import DeliveryError, OutgoingMessage

log = logging.getLogger(__name__)

ROBOT = "robot"  # `channels.wecom: robot`: the team's group, through its robot
RATE_LIMIT_WAIT_SECONDS = 60.0


class WecomSender:
    """Team posts to the group robot (or to `channels.wecom` users), reminders to the person."""

    def __init__(self, client: WecomClient) -> None:
        self.client = client
        self.robot_image_bytes = ROBOT_IMAGE_BYTES  # the largest picture the robot takes

    def send(self, message: OutgoingMessage) -> None:
        try:
            if message.to_team:
                channel = message.address
                if channel == ROBOT:
                    self._send_robot(message)
                    return
                self._send_app(channel, message, message.idempotency_key[-32:])
                return
            task_id = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
            self._send_app(message.address, message, task_id)
        except WecomError as error:
            if error.code in RATE_LIMITED:
                raise DeliveryError(str(error), retry_after=RATE_LIMIT_WAIT_SECONDS) from error
            raise _delivery_error(error) from error
        except httpx.HTTPError as error:
            raise DeliveryError(f"wecom: {error}") from error

    def robot_posts(self, message: OutgoingMessage) -> list[dict[str, Any]]:
        """The markdown parts, then the picture if the robot can take it: the same list
        on every try, so that `parts_sent` names the same parts."""
        posts = self.client.robot_messages(message.reply)
        image = message.reply.image
        if image is not None:
            body = self.client.robot_image(image, limit=self.robot_image_bytes)
            if body is None:
                log.warning(
                    "wecom: outbox item %s (%s) goes without its picture %s: over the "
                    "robot's %d bytes", message.id, message.kind, image.filename,
                    self.robot_image_bytes,
                )  # fmt: skip
            else:
                posts.append(body)
        return posts

    def _send_robot(self, message: OutgoingMessage) -> None:
        for number, body in message.undelivered(self.robot_posts(message)):
            try:
                self.client.send_robot_message(body)
            except WecomError as error:
                picture = body.get("msgtype") == "image"
                if not picture or error.code in RATE_LIMITED or _transient(error):
                    raise
                log.warning(
                    "wecom: outbox item %s (%s) went out without its picture: %s",
                    message.id, message.kind, error,
                )  # fmt: skip
            message.delivered(number)

    def _send_app(self, touser: str, message: OutgoingMessage, task_id: str) -> None:
        if message.reply.image is not None:
            log.info(
                "wecom: app messages carry no picture; outbox item %s (%s) goes without %s",
                message.id, message.kind, message.reply.image.filename,
            )  # fmt: skip
        for number, body in message.undelivered(
            self.client.app_messages(touser, message.reply, task_id)
        ):
            self.client.send_app_message(body)
            message.delivered(number)


def _transient(error: WecomError) -> bool:
    """Only WeCom's documented permanent codes (`errors.PERMANENT`) are for good."""
    return hint(error.code) is None


def _delivery_error(error: WecomError) -> DeliveryError:
    advice = hint(error.code)
    if advice:
        return DeliveryError(f"{error} — {advice}", retryable=False)
    return DeliveryError(f"{error} (will retry)")
