"""`opsbot doctor`: checks config, database, outbox, each chat platform and each KPI
source, in plain words.

It only looks: it never creates a database, a folder or a table (a doctor that creates
an empty database reports a problem it made itself). Its lines are in the configured
locale; each chat plug-in checks its own credentials (`ChatPlatform.check`)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.chat.base import Check
from bot.core.clock import Clock, SystemClock
from bot.core.config import Settings
from bot.core.i18n import Translator
from bot.core.kpi_sources import SourceError
from bot.runtime.settings import configured_platforms
from bot.runtime.wiring import current_revision, head_revision
from storage import outbox as outbox_store
from storage.db import (
    DatabaseUnavailable,
    cannot_open,
    create_engine_for,
    normalise_url,
    sqlite_file,
    transaction,
)


def _safe_url(url: str) -> str:
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def _config_check(settings: Settings, t: Translator, config: Path | None, looked_at: Path) -> Check:
    teams = ", ".join(
        t("cli.doctor.team", id=team.id, timezone=team.timezone, calendar=team.calendar)
        for team in settings.teams
    )
    if config is None:
        return Check(
            True, t("cli.doctor.no_config", path=looked_at.absolute(), count=len(settings.teams),
                    teams=teams),
        )  # fmt: skip
    return Check(True, t("cli.doctor.config", path=config, count=len(settings.teams), teams=teams))


def _folder_for(file: Path) -> tuple[Path, bool]:
    """The nearest folder that exists on the way to `file`, and whether the bot could
    create the database there (make the missing folders, then the file)."""
    folder = file.absolute().parent
    while not folder.exists():
        folder = folder.parent
    return folder, folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def _database_checks(settings: Settings, t: Translator) -> list[Check]:
    file = sqlite_file(settings.storage.url)
    shown = str(file.absolute()) if file is not None else _safe_url(settings.storage.url)
    if file is not None and not file.exists():
        folder, creatable = _folder_for(file)
        if creatable:
            return [Check(True, t("cli.doctor.db_not_created", url=shown))]
        return [Check(False, t("cli.doctor.db_cannot_create", url=shown, folder=folder))]
    try:
        engine = create_engine_for(settings.storage.url)
        try:
            return _schema_and_outbox(engine, shown, t)
        finally:
            engine.dispose()
    except (SQLAlchemyError, sqlite3.Error, DatabaseUnavailable) as error:
        reason = cannot_open(error)
        if reason is not None:
            return [Check(False, t("cli.doctor.db_unwritable", url=shown, reason=reason))]
        original = getattr(error, "orig", None) or error
        first_line = (str(original).strip().splitlines() or [type(original).__name__])[0]
        return [Check(False, t("cli.doctor.db_unreachable", url=shown, reason=first_line[:200]))]


def _schema_and_outbox(engine: Engine, shown: str, t: Translator) -> list[Check]:
    """The schema's revision against this version's, then the outbox; a database with
    no tables yet is what a first start fills in, not a fault (nor `schema at None`)."""
    revision, head = current_revision(engine), head_revision()
    if revision is None:
        return [Check(True, t("cli.doctor.db_empty", url=shown))]
    if revision != head:
        return [Check(False, t("cli.doctor.db_behind", url=shown, revision=revision, head=head))]
    checks = [Check(True, t("cli.doctor.db_ok", url=shown, revision=revision))]
    with transaction(engine) as session:
        counts = outbox_store.counts(session)
        failed = outbox_store.failed_items(session)
    waiting = counts.get("pending", 0) + counts.get("sending", 0)
    checks.append(
        Check(
            not failed,
            t(
                "cli.doctor.outbox",
                sent=counts.get("sent", 0),
                waiting=waiting,
                failed=counts.get("failed", 0),
            ),
        )
    )
    checks.extend(
        Check(
            False,
            t(
                "cli.doctor.outbox_failed",
                id=i.id,
                kind=i.kind,
                platform=i.platform,
                target=i.target,
                error=i.last_error,
            ),
        )
        for i in failed
    )
    return checks


def _kpi_source_checks(settings: Settings, t: Translator, clock: Clock) -> list[Check]:
    """One cheap authenticated call per KPI source: a wrong secret, a server IP missing
    from the account's whitelist or a spent quota shows here, in words, before the
    morning sync meets it."""
    from bot.runtime.kpi_sources import build_kpi_source

    checks = []
    for team in settings.teams:
        for entry in team.kpi_sources:
            label = f"{team.id} · {entry.key}"
            try:
                source = build_kpi_source(entry, clock)
                try:
                    account = source.check()
                finally:
                    source.close()
            except SourceError as error:
                reason = t(error.message_key, **error.params)
                checks.append(Check(False, t("cli.doctor.kpi_source_failed", team=team.id,
                                             reason=reason)))  # fmt: skip
            else:
                checks.append(Check(True, t("cli.doctor.kpi_source_ok", source=label,
                                            account=account)))  # fmt: skip
    return checks


def run_checks(
    settings: Settings, *, config: Path | None, looked_at: Path, clock: Clock | None = None
) -> list[Check]:
    """Every check, in order: config, database (and its outbox), chat platforms, KPI
    sources.

    `config` is the file the settings were read from, None when there was none and the
    defaults apply; `looked_at` is where it was looked for, which the report names.
    """
    t = Translator(settings.locale)
    checks = [_config_check(settings, t, config, looked_at)]
    checks.extend(_database_checks(settings, t))
    configured = configured_platforms(settings)
    if not configured:
        checks.append(Check(True, t("cli.doctor.no_platforms")))
    checks.extend(entry.platform.check(entry.settings, t) for entry in configured)
    checks.extend(_kpi_source_checks(settings, t, clock or SystemClock()))
    return checks
