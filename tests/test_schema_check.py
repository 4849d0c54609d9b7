"""The start-up check of the schema, which Alembic is not imported for, says what Alembic
says: the head read from the migration files, the revision read from the database.

Where the reading cannot be sure (a branch, a merge, a dependency, an id that is not a
plain literal) it says so, and the bot asks Alembic after all.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

import bot.chat.console
from bot.chat import BY_NAME, CHAT_PLATFORM_NAMES, CONSOLE
from bot.chat.base import PlugIn
from bot.chat.slack.settings import SlackSettings
from bot.runtime.wiring import (
    MIGRATION_VERSIONS,
    current_revision,
    head_of,
    head_revision,
    schema_is_current,
    schema_revisions,
    shipped_head,
)
from storage import migrate
from storage.db import create_engine_for

ROOT = Path(__file__).resolve().parents[1]


def migrations(folder: Path, **files: str) -> Path:
    """A `versions` folder with these migration files (name → source)."""
    versions = folder / "versions"
    versions.mkdir()
    for name, source in files.items():
        (versions / name).write_text(textwrap.dedent(source), encoding="utf-8")
    return versions


def alembic_heads(versions: Path) -> list[str]:
    return list(ScriptDirectory(str(versions.parent)).get_heads())


def test_the_shipped_head_is_alembics() -> None:
    assert Path(migrate.MIGRATIONS_DIRECTORY) / "versions" == MIGRATION_VERSIONS
    assert shipped_head() == migrate.head_revision()
    assert head_revision() == migrate.head_revision()


def test_a_plain_chain_is_read_as_alembic_reads_it(tmp_path: Path) -> None:
    versions = migrations(
        tmp_path,
        **{
            "0001_first.py": '"""The first."""\nrevision = "0001"\ndown_revision = None\n',
            "0002_second.py": """\
                from collections.abc import Sequence

                revision: str = "0002"
                down_revision: str | None = "0001"
                branch_labels: str | Sequence[str] | None = None
                depends_on: str | Sequence[str] | None = None


                def upgrade() -> None:
                    revision = "not this one"  # a local name, not the module's
                """,
            "0003_third.py": 'revision = "0003"\ndown_revision = "0002"\n',
            "__init__.py": "",
            ".#0004_being_edited.py": 'revision = "0004"\ndown_revision = "0003"\n',
            "README.txt": "revision = 'x'",
        },
    )

    assert head_of(versions) is None  # the local `revision` in 0002: not sure, ask Alembic
    (versions / "0002_second.py").write_text(
        'revision: str = "0002"\ndown_revision: str | None = "0001"\n', encoding="utf-8"
    )
    assert alembic_heads(versions) == ["0003"]
    assert head_of(versions) == "0003"


B = 'revision = "b"\ndown_revision = "a"\n'
C = 'revision = "c"\ndown_revision = "a"\n'


@pytest.mark.parametrize(
    "files",
    [
        pytest.param({"b.py": B, "c.py": C}, id="a branch"),
        pytest.param(
            {"b.py": B, "c.py": C, "d.py": 'revision = "d"\ndown_revision = ("b", "c")\n'},
            id="a merge",
        ),
        pytest.param({"b.py": B + 'depends_on = "a"\n'}, id="a dependency"),
        pytest.param({"b.py": 'revision = "b" + ""\ndown_revision = "a"\n'}, id="no literal"),
        pytest.param({"b.py": B + 'revision = "c"\n'}, id="set twice"),
        pytest.param({"b.py": 'down_revision = "a"\n'}, id="no revision"),
        pytest.param({"b.py": 'revision = "b"\ndown_revision = "z"\n'}, id="an unknown parent"),
        pytest.param({"b.py": B, "c.py": B}, id="one id twice"),
    ],
)
def test_what_the_reading_cannot_be_sure_of_is_left_to_alembic(
    tmp_path: Path, files: dict[str, str]
) -> None:
    versions = migrations(tmp_path, **{"a.py": 'revision = "a"\ndown_revision = None\n', **files})

    assert head_of(versions) is None


def test_the_database_revision_is_alembics(database_url: str) -> None:
    engine = create_engine_for(database_url)
    try:
        assert schema_revisions(engine) == []
        assert current_revision(engine) is None
        assert not schema_is_current(engine)

        migrate.upgrade_database(engine)
        assert schema_revisions(engine) == [migrate.head_revision()]
        assert schema_is_current(engine)

        migrate.downgrade_database(engine, "0009")
        assert schema_revisions(engine) == ["0009"]
        assert current_revision(engine) == migrate.current_revision(engine) == "0009"
        assert not schema_is_current(engine)
    finally:
        engine.dispose()


def test_chat_plugins_are_imported_on_first_use(tmp_path: Path) -> None:
    """Reading a config that turns WeCom on imports WeCom's plug-in, and no other."""
    config = tmp_path / "config.yaml"
    config.write_text(
        "platforms:\n  wecom: {corp_id: wx, agent_id: 1, secret: s, token: t,\n"
        "    encoding_aes_key: jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C}\n",
        encoding="utf-8",
    )
    probe = (
        "import sys\n"
        "from bot.runtime.settings import load_settings\n"
        f"load_settings(__import__('pathlib').Path({str(config)!r}))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('bot.chat.', 'slack_', 'lark_'))"
        " and m.count('.') < 3))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )

    loaded = eval(result.stdout)  # a printed list of names
    assert "bot.chat.wecom" in loaded
    assert [m for m in loaded if m.startswith(("bot.chat.slack", "bot.chat.feishu"))] == []
    assert [m for m in loaded if m.startswith(("slack_", "lark_"))] == []


def test_the_list_of_plugins_knows_them_by_name() -> None:
    assert CONSOLE == "console"
    assert CHAT_PLATFORM_NAMES == ("slack", "feishu", "wecom")
    assert BY_NAME["slack"].settings_model is SlackSettings
    assert BY_NAME["console"].settings_model is None


def test_a_plugin_listed_under_another_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Renamed:
        name = "terminal"

    monkeypatch.setattr(bot.chat.console, "PLATFORM", Renamed())

    with pytest.raises(ImportError, match=r"bot\.chat\.console\.PLATFORM is named 'terminal'"):
        PlugIn("console").settings_model  # noqa: B018  (the first use imports it)
