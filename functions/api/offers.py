"""Offers: the technician accepts (or declines, through POST /orders/{order_id}/decline,
which the homeowner's decline shares) the offer made to them; an operator assigns a
technician by hand. The use case is functions.logic.offers.OfferDesk.

A technician sees only their own offers: anyone else's, or none, answers like a missing
order (404).
"""

from __future__ import annotations

from functions.api.access import OPERATORS, Caller, Group
from functions.api.routing import logger, route
from functions.common.wiring import dependencies
from functions.logic.errors import OrderNotFound
from schemas.orders import RepairOrder
from schemas.tickets import AssignRequest


def _technician(caller: Caller, order_id: str) -> str:
    technician_id = caller.technician_id
    if technician_id is None:  # in the group but no profile yet: no offer is theirs
        raise OrderNotFound(order_id)
    return technician_id


@route(
    "/orders/{order_id}/accept",
    method="POST",
    admits=frozenset({Group.TECHNICIAN}),
    answer=RepairOrder,
    summary="The caller accepts the offer made to them before its deadline: the order is "
    "dispatched to them (two accepts at once: one wins, the other gets 409)",
    errors=(404, 409),
)
def post_accept(caller: Caller, order_id: str) -> RepairOrder:
    order = dependencies().offer_desk.accept(order_id, _technician(caller, order_id))
    logger.info("offer accepted", extra={"order_id": order_id})
    return order


def decline_offer(caller: Caller, reason: str, order_id: str) -> RepairOrder:
    """A technician's POST /orders/{order_id}/decline (functions.api.tickets declares it)."""
    order = dependencies().offer_desk.decline(order_id, _technician(caller, order_id), reason)
    logger.info("offer declined", extra={"order_id": order_id, "status": order.status.value})
    return order


@route(
    "/orders/{order_id}/assign",
    method="POST",
    admits=OPERATORS,
    answer=RepairOrder,
    body=AssignRequest,
    summary="An operator books a technician by hand for an approved order (from the triage "
    "queue, or withdrawing a pending offer); the technician must be eligible unless `force`, "
    "and free at the window",
    errors=(400, 404, 409),
)
def post_assign(caller: Caller, request: AssignRequest, order_id: str) -> RepairOrder:
    order = dependencies().offer_desk.assign(
        order_id,
        request.technician_id,
        window=request.window.as_window() if request.window else None,
        force=request.force,
        by=caller.principal.user_id,
    )
    logger.info("order assigned", extra={"order_id": order_id, "force": request.force})
    return order
