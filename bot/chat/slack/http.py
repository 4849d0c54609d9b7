"""`POST /slack/events` on `opsbot run`'s server, through Bolt's two adapter functions.

A slash command that needs no waiting is answered at once on the event loop
(`SlackAdapter.answer_at_once`); anything else runs on the adapter's command threads
while the event loop keeps Slack's deadline (see `Dispatch`).
"""

from __future__ import annotations

import asyncio

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.requests import Request
from starlette.responses import Response

from bot.chat.base import HttpRoute
from bot.chat.slack.adapter import SlackAdapter


def slack_route(adapter: SlackAdapter) -> HttpRoute:
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        answer = adapter.answer_at_once(to_bolt_request(request, body))
        if answer is None:
            answer = await _answer_on_a_thread(adapter, to_bolt_request(request, body))
        return to_starlette_response(answer)

    return HttpRoute("/slack/events", slack_events)


async def _answer_on_a_thread(slack: SlackAdapter, request: BoltRequest) -> BoltResponse:
    """Run the request on the adapter's command threads; the event loop keeps Slack's
    deadline (see `bot.chat.slack.adapter.Dispatch`)."""
    dispatch = slack.dispatch(request)
    work = asyncio.get_running_loop().run_in_executor(slack.workers, dispatch.run)
    done, _ = await asyncio.wait((work,), timeout=slack.answer_within)
    return work.result() if done else dispatch.give_up()
