"""Feishu's Open API error codes, and which of them a retry cannot fix: the one table.

Everything not listed here — an HTTP 5xx, an HTML error page, a rate limit, an unknown
code, a network failure — is tried again with backoff, so an outage never loses a post.
A listed code fails the item at once; its hint says what to do (logged with the
failure and shown by `opsbot doctor`). Codes from Feishu's "server error codes" page
and the message and image API pages.
"""

from __future__ import annotations

RATE_LIMITED = {99991400, 11232, 230020}

PERMANENT: dict[int, str] = {
    10003: "the app id is wrong: check platforms.feishu.app_id",
    10014: "the app secret is wrong: copy App Secret again into platforms.feishu.app_secret",
    99991661: "no access token was sent (a bug: please report it)",
    99991668: "the access token is not valid: check the app id and secret",
    99991672: "the app lacks a permission: add im:message:send_as_bot (and im:resource "
    "for pictures) under Permissions & Scopes, then publish a new version",
    230001: "Feishu refused the request's parameters (a bug: please report it)",
    230002: "the bot is not in the group: add it, or fix teams.<team>.channels.feishu",
    230006: "the app's bot ability is off: turn on Features → Bot and publish a version",
    230013: "the person is outside the app's availability: widen it in the app's version",
    230017: "the bot may not post there (not the owner of the resource)",
    230025: "the message is too long for Feishu (a bug: posts are split)",
    230027: "the app lacks a permission for this chat: check its scopes",
    230035: "the group lets only its owner and admins post: allow the bot to post",
    230099: "Feishu refused the card (a bug: please report it)",
    234001: "Feishu refused the picture's parameters (a bug: please report it)",
    234006: "the picture is over Feishu's size limit",
    234011: "Feishu could not read the picture (a bug: please report it)",
}


def hint(code: int) -> str | None:
    """What to do about a permanent error; None when a retry may succeed."""
    return PERMANENT.get(code)
