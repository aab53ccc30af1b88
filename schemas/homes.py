"""The homeowner's side of the API: their homes, policies, appliances, self-fix results and
ratings (functions/api/homes.py). Bodies forbid unknown fields: a misspelt field is a 400,
never silently ignored."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from schemas.contract import Contract
from schemas.orders import OrderStatus, RepairOrder, TimeWindow, Urgency
from schemas.registry import ApprovalPolicy, Category

_BODY = ConfigDict(extra="forbid")


class OrderSummary(Contract):
    """One order in a homeowner's list: enough to pick it out and open its ticket."""

    order_id: str
    home_id: str
    thing_name: str
    status: OrderStatus
    title: str = Field(description="What is wrong, in words")
    urgency: Urgency
    created_at: datetime
    updated_at: datetime
    window: TimeWindow | None = Field(None, description="The booked visit, if one is booked")

    @classmethod
    def of(cls, order: RepairOrder) -> OrderSummary:
        booked = order.offer is not None and order.status in BOOKED_STATUSES
        return cls(
            order_id=order.order_id,
            home_id=order.home_id,
            thing_name=order.thing_name,
            status=order.status,
            title=order.diagnosis.title,
            urgency=order.diagnosis.urgency,
            created_at=order.created_at,
            updated_at=order.updated_at,
            window=order.offer.window if booked and order.offer is not None else None,
        )


# A technician's visit is booked in these (the offer was accepted).
BOOKED_STATUSES = frozenset(
    {
        OrderStatus.DISPATCHED,
        OrderStatus.EN_ROUTE,
        OrderStatus.ON_SITE,
        OrderStatus.COMPLETED,
        OrderStatus.UNRESOLVED,
    }
)


class MyOrders(Contract):
    orders: list[OrderSummary] = Field(description="Newest first")
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page"
    )


class ApplianceSummary(Contract):
    """A paired appliance as its homeowner sees it (its serial is the proof of possession,
    never shown)."""

    thing_name: str
    manufacturer: str
    model: str
    category: Category
    share_outcomes: bool = Field(
        description="Repair outcomes are shared with the manufacturer (the homeowner's consent)"
    )


class MyHome(Contract):
    home_id: str
    timezone: str
    policy: ApprovalPolicy
    appliances: list[ApplianceSummary]


class MyHomes(Contract):
    homes: list[MyHome]


class PolicyUpdate(ApprovalPolicy):
    """PUT /homes/{home_id}/policy: the whole policy (fields left out take their defaults)."""

    model_config = ConfigDict(extra="forbid", title="PolicyUpdate")


class Pairing(Contract):
    """POST /homes/{home_id}/appliances: the appliance's thing name and the serial printed
    on it, the proof that the caller holds it."""

    model_config = ConfigDict(extra="forbid", title="Pairing")

    thing_name: str = Field(min_length=1, max_length=128)
    serial: str = Field(min_length=1, max_length=128)


class Consent(Contract):
    """PUT /homes/{home_id}/appliances/{thing_name}/consent."""

    model_config = ConfigDict(extra="forbid", title="Consent")

    share_outcomes: bool


class Unpaired(Contract):
    home_id: str
    thing_name: str
    unpaired: Literal[True] = True


class SelfFixResult(Contract):
    """POST /orders/{order_id}/self-fix: what happened when the homeowner tried the guide."""

    model_config = ConfigDict(extra="forbid", title="SelfFixResult")

    result: Literal["fixed", "still_broken"]


class RatingRequest(Contract):
    """POST /orders/{order_id}/rating: the homeowner's rating of a completed visit."""

    model_config = ConfigDict(extra="forbid", title="RatingRequest")

    stars: int = Field(ge=1, le=5, strict=True)
    comment: str = Field("", max_length=1000)
