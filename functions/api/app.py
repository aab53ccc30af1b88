"""HTTP API. Lambda handler: `functions.api.app.app` (a chalice app is a Lambda handler)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from chalice import BadRequestError, Chalice, NotFoundError

from functions.common.wiring import orders_table, rejections_table
from schemas.orders import OrderStatus

app = Chalice(app_name="faultline-api")


def _param(name: str) -> str | None:
    request = app.current_request
    params = request.query_params if request else None
    return params.get(name) if params else None


@app.route("/")
def index() -> dict[str, Any]:
    return {
        "service": "faultline",
        "routes": [
            "/orders/{order_id}",
            "/orders?status=",
            "/homes/{home_id}/orders",
            "/rejections?day=",
        ],
    }


@app.route("/orders/{order_id}")
def get_order(order_id: str) -> dict[str, Any]:
    order = orders_table().get(order_id)
    if order is None:
        raise NotFoundError(f"no order {order_id}")
    return order.model_dump(mode="json", by_alias=True)


@app.route("/orders")
def list_orders() -> dict[str, Any]:
    status = _param("status") or OrderStatus.AWAITING_APPROVAL.value
    try:
        wanted = OrderStatus(status)
    except ValueError:
        allowed = ", ".join(s.value for s in OrderStatus)
        raise BadRequestError(f"unknown status {status!r}; use one of: {allowed}") from None
    orders = orders_table().list_by_status(wanted)
    return {
        "status": wanted.value,
        "orders": [o.model_dump(mode="json", by_alias=True) for o in orders],
    }


@app.route("/homes/{home_id}/orders")
def list_home_orders(home_id: str) -> dict[str, Any]:
    orders = orders_table().list_by_home(home_id)
    return {
        "home_id": home_id,
        "orders": [o.model_dump(mode="json", by_alias=True) for o in orders],
    }


@app.route("/rejections")
def list_rejections() -> dict[str, Any]:
    day_text = _param("day") or datetime.now(UTC).date().isoformat()
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise BadRequestError(f"day must be YYYY-MM-DD, got {day_text!r}") from None
    rejections = rejections_table().list_day(day)
    return {
        "day": day.isoformat(),
        "rejections": [r.model_dump(mode="json", by_alias=True) for r in rejections],
    }
