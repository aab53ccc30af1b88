"""HTTP API. Lambda handler: `functions.api.app.app` (a chalice app is a Lambda handler)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from chalice import BadRequestError, Chalice, ChaliceViewError, ConflictError, NotFoundError
from chalice.app import ForbiddenError
from pydantic import ValidationError

from functions.common.snapstart import register_runtime_hooks
from functions.common.wiring import dependencies
from functions.dal.keys import LISTED_STATUSES
from functions.domain.errors import ItemBusy, OutOfStock, StaleOrder, TechnicianFullyBooked
from functions.domain.intake import summarize_validation_error
from functions.domain.orders import InvalidTransition
from functions.logic.progress import NotAssigned, OrderNotFound, UnknownCause
from schemas.orders import OrderStatus, ProgressUpdate

register_runtime_hooks()
app = Chalice(app_name="faultline-api")
logger = Logger(service="faultline-api")
tracer = Tracer(service="faultline-api")

# Domain errors -> HTTP answers, in one place.
ERROR_ANSWERS: dict[type[Exception], Callable[[str], ChaliceViewError]] = {
    OrderNotFound: lambda m: NotFoundError(f"no order {m}"),
    NotAssigned: ForbiddenError,
    UnknownCause: BadRequestError,
    InvalidTransition: ConflictError,
    StaleOrder: lambda m: ConflictError(f"{m}; read the order again and retry"),
    TechnicianFullyBooked: lambda m: ConflictError(f"{m}; choose another technician"),
    OutOfStock: lambda m: ConflictError(f"{m}; the kit must be chosen again"),
    ItemBusy: lambda m: ConflictError(f"{m}; retry"),
}


@contextmanager
def domain_errors() -> Iterator[None]:
    try:
        yield
    except tuple(ERROR_ANSWERS) as error:
        raise ERROR_ANSWERS[type(error)](str(error)) from error


def _param(name: str) -> str | None:
    request = app.current_request
    params = request.query_params if request else None
    return params.get(name) if params else None


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


@app.route("/")
def index() -> dict[str, Any]:
    return {
        "service": "faultline",
        "routes": [
            "GET /orders/{order_id}",
            "GET /orders?status=",
            "GET /homes/{home_id}/orders",
            "GET /rejections?day=YYYY-MM-DD",
            "POST /orders/{order_id}/progress",
        ],
    }


@app.route("/orders/{order_id}")
@tracer.capture_method
def get_order(order_id: str) -> dict[str, Any]:
    order = dependencies().orders.get(order_id)
    if order is None:
        raise NotFoundError(f"no order {order_id}")
    return _dump(order)


@app.route("/orders")
@tracer.capture_method
def list_orders() -> dict[str, Any]:
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
    orders = dependencies().orders.list_by_status(wanted)
    return {"status": wanted.value, "orders": [_dump(o) for o in orders]}


@app.route("/homes/{home_id}/orders")
@tracer.capture_method
def list_home_orders(home_id: str) -> dict[str, Any]:
    orders = dependencies().orders.list_by_home(home_id)
    return {"home_id": home_id, "orders": [_dump(o) for o in orders]}


@app.route("/rejections")
@tracer.capture_method
def list_rejections() -> dict[str, Any]:
    day_text = _param("day") or datetime.now(UTC).date().isoformat()
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise BadRequestError(f"day must be YYYY-MM-DD, got {day_text!r}") from None
    rejections = dependencies().rejections.list_day(day)
    return {"day": day.isoformat(), "rejections": [_dump(r) for r in rejections]}


@app.route("/orders/{order_id}/progress", methods=["POST"])
@tracer.capture_method
def post_progress(order_id: str) -> dict[str, Any]:
    request = app.current_request
    try:
        update = ProgressUpdate.model_validate_json(request.raw_body if request else b"")
    except ValidationError as error:
        raise BadRequestError(summarize_validation_error(error)) from None
    with domain_errors():
        order = dependencies().order_progress.advance(
            order_id,
            OrderStatus(update.status),
            technician_id=update.technician_id,
            confirmed_cause=update.confirmed_cause,
            note=update.note,
        )
    logger.info("order progressed", extra={"order_id": order_id, "status": update.status})
    return _dump(order)
