"""The Dockerfile and compose.yaml, checked where no Docker engine runs: what each names
must exist in opsbot (the entry point, the healthcheck's route, the port, the config's
path, the environment it reads), and compose must keep two replicas safe.

Nothing is built here; the healthcheck's own command is run, against opsbot's server."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from sqlalchemy.engine import make_url

from bot.core.clock import FrozenClock
from bot.core.config import ServerSettings
from bot.runtime.app import OpsBot
from bot.runtime.cli import STOP_WITHIN_SECONDS, _parser
from bot.runtime.server import BackgroundServer, build_http_app
from bot.runtime.settings import load_settings
from storage.db import check_url, normalise_url
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


# -- reading the files ---------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def final_stage() -> list[tuple[str, str]]:
    found = dockerfile()
    start = max(index for index, (keyword, _) in enumerate(found) if keyword == "FROM")
    return found[start:]


def one(keyword: str, stage: list[tuple[str, str]] | None = None) -> str:
    (arguments,) = [found for name, found in (stage or final_stage()) if name == keyword]
    return arguments


def env_of_image() -> dict[str, str]:
    values: dict[str, str] = {}
    for keyword, arguments in final_stage():
        if keyword == "ENV":
            values |= dict(pair.split("=", 1) for pair in arguments.split())
    return values


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def env_example() -> dict[str, str]:
    """The names .env.example sets (commented-out ones are not set)."""
    values = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?error}`."""

    def replace(match: re.Match[str]) -> str:
        name, operator, rest = match.groups()
        if environ.get(name):
            return environ[name]
        assert operator != ":?", f"compose refuses to start without {name}: {rest}"
        return rest if operator == ":-" else ""

    return _REFERENCE.sub(replace, value)


def config_references(*, with_default: bool = True) -> set[str]:
    """The `${NAME}`s that values of the shipped config.yaml take, in its commented-out
    platforms too: they are what a user uncomments (without `with_default`, only those
    that have no `${NAME:-default}`: the ones a user must set)."""
    text = (ROOT / "config.yaml").read_text("utf-8")
    values = re.findall(r"^[\s#]*[\w-]+:\s*[\"']?(\$\{[^}]+\})", text, flags=re.MULTILINE)
    return {
        match.group(1)
        for value in values
        for match in _REFERENCE.finditer(value)
        if with_default or match.group(2) != ":-"
    }


def read_by_opsbot() -> set[str]:
    """The OPSBOT_* variables opsbot's own code reads (names quoted in its source)."""
    names: set[str] = set()
    for package in ("bot", "storage"):
        for path in (ROOT / package).rglob("*.py"):
            names |= set(re.findall(r"[\"'](OPSBOT_[A-Z_]+)[\"']", path.read_text("utf-8")))
    return names


@pytest.fixture
def services() -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"]
    return found


# -- the image -------------------------------------------------------------------------------


def test_the_base_is_the_slim_official_python_the_project_requires() -> None:
    args = dict(
        arguments.split("=", 1) for keyword, arguments in dockerfile() if keyword == "ARG"
        and "=" in arguments
    )  # fmt: skip
    bases = [interpolate(arguments.split()[0], args) for keyword, arguments in dockerfile()
             if keyword == "FROM"]  # fmt: skip
    requires = SpecifierSet(PYPROJECT["project"]["requires-python"])
    for base in bases:
        name, _, tag = base.partition(":")
        version = tag.split("-")[0]
        assert name == "python" and "-slim" in tag, base
        assert requires.contains(version), f"{base}: not {requires}"


def test_it_runs_as_a_user_that_is_not_root() -> None:
    stage = final_stage()
    user = one("USER")
    assert user not in {"root", "0"} and not user.startswith(("root:", "0:"))
    created = " ".join(arguments for keyword, arguments in stage if keyword == "RUN")
    assert re.search(rf"useradd [^&;]*\b{user}\b", created), "the user is never created"
    keywords = [keyword for keyword, _ in stage]
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")


