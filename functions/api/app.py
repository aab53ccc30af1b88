"""HTTP API. Lambda handler: `functions.api.app.app` (a chalice app is a Lambda handler).

Every route is declared with `route(...)`: the groups it admits, what it answers and what
body it takes. One wrapper authorizes each request (functions.api.access) before the view
runs; the views only read and call the use cases. `ROUTES` is what the route index and the
OpenAPI document (functions.api.openapi) are made from.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from chalice import (
    BadRequestError,
    Chalice,
    ChaliceViewError,
    ConflictError,
    CORSConfig,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)
from pydantic import BaseModel, ValidationError

from functions.api import hygiene
from functions.api.access import (
    EVERYONE,
    OPERATORS,
    Caller,
    Group,
    HomeNotFound,
    WrongGroup,
    authorize,
)
from functions.auth.tokens import JwksUnavailable, TokenError
from functions.common.snapstart import register_runtime_hooks
from functions.common.wiring import dependencies
from functions.dal.keys import LISTED_STATUSES
from functions.domain.errors import ItemBusy, OutOfStock, StaleOrder, TechnicianFullyBooked
from functions.domain.intake import summarize_validation_error
from functions.domain.orders import InvalidTransition
from functions.logic.progress import NotAssigned, OrderNotFound, UnknownCause
from schemas.api import (
    DayRejections,
    HomeOrders,
    RouteEntry,
    RouteIndex,
    StatusOrders,
    TriageDeadLetters,
    TriageOrders,
    TriageRejections,
)
from schemas.orders import OrderStatus, ProgressUpdate, RepairOrder

register_runtime_hooks()
app = Chalice(app_name="faultline-api")
logger = Logger(service="faultline-api")
tracer = Tracer(service="faultline-api")

#: The web page's origin, the only one whose scripts may read answers. Read from the
#: environment because chalice fixes CORS when the routes are declared (on import);
#: locally the template's default applies.
WEB_ORIGIN = os.environ.get("WEB_ORIGIN", "http://localhost:8000")
app.api.cors = CORSConfig(
    allow_origin=WEB_ORIGIN, allow_headers=["Authorization", "Content-Type"], max_age=600
)
hygiene.install(app)

# Domain errors -> HTTP answers, in one place. A resource the caller may not see answers
# like a missing one: OrderNotFound and NotAssigned give the same 404.
ERROR_ANSWERS: dict[type[Exception], Callable[[Any], ChaliceViewError]] = {
    TokenError: lambda e: UnauthorizedError(str(e)),
    JwksUnavailable: lambda _e: hygiene.ServiceUnavailableError(
        "signing in cannot be checked right now; retry shortly"
    ),
    WrongGroup: lambda e: ForbiddenError(str(e)),
    OrderNotFound: lambda e: NotFoundError(f"no order {e.order_id}"),
    NotAssigned: lambda e: NotFoundError(f"no order {e.order_id}"),
    HomeNotFound: lambda e: NotFoundError(f"no home {e.home_id}"),
    UnknownCause: lambda e: BadRequestError(str(e)),
    InvalidTransition: lambda e: ConflictError(str(e)),
    StaleOrder: lambda e: ConflictError(f"{e}; read the order again and retry"),
    TechnicianFullyBooked: lambda e: ConflictError(f"{e}; choose another technician"),
    OutOfStock: lambda e: ConflictError(f"{e}; the kit must be chosen again"),
    ItemBusy: lambda e: ConflictError(f"{e}; retry"),
}


@contextmanager
def domain_errors() -> Iterator[None]:
    try:
        yield
    except tuple(ERROR_ANSWERS) as error:
        answer = next(a for t, a in ERROR_ANSWERS.items() if isinstance(error, t))
        raise answer(error) from error


@dataclass(frozen=True)
class Route:
    """A declared route: who it admits, what it takes and answers (for the OpenAPI file)."""

    method: str
    path: str
    admits: frozenset[Group]
    summary: str
    answer: type[BaseModel]
    body: type[BaseModel] | None = None
    query: dict[str, str] = field(default_factory=dict)  # name -> description
    errors: tuple[int, ...] = ()  # answers beyond 401, 403, 413 and 503


ROUTES: list[Route] = []


def route(
    path: str,
    *,
    admits: frozenset[Group],
    answer: type[BaseModel],
    summary: str,
    method: str = "GET",
    body: type[BaseModel] | None = None,
    query: dict[str, str] | None = None,
    errors: tuple[int, ...] = (),
) -> Callable[[Callable[..., BaseModel]], Callable[..., dict[str, Any]]]:
    """Declare a route whose view gets the authorized `Caller` first, then the path's
    parameters, and returns a model (dumped as the answer)."""
    declared = Route(method, path, admits, summary, answer, body, dict(query or {}), errors)
    ROUTES.append(declared)

    def register(view: Callable[..., BaseModel]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(view)
        def authorized(**path_params: str) -> dict[str, Any]:
            request = app.current_request
            header = request.headers.get("authorization") if request else None
            deps = dependencies()
            with domain_errors():
                caller = authorize(header, admits, deps.token_verifier, deps.accounts)
                return _dump(view(caller, **path_params))

        app.route(path, methods=[method])(authorized)
        return authorized

    return register


def _param(name: str) -> str | None:
    request = app.current_request
    params = request.query_params if request else None
    return params.get(name) if params else None


def _body(model: type[BaseModel]) -> Any:
    request = app.current_request
    try:
        return model.model_validate_json(request.raw_body if request else b"")
    except ValidationError as error:
        raise BadRequestError(summarize_validation_error(error)) from None


def _day() -> date:
    day_text = _param("day") or datetime.now(UTC).date().isoformat()
    try:
        return date.fromisoformat(day_text)
    except ValueError:
        raise BadRequestError(f"day must be YYYY-MM-DD, got {day_text!r}") from None


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


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
@tracer.capture_method
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
@tracer.capture_method
def list_orders(caller: Caller) -> StatusOrders:
    status = _param("status") or OrderStatus.AWAITING_APPROVAL.value
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
    "/homes/{home_id}/orders",
    admits=frozenset({Group.HOMEOWNER, Group.OPERATOR}),
    answer=HomeOrders,
    summary="A home's orders, newest first: for its homeowner and operators",
    errors=(404,),
)
@tracer.capture_method
def list_home_orders(caller: Caller, home_id: str) -> HomeOrders:
    if not caller.may_list_home(home_id, dependencies().registry):
        raise HomeNotFound(home_id)
    return HomeOrders(home_id=home_id, orders=dependencies().orders.list_by_home(home_id))


@route(
    "/rejections",
    admits=OPERATORS,
    answer=DayRejections,
    summary="Fault events that opened no order, on one day, newest first",
    query={"day": "YYYY-MM-DD (default today, UTC)"},
    errors=(400,),
)
@tracer.capture_method
def list_rejections(caller: Caller) -> DayRejections:
    day = _day()
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
@tracer.capture_method
def post_progress(caller: Caller, order_id: str) -> RepairOrder:
    update: ProgressUpdate = _body(ProgressUpdate)
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
@tracer.capture_method
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
@tracer.capture_method
def triage_rejections(caller: Caller) -> TriageRejections:
    return dependencies().triage.rejections_of(_day())


@route(
    "/triage/dead-letters",
    admits=OPERATORS,
    answer=TriageDeadLetters,
    summary="Failed ingest invocations waiting in the dead-letter queue, with next steps",
)
@tracer.capture_method
def triage_dead_letters(caller: Caller) -> TriageDeadLetters:
    return dependencies().triage.waiting_dead_letters()
