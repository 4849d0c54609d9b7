"""Topic score and priority, exactly as SPEC §3."""

from __future__ import annotations

import pytest

from bot.core.config import ScoringWeights
from handlers.topics import score_topic

EQUAL = ScoringWeights()


@pytest.mark.parametrize(
    ("ratings", "score", "priority"),
    [
        ((5, 4, 4), 4.33, "high"),
        ((4, 4, 4), 4.0, "high"),
        ((5, 4, 3), 4.0, "high"),
        ((4, 4, 3), 3.67, "mid"),
        ((3, 2, 3), 2.67, "mid"),
        ((1, 3, 4), 2.67, "mid"),
        ((3, 2, 2), 2.33, "low"),
        ((1, 1, 1), 1.0, "low"),
        ((5, 5, 5), 5.0, "high"),
    ],
)
def test_equal_weights(ratings: tuple[int, int, int], score: float, priority: str) -> None:
    t, v, c = ratings
    result = score_topic(timeliness=t, value=v, conversion=c, weights=EQUAL)
    assert (result.score, result.priority) == (score, priority)


def test_boundaries_are_exact_with_fractional_weights() -> None:
    # 0.1*5 + 0.7*4 + 0.2*1 = 3.5 exactly in decimal; 0.1 + 0.7 + 0.2 is 0.9999… in floats.
    weights = ScoringWeights(timeliness=0.1, value=0.7, conversion=0.2)
    assert score_topic(timeliness=5, value=4, conversion=1, weights=weights).score == 3.5
    # 0.3*4 + 0.3*4 + 0.4*4 must be exactly 4.0 → high, never 3.9999… → mid
    weights = ScoringWeights(timeliness=0.3, value=0.3, conversion=0.4)
    assert score_topic(timeliness=4, value=4, conversion=4, weights=weights).priority == "high"


def test_a_zero_weight_ignores_that_rating() -> None:
    weights = ScoringWeights(timeliness=0, value=1, conversion=1)
    assert score_topic(timeliness=1, value=5, conversion=5, weights=weights).score == 5.0
