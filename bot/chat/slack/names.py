"""The names opsbot's commands have in Slack, where `/topic` is Slack's own.

Slack reserves its built-in commands (`/topic` sets a channel's topic) and refuses a
whole app manifest that registers one. opsbot registers one umbrella command (`/ops`,
`platforms.slack.command`) that takes every family as its first word — `/ops topic add …`,
`/ops 选题 新增 …` — and a command per family, `/ops-topic`, `/ops-publish` …, whose names
no built-in and, with the `ops-` prefix, hardly another app has. `slack/manifest.yaml`
lists them; replies spell commands the way they work in Slack.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.core.messages import Reply, Section

DEFAULT_UMBRELLA = "/ops"
# Slack's built-in commands (its list changes over time: all of these are reserved).
SLACK_RESERVED = frozenset(
    {
        "/topic",
        "/remind",
        "/status",
        "/who",
        "/invite",
        "/leave",
        "/msg",
        "/dm",
        "/away",
        "/mute",
        "/search",
        "/shrug",
        "/me",
        "/feed",
        "/call",
        "/apps",
        "/archive",
        "/rename",
        "/collapse",
        "/expand",
        "/star",
        "/active",
        "/open",
        "/prefs",
        "/shortcuts",
        "/remove",
        "/kick",
        "/dnd",
        "/join",
        "/pro",
    }
)
VALID_NAME = re.compile(r"^/[a-z0-9][a-z0-9_\-]{0,30}$")  # Slack: lowercase, ≤ 32 characters
# A command named in a reply: `/topic`, `/选题` after a space, a bracket or the line start,
# never the slashes of a link or a date.
_MENTIONED = re.compile(r"(?:(?<=^)|(?<=[\s(（「“\"'，,：;；]))[/／](?=[^\s/／\d])")


def check_umbrella(name: str) -> str:
    """The umbrella command's name, refused when Slack would refuse it."""
    if not VALID_NAME.match(name):
        raise ValueError(
            f"{name!r} is not a Slack command name: a slash, then up to 31 lowercase letters, "
            "digits, - or _"
        )
    if name in SLACK_RESERVED:
        raise ValueError(f"{name} is one of Slack's built-in commands; pick another, like /ops")
    return name


def command_text(slash: str, text: str, umbrella: str) -> str:
    """The command line a Slack slash command asks for, as the router reads it.

    `/ops topic add x` → `/topic add x`; `/ops` alone → `/help`; `/ops-topic add x` →
    `/topic add x`. Any other command is passed on as it came.
    """
    text = text.strip()
    if slash == umbrella:
        return f"/{text.lstrip('/／')}" if text else "/help"
    if slash.startswith(f"{umbrella}-"):
        family = slash.removeprefix(f"{umbrella}-")
        return f"/{family} {text}".strip()
    return f"{slash} {text}".strip()


def _spelled(text: str, umbrella: str) -> str:
    if "/" not in text and "／" not in text:  # most cells of a list: no command to spell
        return text
    return _MENTIONED.sub(f"{umbrella} ", text)


def spelled_for_slack(reply: Reply, umbrella: str) -> Reply:
    """The reply with every command it names spelled as Slack runs it (`/ops topic …`).

    Buttons keep their commands: a click goes to opsbot, not to Slack's command line.
    """
    return replace(
        reply,
        title=_spelled(reply.title, umbrella),
        sections=[
            Section(
                title=_spelled(section.title, umbrella) if section.title else section.title,
                lines=[_spelled(line, umbrella) for line in section.lines],
                rows=[tuple(_spelled(cell, umbrella) for cell in row) for row in section.rows],
                fields=[(name, _spelled(value, umbrella)) for name, value in section.fields],
            )
            for section in reply.sections
        ],
    )
