"""`opsbot doctor`: checks config, database, outbox and platforms, in plain words."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.core.config import Settings
from storage import outbox as outbox_store
from storage.db import create_engine_for, normalise_url, transaction
from storage.migrate import current_revision, head_revision


@dataclass(frozen=True)
class Check:
    ok: bool
    text: str


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
    enabled = settings.platforms.enabled()
    if not enabled:
        checks.append(
            Check(True, "platforms: none configured; the bot runs and posts in the console")
        )
    checks.extend(_platform_check(settings, name) for name in enabled)
    return checks


def _platform_check(settings: Settings, name: str) -> Check:
    """Ask each configured platform whether our credentials work."""
    platforms = settings.platforms
    if name == "slack" and platforms.slack is not None:
        from bot.chat.slack.adapter import check_slack

        return Check(*check_slack(platforms.slack))
    if name == "feishu" and platforms.feishu is not None:
        from bot.chat.feishu.adapter import check_feishu

        return Check(*check_feishu(platforms.feishu))
    if name == "wecom" and platforms.wecom is not None:
        from bot.chat.wecom.adapter import check_wecom

        return Check(*check_wecom(platforms.wecom))
    return Check(False, f"platforms.{name}: unknown platform")
