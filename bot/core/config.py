"""Typed settings, loaded from `config.yaml`.

The YAML file is validated into pydantic models so that every later part can trust its
settings; a mistake is reported once, at start, naming the key and what was expected.
`${VAR}` (or `${VAR:-default}`) in any string value is replaced from the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from datetime import date, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.vocab.workdays import is_workday

DEFAULT_CONFIG_PATH = Path("config.yaml")
Locale = Literal["zh-CN", "en"]
Role = Literal["admin", "editor", "member"]

# libyaml's loader when PyYAML was built with it: the same documents as the pure-Python
# SafeLoader, about ten times faster on a config of thousands of teams.
_YamlLoader = type[yaml.SafeLoader | yaml.CSafeLoader]
_FAST_LOADER: _YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_IDENTIFIER = r"^[\w.\-]{1,64}$"  # Unicode letters allowed: many members are 小王


class ConfigError(Exception):
    """A configuration mistake, worded for the person who edits the file."""


class _Strict(BaseModel):
    # Unknown keys are refused so that a typo ("timzone") is reported, not ignored.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; expected an IANA name like Asia/Shanghai"
        ) from None
    return name


class ScoringWeights(_Strict):
    """Weights of the topic score, a weighted mean of timeliness, value and conversion."""

    timeliness: float = Field(1, ge=0)
    value: float = Field(1, ge=0)
    conversion: float = Field(1, ge=0)

    @model_validator(mode="after")
    def _not_all_zero(self) -> ScoringWeights:
        if self.timeliness + self.value + self.conversion <= 0:
            raise ValueError("at least one weight must be above 0")
        return self


class StorageSettings(_Strict):
    url: str = "sqlite:///./opsbot.db"


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class MemberSettings(_Strict):
    """A member listed in the config, with their id on each chat platform.

    In YAML the ids stand beside the member's own keys (`{id: alice, slack: U01}`); they
    are gathered into `identities`, and the runtime checks each key names a chat
    platform (so a typo is still reported).
    """

    id: str = Field(pattern=_IDENTIFIER)
    name: str | None = Field(None, min_length=1, max_length=100)
    role: Role = "member"
    identities: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _gather_identities(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        own = {"id", "name", "role", "identities"}
        gathered = dict(value.get("identities") or {})
        for key, item in value.items():
            if key not in own and isinstance(item, str) and item:
                gathered[key] = item
        rest = {
            key: item
            for key, item in value.items()
            if key in own or not (isinstance(item, str) or item is None)
        }
        return {**rest, "identities": gathered}

    @property
    def display_name(self) -> str:
        return self.name or self.id


class ScheduleSettings(_Strict):
    digest: str = "0 9 * * 1-5"
    standup_prompt: str = "30 9 * * 1-5"
    standup_reminder: str = "0 11 * * 1-5"
    weekly_summary: str = "30 9 * * 1"
    kpi_sync: str = "0 9 * * *"  # the platforms publish yesterday's figures in the morning
    # The 1st at 10:00; a 1st that is a day off moves to the next workday.
    monthly_review: str = "0 10 1 * *"
    publish_reminder_minutes: int = Field(120, ge=0)
    hot_topic_hours: float = Field(4, gt=0, le=24 * 14)
    misfire_grace_minutes: int = Field(60, ge=0)

    @field_validator(
        "digest", "standup_prompt", "standup_reminder", "weekly_summary", "kpi_sync",
        "monthly_review",
    )  # fmt: skip
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from bot.vocab.cron import parse_cron  # APScheduler is only needed once a schedule is read

        parse_cron(value, ZoneInfo("UTC"))
        return value


class WorkdaySettings(_Strict):
    """The working day that task timelines are laid out in."""

    start: time = time(9, 30)
    lunch_start: time = time(12, 0)
    lunch_end: time = time(13, 30)
    planned_hours_limit: float = Field(8, gt=0, le=24)

    @field_validator("start", "lunch_start", "lunch_end", mode="before")
    @classmethod
    def _sexagesimal(cls, value: object) -> object:
        # YAML 1.1 reads an unquoted 12:00 as the base-60 number 720.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            return time(value // 60, value % 60)
        return value

    @model_validator(mode="after")
    def _lunch_in_order(self) -> WorkdaySettings:
        if self.lunch_end < self.lunch_start:
            raise ValueError("lunch_end must not be before lunch_start")
        return self


class KpiSourceSettings(BaseModel):
    """One `kpi_sources` entry: `source` names the API (`wechat`, `bilibili`, `douyin`),
    the other keys are its credentials and `base_url`, checked by the source itself when
    the bot starts (a missing one is named there)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    source: str = Field(pattern=_IDENTIFIER)
    name: str | None = Field(default=None, pattern=_IDENTIFIER)

    @property
    def key(self) -> str:
        """How the source is named in the ledger, the log and `--source`."""
        return self.name or self.source

    def options(self) -> dict[str, object]:
        """The entry's own keys (credentials, `base_url`), as the source reads them."""
        return {**(self.model_extra or {}), "name": self.key}


