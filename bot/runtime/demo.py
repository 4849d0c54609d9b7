"""`opsbot demo`: a realistic sample team, so that every view shows something.

The demo replays a week of the team's life through the same commands people type, on a
clock moved back in time: topics (one of them hot), a week of posts in every state,
tasks in all quadrants and in the week's and month's plans, stand-ups, lessons in the
playbook, and three months of KPIs with targets. Today's part is
replayed from early this morning, so it works at any hour; and it all runs in one
transaction, so a demo that fails halfway leaves nothing behind.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from bot.core.clock import FrozenClock
from bot.core.config import TeamSettings
from bot.runtime.app import OpsBot
from bot.runtime.progress import Progress
from storage import ledger
from storage.db import transaction

DEMO_MEMBERS = (("alice", "admin"), ("bob", "editor"), ("carol", "editor"), ("dave", "member"))
PLATFORM_BASE = {"wechat": 5200, "xiaohongshu": 1800, "douyin": 9000}


class DemoError(Exception):
    pass


def _kpi_lines(today: datetime) -> Iterator[str]:
    """Three months of daily figures with a gentle trend and weekly rhythm."""
    random_source = random.Random(47)
    followers = {"wechat": 48_000, "xiaohongshu": 12_000, "douyin": 30_000}
    for back in range(91, 0, -1):
        day = (today - timedelta(days=back)).date()
        weekend = 0.7 if day.weekday() >= 5 else 1.0
        for platform, base in PLATFORM_BASE.items():
            trend = 1 + (91 - back) / 300
            reads = int(base * trend * weekend * random_source.uniform(0.8, 1.2))
            new = int(reads * random_source.uniform(0.02, 0.04))
            lost = int(new * random_source.uniform(0.15, 0.3))
            followers[platform] += new - lost
            shares = int(reads * random_source.uniform(0.02, 0.05))
            conversions = int(reads * random_source.uniform(0.002, 0.004))
            extra = (
                f"favorites={int(reads * 0.06)}"
                if platform == "xiaohongshu"
                else f"likes={int(reads * 0.03)}"
            )
            yield (
                f"/kpi log {platform} {day.isoformat()} reads={reads} shares={shares} "
                f"conversions={conversions} new_followers={new} unfollows={lost} "
                f"followers={followers[platform]} {extra}"
            )


DEMO_COMMANDS_ABOUT = 320  # for the progress bar; the exact count depends on the day


def load_demo(bot: OpsBot, *, team_id: str | None = None, progress: Progress | None = None) -> int:
    """Load the sample data into an empty team; returns how many commands it replayed."""
    team = bot.settings.team(team_id)
    with transaction(bot.engine) as session, bot.replaying(session):
        count = _replay(bot, team, progress)
        # The team has lived a week: its jobs count from then, not from this instant.
        week_ago = bot.clock.now() - timedelta(days=7)
        ledger.claim_run(
            session, team_id=team.id, job=ledger.TEAM_STARTED, period="-", now=week_ago
        )
    return count


def _replay(bot: OpsBot, team: TeamSettings, progress: Progress | None) -> int:
    export_probe = bot.say("/topic list all", team_id=team.id, speaker="alice")
    if "#1" in export_probe.title or any(section.rows for section in export_probe.sections):
        raise DemoError(f"team {team.id} already has topics; the demo loads into an empty team")
    real_clock = bot.clock
    now = real_clock.now().astimezone(team.zone).replace(second=0, microsecond=0)
    clock = FrozenClock(now - timedelta(days=7))
    bot.clock = clock
    count = 0

    def say(text: str, speaker: str = "alice") -> None:
        nonlocal count
        reply = bot.say(text, team_id=team.id, speaker=speaker)
        if reply.is_error:
            raise DemoError(f"{text!r}: {reply.title}")
        count += 1
        if progress is not None:
            progress.update(count)

    try:
        for member, role in DEMO_MEMBERS:
            if member != "alice":
                say(f"/team add @{member} role={role}") if not _known(
                    bot, team.id, member
                ) else None
        # Last week: topics and posts.
        say("/topic add 年终盘点：十大爆款 #盘点 p:wechat t:5 v:5 c:4")
        say("/topic add 冬至节气海报 #节日 p:xhs t:5 v:4 c:4", "bob")
        say("/topic add 用户故事征集 #UGC p:wechat t:3 v:4 c:4", "carol")
        say("/topic add 秋冬穿搭合集 #穿搭 p:xhs t:4 v:4 c:3", "dave")
        say("/topic add 抖音挑战赛复盘 #复盘 p:douyin t:2 v:3 c:2", "dave")
        for voter in ("bob", "carol", "dave"):
            say("/topic vote 1", voter)
        say("/topic vote 2", "alice")
        say("/topic schedule 4 xhs 明天 12:00 @bob", "dave")
        say("/publish add 一周热点速览 p:douyin 后天 18:30 @carol")
        clock.advance(timedelta(days=1, hours=2))
        say("/publish confirm 1", "dave")
        say("/publish confirm 1", "bob")
        clock.set(clock.now().replace(hour=12, minute=5))
        say("/publish done 1 https://www.xiaohongshu.com/explore/demo", "dave")
        say("/kpi post 1 reads=8600 shares=210 favorites=530 conversions=12")
        clock.advance(timedelta(days=1))
        say("/publish confirm 2")
        say("/publish confirm 2", "carol")
        clock.set(clock.now().replace(hour=19, minute=40))
        say("/publish done 2 https://www.douyin.com/video/demo")
        say("/kpi post 2 reads=15200 shares=640 likes=1200 conversions=40")
        # Today and tomorrow: posts in every state, tasks, stand-ups, a hot topic —
        # replayed from early this morning, so that today's 12:00 is still ahead.
        clock.set(min(now - timedelta(minutes=5), now.replace(hour=7, minute=0)))
        say("/topic schedule 1 wechat 今天 20:00 @carol", "bob")
        say("/publish add 通勤防晒三件套 p:xhs 今天 12:00 @bob", "dave")
        say("/publish add 冬季护肤指南 p:douyin 今天 18:30 @carol")
        say("/publish add 周末探店 p:xhs 明天 11:00 @carol", "dave")
        say("/publish confirm 3", "bob")
        say("/publish confirm 4", "dave")
        say("/publish confirm 4", "bob")
        say("/topic hot 双十一战报 #促销 p:wechat v:4 c:4", "carol")
        for line, speaker in (
            ("/task add 写推文初稿 q1 ~2h", "alice"),
            ("/task add 审核抖音脚本 q1 ~30m", "alice"),
            ("/task add 策划 12 月活动 q2 ~1.5h", "alice"),
            ("/task add 回复用户留言 q3 ~30m", "alice"),
            ("/task add 整理素材库 q4 ~1h", "alice"),
            ("/task add 年终盘点长文 q1 ~4h", "bob"),
            ("/task add 排版与配图 q2 ~3h", "bob"),
            ("/task add 数据周报 q2 ~2h", "bob"),
            ("/task add 剪辑探店视频 q1 ~3h", "dave"),
            # The week's and the month's plans, which the mornings draw today's tasks from.
            ("/task add 策划双十二专题 q1 ~3h 本周", "alice"),
            ("/task add 整理粉丝画像 q2 ~2h 本周", "bob"),
            ("/task add 年终总结与明年规划 q2 ~4h 本月", "alice"),
        ):
            say(line, speaker)
        say("/playbook add 节气海报提前三天发，收藏高一倍 #节日 #成功经验 post 1", "dave")
        say("/playbook add 直播前一天预热，转化翻倍 #直播 #成功经验", "carol")
        say("/playbook add 长标题在小红书打开率低 #标题 #失败教训", "bob")
        say("/standup 昨天：完成选题会 | 今天：写推文初稿，审核抖音脚本 | 阻碍：无")
        say("/standup 昨天：排版 | 今天：年终盘点长文 | 阻碍：等设计素材", "bob")
        for line in _kpi_lines(now):
            say(line)
        month = now.strftime("%Y-%m")
        say(f"/kpi target wechat {month} new_followers=4000 reads=180000 conversions=500")
        say(f"/kpi target xiaohongshu {month} new_followers=1500 reads=60000")
        say(f"/kpi target douyin {month} reads=300000")
    finally:
        bot.clock = real_clock
    return count


def _known(bot: OpsBot, team_id: str, member_id: str) -> bool:
    listing = bot.say("/team list", team_id=team_id, speaker="alice")
    return any(
        row and row[0] == f"@{member_id}" for section in listing.sections for row in section.rows
    )
