"""Status messages to the appliance's display."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from functions.domain.localtime import local_window
from schemas.device import StatusMessage
from schemas.notifications import Notification
from schemas.orders import OfferStatus, OrderStatus, RepairOrder


class StatusPublisher(Protocol):
    def publish(self, thing_name: str, message: StatusMessage) -> None: ...


class Notifier(Protocol):
    """Sends a notification to the people it is for (functions.common.notifier: SNS)."""

    def send(self, notification: Notification) -> None: ...


def _when(order: RepairOrder, timezone: str) -> str:
    if order.offer is None:
        return ""
    return local_window(order.offer.window, timezone)


def display_text(order: RepairOrder, timezone: str = "UTC") -> str:
    title = order.diagnosis.title or f"Fault {order.fault_code}"
    texts = {
        OrderStatus.AWAITING_APPROVAL: (
            f"{title}. Try the self-fix guide in the app; a repair is on hold."
            if order.diagnosis.self_fix
            else f"{title}. Repair ticket opened: approve it in the app."
        ),
        OrderStatus.APPROVED: f"{title}. Repair approved; finding a technician.",
        OrderStatus.OFFERED: f"{title}. Waiting for a technician to confirm.",
        OrderStatus.DISPATCHED: (
            f"Technician {order.offer.technician_name if order.offer else ''} booked "
            f"{_when(order, timezone)}."
        ),
    }
    text = texts.get(order.status, f"Repair {order.status.value.replace('_', ' ')}.")
    return text[:160]


def status_message(
    order: RepairOrder, event_id: str, now: datetime, *, timezone: str
) -> StatusMessage:
    """The appliance's display text, its times in the home's `timezone`. The technician and
    window are shown once someone accepted; a pending offer is no booking yet (the display
    says a technician is being asked)."""
    offer = order.offer if order.offer and order.offer.status is OfferStatus.ACCEPTED else None
    return StatusMessage(
        order_id=order.order_id,
        event_id=event_id,
        status=order.status.value,
        display=display_text(order, timezone),
        technician=offer.technician_name if offer else None,
        window_start=offer.window.start if offer else None,
        window_end=offer.window.end if offer else None,
        sent_at=now,
    )
