"""Loading the config with every chat platform's section checked by its plug-in.

The core validates what it knows (teams, schedules, storage); a chat platform's section
(`platforms.<name>`), the keys of `channels` and the member ids beside each member are
checked here against the plug-ins of `bot.chat`, so an unknown platform or a typo is
reported at start, naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.chat import BY_NAME, CONSOLE
from bot.chat.base import ChatPlatform
from bot.core import config
from bot.core.config import ConfigError, Settings, describe_validation_error


@dataclass(frozen=True)
class ConfiguredPlatform:
    """A chat platform the config turns on, with its validated settings."""

    platform: ChatPlatform
    settings: Any

    @property
    def name(self) -> str:
        return self.platform.name


def _known() -> str:
    return ", ".join(name for name in BY_NAME if name != CONSOLE)


def configured_platforms(settings: Settings) -> list[ConfiguredPlatform]:
    """The chat platforms of `platforms:` in the config, in the registry's order."""
    configured = []
    for name in BY_NAME:
        raw = settings.chat_platforms.get(name)
        if raw is None or name == CONSOLE:
            continue
        platform = BY_NAME[name]
        model = platform.settings_model
        try:
            typed = model.model_validate(raw) if model is not None else None
        except ValidationError as error:
            raise ConfigError(
                describe_validation_error(error, prefix=f"platforms.{name}.")
            ) from None
        configured.append(ConfiguredPlatform(platform, typed))
    return configured


def check_chat_platform_names(settings: Settings) -> None:
    """Every chat platform named anywhere in the config must be one of ours."""
    for name in settings.chat_platforms:
        if name not in BY_NAME or name == CONSOLE:
            raise ConfigError(f"platforms.{name}: no such chat platform (known: {_known()})")
    for index, team in enumerate(settings.teams):
        for name in team.channels:
            if name not in BY_NAME or name == CONSOLE:
                raise ConfigError(
                    f"teams.{index}.channels.{name}: no such chat platform (known: {_known()})"
                )
        for number, member in enumerate(team.members):
            for name in member.identities:
                if name not in BY_NAME or name == CONSOLE:
                    raise ConfigError(
                        f"teams.{index}.members.{number}.{name}: unknown key "
                        f"(expected id, name, role or a chat platform: {_known()})"
                    )
    configured_platforms(settings)


def parse_settings(
    text: str, *, source: str = "config.yaml", environ: Mapping[str, str] | None = None
) -> Settings:
    """The core's `parse_settings`, with every chat platform checked by its plug-in."""
    return config.parse_settings(
        text, source=source, environ=environ, check=check_chat_platform_names
    )


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """The core's `load_settings`, with every chat platform checked by its plug-in."""
    return config.load_settings(path, environ, check=check_chat_platform_names)


def settings_from(document: dict[str, Any]) -> Settings:
    """Settings from a parsed document (tests and benchmarks build them this way)."""
    settings = Settings.model_validate(document)
    check_chat_platform_names(settings)
    return settings
