"""WeCom's outbox sender: team posts through the group robot (or to `channels.wecom`
users as app messages), reminders to the person as app messages."""

from __future__ import annotations

import hashlib

import httpx

from bot.chat.wecom.client import WecomClient, WecomError
from bot.core.outbound import DeliveryError, OutgoingMessage

ROBOT = "robot"  # `channels.wecom: robot`: the team's group, through its robot
SYSTEM_BUSY = -1
RATE_LIMITED = {45009, 45033}
RATE_LIMIT_WAIT_SECONDS = 60.0


class WecomSender:
    """Team posts to the group robot (or to `channels.wecom` users), reminders to the person."""

    def __init__(self, client: WecomClient) -> None:
        self.client = client

    def send(self, message: OutgoingMessage) -> None:
        try:
            if message.to_team:
                channel = message.address
                if channel == ROBOT:
                    posts = self.client.robot_messages(message.reply)
                    for number, body in message.undelivered(posts):
                        self.client.send_robot_message(body)
                        message.delivered(number)
                    return
                self._send_app(channel, message, message.idempotency_key[-32:])
                return
            task_id = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
            self._send_app(message.address, message, task_id)
        except WecomError as error:
            if error.code in RATE_LIMITED:
                raise DeliveryError(str(error), retry_after=RATE_LIMIT_WAIT_SECONDS) from error
            raise DeliveryError(str(error), retryable=error.code == SYSTEM_BUSY) from error
        except httpx.HTTPError as error:
            raise DeliveryError(f"wecom: {error}") from error

    def _send_app(self, touser: str, message: OutgoingMessage, task_id: str) -> None:
        for number, body in message.undelivered(
            self.client.app_messages(touser, message.reply, task_id)
        ):
            self.client.send_app_message(body)
            message.delivered(number)
