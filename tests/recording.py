"""A recording fake of the announcer's way out: a status publisher and a notifier that keep
what they are given, so an `Announcer` built on it tells nobody outside the test and the
test reads what would have gone out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from functions.dal.due import DueIndex
from functions.logic.announce import Announcer
from schemas.device import StatusMessage
from schemas.notifications import Notification
from schemas.orders import RepairOrder


@dataclass
class Recording:
    """Both a `StatusPublisher` and a `Notifier` (functions.logic.notify)."""

    published: list[tuple[str, StatusMessage]] = field(default_factory=list)
    sent: list[Notification] = field(default_factory=list)

    def publish(self, thing_name: str, message: StatusMessage) -> None:
        self.published.append((thing_name, message))

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)

    def announcer(
        self,
        clock: Callable[[], datetime],
        retries: DueIndex,
        timezone_of: Callable[[RepairOrder], str] = lambda _order: "UTC",
    ) -> Announcer:
        """An announcer whose status messages and notifications land here (what fails is
        still recorded in `retries`, as in production); times shown in `timezone_of`."""
        return Announcer(
            publisher=self, clock=clock, timezone_of=timezone_of, notifier=self, retries=retries
        )
