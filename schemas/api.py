"""The HTTP API's answers that are not one of the stored models: listings, triage, errors.

The OpenAPI document (schemas/openapi.json) takes its bodies from these and the stored
models, so what a route is documented to answer is what it builds.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from schemas.contract import Contract
from schemas.orders import OrderStatus, Rejection, RejectionReason, RepairOrder, TriageFlag


class ErrorAnswer(Contract):
    """Every 4xx and 5xx the API answers, whatever produced it."""

    code: str = Field(description="What kind of error: not_found, unauthorized, conflict...")
    message: str = Field(description="What went wrong, in words")
    request_id: str = Field(description="Quote it when reporting a problem")


class RouteEntry(Contract):
    method: str
    path: str
    summary: str
    groups: list[str] = Field(description="The user pool groups the route admits")


class RouteIndex(Contract):
    service: str = "faultline"
    routes: list[RouteEntry] = Field(description="The routes open to the caller's groups")


class StatusOrders(Contract):
    status: OrderStatus
    orders: list[RepairOrder]


class HomeOrders(Contract):
    home_id: str
    orders: list[RepairOrder]


class DayRejections(Contract):
    day: date
    rejections: list[Rejection]


class TriageOrder(Contract):
    """An order an operator has to look at, why, and what they can do."""

    order_id: str
    status: OrderStatus
    home_id: str
    thing_name: str
    manufacturer: str
    model: str
    fault_code: str
    updated_at: datetime
    reasons: list[TriageFlag]
    next_steps: list[str]


class TriageOrders(Contract):
    orders: list[TriageOrder]


class TriageRejection(Contract):
    rejection: Rejection
    next_steps: list[str]


class TriageRejections(Contract):
    day: date
    counts: dict[RejectionReason, int] = Field(description="Rejections of the day per reason")
    rejections: list[TriageRejection]


class TriageDeadLetter(Contract):
    """A failed invocation waiting in the ingest dead-letter queue."""

    message_id: str
    error: str = Field(description="What the last attempt failed with")
    attempts: int | None = None
    sent_at: datetime | None = None
    thing_name: str | None = Field(None, description="None when it carries no fault event")
    event_id: str | None = None
    replayable: bool = Field(description="Whether it carries a fault event the replay can ingest")
    next_steps: list[str]


class TriageDeadLetters(Contract):
    configured: bool = Field(description="False when this deployment names no dead-letter queue")
    dead_letters: list[TriageDeadLetter]