class SummarySettings(_Strict):
    """`summary:` of a team. `per_member`: each person's lines of the weekly summary go to
    them by direct message (`dm`, the default: teams differ on rankings in public), into
    the channel post (`channel`), or nowhere (`off`)."""

    per_member: Literal["dm", "channel", "off"] = "dm"


class MarketingCalendarSettings(_Strict):
    """`marketing_calendar:` of a team: how many days ahead the morning digest warns of a
    marketing date (冬至, 618 …) and says whether posts are planned for it."""

    lead_days: int = Field(10, ge=0, le=60)


class TeamSettings(_Strict):
    """One team. `channels` maps a chat platform to where the team's posts go there;
    `content_platforms` (YAML `platforms`) are what the team publishes on."""

    id: str = Field(pattern=_IDENTIFIER)
    name: str | None = None
    timezone: str | None = None
    channels: dict[str, str] = Field(default_factory=dict)
    content_platforms: list[str] = Field(default_factory=list, alias="platforms")
    members: list[MemberSettings] = Field(default_factory=list)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    workday: WorkdaySettings = Field(default_factory=WorkdaySettings)
    calendar: Literal["CN", "none"] | None = None
    holidays: list[date] = Field(default_factory=list)
    # Whether someone who writes in the team's own channel joins it on their first
    # command. Off, only the members listed here (or added by an admin) take part.
    open_registration: bool = True
    kpi_sources: list[KpiSourceSettings] = Field(default_factory=list)
    summary: SummarySettings = Field(default_factory=SummarySettings)
    marketing_calendar: MarketingCalendarSettings = Field(default_factory=MarketingCalendarSettings)

    @field_validator("kpi_sources")
    @classmethod
    def _unique_sources(cls, sources: list[KpiSourceSettings]) -> list[KpiSourceSettings]:
        seen: set[str] = set()
        for source in sources:
            if source.key in seen:
                raise ValueError(f"kpi source {source.key!r} appears twice; give one a name")
            seen.add(source.key)
        return sources

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str | None) -> str | None:
        return None if value is None else _check_timezone(value)

    @field_validator("members")
    @classmethod
    def _unique_members(cls, members: list[MemberSettings]) -> list[MemberSettings]:
        seen: set[str] = set()
        for member in members:
            if member.id.lower() in seen:
                raise ValueError(f"member id {member.id!r} appears twice")
            seen.add(member.id.lower())
        return members

    @property
    def display_name(self) -> str:
        return self.name or self.id

    @property
    def zone(self) -> ZoneInfo:
        # Settings fills `timezone` in for every team, so it is never None here.
        return ZoneInfo(self.timezone or "UTC")

    def is_workday(self, day: date) -> bool:
        """Whether the team works on `day`: its calendar, minus its own holidays."""
        return is_workday(day, calendar=self.calendar, holidays=self.holidays)


