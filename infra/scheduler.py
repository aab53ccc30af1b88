"""Fires the template's schedules locally: moto stores EventBridge schedules but never fires
them. Rate expressions only (`rate(1 minute)`, `rate(5 minutes)`, `rate(1 hour)`...)."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.template import ScheduleSpec

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNITS = {"minute": "minutes", "hour": "hours", "day": "days"}


def rate_period(expression: str) -> timedelta:
    """The period of an EventBridge rate expression; ValueError for anything else."""
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"unsupported schedule expression {expression!r} (rate(...) only)")
    value, unit = int(match.group(1)), match.group(2)
    if value < 1:
        raise ValueError(f"schedule rate must be positive: {expression!r}")
    return timedelta(**{_UNITS.get(unit, unit): value})


def scheduled_event(spec: ScheduleSpec, at: datetime, region: str, account: str) -> dict[str, Any]:
    """The event EventBridge hands a scheduled function."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/{spec.name}"],
        "detail": {},
    }


@dataclass
class _Due:
    spec: ScheduleSpec
    period: timedelta
    next_at: datetime


class Scheduler:
    """Invokes each enabled schedule's function when due, via `fire(function, event)`.

    As EventBridge, the first run comes one period after the schedule was created, and runs
    missed while nobody looked (a paused process) are not made up, only the latest one.
    """

    def __init__(
        self,
        specs: list[ScheduleSpec],
        fire: Callable[[str, dict[str, Any]], object],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        region: str = "us-east-1",
        account: str = "123456789012",
    ) -> None:
        now = clock()
        self._due = [
            _Due(spec, period, now + period)
            for spec in specs
            if spec.enabled
            for period in [rate_period(spec.expression)]
        ]
        self._fire = fire
        self._clock = clock
        self._region, self._account = region, account
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def fire_due(self) -> list[str]:
        """Fire what is due now; the names of the schedules fired."""
        now = self._clock()
        fired = []
        for due in self._due:
            if due.next_at > now:
                continue
            self._fire(
                due.spec.function, scheduled_event(due.spec, now, self._region, self._account)
            )
            fired.append(due.spec.name)
            while due.next_at <= now:
                due.next_at += due.period
        return fired

    def start(self, poll_seconds: float = 1.0) -> Scheduler:
        def loop() -> None:
            while not self._stop.wait(poll_seconds):
                self.fire_due()

        self._thread = threading.Thread(target=loop, name="local-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
