"""WeCom's API error codes (errcode), and which of them a retry cannot fix: the one table.

Everything not listed here — `-1` (system busy), an HTTP 5xx or an HTML page, a rate
limit, an unknown code, a network failure — is tried again with backoff, so an outage
never loses a post. A listed code fails the item at once; its hint says what to do
(logged with the failure and shown by `opsbot doctor`). Codes from WeCom's global error
code page (全局错误码).
"""

from __future__ import annotations

import re

SYSTEM_BUSY = -1
RATE_LIMITED = {45009, 45033}

PERMANENT: dict[int, str] = {
    40001: "the secret is wrong: copy the app's Secret into platforms.wecom.secret",
    40003: "a member's WeCom userid is unknown: fix their wecom id in the config",
    40013: "the corp id is wrong: check platforms.wecom.corp_id (My Company → Corp ID)",
    40056: "the agent id is wrong: check platforms.wecom.agent_id",
    40058: "WeCom refused the request's parameters (a bug: please report it)",
    41001: "no access token was sent (a bug: please report it)",
    44004: "the message was empty (a bug: please report it)",
    45002: "the message is too long for WeCom (a bug: posts are split)",
    48002: "the app may not call this API: check its permissions in the admin console",
    60011: "the app cannot reach that person: widen the app's visible range",
    60020: (
        "the server's IP is not trusted: add it under the app's Trusted IPs (企业可信IP), "
        "or use robot mode (platforms.wecom.mode: robot), which needs none"
    ),
    81013: "nobody it was sent to can see the app: widen the app's visible range",
    93000: "the robot's webhook key is wrong: copy key= again into robot_webhook_key",
}


def hint(code: int) -> str | None:
    """What to do about a permanent error; None when a retry may succeed."""
    return PERMANENT.get(code)


# The codes a person meets setting WeCom up, explained in words in both languages
# (`wecom.error.<code>` in the catalogues): `opsbot doctor` says them.
EXPLAINED = frozenset({40001, 40013, 40014, 42001, 45009, 48002, 60020})
_FROM_IP = re.compile(r"from ip:\s*([0-9a-fA-F.:]+)")


def refused_ip(errmsg: str) -> str | None:
    """The server IP a 60020 names (`… from ip: 203.0.113.7, more info …`)."""
    match = _FROM_IP.search(errmsg)
    return match.group(1) if match else None
