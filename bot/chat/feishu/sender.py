"""Feishu's outbox sender: team posts to the group (chat_id), reminders to the person.

Every message carries a `uuid` made from the outbox key, so a retry never doubles it.
"""

from __future__ import annotations

import hashlib
import threading
import time

import httpx

from bot.chat.feishu.client import FeishuClient, FeishuError
from bot.core.outbound import DeliveryError, OutgoingMessage

RATE_LIMIT_CODES = {99991400, 11232, 230020}
PER_CHAT_INTERVAL_SECONDS = 0.2


def _uuid(key: str) -> str:
    """Feishu's idempotency field is at most 50 characters."""
    return hashlib.sha256(key.encode()).hexdigest()[:40]


class FeishuSender:
    """Team posts to the team's group (chat_id), reminders to the person (open_id).

    Feishu allows 5 messages a second per chat; posts to one chat are paced to that.
    """

    def __init__(self, client: FeishuClient) -> None:
        self.client = client
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def _pace(self, receive_id: str) -> None:
        with self._lock:
            wait = self._last.get(receive_id, 0.0) + PER_CHAT_INTERVAL_SECONDS - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last[receive_id] = time.monotonic()

    def send(self, message: OutgoingMessage) -> None:
        receive_type = "chat_id" if message.to_team else "open_id"
        receive_id = message.address
        self._pace(receive_id)
        try:
            self.client.send(
                receive_type, receive_id, message.reply, uuid=_uuid(message.idempotency_key)
            )
        except FeishuError as error:
            limited = error.status == 429 or error.code in RATE_LIMIT_CODES
            retryable = limited or error.status >= 500
            raise DeliveryError(
                str(error), retryable=retryable, retry_after=error.retry_after if limited else None
            ) from error
        except httpx.HTTPError as error:
            raise DeliveryError(f"feishu: {error}") from error
