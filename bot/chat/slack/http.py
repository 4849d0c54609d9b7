"""`POST /slack/events` on `opsbot run`'s server, through Bolt's two adapter functions.

A slash command that needs no waiting is answered at once on the event loop
(`SlackAdapter.answer_at_once`); anything else runs on the adapter's command threads
while the event loop keeps Slack's deadline (see `Dispatch`).

Bolt parses the body before it checks the signature, and some malformed input (a
timestamp that is not a number, a non-ASCII signature, a body that is not UTF-8 or not
the JSON its content type says) makes it raise instead of refusing. So the route checks
the signature itself on the raw bytes first, as Slack computes it: a request without
valid credentials is 401 and never parsed; credential headers that cannot even be read
are 400; a signed body Bolt cannot parse is 400. Bolt checks the signature again, and
the five-minute window (on the wall clock Slack signs with, which is why this module
leaves the window to Bolt rather than read that clock itself).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Mapping
from urllib.parse import parse_qsl

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.chat.base import HttpRoute
from bot.chat.slack.adapter import SlackAdapter

log = logging.getLogger(__name__)

# What a body Bolt cannot parse raises while `BoltRequest` parses it and builds its context.
MALFORMED = (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError)


def slack_route(adapter: SlackAdapter) -> HttpRoute:
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        refusal = _refusal(adapter.settings.signing_secret, request.headers, body)
        if refusal is not None:
            return refusal
        try:
            first = _bolt_request(request, body)
        except MALFORMED as error:
            log.warning("slack request malformed: %s", _describe(error))
            return JSONResponse({"error": "malformed request"}, status_code=400)
        answer = adapter.answer_at_once(first)
        if answer is None:
            answer = await _answer_on_a_thread(adapter, _bolt_request(request, body))
        return to_starlette_response(answer)

    return HttpRoute("/slack/events", slack_events)


def _bolt_request(request: Request, body: bytes) -> BoltRequest:
    """Bolt's request, or an exception in `MALFORMED` for a body that is not one of
    Slack's: every slash command has `command`, every other request a `type` (an event,
    an interaction's `payload`, the URL check), or it is an `ssl_check`. Anything else
    Bolt would answer 404, after an `auth.test` call to Slack: refused before that."""
    bolt = to_bolt_request(request, body)
    if not isinstance(bolt.body, dict):  # JSON `[]`, `1`, `null`: Bolt expects an object
        raise TypeError(f"the body is a {type(bolt.body).__name__}, not an object")
    if not ({"command", "type"} & bolt.body.keys() or bolt.body.get("ssl_check") == "1"):
        raise ValueError("neither a command, a typed request nor an SSL check")
    return bolt


def _refusal(secret: str, headers: Mapping[str, str], body: bytes) -> Response | None:
    """401 for a request without valid credentials, 400 for credential headers that are
    malformed, None for a request signed with our secret (or Slack's unsigned SSL check,
    which Bolt answers without running anything)."""
    timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if timestamp is None or signature is None:
        if _is_ssl_check(body):
            return None
        return _unauthorized("unsigned")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        log.warning("slack request malformed: the timestamp is not a number of seconds")
        return JSONResponse({"error": "malformed request"}, status_code=400)
    if not signature.isascii() or len(signature) > 128:
        log.warning("slack request malformed: the signature header is not ASCII hex")
        return JSONResponse({"error": "malformed request"}, status_code=400)
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return _unauthorized("bad signature")
    return None


def _is_ssl_check(body: bytes) -> bool:
    if b"ssl_check" not in body:
        return False
    form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    return form.get("ssl_check") == "1"


def _unauthorized(reason: str) -> Response:
    log.warning("slack request rejected: %s", reason)
    return JSONResponse({"error": "invalid request"}, status_code=401)


def _describe(error: BaseException) -> str:
    """The error's kind and a bounded message (it may quote the attacker's input)."""
    return f"{type(error).__name__}: {str(error)[:200]!r}"


async def _answer_on_a_thread(slack: SlackAdapter, request: BoltRequest) -> BoltResponse:
    """Run the request on the adapter's command threads; the event loop keeps Slack's
    deadline (see `bot.chat.slack.adapter.Dispatch`)."""
    dispatch = slack.dispatch(request)
    work = asyncio.get_running_loop().run_in_executor(slack.workers, dispatch.run)
    done, _ = await asyncio.wait((work,), timeout=slack.answer_within)
    return work.result() if done else dispatch.give_up()
