"""The homeowner's order actions: the ticket in plain words, approve with a window,
decline, reschedule, cancel. Homeowners act on their own homes' orders (any other answers
like a missing one); operators may act on any. The use case is functions.logic.tickets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.api.access import HOMEOWNERS_AND_OPERATORS, Caller
from functions.api.routing import logger, parsed_body, route, tracer
from functions.common.wiring import dependencies
from schemas.orders import RepairOrder
from schemas.tickets import (
    ApproveRequest,
    CancelRequest,
    DeclineRequest,
    RescheduleRequest,
    Ticket,
)

if TYPE_CHECKING:
    from functions.logic.tickets import MayAct


def _may_act(caller: Caller) -> MayAct:
    """Operators act on any order; a homeowner on their own homes' orders."""
    return caller.may_act_on


@route(
    "/orders/{order_id}/ticket",
    admits=HOMEOWNERS_AND_OPERATORS,
    answer=Ticket,
    summary="An order in plain words for its homeowner: safety advice, explanation, "
    "self-fix guide, parts, cost, windows to choose from and the actions allowed",
    errors=(404,),
)
@tracer.capture_method
def get_ticket(caller: Caller, order_id: str) -> Ticket:
    return dependencies().order_actions.ticket(order_id, _may_act(caller))


@route(
    "/orders/{order_id}/approve",
    method="POST",
    admits=HOMEOWNERS_AND_OPERATORS,
    answer=RepairOrder,
    body=ApproveRequest,
    summary="Approve the repair with one of the ticket's windows: the technician is booked "
    "at once (the same approval again answers the order as it is)",
    errors=(400, 404, 409),
)
@tracer.capture_method
def post_approve(caller: Caller, order_id: str) -> RepairOrder:
    request: ApproveRequest = parsed_body(ApproveRequest)
    order = dependencies().order_actions.approve(
        order_id, request.window.as_window(), by=caller.principal.user_id, may_act=_may_act(caller)
    )
    logger.info("order approved", extra={"order_id": order_id, "status": order.status.value})
    return order


@route(
    "/orders/{order_id}/decline",
    method="POST",
    admits=HOMEOWNERS_AND_OPERATORS,
    answer=RepairOrder,
    body=DeclineRequest,
    summary="Decline the repair, with a reason",
    errors=(400, 404, 409),
)
@tracer.capture_method
def post_decline(caller: Caller, order_id: str) -> RepairOrder:
    request: DeclineRequest = parsed_body(DeclineRequest)
    order = dependencies().order_actions.decline(
        order_id, request.reason, by=caller.principal.user_id, may_act=_may_act(caller)
    )
    logger.info("order declined", extra={"order_id": order_id})
    return order


@route(
    "/orders/{order_id}/reschedule",
    method="POST",
    admits=HOMEOWNERS_AND_OPERATORS,
    answer=RepairOrder,
    body=RescheduleRequest,
    summary="Move a booked visit to another free window of the same technician",
    errors=(400, 404, 409),
)
@tracer.capture_method
def post_reschedule(caller: Caller, order_id: str) -> RepairOrder:
    request: RescheduleRequest = parsed_body(RescheduleRequest)
    order = dependencies().order_actions.reschedule(
        order_id, request.window.as_window(), by=caller.principal.user_id, may_act=_may_act(caller)
    )
    logger.info("order rescheduled", extra={"order_id": order_id})
    return order


@route(
    "/orders/{order_id}/cancel",
    method="POST",
    admits=HOMEOWNERS_AND_OPERATORS,
    answer=RepairOrder,
    body=CancelRequest,
    summary="Cancel the repair before the technician is on site; the technician's booking "
    "and the reserved parts are released",
    errors=(400, 404, 409),
)
@tracer.capture_method
def post_cancel(caller: Caller, order_id: str) -> RepairOrder:
    request: CancelRequest = parsed_body(CancelRequest)
    order = dependencies().order_actions.cancel(
        order_id, request.reason, by=caller.principal.user_id, may_act=_may_act(caller)
    )
    logger.info("order cancelled", extra={"order_id": order_id})
    return order
