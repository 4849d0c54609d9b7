"""Chat platforms, each a plug-in folder; this is the one list of them.

Adding a chat platform: a folder beside these with a `PLATFORM` (see `base.ChatPlatform`),
one line here, and its tests. Nothing else in the tree names a chat platform.
"""

from __future__ import annotations

from bot.chat import console, feishu, slack, wecom
from bot.chat.base import ChatPlatform

PLATFORMS: tuple[ChatPlatform, ...] = (
    console.PLATFORM,
    slack.PLATFORM,
    feishu.PLATFORM,
    wecom.PLATFORM,
)
CONSOLE = console.PLATFORM.name
BY_NAME: dict[str, ChatPlatform] = {platform.name: platform for platform in PLATFORMS}
# The platforms people chat on (the console aside): the id columns of exported members.
CHAT_PLATFORM_NAMES = tuple(platform.name for platform in PLATFORMS if platform.name != CONSOLE)