def test_the_entrypoint_is_opsbot_run_from_pyproject_scripts() -> None:
    entrypoint = json.loads(one("ENTRYPOINT"))
    command = json.loads(one("CMD"))
    scripts = PYPROJECT["project"]["scripts"]

    assert entrypoint == ["opsbot"] and "opsbot" in scripts
    assert scripts["opsbot"] == "bot.runtime.cli:command_line"
    assert command == ["run"] and _parser().parse_args(command).command == "run"
    # The console script is installed into the virtualenv that the PATH puts first.
    venv = env_of_image()["PATH"].split(":")[0]
    assert venv == "/opt/opsbot/bin"
    assert any(f"venv {venv.removesuffix('/bin')}" in arguments for keyword, arguments in dockerfile()
               if keyword == "RUN")  # fmt: skip


def test_the_package_is_installed_from_the_checkout_with_runtime_dependencies_only() -> None:
    installs = [
        arguments
        for keyword, arguments in dockerfile()
        if keyword == "RUN" and "pip install" in arguments
    ]
    assert any(re.search(r"pip install \.(\s|$)", arguments) for arguments in installs), installs
    assert not any("[dev]" in arguments or "-e " in arguments for arguments in installs)
    dependencies = PYPROJECT["project"]["dependencies"]
    assert any(dependency.startswith("psycopg[binary]") for dependency in dependencies)
    copied = {source for keyword, arguments in dockerfile()
              if keyword == "COPY" and not arguments.startswith("--from")
              for source in arguments.split()[:-1]}  # fmt: skip
    packages = {
        name.rstrip("*") for name in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert packages | {"pyproject.toml", PYPROJECT["project"]["readme"]} <= copied
    for source in copied:
        assert (ROOT / source).exists(), source


def test_the_dockerignore_keeps_secrets_and_local_state_out_of_the_build() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines()
                if line.strip() and not line.startswith("#")]  # fmt: skip

    def ignored(path: str) -> bool:
        verdict = False
        for pattern in patterns:
            negated = pattern.startswith("!")
            if fnmatch.fnmatch(path, pattern.removeprefix("!").removeprefix("**/")):
                verdict = not negated
        return verdict

    for kept_out in (".env", ".env.local", "config.yaml", "opsbot.db", ".venv", ".git"):
        assert ignored(kept_out), kept_out
    for needed in ("pyproject.toml", "README.md", "bot", "handlers", "storage"):
        assert not ignored(needed), needed


def test_the_exposed_port_and_the_healthchecks_are_the_servers() -> None:
    healthcheck = one("HEALTHCHECK")
    command = json.loads(healthcheck.split(" CMD ", 1)[1])
    (url,) = re.findall(r"https?://[^'\"]+", command[-1])
    parsed = make_url(f"http+x://{url.split('://', 1)[1]}")  # host, port, path

    assert int(one("EXPOSE")) == ServerSettings().port == parsed.port == 8080
    assert parsed.host == "127.0.0.1"  # inside the container: whatever server.host says
    assert url.endswith("/healthz")


def test_in_the_image_the_shipped_config_listens_on_every_interface() -> None:
    """Else no published port reaches the bot, while the healthcheck (asked from inside)
    still passes; on a machine of its own the config keeps to loopback."""
    inside = load_settings(ROOT / "config.yaml", environ=env_of_image())
    outside = load_settings(ROOT / "config.yaml", environ={})

    assert inside.server.host == "0.0.0.0"
    assert outside.server.host == "127.0.0.1"


def _healthcheck_against(port: int) -> subprocess.CompletedProcess[str]:
    """The image's healthcheck command, run here, asking `port` instead of 8080."""
    command = json.loads(one("HEALTHCHECK").split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"]  # python's stdlib: no curl in a slim image
    script = command[2].replace(":8080/", f":{port}/")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30, check=False)  # fmt: skip


def test_the_healthcheck_passes_against_the_running_server_and_fails_without_it(
    sqlite_url: str,
) -> None:
    bot = OpsBot.open(
        make_settings(sqlite_url), FrozenClock(datetime.fromisoformat("2026-11-23T09:00:00+08:00"))
    )
    server = BackgroundServer(build_http_app(bot))
    port = server.start()
    try:
        healthy = _healthcheck_against(port)
    finally:
        server.stop()
        bot.engine.dispose()
    assert healthy.returncode == 0, healthy.stderr
    assert _healthcheck_against(port).returncode != 0  # nothing listens there any more


# -- compose ---------------------------------------------------------------------------------


