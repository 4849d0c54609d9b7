"""The dependency rules of STYLE.md: handlers and storage never reach a platform or the network."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("slack_bolt", "slack_sdk", "lark_oapi", "httpx", "requests", "urllib.request",
             "bot.adapters", "bot.render")  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "handlers").rglob("*.py")) + sorted((ROOT / "storage").rglob("*.py")),
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_handlers_and_storage_import_no_platform_sdk_or_http_client(path: Path) -> None:
    bad = {name for name in _imports(path) if name.startswith(FORBIDDEN)}
    assert bad == set()


@pytest.mark.parametrize(
    "path", sorted((ROOT / "storage").rglob("*.py")), ids=lambda path: str(path.relative_to(ROOT))
)
def test_storage_does_not_import_the_bot_or_handlers(path: Path) -> None:
    bad = {name for name in _imports(path) if name.startswith(("bot", "handlers"))}
    assert bad == set()


def test_nothing_reads_the_wall_clock_directly() -> None:
    offenders = []
    for folder in ("bot", "handlers", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "clock.py":
                continue
            source = path.read_text(encoding="utf-8")
            if "datetime.now(" in source or "datetime.utcnow(" in source or "time.time(" in source:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
