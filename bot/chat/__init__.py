"""Chat platforms, each a plug-in folder; this is the one list of them.

Adding a chat platform: a folder beside these with a `PLATFORM` (see `base.ChatPlatform`),
one line here, and its tests. Nothing else in the tree names a chat platform.

Each is listed by name and imported when first used (`base.PlugIn`): reading the config
needs only the names, and `opsbot run` loads only the platforms the config turns on.
"""

from __future__ import annotations

from bot.chat.base import ChatPlatform, PlugIn

PLATFORMS: tuple[ChatPlatform, ...] = (
    PlugIn("console"),
    PlugIn("slack"),
    PlugIn("feishu"),
    PlugIn("wecom"),
)
CONSOLE = PLATFORMS[0].name
BY_NAME: dict[str, ChatPlatform] = {platform.name: platform for platform in PLATFORMS}
# The platforms people chat on (the console aside): the id columns of exported members.
CHAT_PLATFORM_NAMES = tuple(platform.name for platform in PLATFORMS if platform.name != CONSOLE)
