"""Feishu's outbox sender: team posts to the group (chat_id), reminders to the person.

Every message carries a `uuid` made from the outbox key, so a retry never doubles it.

A post with a picture (the weekly summary's chart) uploads it first and shows it in the
card. The picture never holds the text back: an upload Feishu refuses for good (a 4xx)
is logged and the card goes without it, the text summary being complete on its own;
only Feishu being down or busy (a 5xx, a rate limit, no connection) makes the post wait
for the outbox's retry.

Uploading once, whatever is retried:
- The post is one part of the `OutgoingMessage`: it is reported `delivered` as soon as
  Feishu has taken it, so a retry after that (the outbox could not record the success)
  skips the upload and the message alike.
- The upload's `image_key` is kept, by outbox key, until the post has gone: a retry
  after a failed message call reuses it instead of uploading again. The `uuid` covers
  the remaining case, a message Feishu took though its answer was lost: sent again with
  the same uuid it is not posted twice. Only a restart between the two loses the key,
  which costs one more upload, never a second post.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict

import httpx

from bot.chat.feishu.client import FeishuClient, FeishuError
from bot.chat.feishu.errors import RATE_LIMITED, hint
from bot.chat.feishu.render import IMAGE_KEY_PLACEHOLDER, card_fits, render_card
from bot.core.outbound import DeliveryError, OutgoingMessage

log = logging.getLogger(__name__)

PER_CHAT_INTERVAL_SECONDS = 0.2
KEPT_IMAGE_KEYS = 256  # uploads whose post is still being retried
NO_IMAGE = ""  # the upload was refused for good: the post goes without its picture


def _uuid(key: str) -> str:
    """Feishu's idempotency field is at most 50 characters."""
    return hashlib.sha256(key.encode()).hexdigest()[:40]


def _rate_limited(error: FeishuError) -> bool:
    return error.status == 429 or error.code in RATE_LIMITED


def _retryable(error: FeishuError) -> bool:
    """Only Feishu's documented permanent codes (`errors.PERMANENT`) are for good; a
    5xx, a page that is not JSON, a rate limit or an unknown code is tried again."""
    return error.status >= 500 or hint(error.code) is None


def delivery_error(error: FeishuError) -> DeliveryError:
    if _rate_limited(error):
        return DeliveryError(str(error), retry_after=error.retry_after)
    advice = hint(error.code)
    if advice and error.status < 500:
        return DeliveryError(f"{error} — {advice}", retryable=False)
    return DeliveryError(f"{error} (will retry)")


class FeishuSender:
    """Team posts to the team's group (chat_id), reminders to the person (open_id).

    Feishu allows 5 messages a second per chat; posts to one chat are paced to that.
    """

    def __init__(self, client: FeishuClient) -> None:
        self.client = client
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        self._image_keys: OrderedDict[str, str] = OrderedDict()

    def _pace(self, receive_id: str) -> None:
        with self._lock:
            wait = self._last.get(receive_id, 0.0) + PER_CHAT_INTERVAL_SECONDS - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last[receive_id] = time.monotonic()

    def send(self, message: OutgoingMessage) -> None:
        receive_type = "chat_id" if message.to_team else "open_id"
        receive_id = message.address
        for number, reply in message.undelivered([message.reply]):
            try:
                image_key = self._image_key(message)
                self._pace(receive_id)
                self.client.send(
                    receive_type, receive_id, reply,
                    uuid=_uuid(message.idempotency_key), image_key=image_key,
                )  # fmt: skip
            except FeishuError as error:
                if not _retryable(error):
                    self._forget(message.idempotency_key)
                raise delivery_error(error) from error
            except httpx.HTTPError as error:
                raise DeliveryError(f"feishu: {error}") from error
            message.delivered(number)
            self._forget(message.idempotency_key)

    def _image_key(self, message: OutgoingMessage) -> str | None:
        """The uploaded picture's key for this post; None when it has none, when the card
        would be too big anyway (it goes as text), or when Feishu refused the picture.

        Raises FeishuError (retryable) or httpx.HTTPError when the upload should be
        tried again with the post.
        """
        image = message.reply.image
        if image is None or not card_fits(
            render_card(message.reply, image_key=IMAGE_KEY_PLACEHOLDER)
        ):
            return None
        with self._lock:
            kept = self._image_keys.get(message.idempotency_key)
        if kept is not None:
            return kept or None
        try:
            key = self.client.upload_image(image)
        except FeishuError as error:
            if _retryable(error):
                raise
            log.warning(
                "feishu: the picture of outbox item %s (%s, %s) was refused (%s); "
                "the post goes without it",
                message.id, message.kind, image.filename, error,
            )  # fmt: skip
            key = NO_IMAGE
        with self._lock:
            self._image_keys[message.idempotency_key] = key
            while len(self._image_keys) > KEPT_IMAGE_KEYS:
                self._image_keys.popitem(last=False)
        return key or None

    def _forget(self, idempotency_key: str) -> None:
        with self._lock:
            self._image_keys.pop(idempotency_key, None)
