"""The one reader of metric values (`bot/vocab/metrics.py:read_value`), spelling by spelling.

Each spelling is either read as exactly one value or refused with the reason a person can
act on: not a number, a comma that is not a thousands group, or a negative value.
"""

from __future__ import annotations

import pytest

from bot.vocab.errors import InputError
from bot.vocab.metrics import NEGATIVE, NOT_A_GROUP, NOT_A_NUMBER, parse_value, read_value

READ: list[tuple[str, float]] = [
    ("12000", 12000),
    ("0", 0),
    ("007", 7),
    ("12,000", 12000),
    ("12，000", 12000),  # the full-width comma of a Chinese keyboard
    ("1,234,567", 1234567),
    ("999,999", 999999),
    ("12,000.5", 12000.5),
    ("12000.5", 12000.5),
    ("0.5", 0.5),
    ("1.2万", 12000),
    ("1.2w", 12000),
    ("1.2W", 12000),
    ("3万", 30000),
    ("0.7万", 7000),  # exact: decimal arithmetic, not 7000.000000000001
    ("3.5k", 3500),
    ("3.5K", 3500),
    ("3.5千", 3500),
    ("1.5亿", 150_000_000),
    ("2亿", 200_000_000),
    ("1,200万", 12_000_000),
    ("1.2 万", 12000),
    ("  42 ", 42),
    ("１２０００", 12000),  # full-width digits
    ("１２，０００", 12000),
    ("3.5ｋ", 3500),
    ("-0", 0),
    ("1234.5678", 1234.5678),
]

REFUSED: list[tuple[str, str]] = [
    ("1,2", NOT_A_GROUP),
    ("12,00", NOT_A_GROUP),
    ("1,2345", NOT_A_GROUP),
    ("12,0000", NOT_A_GROUP),
    ("1,23,456", NOT_A_GROUP),  # Indian grouping: not ours, so not guessed
    ("1,,000", NOT_A_GROUP),
    (",123", NOT_A_GROUP),
    ("12,000,", NOT_A_GROUP),
    ("1，2", NOT_A_GROUP),
    ("1.234,5", NOT_A_GROUP),
    ("1,2万", NOT_A_GROUP),
    ("-5", NEGATIVE),
    ("-12,000", NEGATIVE),
    ("－5", NEGATIVE),  # full-width minus
    ("−5", NEGATIVE),  # U+2212 MINUS SIGN
    ("-1.2万", NEGATIVE),
    ("abc", NOT_A_NUMBER),
    ("", NOT_A_NUMBER),
    ("   ", NOT_A_NUMBER),
    ("1.2.3", NOT_A_NUMBER),
    (".5", NOT_A_NUMBER),
    ("5.", NOT_A_NUMBER),
    ("1e5", NOT_A_NUMBER),
    ("12%", NOT_A_NUMBER),
    ("+5", NOT_A_NUMBER),
    ("1.2m", NOT_A_NUMBER),
    ("1.2千万", NOT_A_NUMBER),
    ("一万", NOT_A_NUMBER),  # Chinese numerals are out of scope
    ("1²", NOT_A_NUMBER),  # not read as 12
    ("12 000", NOT_A_NUMBER),
    ("inf", NOT_A_NUMBER),
    ("nan", NOT_A_NUMBER),
    ("-abc", NOT_A_NUMBER),
    ("1" + "0" * 400, NOT_A_NUMBER),  # overflows a float
]


@pytest.mark.parametrize(("text", "expected"), READ)
def test_spellings_that_are_read(text: str, expected: float) -> None:
    assert read_value(text) == expected
    assert parse_value(text) == expected


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_spellings_that_are_refused_with_their_reason(text: str, reason: str) -> None:
    with pytest.raises(InputError) as refused:
        read_value(text)
    assert refused.value.message_key == reason
    assert refused.value.params == {"value": text.strip()[:30]}
    assert parse_value(text) is None


def test_the_table_is_large_enough_to_mean_something() -> None:
    assert len(READ) + len(REFUSED) >= 30
    assert {reason for _, reason in REFUSED} == {NOT_A_NUMBER, NOT_A_GROUP, NEGATIVE}
