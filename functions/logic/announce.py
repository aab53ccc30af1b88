"""Telling people where an order is after a change made through the API (an approval, a
cancellation, a technician's step): the appliance's display over MQTT.

Ingest tells the appliance itself, with its fault event's marker to retry on; changes made
here have no fault event, so they are announced through this one place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from functions.logic.notify import StatusPublisher, status_message
from schemas.orders import RepairOrder

logger = logging.getLogger(__name__)


@dataclass
class Announcer:
    publisher: StatusPublisher
    clock: Callable[[], datetime]

    def order_changed(self, order: RepairOrder) -> None:
        """Show the order's status on its appliance. The change is already written, so a
        failed publish must not fail the request that made it."""
        try:
            self.publisher.publish(
                order.thing_name, status_message(order, order.event_ids[0], self.clock())
            )
        except Exception:
            logger.exception("status of order %s not published", order.order_id)
