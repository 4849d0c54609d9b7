"""Command handlers, one module per command family.

A handler parses its words, reads or writes through `storage`, and returns a neutral
`Reply`. Handlers know nothing of Slack, Feishu or WeCom.
"""

from bot.core.commands import CommandFamily
from handlers import digest, help, kpi, publish, standup, summary, tasks, team, topics

ALL_FAMILIES: tuple[CommandFamily, ...] = (
    topics.family,
    publish.family,
    tasks.family,
    standup.family,
    digest.family,
    kpi.family,
    summary.family,
    team.family,
    help.family,
)
