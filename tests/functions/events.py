"""Ingest events as the IoT rule makes them, and invoking the ingest handler."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from functions.common.wiring import dependencies
from functions.domain.catalog import default_catalog
from infra.lambda_runtime import LocalContext, load_handler
from schemas.orders import OrderStatus, RepairOrder
from tests.factories import present


def codes_of(appliance, *, self_fix: bool) -> list[str]:
    catalog = default_catalog()
    info = present(catalog.find_model(appliance.manufacturer, appliance.model))
    return [
        c
        for c in info.codes
        if bool(present(catalog.code(appliance.manufacturer, appliance.model, c)).self_fix)
        == self_fix
    ]


def waiting_codes(appliance) -> list[str]:
    """Codes whose order waits for a homeowner who approves by hand: no self-fix guide, and
    no emergency (the default policy approves emergencies at once)."""
    catalog = default_catalog()
    return [
        c
        for c in codes_of(appliance, self_fix=False)
        if present(catalog.code(appliance.manufacturer, appliance.model, c)).urgency.value
        != "emergency"
    ]


def event_for(thing: str, payload: dict[str, Any] | bytes) -> dict[str, Any]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return {
        "raw": base64.b64encode(raw).decode(),
        "thing_name": thing,
        "client_id": thing,
        "topic": f"dt/repair/{thing}/fault",
        "received_at": int(time.time() * 1000),
    }


def fault(code: str, event_id: str | None = None, **telemetry: Any) -> dict[str, Any]:
    return {
        "schema": "fault/1",
        "event_id": event_id or uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC).isoformat(),
        "fault_code": code,
        "firmware": "2.1.0",
        "telemetry": telemetry,
    }


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    # Imported when first invoked, as Lambda does: after the Powertools settings are
    # set (it reads the metrics namespace from the environment at import).
    handler = load_handler("functions.ingest_fault.app.handler")
    return handler(event, LocalContext("IngestFaultFunction", 512, 10))


def complete(order: RepairOrder) -> RepairOrder:
    """The dispatched order taken through its visit by its technician, with a known cause."""
    assert order.offer is not None
    entry = present(default_catalog().code(order.manufacturer, order.model, order.fault_code))
    progress = dependencies().order_progress
    for step in (OrderStatus.EN_ROUTE, OrderStatus.ON_SITE):
        progress.advance(order.order_id, step, technician_id=order.offer.technician_id)
    return progress.advance(
        order.order_id,
        OrderStatus.COMPLETED,
        technician_id=order.offer.technician_id,
        confirmed_cause=entry.causes[0].cause_id,
    )
