"""What `opsbot` loads to start, as a real process: `--help` opens no database and so
loads no database library; a command on an upgraded database asks Alembic for nothing;
and `opsbot run`, which migrates in a child process, fails as the other commands do.

Nothing here times anything (the machine's load would decide): each test reads the
modules a process imports from `python -X importtime`, which names every one imported
by an `import` statement (a plug-in's package, imported by `importlib`, shows through
the modules it imports).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from storage.migrate import head_revision

ROOT = Path(__file__).resolve().parents[2]
DATABASE_LIBRARIES = ("sqlalchemy", "sqlmodel", "alembic", "apscheduler")
CHAT_AND_SERVER_LIBRARIES = ("slack_bolt", "slack_sdk", "lark_oapi", "httpx", "cryptography",
                             "starlette", "uvicorn")  # fmt: skip
_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", re.MULTILINE)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder with the shipped config.yaml (no chat platform), as after a clone."""
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


def python(
    *args: str, cwd: Path, stdin: str = ""
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `python -X importtime <args>`; the result, and every module it imported."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OPSBOT_")}
    environment["OPSBOT_NOW"] = "2026-11-23T10:00:00+08:00"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *args], cwd=cwd, input=stdin,
        capture_output=True, text=True, env=environment, timeout=60, check=False,
    )  # fmt: skip
    return result, set(_IMPORTED.findall(result.stderr))


