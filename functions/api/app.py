"""HTTP API. Lambda handler: `functions.api.app.app` (a chalice app is a Lambda handler).

Routes are declared with `functions.api.routing.route`; the views of everyone, operators
and technicians are here, the homeowner's in their own modules, imported at the end so
their routes register on the app.
"""

from __future__ import annotations

from chalice import BadRequestError

from functions.api.access import EVERYONE, OPERATORS, Caller, Group
from functions.api.routing import (
    ROUTES,
    WEB_ORIGIN,
    Route,
    app,
    day_param,
    logger,
    query_param,
    route,
)
from functions.common.snapstart import register_runtime_hooks
from functions.common.wiring import dependencies
from functions.dal.keys import LISTED_STATUSES
from functions.logic.errors import OrderNotFound
from schemas.api import (
    DayRejections,
    RouteEntry,
    RouteIndex,
    StatusOrders,
    TriageDeadLetters,
    TriageOrders,
    TriageRejections,
)
from schemas.orders import OrderStatus, ProgressUpdate, RepairOrder

register_runtime_hooks()

__all__ = ["ROUTES", "WEB_ORIGIN", "Route", "app"]


@route("/", admits=EVERYONE, answer=RouteIndex, summary="The routes open to the caller")
def index(caller: Caller) -> RouteIndex:
    return RouteIndex(
        routes=[
            RouteEntry(method=r.method, path=r.path, summary=r.summary, groups=sorted(r.admits))
            for r in ROUTES
            if any(caller.is_in(g) for g in r.admits)
        ]
    )


@route(
    "/orders/{order_id}",
    admits=EVERYONE,
    answer=RepairOrder,
    summary="An order: for its homeowner, its technician, its appliance's manufacturer, operators",
    errors=(404,),
)
def get_order(caller: Caller, order_id: str) -> RepairOrder:
    order = dependencies().orders.get(order_id)
    if order is None or not caller.may_read_order(order):
        raise OrderNotFound(order_id)
    return order


@route(
    "/orders",
    admits=OPERATORS,
    answer=StatusOrders,
    summary="The work queue: open orders in one status, most recently changed first",
    query={"status": "an open status (default awaiting_approval)"},
    errors=(400,),
)
def list_orders(caller: Caller) -> StatusOrders:
    status = query_param("status") or OrderStatus.AWAITING_APPROVAL.value
    try:
        wanted = OrderStatus(status)
    except ValueError:
        allowed = ", ".join(s.value for s in OrderStatus)
        raise BadRequestError(f"unknown status {status!r}; use one of: {allowed}") from None
    if wanted not in LISTED_STATUSES:
        listed = ", ".join(s.value for s in LISTED_STATUSES)
        raise BadRequestError(
            f"{wanted.value} orders are closed and not listed by status; list one of: "
            f"{listed}, or a home's orders with GET /homes/{{home_id}}/orders"
        )
    return StatusOrders(status=wanted, orders=dependencies().orders.list_by_status(wanted))


@route(
    "/rejections",
    admits=OPERATORS,
    answer=DayRejections,
    summary="Fault events that opened no order, on one day, newest first",
    query={"day": "YYYY-MM-DD (default today, UTC)"},
    errors=(400,),
)
def list_rejections(caller: Caller) -> DayRejections:
    day = day_param()
    return DayRejections(day=day, rejections=dependencies().rejections.list_day(day))


@route(
    "/orders/{order_id}/progress",
    method="POST",
    admits=frozenset({Group.TECHNICIAN}),
    answer=RepairOrder,
    body=ProgressUpdate,
    summary="The caller, the order's technician, moves it on (the technician is the "
    "token's user, never named in the body)",
    errors=(400, 404, 409),
)
def post_progress(caller: Caller, update: ProgressUpdate, order_id: str) -> RepairOrder:
    technician_id = caller.technician_id
    if technician_id is None:  # in the group but no profile yet: no order is theirs
        raise OrderNotFound(order_id)
    order = dependencies().order_progress.advance(
        order_id,
        OrderStatus(update.status),
        technician_id=technician_id,
        confirmed_cause=update.confirmed_cause,
        note=update.note,
    )
    logger.info("order progressed", extra={"order_id": order_id, "status": update.status})
    return order


@route(
    "/triage/orders",
    admits=OPERATORS,
    answer=TriageOrders,
    summary="Orders flagged for triage or approved with no technician, with the reasons "
    "and next steps",
)
def triage_orders(caller: Caller) -> TriageOrders:
    return dependencies().triage.orders_to_triage()


@route(
    "/triage/rejections",
    admits=OPERATORS,
    answer=TriageRejections,
    summary="Rejected fault events of one day, counted by reason, with next steps",
    query={"day": "YYYY-MM-DD (default today, UTC)"},
    errors=(400,),
)
def triage_rejections(caller: Caller) -> TriageRejections:
    return dependencies().triage.rejections_of(day_param())


@route(
    "/triage/dead-letters",
    admits=OPERATORS,
    answer=TriageDeadLetters,
    summary="Failed ingest invocations waiting in the dead-letter queue, with next steps",
)
def triage_dead_letters(caller: Caller) -> TriageDeadLetters:
    return dependencies().triage.waiting_dead_letters()


# The views of other modules, imported so that their routes register on the app: the
# homeowner's homes and tickets, the offers, and the web page (GET /app).
from functions.api import homes, offers, page, tickets  # noqa: E402, F401
