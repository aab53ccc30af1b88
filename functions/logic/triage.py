"""The operators' triage queue: orders that need a look, rejected events, dead letters.

Read from the work-queue index (no Scan), the rejections' day partitions and the ingest
dead-letter queue; each item comes with what the operator can do next.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from functions.dal.dead_letters import DeadLetter, DeadLetterQueue
from functions.dal.orders import OrdersTable
from functions.dal.rejections import RejectionsTable
from functions.domain.triage import dead_letter_steps, order_steps, rejection_steps
from functions.logic.replay import fault_event_identity
from schemas.api import (
    TriageDeadLetter,
    TriageDeadLetters,
    TriageOrder,
    TriageOrders,
    TriageRejection,
    TriageRejections,
)
from schemas.orders import OrderStatus, RepairOrder, TriageFlag, TriageReason


def _reasons(order: RepairOrder) -> list[TriageFlag]:
    """The order's flags; an approved order no technician was offered to counts as one
    that found none, even if dispatch has not flagged it (yet)."""
    reasons = list(order.triage_reasons)
    no_technician = order.status is OrderStatus.APPROVED and order.offer is None
    if no_technician and all(r.reason is not TriageReason.NO_TECHNICIAN for r in reasons):
        reasons.append(
            TriageFlag(reason=TriageReason.NO_TECHNICIAN, detail="approved, no technician yet")
        )
    return reasons


def _triage_order(order: RepairOrder, reasons: list[TriageFlag]) -> TriageOrder:
    return TriageOrder(
        order_id=order.order_id,
        status=order.status,
        home_id=order.home_id,
        thing_name=order.thing_name,
        manufacturer=order.manufacturer,
        model=order.model,
        fault_code=order.fault_code,
        updated_at=order.updated_at,
        reasons=reasons,
        next_steps=order_steps([r.reason for r in reasons]),
    )


def _triage_letter(letter: DeadLetter) -> TriageDeadLetter:
    identity = fault_event_identity(letter.body)
    return TriageDeadLetter(
        message_id=letter.message_id,
        error=letter.error,
        attempts=letter.attempts,
        sent_at=letter.sent_at,
        thing_name=identity[0] if identity else None,
        event_id=identity[1] if identity else None,
        replayable=identity is not None,
        next_steps=dead_letter_steps(identity is not None),
    )


@dataclass
class TriageQueue:
    orders: OrdersTable
    rejections: RejectionsTable
    dead_letters: DeadLetterQueue | None  # None where no queue is configured

    def orders_to_triage(self) -> TriageOrders:
        """Every open order flagged for triage, whatever its status (an unknown code on a
        dispatched order too), and every approved order nobody was offered: the sparse
        triage index (functions.dal.keys.triage_index_keys), one Query per shard."""
        found = []
        for order in self.orders.list_to_triage():
            reasons = _reasons(order)
            if order.needs_triage or reasons:
                found.append(_triage_order(order, reasons))
        return TriageOrders(orders=found)

    def rejections_of(self, day: date) -> TriageRejections:
        rejections = self.rejections.list_day(day)
        return TriageRejections(
            day=day,
            counts=dict(Counter(r.reason for r in rejections)),
            rejections=[
                TriageRejection(rejection=r, next_steps=rejection_steps(r.reason))
                for r in rejections
            ],
        )

    def waiting_dead_letters(self) -> TriageDeadLetters:
        if self.dead_letters is None:
            return TriageDeadLetters(configured=False, dead_letters=[])
        letters = [_triage_letter(letter) for letter in self.dead_letters.peek()]
        return TriageDeadLetters(configured=True, dead_letters=letters)