def opsbot(
    *args: str, cwd: Path, stdin: str = ""
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    return python("-m", "bot", *args, cwd=cwd, stdin=stdin)


def said(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines of stderr that are the command's own (not `-X importtime`'s)."""
    return [line for line in result.stderr.splitlines() if not line.startswith("import time:")]


def packages(modules: set[str]) -> set[str]:
    return {module.split(".")[0] for module in modules}


def upgraded(workdir: Path) -> Path:
    result, _ = opsbot("db", "upgrade", cwd=workdir)
    assert result.returncode == 0, result.stderr
    return workdir / "opsbot.db"


@pytest.mark.parametrize(
    "arguments",
    [
        ("--help",),
        ("--version",),
        ("run", "--help"),
        ("digest", "--help"),
        ("export", "--help"),
        ("kpi", "import", "--help"),
        ("db", "upgrade", "--help"),
    ],
    ids=" ".join,
)
def test_help_loads_no_database_scheduler_or_chat_library(
    workdir: Path, arguments: tuple[str, ...]
) -> None:
    result, modules = opsbot(*arguments, cwd=workdir)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: opsbot" if "--help" in arguments else "opsbot ")
    loaded = packages(modules)
    assert loaded.isdisjoint(DATABASE_LIBRARIES), sorted(loaded & set(DATABASE_LIBRARIES))
    assert loaded.isdisjoint(CHAT_AND_SERVER_LIBRARIES)
    assert loaded.isdisjoint({"handlers", "storage", "pydantic", "yaml"})
    assert not (workdir / "opsbot.db").exists()  # nor is a database made for it


@pytest.mark.parametrize("command", [("db", "upgrade"), ("doctor",)], ids=" ".join)
def test_a_command_on_an_upgraded_database_asks_alembic_nothing(
    workdir: Path, command: tuple[str, ...]
) -> None:
    upgraded(workdir)
    _, floor = python("-c", "import sqlalchemy", cwd=workdir)

    result, modules = opsbot(*command, cwd=workdir)

    assert result.returncode == 0, result.stdout + result.stderr
    if command == ("db", "upgrade"):
        assert said(result) == [f"database at revision {head_revision()}"]
    else:
        assert f"结构版本 {head_revision()}" in result.stdout
    loaded = packages(modules)
    assert loaded.isdisjoint({"alembic", "mako", "handlers"}), sorted(loaded)
    assert loaded.isdisjoint(CHAT_AND_SERVER_LIBRARIES)  # the config turns none on
    # SQLAlchemy, SQLModel, pydantic and the config: within twice what SQLAlchemy alone
    # imports (before, every command imported all of opsbot: 3.5 times as many).
    assert len(modules) < 2 * len(floor), len(modules)


def test_a_command_that_opens_the_bot_loads_no_chat_plugin_it_does_not_use(
    workdir: Path,
) -> None:
    upgraded(workdir)
    _, floor = python("-c", "import sqlalchemy", cwd=workdir)

    result, modules = opsbot("digest", cwd=workdir)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("☀️ 内容组 · 11月23日 周一 早报")
    loaded = packages(modules)
    assert loaded.isdisjoint(CHAT_AND_SERVER_LIBRARIES), sorted(loaded)
    assert "bot.chat.slack.adapter" not in modules
    assert "apscheduler.schedulers.background" not in modules  # only `run` schedules
    # The digest's features, not every one (the router is built for the first command),
    # and no PostgreSQL dialect for a SQLite file.
    assert "handlers.digest" in modules
    assert {"handlers.registry", "handlers.kpi_import", "handlers.playbook"}.isdisjoint(modules)
    assert not any(module.startswith("sqlalchemy.dialects.postgresql") for module in modules)
    assert len(modules) < 2.5 * len(floor), len(modules)


def test_start_up_is_not_garbage_collected_and_the_command_s_work_is(workdir: Path) -> None:
    """Starting imports hundreds of modules and builds the settings' and tables' models,
    which no collection frees: the collector is paused until the bot is open, then
    resumed with all of that frozen, before the command's own work begins."""
    upgraded(workdir)
    script = """
import gc, json, sys
from bot.runtime import cli
seen = {"collections": 0}
gc.callbacks.append(lambda phase, info: phase == "start" and seen.update(collections=seen["collections"] + 1))
resume = cli._start_up_done
def start_up_done():
    seen.setdefault("while_starting", seen["collections"])
    resume()
    seen.setdefault("enabled_after", gc.isenabled())
    seen.setdefault("frozen", gc.get_freeze_count())
cli._start_up_done = start_up_done
sys.argv = ["opsbot", "digest"]
code = cli.command_line()
gc.collect()
seen["enabled_at_exit"] = gc.isenabled()
print(json.dumps(seen), file=sys.stderr)
sys.exit(code)
"""

    result, _ = python("-c", script, cwd=workdir)

    assert result.returncode == 0, result.stderr
    seen = json.loads(said(result)[-1])
    assert seen["while_starting"] == 0  # not one collection before the bot was open
    assert seen["enabled_after"] and seen["enabled_at_exit"]
    assert seen["frozen"] > 100_000  # the modules, classes and settings, out of the way
    assert seen["collections"] >= 1


def test_doctor_loads_the_one_plugin_configured_and_no_command_line_extras(
    tmp_path: Path,
) -> None:
    """Feishu's check goes through httpx, which imports its own command-line client
    (click, Pygments) when those are installed, unless opsbot tells it they are not."""
    (tmp_path / "config.yaml").write_text(
        "platforms:\n  feishu: {app_id: cli, app_secret: s, base_url: 'http://127.0.0.1:9'}\n",
        encoding="utf-8",
    )

    result, modules = opsbot("doctor", cwd=tmp_path)

    assert result.returncode == 1  # nothing answers on port 9
    assert "✗" in result.stdout
    loaded = packages(modules)
    assert "bot.chat.feishu.adapter" in modules and "httpx" in loaded
    assert loaded.isdisjoint({"slack_bolt", "slack_sdk", "lark_oapi", "alembic", "handlers"})
    assert loaded.isdisjoint({"click", "pygments", "mako"}), sorted(loaded)


def test_run_migrates_a_new_database_before_it_opens_the_console(workdir: Path) -> None:
    result, _ = opsbot("run", cwd=workdir, stdin="/help\n")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("opsbot 能做这些：")
    with sqlite3.connect(workdir / "opsbot.db") as database:
        assert database.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]


def test_run_reports_a_failed_migration_as_the_console_does(workdir: Path) -> None:
    """`run` migrates in a child process; the child's failure is the parent's, word for
    word, as `console` (which migrates in its own process) reports it."""
    upgraded(workdir)
    with sqlite3.connect(workdir / "opsbot.db") as database:  # from a newer opsbot, say
        database.execute("UPDATE alembic_version SET version_num = '9999'")

    run, _ = opsbot("run", cwd=workdir)
    console, _ = opsbot("console", cwd=workdir)

    assert (run.returncode, run.stdout) == (console.returncode, console.stdout) == (1, "")
    assert said(run) == said(console)
    assert len(said(run)) == 1 and "9999" in said(run)[0], said(run)
