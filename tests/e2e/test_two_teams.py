"""Two teams on every chat platform: each team's posts reach only its own channels."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.chat.base import InlineExecutor
from bot.core.clock import FrozenClock
from bot.runtime.app import OpsBot
from bot.runtime.scheduler import Scheduler
from bot.runtime.settings import settings_from
from bot.runtime.wiring import connect_chat_platforms, deliver_outbox
from tests.e2e.test_wecom import SAMPLE_CORP, SAMPLE_KEY, SAMPLE_TOKEN
from tests.fake_feishu import ENCRYPT_KEY, VERIFICATION_TOKEN, fake_feishu
from tests.fake_slack import SIGNING_SECRET, fake_slack
from tests.fake_wecom import fake_wecom


def test_each_team_posts_only_to_the_channels_it_configures(tmp_path: Path) -> None:
    with fake_slack() as slack, fake_feishu() as feishu, fake_wecom() as wecom:
        settings = settings_from({
            "locale": "zh-CN",
            "storage": {"url": f"sqlite:///{tmp_path / 'two.db'}"},
            "platforms": {
                "slack": {"bot_token": "xoxb", "signing_secret": SIGNING_SECRET, "mode": "http",
                          "api_url": slack.api_url},
                "feishu": {"app_id": "cli", "app_secret": "s", "verification_token": VERIFICATION_TOKEN,
                           "encrypt_key": ENCRYPT_KEY, "mode": "http", "base_url": feishu.base},
                "wecom": {"corp_id": SAMPLE_CORP, "agent_id": 1, "secret": "s", "token": SAMPLE_TOKEN,
                          "encoding_aes_key": SAMPLE_KEY, "robot_webhook_key": "k", "base_url": wecom.base},
            },
            "teams": [
                {"id": "content", "name": "内容组", "members": [{"id": "alice", "role": "admin"}],
                 "channels": {"slack": "C_CONTENT", "feishu": "oc_content", "wecom": "robot"}},
                {"id": "video", "name": "视频组", "members": [{"id": "vera", "role": "admin"}],
                 "channels": {"slack": "C_VIDEO"}},
            ],
        })  # fmt: skip
        clock = FrozenClock(datetime.fromisoformat("2026-11-23T08:00:00+08:00"))
        bot = OpsBot.open(settings, clock)
        platforms = connect_chat_platforms(bot, executor=InlineExecutor())
        platforms.connections["slack"].sender().interval = 0  # type: ignore[attr-defined]
        clock.set(datetime.fromisoformat("2026-11-23T09:00:00+08:00"))
        Scheduler(bot).tick()
        deliver_outbox(bot, platforms)

        digests = [p for p in slack.posted() if p["text"].startswith("☀️")]
        assert sorted((p["channel"], p["text"].split(" · ")[0]) for p in digests) == [
            ("C_CONTENT", "☀️ 内容组"), ("C_VIDEO", "☀️ 视频组"),
        ]  # fmt: skip
        assert [m["receive_id"] for m in feishu.messages()] == ["oc_content"]
        robot = wecom.robot()
        assert len(robot) == 1 and "内容组" in robot[0]["markdown"]["content"]
        assert "视频组" not in str(feishu.messages()) + str(robot)
        bot.engine.dispose()
