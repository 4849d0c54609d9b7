"""How the `opsbot` command fails, as a newcomer meets it: a real process, real files.

Every failure is one line on stderr that names the file, key or path and says what to
do, with exit status 2 for bad usage or config and 1 for anything else; never a
traceback, and nothing created or half-written on the way. And what must happen once
(a post for a day) happens once, saying so when asked again.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = "locale: en\nteams:\n  - {id: t1, name: Growth, timezone: Europe/Berlin}\n"
MONDAY_MORNING = "2026-11-23T10:00:00+01:00"  # after the 09:00 digest of Monday 23 November


def _without_root_powers() -> list[str]:
    """A command prefix under which permissions bind: root writes into a read-only folder
    unless it gives up CAP_DAC_OVERRIDE, which `setpriv` does for the child alone."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, and without setpriv permissions do not bind")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]


def opsbot(
    *args: str,
    cwd: Path,
    stdin: str = "",
    env: dict[str, str] | None = None,
    prefix: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OPSBOT_")}
    environment.update(env or {})
    return subprocess.run(
        [*prefix, sys.executable, "-m", "bot", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The failure's one line of stderr (no traceback, no SQLAlchemy link)."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "sqlalche.me" not in result.stderr
    return lines[0]


def files_in(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.fixture
def english(tmp_path: Path) -> Path:
    """A folder with an English config and nothing else."""
    (tmp_path / "config.yaml").write_text(ENGLISH, encoding="utf-8")
    return tmp_path


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    folder.chmod(0o555)
    try:
        yield folder
    finally:
        folder.chmod(0o755)  # so that pytest can clean it up


# -- the console ---------------------------------------------------------------------


@pytest.mark.parametrize("word", ["/quit", "/exit", "/退出", "/QUIT"])
def test_quit_ends_a_piped_script_and_nothing_after_it_runs(tmp_path: Path, word: str) -> None:
    result = opsbot("console", cwd=tmp_path, stdin=f"/topic add x\n{word}\n/topic add y\n")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["✅ 选题 #1「x」已保存 · 评分 3.00 · 优先级 中"]
    topics = json.loads(opsbot("export", cwd=tmp_path).stdout)["topics"]
    assert [topic["title"] for topic in topics] == ["x"]


# -- bad settings: exit 2, naming the key --------------------------------------------


def test_a_bad_log_level_names_the_variable_and_the_levels(english: Path) -> None:
    result = opsbot("doctor", cwd=english, env={"OPSBOT_LOG_LEVEL": "LOUD"})

    assert result.returncode == 2
    assert one_line(result) == (
        "opsbot: OPSBOT_LOG_LEVEL=LOUD is not a log level; use one of DEBUG, INFO, WARNING, "
        "ERROR, CRITICAL (unset means WARNING)"
    )
    assert result.stdout == ""
    assert files_in(english) == {"config.yaml"}


def test_a_bad_log_level_is_worded_in_chinese_by_default(tmp_path: Path) -> None:
    result = opsbot("export", cwd=tmp_path, env={"OPSBOT_LOG_LEVEL": "loud"})

    assert result.returncode == 2
    assert one_line(result).startswith("opsbot: OPSBOT_LOG_LEVEL=loud 不是日志级别")
    assert files_in(tmp_path) == set()


def test_an_unsupported_database_is_a_config_error_naming_storage_url(english: Path) -> None:
    (english / "config.yaml").write_text(
        ENGLISH + "storage: {url: 'mysql://ops:secret@db.example/opsbot'}\n", encoding="utf-8"
    )

    result = opsbot("export", cwd=english)

    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("opsbot: config.yaml: storage.url: mysql://ops:***@db.example/opsbot ")
    assert "sqlite:///" in line and "postgresql://" in line
    assert "MySQLdb" not in line and "secret" not in line
    assert files_in(english) == {"config.yaml"}


def test_an_unsupported_database_url_from_the_environment_names_the_variable(
    english: Path,
) -> None:
    result = opsbot("console", cwd=english, env={"OPSBOT_DATABASE_URL": "mysql://x/y"})

    assert result.returncode == 2
    assert one_line(result).startswith("opsbot: OPSBOT_DATABASE_URL: mysql://x/y is not a database")


def test_a_bad_argument_is_refused_in_one_line(english: Path) -> None:
    result = opsbot("export", "--format", "xml", cwd=english)

    assert result.returncode == 2
    assert "invalid choice: 'xml'" in one_line(result)
    assert "opsbot export --help" in one_line(result)


def test_force_without_post_is_bad_usage(english: Path) -> None:
    result = opsbot("digest", "--force", cwd=english)

    assert result.returncode == 2
    assert one_line(result) == (
        "opsbot: --force goes with --post (it posts again what was already posted)"
    )
    assert files_in(english) == {"config.yaml"}


# -- a database that cannot be used: exit 1, naming the file ----------------------------


def test_a_database_in_a_read_only_folder_names_the_file_and_what_to_do(english: Path) -> None:
    prefix = _without_root_powers()
    with read_only(english):
        result = opsbot("console", cwd=english, stdin="/topic add x\n", prefix=prefix)

    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith(f"opsbot: database {english / 'opsbot.db'}: cannot be opened")
    assert "storage.url" in line and "OperationalError" not in line
    assert result.stdout == ""
    assert files_in(english) == {"config.yaml"}


def test_an_existing_database_in_a_folder_made_read_only(english: Path) -> None:
    prefix = _without_root_powers()
    assert opsbot("console", cwd=english, stdin="/topic add x\n").returncode == 0
    (english / "opsbot.db").chmod(0o444)
    before = files_in(english)
    with read_only(english):
        result = opsbot("console", cwd=english, stdin="/topic add y\n", prefix=prefix)

    assert result.returncode == 1
    assert one_line(result).startswith(f"opsbot: database {english / 'opsbot.db'}: ")
    assert "storage.url" in result.stderr
    assert files_in(english) == before


def test_a_database_path_that_is_a_folder(english: Path) -> None:
    (english / "opsbot.db").mkdir()

    result = opsbot("export", cwd=english)

    assert result.returncode == 1
    line = one_line(result)
    assert line == (
        f"opsbot: database {english / 'opsbot.db'}: cannot be opened for writing (unable to "
        "open database file); check that this user may write the file and its folder, or set "
        "storage.url to another place"
    )
    assert result.stdout == ""


def test_a_database_whose_folder_cannot_be_made(english: Path) -> None:
    (english / "data").write_text("a file where the folder should be", encoding="utf-8")
    database = english / "data" / "opsbot.db"

    result = opsbot("console", cwd=english, env={"OPSBOT_DATABASE_URL": f"sqlite:///{database}"})

    assert result.returncode == 1
    assert one_line(result).startswith(f"opsbot: database {database}: cannot be opened")
    assert files_in(english) == {"config.yaml", "data"}


# -- output files: checked first, written whole ------------------------------------------


def test_export_to_a_missing_folder_fails_first_and_creates_nothing(english: Path) -> None:
    target = english / "no-such-folder" / "x.json"

    result = opsbot("export", "--out", str(target), cwd=english)

    assert result.returncode == 2
    assert one_line(result) == (
        f"opsbot: --out {target}: the folder {target.parent} does not exist; create it first, "
        "or choose another path"
    )
    assert result.stdout == ""
    assert files_in(english) == {"config.yaml"}  # not even the database


def test_export_to_a_folder_is_refused(english: Path) -> None:
    result = opsbot("export", "--out", str(english), cwd=english)

    assert result.returncode == 2
    assert one_line(result) == f"opsbot: --out {english}: is a folder; give the name of a file"


def test_export_into_a_read_only_folder(english: Path) -> None:
    prefix = _without_root_powers()
    assert opsbot("db", "upgrade", cwd=english).returncode == 0
    shut = english / "shut"
    shut.mkdir()
    with read_only(shut):
        result = opsbot("export", "--out", "shut/x.json", cwd=english, prefix=prefix)

    assert result.returncode == 2
    assert one_line(result).startswith(f"opsbot: --out shut/x.json: cannot write in {shut} (")
    assert list(shut.iterdir()) == []


def test_a_failed_export_leaves_the_earlier_file_whole_and_no_part_behind(english: Path) -> None:
    (english / "x.json").write_text('{"earlier": true}\n', encoding="utf-8")
    (english / "broken.db").mkdir()

    result = opsbot(
        "export", "--out", "x.json", cwd=english,
        env={"OPSBOT_DATABASE_URL": f"sqlite:///{english / 'broken.db'}"},
    )  # fmt: skip

    assert result.returncode == 1
    assert one_line(result).startswith(f"opsbot: database {english / 'broken.db'}: ")
    assert (english / "x.json").read_text(encoding="utf-8") == '{"earlier": true}\n'
    assert files_in(english) == {"config.yaml", "x.json", "broken.db"}


def test_export_to_a_file_writes_it_whole(english: Path) -> None:
    assert opsbot("console", cwd=english, stdin="/topic add x\n").returncode == 0

    result = opsbot("export", "--out", "x.json", cwd=english)

    assert result.returncode == 0, result.stderr
    assert json.loads((english / "x.json").read_text(encoding="utf-8"))["topics"][0]["title"] == "x"
    assert not [name for name in files_in(english) if name.endswith(".part")]


def test_export_csv_under_a_file_is_refused_before_anything_is_written(english: Path) -> None:
    (english / "taken").write_text("", encoding="utf-8")

    result = opsbot("export", "--format", "csv", "--out", "taken/dump", cwd=english)

    assert result.returncode == 2
    assert one_line(result).startswith(f"opsbot: --out taken/dump: {english / 'taken'} is a file")
    assert files_in(english) == {"config.yaml", "taken"}


def test_a_chart_that_cannot_be_written_fails_before_the_summary_is_printed(
    english: Path,
) -> None:
    chart = english / "no-such-folder" / "week.png"

    result = opsbot("summary", "--chart", str(chart), cwd=english)

    assert result.returncode == 2
    assert one_line(result).startswith(f"opsbot: --chart {chart}: the folder ")
    assert result.stdout == ""
    assert files_in(english) == {"config.yaml"}


# -- doctor only looks ----------------------------------------------------------------


def test_doctor_without_a_config_says_so_and_creates_nothing(tmp_path: Path) -> None:
    result = opsbot("doctor", cwd=tmp_path)

    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        f"✓ 配置：没有配置文件（{tmp_path / 'config.yaml'} 不存在），机器人按默认设置运行"
    )
    assert lines[1] == (
        f"✓ 数据库 {tmp_path / 'opsbot.db'}：还没有创建（opsbot db upgrade 或启动机器人时会创建）"
    )
    assert "None" not in result.stdout
    assert files_in(tmp_path) == set()


def test_doctor_reports_a_database_not_created_yet_without_creating_it(english: Path) -> None:
    database = english / "data" / "sub" / "opsbot.db"

    result = opsbot("doctor", cwd=english, env={"OPSBOT_DATABASE_URL": f"sqlite:///{database}"})

    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[:2] == [
        "✓ config config.yaml: 1 team(s): t1 (Europe/Berlin, calendar none)",
        f"✓ database {database}: not created yet (opsbot db upgrade or start the bot creates it)",
    ]
    assert files_in(english) == {"config.yaml"}  # no folder either


def test_doctor_says_where_it_cannot_create_the_database(english: Path) -> None:
    prefix = _without_root_powers()
    with read_only(english):
        result = opsbot("doctor", cwd=english, prefix=prefix)

    assert result.returncode == 1
    assert (
        f"✗ database {english / 'opsbot.db'}: not created yet, and this user cannot create it "
        f"in {english}; check its permissions, or set storage.url to another place"
    ) in result.stdout.splitlines()
    assert files_in(english) == {"config.yaml"}


def test_doctor_after_the_database_exists_reports_its_schema(english: Path) -> None:
    assert opsbot("db", "upgrade", cwd=english).returncode == 0

    result = opsbot("doctor", cwd=english)

    assert result.returncode == 0, result.stdout
    assert f"✓ database {english / 'opsbot.db'}: reachable, schema at revision " in result.stdout
    assert "✓ outbox: 0 sent, 0 waiting, 0 failed" in result.stdout


# -- posting once per team and period --------------------------------------------------


def job_runs(folder: Path) -> list[tuple[str, str]]:
    data = json.loads(opsbot("export", cwd=folder).stdout)
    return [(row["job"], row["period"]) for row in data["job_runs"]]


def outbox_kinds(folder: Path) -> list[str]:
    return [row["kind"] for row in json.loads(opsbot("export", cwd=folder).stdout)["outbox"]]


def test_digest_post_on_the_real_clock_posts_once_per_day(english: Path) -> None:
    first = opsbot("digest", "--post", "--date", "2026-11-23", cwd=english)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("── 📣 Growth · digest ──\n")
    assert one_line(first) == "the digest posted for 2026-11-23 at 09:00"

    again = opsbot("digest", "--post", "--date", "2026-11-23", cwd=english)
    assert again.returncode == 0
    assert again.stdout == ""
    assert one_line(again) == (
        "the digest was already posted for 2026-11-23 at 09:00; --force posts again"
    )
    assert outbox_kinds(english) == ["digest"]
    assert job_runs(english) == [("digest", "2026-11-23T09:00")]


def test_digest_post_and_the_scheduled_run_are_one_run(english: Path) -> None:
    early, env = {"OPSBOT_NOW": "2026-11-23T08:00:00+01:00"}, {"OPSBOT_NOW": MONDAY_MORNING}
    assert opsbot("tick", cwd=english, env=early).returncode == 0  # the team's jobs begin
    assert opsbot("tick", cwd=english, env=env).stdout.count("· digest ──") == 1

    posted = opsbot("digest", "--post", cwd=english, env=env)

    assert posted.returncode == 0
    assert posted.stdout == ""
    assert one_line(posted) == (
        "the digest was already posted for 2026-11-23 at 09:00; --force posts again"
    )
    assert outbox_kinds(english).count("digest") == 1


def test_digest_post_force_posts_again_and_records_it_as_forced(english: Path) -> None:
    env = {"OPSBOT_NOW": MONDAY_MORNING}
    assert opsbot("digest", "--post", cwd=english, env=env).returncode == 0
    assert "already posted" in opsbot("digest", "--post", cwd=english, env=env).stderr

    forced = opsbot("digest", "--post", "--force", cwd=english, env=env)

    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.startswith("── 📣 Growth · digest ──\n")
    record = "2026-11-23T09:00:forced:2026-11-23T09:00:00+00:00"
    assert one_line(forced) == (
        f"the digest posted again for 2026-11-23 at 09:00 (--force, recorded as {record})"
    )
    assert job_runs(english) == [("digest", "2026-11-23T09:00"), ("digest", record)]
    assert outbox_kinds(english) == ["digest", "digest"]
    assert "· digest ──" not in opsbot("tick", cwd=english, env=env).stdout  # done already


def test_digest_post_on_a_day_it_is_not_scheduled_is_keyed_by_the_day(english: Path) -> None:
    env = {"OPSBOT_NOW": "2026-11-28T10:00:00+01:00"}  # a Saturday: no digest is scheduled
    assert one_line(opsbot("digest", "--post", cwd=english, env=env)) == (
        "the digest posted for 2026-11-28"
    )
    again = opsbot("digest", "--post", cwd=english, env=env)
    assert "already posted for 2026-11-28;" in again.stderr
    assert job_runs(english) == [("digest", "2026-11-28")]


def test_summary_post_posts_once_per_week_as_the_scheduler_does(english: Path) -> None:
    env = {"OPSBOT_NOW": MONDAY_MORNING}
    first = opsbot("summary", "--post", cwd=english, env=env)
    assert first.returncode == 0, first.stderr
    assert one_line(first) == "the weekly summary posted for 2026-W47"

    again = opsbot("summary", "--post", "--week", "2026-W47", cwd=english, env=env)
    assert again.returncode == 0
    assert one_line(again) == (
        "the weekly summary was already posted for 2026-W47; --force posts again"
    )
    assert "weekly_summary" not in opsbot("tick", cwd=english, env=env).stdout
    assert job_runs(english).count(("weekly_summary", "2026-W47")) == 1


def test_digest_post_of_a_skipped_run_says_so_and_force_posts_it(english: Path) -> None:
    assert opsbot("tick", cwd=english, env={"OPSBOT_NOW": "2026-11-23T08:00:00+01:00"}).stdout == ""
    late = {"OPSBOT_NOW": "2026-11-23T11:30:00+01:00"}  # the 09:00 digest is past its grace
    assert "· digest ──" not in opsbot("tick", cwd=english, env=late).stdout

    refused = opsbot("digest", "--post", cwd=english, env=late)
    assert refused.returncode == 0
    assert one_line(refused) == (
        "the digest for 2026-11-23 at 09:00 was skipped (missed beyond the grace period); "
        "--force posts it now"
    )
    forced = opsbot("digest", "--post", "--force", cwd=english, env=late)
    assert forced.stdout.startswith("── 📣 Growth · digest ──\n")
    assert outbox_kinds(english).count("digest") == 1


# -- another process holding the database ----------------------------------------------


def test_the_console_waits_for_a_database_another_process_is_writing(english: Path) -> None:
    """Another process (an import, a tick) holds SQLite's write lock: the console says it
    waits, and goes on once the lock is released, instead of failing at start."""
    assert opsbot("db", "upgrade", cwd=english).returncode == 0
    holder = sqlite3.connect(english / "opsbot.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OPSBOT_")}
    console = subprocess.Popen(
        [sys.executable, "-m", "bot", "console"], cwd=english, env=environment, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert console.stderr is not None
        waiting = console.stderr.readline()  # blocks until the console has said it waits
        assert "is being written by another process" in waiting
        assert str(english / "opsbot.db") in waiting or "opsbot.db" in waiting
        holder.execute("ROLLBACK")
        out, err = console.communicate("/topic add Held up\n/topic list\n", timeout=60)
    finally:
        holder.close()
        if console.poll() is None:
            console.kill()
    assert console.returncode == 0, err
    assert "Held up" in out and "database is locked" not in err


# -- the CLI's own words, in the config's language ---------------------------------------


def test_a_bad_opsbot_now_is_one_line_in_the_team_s_language(tmp_path: Path) -> None:
    result = opsbot("digest", cwd=tmp_path, env={"OPSBOT_NOW": "next tuesday"})

    assert result.returncode == 2
    assert one_line(result).startswith("opsbot: OPSBOT_NOW=next tuesday 不是一个时间")


def test_kpi_import_names_an_unknown_platform_and_the_known_ones(english: Path) -> None:
    (english / "export.csv").write_text("date,title,reads\n2026-11-23,A,1\n", encoding="utf-8")

    result = opsbot("kpi", "import", "export.csv", "--platform", "myspace", cwd=english)

    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith('opsbot: --platform: unknown platform "myspace"; known: wechat,')


def test_kpi_import_of_a_missing_file_says_so_in_chinese(tmp_path: Path) -> None:
    result = opsbot("kpi", "import", "没有这个文件.csv", cwd=tmp_path)

    assert result.returncode == 1
    assert one_line(result) == (
        "opsbot: 没有这个文件.csv：无法读取（No such file or directory）；请检查文件名和权限"
    )


def test_an_unknown_team_is_named_with_the_known_ones_in_the_team_s_language(
    tmp_path: Path,
) -> None:
    result = opsbot("digest", "--team", "nope", cwd=tmp_path)

    assert result.returncode == 2
    assert one_line(result) == "opsbot: 配置里没有团队「nope」；有：team"  # the default team