class Settings(_Strict):
    locale: Locale = "zh-CN"
    timezone: str = "Asia/Shanghai"
    storage: StorageSettings = Field(default_factory=StorageSettings)
    scoring: ScoringWeights = Field(default_factory=ScoringWeights)
    server: ServerSettings = Field(default_factory=ServerSettings)
    # YAML `platforms`: each chat platform's own section, checked by its plug-in (the
    # runtime validates it against the plug-in's settings model; the core knows none).
    chat_platforms: dict[str, dict[str, Any]] = Field(default_factory=dict, alias="platforms")
    teams: list[TeamSettings] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        return _check_timezone(value)

    @field_validator("teams")
    @classmethod
    def _unique_teams(cls, teams: list[TeamSettings]) -> list[TeamSettings]:
        seen: set[str] = set()  # one pass: a hosted config may list thousands of teams
        for team in teams:
            if team.id in seen:
                raise ValueError(f"team id {team.id!r} appears twice")
            seen.add(team.id)
        return teams

    @model_validator(mode="after")
    def _fill_team_defaults(self) -> Settings:
        """Teams inherit the global timezone and a calendar that suits the locale."""
        default_name = "团队" if self.locale == "zh-CN" else "Team"
        teams = self.teams or [TeamSettings(id="team", name=default_name)]
        filled = []
        for team in teams:
            filled.append(
                team.model_copy(
                    update={
                        "timezone": team.timezone or self.timezone,
                        "calendar": team.calendar or ("CN" if self.locale == "zh-CN" else "none"),
                    }
                )
            )
        object.__setattr__(self, "teams", filled)
        return self

    def team(self, team_id: str | None = None) -> TeamSettings:
        """The team with this id, or the first team when no id is given."""
        if team_id is None:
            return self.teams[0]
        for team in self.teams:
            if team.id == team_id:
                return team
        known = ", ".join(team.id for team in self.teams)
        raise ConfigError(f"no team {team_id!r} in the config (teams: {known})")


def substitute_environment(value: Any, environ: Mapping[str, str], path: str = "") -> Any:
    """Replace `${VAR}` and `${VAR:-default}` in every string of a parsed YAML document."""
    if isinstance(value, dict):
        return {
            key: substitute_environment(item, environ, f"{path}.{key}" if path else str(key))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            substitute_environment(item, environ, f"{path}.{index}")
            for index, item in enumerate(value)
        ]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{path}: environment variable {name} is not set")

    return _ENV_REFERENCE.sub(replace, value)


def describe_validation_error(error: ValidationError, prefix: str = "") -> str:
    """Pydantic's errors as `key.path: what was expected`, for the person editing the file."""
    lines = []
    for problem in error.errors():
        key = prefix + ".".join(str(part) for part in problem["loc"]) or "(top level)"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{key}: {message}")
    return "; ".join(lines)


SettingsCheck = Callable[[Settings], None]


def _load_yaml(text: str) -> Any:
    """The parsed document; a mistake is raised as the pure-Python loader words it
    (libyaml says less: "found character that cannot start any token", not which)."""
    try:
        return yaml.load(text, Loader=_FAST_LOADER) or {}
    except yaml.YAMLError:
        if _FAST_LOADER is yaml.SafeLoader:
            raise
    return yaml.safe_load(text) or {}  # raises the same mistake, worded in full


def parse_settings(
    text: str,
    *,
    source: str = "config.yaml",
    environ: Mapping[str, str] | None = None,
    check: SettingsCheck | None = None,
) -> Settings:
    """Validate the YAML text of a config file into settings, or raise ConfigError.

    `check` validates what the core does not know (the runtime checks each chat
    platform's section with its plug-in); its ConfigError is reported like ours.
    """
    environ = os.environ if environ is None else environ
    try:
        document = _load_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{source}{where}: not valid YAML ({problem})") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: expected a mapping of settings at the top level")
    try:
        document = substitute_environment(document, environ)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    if environ.get("OPSBOT_DATABASE_URL"):
        document.setdefault("storage", {})
        if isinstance(document["storage"], dict):
            document["storage"]["url"] = environ["OPSBOT_DATABASE_URL"]
    try:
        settings = Settings.model_validate(document)
        if check is not None:
            check(settings)
    except ValidationError as error:
        raise ConfigError(f"{source}: {describe_validation_error(error)}") from None
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    return settings


def load_settings(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    check: SettingsCheck | None = None,
) -> Settings:
    """Load settings from `path`, else `$OPSBOT_CONFIG`, else `./config.yaml`.

    A path the user named must exist; without one and without `./config.yaml` the
    defaults apply, so the console works in an empty folder.
    """
    environ = os.environ if environ is None else environ
    named = path or (Path(environ["OPSBOT_CONFIG"]) if environ.get("OPSBOT_CONFIG") else None)
    chosen = named or DEFAULT_CONFIG_PATH
    if not chosen.exists():
        if named is not None:
            raise ConfigError(f"config file not found: {chosen}")
        return parse_settings("", source="(defaults)", environ=environ, check=check)
    try:
        text = chosen.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{chosen}: cannot be read ({error})") from None
    return parse_settings(text, source=str(chosen), environ=environ, check=check)
