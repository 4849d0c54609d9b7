"""`GET|POST /wecom/callback` on `opsbot run`'s server.

The query's signature fields are checked for shape before the adapter sees them
(`msg_signature=%C3%A9` would otherwise reach `hmac.compare_digest` as non-ASCII text and
raise): fields that cannot be read are 400, as is a body that is not XML (the adapter's
`MalformedCallback`); a wrong signature, corp id or encryption stays 401. Anything the
adapter still raises on malformed input is caught here too: a 400 and a WARNING line.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.chat.base import HttpRoute
from bot.chat.wecom.adapter import WecomAdapter

log = logging.getLogger(__name__)

# The query fields WXBizMsgCrypt reads, and how long each may be.
SIGNED_FIELDS = {"msg_signature": 128, "timestamp": 20, "nonce": 128, "echostr": 4096}
MALFORMED = (ValueError, TypeError, AttributeError, KeyError, IndexError, LookupError,
             RecursionError)  # fmt: skip


def wecom_route(adapter: WecomAdapter) -> HttpRoute:
    async def wecom_callback(request: Request) -> Response:
        params = dict(request.query_params)
        problem = malformed(params)
        if problem is not None:
            return _malformed(problem)
        body = await request.body() if request.method != "GET" else b""
        try:
            if request.method == "GET":
                status, text = await run_in_threadpool(adapter.verify_url, params)
            else:
                status, text = await run_in_threadpool(adapter.handle_callback, params, body)
        except MALFORMED as error:
            return _malformed(f"{type(error).__name__}: {str(error)[:200]!r}")
        return PlainTextResponse(text, status_code=status)

    return HttpRoute("/wecom/callback", wecom_callback, methods=("GET", "POST"))


def malformed(params: dict[str, str]) -> str | None:
    """Why the query cannot be read, or None if its fields have WeCom's shape."""
    for field, longest in SIGNED_FIELDS.items():
        value = params.get(field)
        if value is not None and (not value.isascii() or len(value) > longest):
            return f"{field} is not a short ASCII value"
    stamp = params.get("timestamp")
    if stamp and not stamp.isdigit():
        return "the timestamp is not a number of seconds"
    return None


def _malformed(problem: str) -> Response:
    log.warning("wecom callback malformed: %s", problem)
    return PlainTextResponse("malformed request", status_code=400)
