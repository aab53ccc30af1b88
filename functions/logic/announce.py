"""Telling people where an order is after a change: the appliance's display over MQTT, and
the homeowner (or the operators) by notification.

Ingest tells the appliance itself, with its fault event's marker to retry on; changes made
elsewhere (the API, a technician's step, the sweeper's timers) have no fault event, so they
are announced through this one place. The change is already written when it is announced,
so a failed publish never fails the change: what failed is recorded in the orders table (a
retry item in the `due` index) and the sweeper sends it again, the status as it is then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from functions.dal.due import DueIndex
from functions.dal.registry import RegistryTable
from functions.domain.notifications import KIND_OF_STATUS, fits, notification
from functions.logic.notify import Notifier, StatusPublisher, status_message
from schemas.notifications import NotificationKind, Recipient
from schemas.orders import RepairOrder

logger = logging.getLogger(__name__)

# What a retry item holds: the status message, or one notification (kind and recipient).
STATUS = "status"


def notification_part(kind: NotificationKind, recipient: Recipient) -> str:
    return f"notification:{kind.value}:{recipient.value}"


def _parse_notification_part(part: str) -> tuple[NotificationKind, Recipient] | None:
    prefix, _, rest = part.partition(":")
    kind, _, recipient = rest.partition(":")
    if prefix != "notification":
        return None
    try:
        return NotificationKind(kind), Recipient(recipient or Recipient.HOMEOWNER)
    except ValueError:
        return None


def home_timezone(registry: RegistryTable) -> Callable[[RepairOrder], str]:
    """The order's home's IANA zone from the registry's home copy (read through its
    one-minute cache); UTC for an appliance no longer registered."""

    def zone(order: RepairOrder) -> str:
        registered = registry.get_appliance(order.thing_name)
        return registered.home.timezone if registered is not None else "UTC"

    return zone


@dataclass
class Announcer:
    publisher: StatusPublisher
    clock: Callable[[], datetime]
    # The home's IANA zone for an order (the registry's home copy): times are shown in it.
    timezone_of: Callable[[RepairOrder], str]
    notifier: Notifier
    retries: DueIndex  # where failures are recorded, for the sweeper to send again
    web_url: str = "http://localhost:8000"

    def order_changed(self, order: RepairOrder) -> None:
        """Show the order's status on its appliance and send the homeowner the news that
        fits it (dispatched with the window and an .ics file, en route, completed...)."""
        failed = set() if self._publish_status(order) else {STATUS}
        kind = KIND_OF_STATUS.get(order.status)
        if kind is not None and not self._send(order, kind, Recipient.HOMEOWNER):
            failed.add(notification_part(kind, Recipient.HOMEOWNER))
        self._record(order, failed)

    def nobody_took(self, order: RepairOrder) -> None:
        """An approved order nobody (more) can take, now in the operators' queue: its
        display, the homeowner told what happens next (and what to do meanwhile), the
        operators asked to assign someone."""
        self.order_changed(order)
        self.notify(order, NotificationKind.NO_TECHNICIAN, Recipient.HOMEOWNER)
        self.notify(order, NotificationKind.NO_TECHNICIAN, Recipient.OPERATOR)

    def notify(
        self,
        order: RepairOrder,
        kind: NotificationKind,
        recipient: Recipient = Recipient.HOMEOWNER,
    ) -> None:
        """Send one notification about the order; a failure is recorded to send again."""
        if not self._send(order, kind, recipient):
            self._record(order, {notification_part(kind, recipient)})

    def resend(self, order: RepairOrder, parts: Iterable[str]) -> set[str]:
        """Send again what a retry item holds, about the order as it is now: its current
        status, and the notifications still true of it (a later change sent its own news).
        Returns the parts that failed again (nothing is recorded: the caller keeps them)."""
        failed: set[str] = set()
        for part in parts:
            if part == STATUS:
                if not self._publish_status(order):
                    failed.add(part)
                continue
            parsed = _parse_notification_part(part)
            if parsed is None or not fits(parsed[0], order):
                continue  # superseded, or not ours to understand: dropped
            if not self._send(order, *parsed):
                failed.add(part)
        return failed

    def _publish_status(self, order: RepairOrder) -> bool:
        try:
            self.publisher.publish(
                order.thing_name,
                status_message(
                    order, order.event_ids[0], self.clock(), timezone=self.timezone_of(order)
                ),
            )
        except Exception:
            logger.exception("status of order %s not published", order.order_id)
            return False
        return True

    def _send(self, order: RepairOrder, kind: NotificationKind, recipient: Recipient) -> bool:
        try:
            self.notifier.send(
                notification(
                    order,
                    kind,
                    web_url=self.web_url,
                    now=self.clock(),
                    recipient=recipient,
                    timezone=self.timezone_of(order),
                )
            )
        except Exception:
            logger.exception("%s notification of order %s not sent", kind.value, order.order_id)
            return False
        return True

    def _record(self, order: RepairOrder, failed: set[str]) -> None:
        if not failed:
            return
        try:
            self.retries.record_retry(order.order_id, failed, due_at=self.clock())
        except Exception:
            logger.exception(
                "order %s: could not record %s for a retry", order.order_id, sorted(failed)
            )
