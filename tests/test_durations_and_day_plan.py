"""Task estimates and the day plan: Q1→Q4, a timeline from the workday start, lunch skipped."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.core.config import WorkdaySettings
from bot.vocab.durations import format_minutes, parse_estimate
from bot.vocab.errors import InputError as CommandError
from handlers.day_plan import plan_day
from storage.models import Task

MONDAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("word", "minutes"),
    [("~30m", 30), ("~2h", 120), ("~1.5h", 90), ("~1h30m", 90), ("~90min", 90),
     ("~2小时", 120), ("~30分钟", 30), ("~1.5小时", 90), ("~半小时", 30), ("～45m", 45)],
)  # fmt: skip
def test_estimates(word: str, minutes: int) -> None:
    assert parse_estimate(word) == minutes


@pytest.mark.parametrize("word", ["~-3h", "~0m", "~abc", "~17h", "~1.25m", "~h", "~2h~", "~2x"])
def test_bad_estimates_are_refused(word: str) -> None:
    with pytest.raises(CommandError) as error:
        parse_estimate(word)
    assert error.value.message_key == "errors.bad_estimate"


def test_minutes_are_shown_the_way_people_write_them() -> None:
    assert [format_minutes(m) for m in (30, 60, 90, 120, 100)] == [
        "30m",
        "1h",
        "1.5h",
        "2h",
        "1h40m",
    ]


def _task(
    task_id: int, quadrant: str, minutes: int | None, day: date = MONDAY, status: str = "open"
) -> Task:
    stamp = datetime(2026, 11, 23, tzinfo=UTC)
    return Task(
        id=task_id, team_id="content", owner="alice", text=f"t{task_id}", quadrant=quadrant,
        estimate_minutes=minutes, day=day, status=status, created_by="alice",
        created_at=stamp, updated_at=stamp,
    )  # fmt: skip


def _slots(plan) -> list[tuple[str, str | None, str | None, int]]:  # type: ignore[no-untyped-def]
    return [
        (
            item.task.text,
            item.start.strftime("%H:%M") if item.start else None,
            item.end.strftime("%H:%M") if item.end else None,
            item.waited_days,
        )
        for item in plan.items
    ]


def test_the_example_day_from_the_digest_mock_up() -> None:
    tasks = [
        _task(4, "q3", 30),
        _task(3, "q2", 90, day=date(2026, 11, 21)),
        _task(2, "q1", 30),
        _task(1, "q1", 120),
    ]
    plan = plan_day(tasks, day=MONDAY, workday=WorkdaySettings())

    assert _slots(plan) == [
        ("t1", "09:30", "11:30", 0),
        ("t2", "11:30", "12:00", 0),
        ("t3", "13:30", "15:00", 2),
        ("t4", "15:00", "15:30", 0),
    ]
    assert plan.total_minutes == 270
    assert not plan.over_limit


def test_a_task_that_crosses_lunch_resumes_after_it() -> None:
    plan = plan_day([_task(1, "q1", 180)], day=MONDAY, workday=WorkdaySettings())
    assert _slots(plan) == [("t1", "09:30", "14:00", 0)]


def test_unestimated_tasks_take_no_time_and_done_ones_are_counted_apart() -> None:
    tasks = [_task(1, "q1", None), _task(2, "q2", 60), _task(3, "q1", 60, status="done")]
    plan = plan_day(tasks, day=MONDAY, workday=WorkdaySettings(start=time(10, 0)))
    assert _slots(plan) == [("t1", None, None, 0), ("t2", "10:00", "11:00", 0)]
    assert [task.text for task in plan.done] == ["t3"]
    assert plan.total_minutes == 60


def test_more_than_the_limit_is_flagged_and_a_day_never_runs_past_midnight() -> None:
    plan = plan_day(
        [_task(1, "q1", 16 * 60), _task(2, "q2", 60)], day=MONDAY, workday=WorkdaySettings()
    )
    assert plan.over_limit
    assert _slots(plan)[1] == ("t2", None, None, 0)
    assert not plan_day([_task(1, "q1", 8 * 60)], day=MONDAY, workday=WorkdaySettings()).over_limit
