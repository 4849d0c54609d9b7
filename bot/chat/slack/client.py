"""The Slack Web API client, one way for every part of the plug-in."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.chat.slack.settings import SlackSettings


def web_client(settings: SlackSettings) -> WebClient:
    """The Web API client; 429s are retried after Slack's Retry-After (off by default)."""
    return WebClient(
        token=settings.bot_token,
        base_url=settings.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
