"""Finish fault events whose follow-up work got stuck: approved orders never dispatched,
orders whose status message never reached the appliance."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from functions.dal.orders import OrdersTable
from functions.logic.ingest import IN_FLIGHT, FaultIngestor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    stuck: int  # unsettled for longer than an invocation can run
    finished: int
    failed: int  # left for the next run (logged)


@dataclass
class StuckOrderSweeper:
    orders: OrdersTable
    ingestor: FaultIngestor
    clock: Callable[[], datetime]
    batch: int = 100

    def sweep(self) -> SweepReport:
        """Finish the oldest events unsettled for longer than IN_FLIGHT (younger ones may
        still be in the hands of their invocation)."""
        stuck = self.orders.unsettled_events(self.clock() - IN_FLIGHT, limit=self.batch)
        finished = failed = 0
        for event in stuck:
            try:
                self.ingestor.finish_unsettled(event.thing_name, event.event_id, event.order_id)
            except Exception:
                failed += 1
                logger.exception(
                    "could not finish a stuck event; the next sweep tries again",
                    extra={"event_id": event.event_id, "order_id": event.order_id},
                )
            else:
                finished += 1
        return SweepReport(stuck=len(stuck), finished=finished, failed=failed)
