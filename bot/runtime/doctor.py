"""`opsbot doctor`: checks config, database, outbox and each chat platform, in plain words.

Each chat plug-in checks its own credentials (`ChatPlatform.check`)."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.chat.base import Check
from bot.core.config import Settings
from bot.runtime.settings import configured_platforms
from storage import outbox as outbox_store
from storage.db import create_engine_for, normalise_url, transaction
from storage.migrate import current_revision, head_revision


def _safe_url(url: str) -> str:
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def run_checks(settings: Settings, source: str) -> list[Check]:
    teams = ", ".join(f"{t.id} ({t.timezone}, calendar {t.calendar})" for t in settings.teams)
    checks = [Check(True, f"config {source}: {len(settings.teams)} team(s): {teams}")]
    url = _safe_url(settings.storage.url)
    try:
        engine = create_engine_for(settings.storage.url)
        revision, head = current_revision(engine), head_revision()
        if revision == head:
            checks.append(Check(True, f"database {url}: reachable, schema at revision {revision}"))
        else:
            advice = "run opsbot db upgrade (or start the bot)"
            checks.append(
                Check(False, f"database {url}: schema at {revision}, needs {head}: {advice}")
            )
        if revision is not None:
            with transaction(engine) as session:
                counts = outbox_store.counts(session)
                failed = outbox_store.failed_items(session)
            waiting = counts.get("pending", 0) + counts.get("sending", 0)
            summary = (
                f"{counts.get('sent', 0)} sent, {waiting} waiting, {counts.get('failed', 0)} failed"
            )
            checks.append(Check(not failed, f"outbox: {summary}"))
            checks.extend(
                Check(
                    False, f"  failed #{i.id} {i.kind} to {i.platform} {i.target}: {i.last_error}"
                )
                for i in failed
            )
        engine.dispose()
    except SQLAlchemyError as error:
        reason = str(error).splitlines()[0][:200]
        checks.append(Check(False, f"database {url}: cannot connect ({reason})"))
    configured = configured_platforms(settings)
    if not configured:
        checks.append(
            Check(True, "platforms: none configured; the bot runs and posts in the console")
        )
    checks.extend(entry.platform.check(entry.settings) for entry in configured)
    return checks
