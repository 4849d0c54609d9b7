"""Every feature, registered once: the router takes the families, the scheduler the jobs.

Importing this module imports every handler; the bot does so when it first routes a
command or runs its jobs (`OpsBot.router`, `OpsBot.jobs`), not when it is opened.
"""

from bot.core.commands import CommandFamily
from bot.core.jobs import Job
from handlers import (
    best_time,  # noqa: F401  (adds `/kpi best-time` to the KPI family)
    calendar,
    campaigns,
    digest,
    help,
    kpi,
    kpi_sync,
    monthly_review,
    my_day,  # noqa: F401  (adds `/digest me` to the digest family)
    playbook,
    publish,
    publish_reminders,
    series,  # adds `/publish series` to the publish family
    standup,
    standup_history,  # noqa: F401  (adds `/standup history` to the stand-up family)
    summary,
    tasks,
    team,
    topics,
)

ALL_FAMILIES: tuple[CommandFamily, ...] = (
    topics.family,
    publish.family,
    tasks.family,
    standup.family,
    digest.family,
    kpi.family,
    summary.family,
    playbook.family,
    calendar.family,
    campaigns.family,
    team.family,
    help.family,
)

ALL_JOBS: tuple[Job, ...] = (
    digest.DIGEST,
    standup.STANDUP_PROMPT,
    standup.STANDUP_REMINDER,
    summary.WEEKLY_SUMMARY,
    publish_reminders.PUBLISH_REMINDER,
    topics.HOT_TOPIC_ALERT,
    kpi_sync.KPI_SYNC,
    monthly_review.MONTHLY_REVIEW,
    series.SERIES_TOPUP,
    campaigns.CAMPAIGN_REVIEW,
)
