"""The architecture, enforced: which layer may import which (STYLE.md, ARCHITECTURE.md).

One table says it all. A newcomer reads the layers here; a change that reaches across
them fails with the file and the import that did.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# layer → (its folder, the layers of ours it may import). Bottom first.
LAYERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "vocab": ("bot/vocab", ()),  # when, durations, numbers, metrics, cron, workdays …
    "storage": ("storage", ()),  # tables, data access, migrations
    "core": ("bot/core", ("vocab",)),  # messages, commands, router, dispatch, jobs, i18n
    "handlers": ("handlers", ("core", "vocab", "storage")),  # one feature each
    "chat": ("bot/chat", ("core", "vocab")),  # each chat platform, a plug-in
    "sources": ("bot/sources", ("core", "vocab")),  # each KPI data API, a plug-in
    "runtime": ("bot/runtime", ("core", "vocab", "storage", "handlers", "chat", "sources")),
}
MODULE_OF_LAYER = {name: folder.replace("/", ".") for name, (folder, _) in LAYERS.items()}

# Third-party packages only some layers may use: the chat SDKs and HTTP clients belong to
# the chat and KPI source plug-ins (and the runtime that serves them), never to the
# features or storage.
PLATFORM_PACKAGES = ("slack_bolt", "slack_sdk", "lark_oapi", "httpx", "requests", "urllib.request",
                     "starlette", "uvicorn", "websockets", "aibot")  # fmt: skip
MAY_USE_PLATFORM_PACKAGES = {"chat", "sources", "runtime"}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, including under `if TYPE_CHECKING:` and in functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _layer_of(module: str) -> str | None:
    for name, prefix in MODULE_OF_LAYER.items():
        if module == prefix or module.startswith(prefix + "."):
            return name
    return None


def _files(layer: str) -> list[Path]:
    return sorted((ROOT / LAYERS[layer][0]).rglob("*.py"))


ALL_FILES = [(layer, path) for layer in LAYERS for path in _files(layer)]


@pytest.mark.parametrize(
    ("layer", "path"), ALL_FILES, ids=[str(path.relative_to(ROOT)) for _, path in ALL_FILES]
)
def test_each_layer_imports_only_the_layers_below_it(layer: str, path: Path) -> None:
    allowed = {layer, *LAYERS[layer][1]}
    offending = sorted(
        module
        for module in _imports(path)
        if (other := _layer_of(module)) is not None and other not in allowed
    )
    assert offending == [], f"{path.relative_to(ROOT)} ({layer}) may not import {offending}"


@pytest.mark.parametrize(
    ("layer", "path"), ALL_FILES, ids=[str(path.relative_to(ROOT)) for _, path in ALL_FILES]
)
def test_platform_sdks_stay_in_the_chat_plugins_and_the_runtime(layer: str, path: Path) -> None:
    if layer in MAY_USE_PLATFORM_PACKAGES:
        return
    offending = sorted(name for name in _imports(path) if name.startswith(PLATFORM_PACKAGES))
    assert offending == [], f"{path.relative_to(ROOT)} ({layer}) may not import {offending}"


def test_a_chat_plugin_knows_no_other_plugin() -> None:
    """`bot/chat/slack` may use `bot/chat/base.py`, never `bot/chat/feishu`."""
    offending = []
    for path in _files("chat"):
        parts = path.relative_to(ROOT / "bot" / "chat").parts
        own = parts[0] if len(parts) > 1 else None
        for module in _imports(path):
            if not module.startswith("bot.chat."):
                continue
            other = module.split(".")[2]
            if other not in ("base", own) and own is not None:
                offending.append(f"{path.relative_to(ROOT)} → {module}")
    assert offending == []


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_imports_one_that_imports_it_back() -> None:
    """No import cycles, not even for type hints: each layer reads bottom-up."""
    modules = {_module_name(path): path for _, path in ALL_FILES}
    graph = {
        name: {m for m in _imports(path) if m in modules and m != name}
        for name, path in modules.items()
    }
    cycles = sorted(
        f"{a} ↔ {b}" for a, deps in graph.items() for b in deps if a in graph[b] and a < b
    )
    assert cycles == []


def test_the_layer_test_catches_a_chat_plugin_that_reaches_into_storage(tmp_path: Path) -> None:
    """The table would fail an adapter that imports storage (a guard for the guard)."""
    probe = ROOT / "bot" / "chat" / "slack" / "adapter.py"
    imports = _imports(probe) | {"storage.members"}
    allowed = {"chat", *LAYERS["chat"][1]}
    assert [m for m in imports if (layer := _layer_of(m)) and layer not in allowed] == [
        "storage.members"
    ]


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
