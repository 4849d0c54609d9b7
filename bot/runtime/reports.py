"""Reports that combine a handler's figures with a renderer (the summary chart)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session

from bot.core.config import TeamSettings
from bot.core.i18n import Translator
from bot.core.render.chart import render_summary_chart
from bot.vocab.content_platforms import PlatformCatalogue
from handlers.summary import SummaryWords
from handlers.weekly_summary import CHART_METRICS, weekly_series
from storage import kpis as kpi_store


def summary_chart_png(
    session: Session,
    *,
    team: TeamSettings,
    week_start: date,
    t: Translator,
    platforms: PlatformCatalogue,
    weeks: int = 8,
) -> bytes:
    """The chart of the main metrics per platform over the `weeks` weeks up to this one."""
    first = week_start - timedelta(days=7 * (weeks - 1))
    rows = kpi_store.daily_values(
        session, team_id=team.id, start=first, end=week_start + timedelta(days=6)
    )
    series = weekly_series(rows, last_week_start=week_start, weeks=weeks)
    words, english = SummaryWords(t, platforms), SummaryWords(Translator("en"), platforms)
    labels = {key: words.platform(key) for key in series} | {
        m: words.metric(m) for m in CHART_METRICS
    }
    fallback = {key: english.platform(key) for key in series} | {
        m: english.metric(m) for m in CHART_METRICS
    }
    fallback["__title__"] = english.t("summary.chart_title", team=team.id, weeks=weeks)
    return render_summary_chart(
        series,
        last_week_start=week_start,
        title=t("summary.chart_title", team=team.display_name, weeks=weeks),
        labels=labels,
        fallback_labels=fallback,
    )
