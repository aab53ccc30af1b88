"""The use cases' errors, in one place: what a caller asked for that the use case refuses
(a missing or foreign order, home or appliance, a step the order's status does not take, a
malformed cursor, too many attempts), beside the domain's own (functions.domain.errors).
The API maps each to its answer (functions.api.routing.ERROR_ANSWERS).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemas.orders import OrderStatus


# ---------------------------------------------------------------------- orders


class OrderNotFound(Exception):
    """No such order, or not the caller's: the same answer (404)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order {order_id}")
        self.order_id = order_id


class NotAssigned(Exception):
    """Only the technician the order is dispatched to may move it on."""

    def __init__(self, order_id: str, technician_id: str) -> None:
        super().__init__(f"order {order_id} is not dispatched to {technician_id}")
        self.order_id = order_id
        self.technician_id = technician_id


class UnknownCause(Exception):
    """A completion must name one of the causes the catalog knows for the fault code."""


class OrderClosed(Exception):
    """The order is over (cancelled, declined, expired...): nothing can be done on it, and a
    repeated request never reports success (409, naming the closed status)."""

    def __init__(self, order_id: str, status: OrderStatus, action: str) -> None:
        super().__init__(
            f"order {order_id} is closed ({status.value}): it can no longer be {action}"
        )
        self.order_id = order_id
        self.status = status


class AlreadyApproved(Exception):
    """The order was approved for another window; reschedule it instead."""

    def __init__(self, order_id: str, status: OrderStatus) -> None:
        super().__init__(
            f"order {order_id} is already approved and {status.value} for another window; "
            "reschedule it to change the window"
        )
        self.order_id = order_id


class NotBooked(Exception):
    """Only a dispatched order (a technician booked, not yet on the way) is rescheduled."""

    def __init__(self, order_id: str, status: OrderStatus) -> None:
        super().__init__(
            f"order {order_id} is {status.value}: only a dispatched visit can be rescheduled"
        )
        self.order_id = order_id


class UnknownTechnician(Exception):
    """An operator named a technician who has no profile (400)."""

    def __init__(self, technician_id: str) -> None:
        super().__init__(f"no technician {technician_id}")
        self.technician_id = technician_id


class RefusedChange(Exception):
    """The order (or appliance) is not in a state that allows this change (409)."""


# ---------------------------------------------------------------------- homes


class BadCursor(ValueError):
    """A `cursor` this API did not hand out (400)."""


class UnknownHome(Exception):
    """The caller owns the home but it is not registered (404, like any unknown home)."""

    def __init__(self, home_id: str) -> None:
        super().__init__(f"no home {home_id}")
        self.home_id = home_id


class ApplianceNotFound(Exception):
    """No such appliance, a wrong serial, or someone else's appliance: one answer (404)."""

    def __init__(self, thing_name: str) -> None:
        super().__init__(f"no appliance {thing_name}")
        self.thing_name = thing_name


class TooManyAttempts(Exception):
    """Too many failed pairings by this user in the current window (429)."""

    def __init__(self, retry_after: timedelta) -> None:
        minutes = max(1, math.ceil(retry_after.total_seconds() / 60))
        super().__init__(
            f"too many failed pairing attempts; try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}"
        )
        self.retry_after = retry_after


# ---------------------------------------------------------------------- dead letters


class NotAFaultEvent(ValueError):
    """A dead letter that is no ingest invocation's event (e.g. an IoT rule's error action):
    replaying it can never succeed, so it is reported rather than retried."""
