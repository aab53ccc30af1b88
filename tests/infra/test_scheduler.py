"""The local scheduler fires the template's schedules on their rate, by a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.scheduler import Scheduler, rate_period
from infra.template import ScheduleSpec, load_template, queue_sources, schedules


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_the_template_schedules_the_sweeper_every_minute() -> None:
    [spec] = schedules(load_template())
    assert spec.function == "SweepStuckOrdersFunction"
    assert rate_period(spec.expression) == timedelta(minutes=1)


def test_the_template_feeds_the_dead_letters_to_the_replay_function() -> None:
    [source] = queue_sources(load_template())
    assert source.function == "ReplayDeadLettersFunction"
    assert source.queue == "IngestDeadLetterQueue"
    assert source.report_batch_item_failures


@pytest.mark.parametrize(
    ("expression", "period"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(2 hours)", timedelta(hours=2)),
        ("rate(1 day)", timedelta(days=1)),
    ],
)
def test_rate_expressions(expression: str, period: timedelta) -> None:
    assert rate_period(expression) == period


@pytest.mark.parametrize("expression", ["cron(0 12 * * ? *)", "rate(0 minutes)", "every minute"])
def test_other_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ValueError, match="schedule"):
        rate_period(expression)


def test_a_schedule_fires_once_per_period_from_one_period_after_creation() -> None:
    clock = FakeClock()
    fired: list[tuple[str, dict]] = []
    spec = ScheduleSpec(name="SweepEveryMinute", function="Sweep", expression="rate(1 minute)")
    scheduler = Scheduler([spec], lambda f, e: fired.append((f, e)), clock=clock)
    assert scheduler.fire_due() == []
    clock.now += timedelta(seconds=59)
    assert scheduler.fire_due() == []
    clock.now += timedelta(seconds=1)
    assert scheduler.fire_due() == ["SweepEveryMinute"]
    assert scheduler.fire_due() == []  # not twice for the same minute
    [(function, event)] = fired
    assert function == "Sweep" and event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events" and event["time"] == "2026-01-01T00:01:00Z"


def test_missed_runs_are_not_made_up() -> None:
    clock = FakeClock()
    fired: list[str] = []
    spec = ScheduleSpec(name="S", function="F", expression="rate(1 minute)")
    scheduler = Scheduler([spec], lambda f, e: fired.append(f), clock=clock)
    clock.now += timedelta(minutes=10, seconds=30)
    assert scheduler.fire_due() == ["S"]
    clock.now += timedelta(seconds=29)
    assert scheduler.fire_due() == []
    clock.now += timedelta(seconds=1)
    assert scheduler.fire_due() == ["S"]


def test_a_disabled_schedule_never_fires() -> None:
    clock = FakeClock()
    spec = ScheduleSpec(name="S", function="F", expression="rate(1 minute)", enabled=False)
    scheduler = Scheduler([spec], lambda f, e: None, clock=clock)
    clock.now += timedelta(hours=1)
    assert scheduler.fire_due() == []
