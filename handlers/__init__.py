"""Command handlers, one module per command family.

A handler parses its words, reads or writes through `storage`, and returns a neutral
`Reply`. Handlers know nothing of Slack, Feishu or WeCom.
"""

from bot.commands import CommandFamily
from handlers import help, publish, team, topics

ALL_FAMILIES: tuple[CommandFamily, ...] = (
    topics.family,
    publish.family,
    team.family,
    help.family,
)