def test_postgres_keeps_its_data_in_a_named_volume_and_says_when_it_is_ready(
    services: dict[str, Any],
) -> None:
    postgres = services["postgres"]
    mounts = [volume.split(":") for volume in postgres["volumes"]]
    assert ["postgres-data", "/var/lib/postgresql/data"] in mounts
    assert "postgres-data" in compose()["volumes"]  # named, so `down` keeps the data
    assert "pg_isready" in postgres["healthcheck"]["test"]


def test_opsbot_starts_once_postgres_is_healthy_and_migrated(services: dict[str, Any]) -> None:
    opsbot, migrate = services["opsbot"], services["migrate"]

    assert opsbot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert opsbot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    upgrade = _parser().parse_args(migrate["command"])
    assert (upgrade.command, upgrade.db_command) == ("db", "upgrade")
    assert _parser().parse_args(opsbot["command"]).command == "run"
    assert migrate["image"] == opsbot["image"]  # the same opsbot migrates and runs
    assert migrate.get("restart", "no") == "no"


def test_the_database_url_is_read_by_opsbot_and_reaches_the_compose_postgres(
    services: dict[str, Any],
) -> None:
    secrets = env_example()
    postgres = {
        name: interpolate(value, secrets)
        for name, value in services["postgres"]["environment"].items()
    }
    for name in ("opsbot", "migrate"):
        environment = {
            key: interpolate(value, secrets) for key, value in services[name]["environment"].items()
        }
        read = read_by_opsbot() | config_references()
        assert set(environment) <= read, f"{name}: opsbot reads no {set(environment) - read}"

        settings = load_settings(ROOT / "config.yaml", environ=secrets | environment)

        url = make_url(normalise_url(settings.storage.url))
        check_url(settings.storage.url)  # a backend and driver opsbot ships
        assert settings.storage.url == environment["OPSBOT_DATABASE_URL"]
        assert (url.host, url.port) == ("postgres", 5432)  # the service, on its own port
        assert (url.username, url.password, url.database) == (
            postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"],
        )  # fmt: skip


def test_the_config_is_mounted_read_only_where_the_image_reads_it(
    services: dict[str, Any],
) -> None:
    config_path = env_of_image()["OPSBOT_CONFIG"]
    for name in ("opsbot", "migrate"):
        mounts = [volume.split(":") for volume in services[name]["volumes"]]
        assert [source for source, target, *_ in mounts if target == config_path] == [
            "./config.yaml"
        ]
        (mode,) = [rest for _, target, *rest in mounts if target == config_path]
        assert mode == ["ro"], f"{name}: the config is not mounted read-only"
    assert (ROOT / "config.yaml").is_file()


def test_secrets_come_from_the_env_file_and_the_example_names_them_all(
    services: dict[str, Any],
) -> None:
    for name in ("opsbot", "migrate"):
        env_files = services[name]["env_file"]
        assert ".env" in ([env_files] if isinstance(env_files, str) else env_files)
    example = set(env_example())
    interpolated = {
        match.group(1) for match in _REFERENCE.finditer((ROOT / "compose.yaml").read_text("utf-8"))
    }

    needed = config_references(with_default=False)
    assert needed <= example, f".env.example lacks {needed - example}"
    assert interpolated <= example, f".env.example lacks {interpolated - example}"
    unused = example - config_references() - interpolated - read_by_opsbot()
    assert not unused, f".env.example sets what nothing reads: {unused}"


def test_two_replicas_can_run_side_by_side(services: dict[str, Any]) -> None:
    """`docker compose up --scale opsbot=2`: no fixed name or host port to collide on, and
    stopping one gives it the time it needs to finish what it is doing."""
    opsbot = services["opsbot"]
    assert "container_name" not in opsbot
    for published in opsbot.get("ports", []):
        *host, container = str(published).split(":")
        assert int(container) == ServerSettings().port
        if host:
            first, _, last = host[-1].partition("-")
            assert last and int(last) > int(first), f"{published}: one host port for every replica"
    grace = re.fullmatch(r"(\d+)s", opsbot["stop_grace_period"])
    assert grace is not None and int(grace.group(1)) > STOP_WITHIN_SECONDS
    assert opsbot["init"] is True  # signals reach opsbot, not a shell
