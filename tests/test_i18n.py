"""Both languages are complete: same keys, same placeholders, help for every command."""

from __future__ import annotations

import string

import pytest

from bot.core.i18n import CATALOGUES
from handlers.registry import ALL_FAMILIES


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_catalogues_have_the_same_keys() -> None:
    zh, en = CATALOGUES["zh-CN"], CATALOGUES["en"]
    assert set(zh) - set(en) == set()
    assert set(en) - set(zh) == set()


@pytest.mark.parametrize("key", sorted(CATALOGUES["en"]))
def test_translations_use_the_same_placeholders(key: str) -> None:
    assert _placeholders(CATALOGUES["zh-CN"][key]) == _placeholders(CATALOGUES["en"][key])


@pytest.mark.parametrize("locale", sorted(CATALOGUES))
def test_every_command_has_a_summary_usage_help_and_example(locale: str) -> None:
    catalogue = CATALOGUES[locale]
    for family in ALL_FAMILIES:
        assert f"{family.name}.summary" in catalogue
        subcommands = family.subcommands or [family.default]
        for subcommand in subcommands:
            assert subcommand is not None
            for part in ("usage", "help", "example"):
                assert f"{subcommand.catalogue_key}.{part}" in catalogue, (locale, subcommand)
            usage = catalogue[f"{subcommand.catalogue_key}.usage"]
            assert usage.startswith(f"/{family.name}"), usage
