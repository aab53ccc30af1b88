"""The homeowner's order actions: the ticket in plain words, approve with a window,
decline, reschedule, cancel, the self-fix result, the visit's rating. Homeowners act on
their own homes' orders (any other answers like a missing one); operators may act on any
but rate none. The use case is functions.logic.tickets.OrderActions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from functions.api.access import HOMEOWNERS, HOMEOWNERS_AND_OPERATORS, Caller, Group
from functions.api.offers import decline_offer
from functions.api.routing import OwnerCheck, logger, route
from functions.common.wiring import dependencies
from schemas.homes import RatingRequest, SelfFixResult
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


def _may_act(caller: Caller, *, operators: bool = True) -> MayAct:
    """A homeowner acts on their own homes' orders; operators on any (when `operators`)."""
    return functools.partial(caller.may_act_on, operators=operators)


def _acting_on(*, operators: bool) -> Callable[[Caller, str], object]:
    """The route's owner check: the order is one the caller may act on (else the 404 of a
    missing one). The use case checks it on its own read; the route only for a bad body."""

    def check(caller: Caller, order_id: str) -> object:
        return dependencies().order_actions.owned(order_id, _may_act(caller, operators=operators))

    return check


def _order_action(
    action: str,
    body: type[BaseModel],
    summary: str,
    *,
    admits: frozenset[Group] = HOMEOWNERS_AND_OPERATORS,
    owner: OwnerCheck | None = None,
) -> Callable[[Callable[..., BaseModel]], Callable[..., dict[str, Any]]]:
    """Declare `POST /orders/{order_id}/<action>`: it takes `body` and answers the order.
    The use case checks who acts on its one read of the order; an `owner` check given here
    is made by the route only before a bad body is answered (a stranger's is a 404)."""
    return route(
        f"/orders/{{order_id}}/{action}",
        method="POST",
        admits=admits,
        answer=RepairOrder,
        body=body,
        summary=summary,
        errors=(400, 404, 409),
        owner=owner,
        owner_in_use_case=owner is not None,
    )


@route(
    "/orders/{order_id}/ticket",
    admits=HOMEOWNERS_AND_OPERATORS,
    answer=Ticket,
    summary="An order in plain words for its homeowner: safety advice, explanation, "
    "self-fix guide, parts, cost, windows to choose from and the actions allowed",
    errors=(404,),
)
def get_ticket(caller: Caller, order_id: str) -> Ticket:
    return dependencies().order_actions.ticket(order_id, _may_act(caller))


@_order_action(
    "approve",
    ApproveRequest,
    "Approve the repair with one of the ticket's windows: the technician is booked "
    "at once (the same approval again answers the order as it is)",
)
def post_approve(caller: Caller, request: ApproveRequest, order_id: str) -> RepairOrder:
    order = dependencies().order_actions.approve(
        order_id, request.window.as_window(), by=caller.principal.user_id, may_act=_may_act(caller)
    )
    logger.info("order approved", extra={"order_id": order_id, "status": order.status.value})
    return order


@_order_action(
    "decline",
    DeclineRequest,
    "Decline the repair, with a reason (its homeowner, an operator); a technician "
    "declines the offer made to them, with a reason, and the next candidate gets it",
    admits=HOMEOWNERS_AND_OPERATORS | {Group.TECHNICIAN},
)
def post_decline(caller: Caller, request: DeclineRequest, order_id: str) -> RepairOrder:
    if not (caller.is_in(Group.HOMEOWNER) or caller.is_in(Group.OPERATOR)):
        return decline_offer(caller, request.reason, order_id)
    order = dependencies().order_actions.decline(
        order_id, request.reason, by=caller.principal.user_id, may_act=_may_act(caller)
    )
    logger.info("order declined", extra={"order_id": order_id})
    return order


@_order_action(
    "reschedule",
    RescheduleRequest,
    "Move a booked visit to another free window of the same technician",
)
def post_reschedule(caller: Caller, request: RescheduleRequest, order_id: str) -> RepairOrder:
    order = dependencies().order_actions.reschedule(
        order_id, request.window.as_window(), by=caller.principal.user_id, may_act=_may_act(caller)
    )
    logger.info("order rescheduled", extra={"order_id": order_id})
    return order


@_order_action(
    "cancel",
    CancelRequest,
    "Cancel the repair before the technician is on site; the technician's booking "
    "and the reserved parts are released",
)
def post_cancel(caller: Caller, request: CancelRequest, order_id: str) -> RepairOrder:
    order = dependencies().order_actions.cancel(
        order_id, request.reason, by=caller.principal.user_id, may_act=_may_act(caller)
    )
    logger.info("order cancelled", extra={"order_id": order_id})
    return order


@_order_action(
    "self-fix",
    SelfFixResult,
    "The self-fix guide was tried: fixed closes the order, still_broken goes on to "
    "approval (dispatched at once when the home's policy approves)",
    owner=_acting_on(operators=True),
)
def post_self_fix(caller: Caller, result: SelfFixResult, order_id: str) -> RepairOrder:
    updated = dependencies().order_actions.self_fix(
        order_id, result.result, by=caller.principal.user_id, may_act=_may_act(caller)
    )
    logger.info("self-fix result", extra={"order_id": order_id, "result": result.result})
    return updated


@_order_action(
    "rating",
    RatingRequest,
    "Rate the completed visit 1 to 5 with a comment, once; it feeds the technician's profile",
    admits=HOMEOWNERS,
    owner=_acting_on(operators=False),
)
def post_rating(caller: Caller, rating: RatingRequest, order_id: str) -> RepairOrder:
    return dependencies().order_actions.rate(
        order_id,
        rating.stars,
        rating.comment,
        by=caller.principal.user_id,
        may_act=_may_act(caller, operators=False),
    )
