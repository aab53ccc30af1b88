"""An order as its homeowner sees it: the estimate and what they may do next. Plain Python.

The labour rate is a constant here (not catalog data): one rate per visit hour for every
trade, until prices differ by trade or region.
"""

from __future__ import annotations

from functions.domain.matching import VISIT_LENGTH
from schemas.orders import OrderStatus, RepairOrder
from schemas.tickets import Action, TicketCost

LABOUR_RATE_PER_HOUR = 65.0  # EUR per visit hour
CANCELLABLE = frozenset(
    {
        OrderStatus.AWAITING_APPROVAL,
        OrderStatus.APPROVED,
        OrderStatus.OFFERED,
        OrderStatus.DISPATCHED,
        OrderStatus.EN_ROUTE,
    }
)
# Before the approval: the homeowner chooses a window (approved: a policy approved it, but
# nobody was found or it waits in the operators' queue; the homeowner may still choose).
APPROVABLE = frozenset({OrderStatus.AWAITING_APPROVAL, OrderStatus.APPROVED})
# A booked visit: the technician holds a window.
BOOKED = frozenset({OrderStatus.DISPATCHED, OrderStatus.EN_ROUTE, OrderStatus.ON_SITE})


def estimate(order: RepairOrder) -> TicketCost:
    """Parts plus labour for one visit; the warranty covers both while it runs."""
    parts = round(sum(p.unit_price * p.quantity for p in order.parts.parts), 2)
    labour = round(LABOUR_RATE_PER_HOUR * VISIT_LENGTH.total_seconds() / 3600, 2)
    total = round(parts + labour, 2)
    covered = total if order.under_warranty else 0.0
    return TicketCost(
        parts=parts, labour=labour, total=total, warranty_covers=covered, to_pay=total - covered
    )


def allowed_actions(order: RepairOrder, *, windows_offered: bool) -> list[Action]:
    """The actions the homeowner may take on the order now, in the order a page shows them."""
    status = order.status
    actions: list[Action] = []
    if status in APPROVABLE and windows_offered:
        actions.append("approve")
    if status is OrderStatus.AWAITING_APPROVAL:
        actions.append("decline")
        if order.diagnosis.self_fix and not order.self_fix_tried:
            actions.append("self_fix")
    if status is OrderStatus.DISPATCHED and windows_offered:
        actions.append("reschedule")
    if status in CANCELLABLE:
        actions.append("cancel")
    if status is OrderStatus.COMPLETED and order.rating is None:
        actions.append("rate")
    return actions
