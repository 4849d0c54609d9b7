"""The `opsbot` command as scripts and newcomers use it: a real process, real files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from storage.migrate import head_revision

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder with the shipped config.yaml, as after a clone."""
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


def opsbot(
    *args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OPSBOT_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def test_piped_console_and_json_export(workdir: Path) -> None:
    """The issue's acceptance check, word for word."""
    result = opsbot(
        "console", "--as", "alice", cwd=workdir,
        stdin="/topic add 双十一选题 #促销 p:wechat t:5 v:4 c:4\n@bob /topic vote 1\n",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "✅ 选题 #1「双十一选题」已保存 · 公众号 · #促销 · 评分 4.33 · 优先级 高",
        "✅ 已为 #1「双十一选题」投票 · 共 1 票",
    ]
    assert (workdir / "opsbot.db").exists()

    exported = opsbot("export", "--format", "json", cwd=workdir)
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert set(data) == {
        "members", "identities", "topics", "votes", "posts", "tasks", "standups",
        "kpi_daily", "post_metrics", "targets", "job_runs", "outbox", "playbook",
        "calendar_dates", "series", "campaigns", "campaign_links",
    }  # fmt: skip
    (topic,) = data["topics"]
    assert topic["title"] == "双十一选题"
    assert (topic["score"], topic["priority"], topic["votes"]) == (4.33, "high", 1)
    assert data["votes"][0]["member"] == "bob"


def test_bad_input_keeps_the_console_running_with_exit_status_zero(workdir: Path) -> None:
    result = opsbot("console", cwd=workdir, stdin="/topic add\n/nope\n\n/topic add 好选题\n")

    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("❌ 缺少标题。用法：/topic add")
    assert lines[1].startswith("❌ 没有 /nope 这个命令")
    assert lines[2] == "✅ 选题 #1「好选题」已保存 · 评分 3.00 · 优先级 中"
    assert result.stderr == ""


def test_frozen_clock_database_url_and_config_flag(tmp_path: Path) -> None:
    config = tmp_path / "team.yaml"
    config.write_text(
        "locale: en\nteams:\n  - {id: t1, name: Growth, timezone: Europe/Berlin}\n",
        encoding="utf-8",
    )
    database = tmp_path / "elsewhere" / "data.db"
    env = {
        "OPSBOT_NOW": "2026-03-29T09:00:00+02:00",
        "OPSBOT_DATABASE_URL": f"sqlite:///{database}",
    }

    result = opsbot(
        "--config", str(config), "console", "--as", "ana", cwd=tmp_path, env=env,
        stdin="/topic hot Spring campaign\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('✅ 🔥 Hot topic #1 "Spring campaign" saved')
    assert database.exists()

    exported = json.loads(opsbot("export", "--config", str(config), cwd=tmp_path, env=env).stdout)
    assert exported["topics"][0]["created_at"] == "2026-03-29T09:00:00+02:00"
    assert exported["topics"][0]["deadline"] == "2026-03-29T13:00:00+02:00"
    assert exported["members"][0] == exported["members"][0] | {"id": "ana", "role": "admin"}


def test_csv_export_to_stdout_and_to_a_folder(workdir: Path) -> None:
    opsbot("console", cwd=workdir, stdin="/topic add 选题一 #a #b\n")

    stdout = opsbot("export", "--format", "csv", cwd=workdir).stdout
    assert "# topics\nteam,id,title,tags," in stdout
    assert "content,1,选题一,a b,," in stdout

    result = opsbot("export", "--format", "csv", "--out", "dump", cwd=workdir)
    assert result.returncode == 0, result.stderr
    topics_csv = (workdir / "dump" / "topics.csv").read_text(encoding="utf-8-sig")
    assert topics_csv.splitlines()[1].startswith("content,1,选题一,a b,")
    assert (workdir / "dump" / "posts.csv").exists()


def test_db_upgrade_applies_migrations(workdir: Path) -> None:
    result = opsbot("db", "upgrade", cwd=workdir)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert f"database at revision {head_revision()}" in result.stderr


def test_config_errors_exit_2_and_name_the_key(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("locale: en\ntimezone: Mars/Olympus\n", encoding="utf-8")

    result = opsbot("export", cwd=tmp_path)

    assert result.returncode == 2
    assert "timezone: unknown time zone 'Mars/Olympus'" in result.stderr
    assert "Traceback" not in result.stderr
    missing = opsbot("export", "--config", "missing.yaml", cwd=tmp_path)
    assert missing.returncode == 2
    assert "config file not found: missing.yaml" in missing.stderr


def test_bad_frozen_clock_is_a_usage_error(workdir: Path) -> None:
    result = opsbot("console", cwd=workdir, env={"OPSBOT_NOW": "2026-11-23 09:00"})

    assert result.returncode == 2
    assert "OPSBOT_NOW=2026-11-23 09:00 没有写 UTC 时差" in result.stderr


def test_run_without_platforms_opens_the_console(workdir: Path) -> None:
    result = opsbot("run", cwd=workdir, stdin="/help\n")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("opsbot 能做这些：")


def test_demo_then_tick_posts_to_the_console_once(workdir: Path) -> None:
    env = {"OPSBOT_NOW": "2026-11-23T09:30:00+08:00"}
    demo = opsbot("demo", cwd=workdir, env=env)
    assert demo.returncode == 0, demo.stderr
    assert "演示数据已载入团队 content" in demo.stderr

    first = opsbot("tick", cwd=workdir, env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("☀️ 内容组 · 11月23日 周一 早报") == 1
    assert first.stdout.count("📊 内容组 · 第 47 周数据周报") == 1
    assert "公众号\n  阅读 " in first.stdout  # the demo's KPIs are in the summary
    assert opsbot("tick", cwd=workdir, env=env).stdout == ""

    data = json.loads(opsbot("export", cwd=workdir, env=env).stdout)
    periods = [(row["job"], row["period"]) for row in data["job_runs"]]
    assert len(periods) == len(set(periods))
    assert ("digest", "2026-11-23T09:00") in periods
    assert ("weekly_summary", "2026-W47") in periods
    assert opsbot("demo", cwd=workdir, env=env).returncode == 2  # not twice into one team


def test_digest_command_and_doctor(workdir: Path) -> None:
    env = {"OPSBOT_NOW": "2026-11-23T10:00:00+08:00"}
    opsbot("console", cwd=workdir, env=env, stdin="/publish add 冬季护肤指南 p:wechat 明天 20:00\n")

    digest = opsbot("digest", "--date", "明天", cwd=workdir, env=env)
    assert digest.returncode == 0, digest.stderr
    assert digest.stdout.startswith("☀️ 内容组 · 11月24日 周二 早报\n📅 今日发布 (1)")
    posted = opsbot("digest", "--post", cwd=workdir, env=env)
    assert posted.stdout.startswith("── 📣 内容组 · digest ──\n☀️ 内容组 · 11月23日 周一 早报")

    doctor = opsbot("doctor", cwd=workdir, env=env)
    assert doctor.returncode == 0, doctor.stdout
    assert "✓ 发送队列：已发 1，等待 0，失败 0" in doctor.stdout  # in the config's locale
    assert "✓ 聊天平台：没有配置" in doctor.stdout
