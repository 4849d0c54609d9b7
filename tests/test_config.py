"""Config loading: typed settings, ${ENV} substitution, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.config import ConfigError
from bot.runtime.settings import configured_platforms, load_settings, parse_settings

SHIPPED_CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"


def test_the_shipped_config_is_valid_and_runs_the_console() -> None:
    settings = load_settings(SHIPPED_CONFIG, environ={})

    assert settings.locale == "zh-CN"
    assert configured_platforms(settings) == []
    team = settings.team()
    assert (team.id, team.display_name, team.timezone, team.calendar) == (
        "content", "内容组", "Asia/Shanghai", "CN",
    )  # fmt: skip
    assert [member.id for member in team.members] == ["alice", "bob", "carol", "dave"]
    assert team.schedule.hot_topic_hours == 4


def test_defaults_fill_in_a_team_and_inherit_the_timezone() -> None:
    settings = parse_settings("locale: en\ntimezone: Europe/Berlin\n", environ={})

    team = settings.team()
    assert team.timezone == "Europe/Berlin"
    assert team.calendar == "none"
    assert settings.storage.url == "sqlite:///./opsbot.db"


def test_environment_variables_are_substituted() -> None:
    text = """
platforms:
  slack:
    bot_token: "${SLACK_BOT_TOKEN}"
    signing_secret: "${SLACK_SIGNING_SECRET:-fallback}"
"""
    settings = parse_settings(text, environ={"SLACK_BOT_TOKEN": "xoxb-1"})

    (slack,) = configured_platforms(settings)
    assert slack.name == "slack"
    assert slack.settings.bot_token == "xoxb-1"
    assert slack.settings.signing_secret == "fallback"


def test_a_missing_environment_variable_names_the_variable_and_the_key() -> None:
    text = 'platforms:\n  slack: {bot_token: "${SLACK_BOT_TOKEN}", signing_secret: x}\n'
    with pytest.raises(ConfigError) as error:
        parse_settings(text, environ={})
    assert str(error.value) == (
        "config.yaml: platforms.slack.bot_token: environment variable SLACK_BOT_TOKEN is not set"
    )


def test_database_url_from_the_environment_wins() -> None:
    settings = parse_settings(
        "storage: {url: 'sqlite:///a.db'}", environ={"OPSBOT_DATABASE_URL": "sqlite:///b.db"}
    )
    assert settings.storage.url == "sqlite:///b.db"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("locale: fr\n", "config.yaml: locale: Input should be 'zh-CN' or 'en'"),
        ("timzone: UTC\n", "config.yaml: timzone: unknown key"),
        (
            "teams:\n  - {id: a, timezone: Asia/Shangai}\n",
            "config.yaml: teams.0.timezone: unknown time zone 'Asia/Shangai'; "
            "expected an IANA name like Asia/Shanghai",
        ),
        (
            "teams:\n  - {id: a, members: [{id: x, role: boss}]}\n",
            "config.yaml: teams.0.members.0.role: Input should be 'admin', 'editor' or 'member'",
        ),
        (
            "teams:\n  - {id: a, schedule: {hot_topic_hours: -1}}\n",
            "config.yaml: teams.0.schedule.hot_topic_hours: Input should be greater than 0",
        ),
        (
            "scoring: {timeliness: 0, value: 0, conversion: 0}\n",
            "config.yaml: scoring: at least one weight must be above 0",
        ),
        ("teams: [{id: a}, {id: a}]\n", "config.yaml: teams: team id 'a' appears twice"),
    ],
)
def test_config_errors_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_settings(text, environ={})
    assert str(error.value) == message


def test_yaml_syntax_errors_give_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("locale: en\nteams:\n  - id: [unclosed\n", encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        load_settings(path, environ={})
    assert str(error.value).startswith(f"{path} line 4: not valid YAML")


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml", environ={})
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(None, environ={"OPSBOT_CONFIG": str(tmp_path / "nope.yaml")})
