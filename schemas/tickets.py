"""The homeowner's side of an order: the ticket in plain words, and the bodies of the
actions on it (approve with a window, decline, reschedule, cancel). Request bodies forbid
unknown fields, so a typo is a 400, never silently ignored."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, ConfigDict, Field

from schemas.contract import Contract
from schemas.orders import (
    Deadline,
    OrderStatus,
    TimeWindow,
    Urgency,
    VisitRating,
)
from schemas.registry import Category

Action = Literal["approve", "decline", "cancel", "reschedule", "self_fix", "rate"]


class ChosenWindow(Contract):
    """A visit window as offered on the ticket (times with their UTC offset)."""

    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime
    end: AwareDatetime

    def as_window(self) -> TimeWindow:
        return TimeWindow(start=self.start, end=self.end)


class ApproveRequest(Contract):
    model_config = ConfigDict(extra="forbid", title="ApproveRequest")

    window: ChosenWindow = Field(description="One of the ticket's proposed windows")


class RescheduleRequest(Contract):
    model_config = ConfigDict(extra="forbid", title="RescheduleRequest")

    window: ChosenWindow = Field(description="One of the ticket's windows for its technician")


class DeclineRequest(Contract):
    model_config = ConfigDict(extra="forbid", title="DeclineRequest")

    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Why, in the words of the homeowner (declining the repair) or of the "
        "technician (declining the offer made to them)",
    )


class AssignRequest(Contract):
    """An operator books a technician by hand (POST /orders/{order_id}/assign)."""

    model_config = ConfigDict(extra="forbid", title="AssignRequest")

    technician_id: str = Field(min_length=1, max_length=100)
    window: ChosenWindow | None = Field(
        None, description="Default: the window the homeowner approved, else their first free one"
    )
    force: bool = Field(
        False,
        description="Assign even a technician who is not eligible (skill, brand, "
        "certification, service area, load); their time must still be free",
    )


class CancelRequest(Contract):
    model_config = ConfigDict(extra="forbid", title="CancelRequest")

    reason: str = Field("", max_length=500)


class TicketAppliance(Contract):
    manufacturer: str
    model: str
    category: Category
    thing_name: str


class TicketPart(Contract):
    part_number: str
    description: str
    quantity: int
    unit_price: float
    available: bool = Field(description="In stock now (or already reserved for the visit)")
    lead_time_days: int = Field(description="Days until it can be had, when not available")


class TicketCost(Contract):
    parts: float
    labour: float = Field(description="The visit's hours at the labour rate")
    total: float
    warranty_covers: float = Field(description="What the appliance's warranty pays")
    to_pay: float = Field(description="What is left for the homeowner")
    currency: Literal["EUR"] = "EUR"


class Booked(Contract):
    technician_name: str
    window: TimeWindow


class Ticket(Contract):
    """One order in plain words, for its homeowner: safety first."""

    model_config = ConfigDict(title="Ticket")

    schema_version: Literal["ticket/1"] = Field("ticket/1", alias="schema")
    order_id: str
    status: OrderStatus
    title: str
    urgency: Urgency
    safety_advice: str
    explanation: str
    self_fix: str | None
    appliance: TicketAppliance
    parts: list[TicketPart]
    cost: TicketCost
    windows: list[TimeWindow] = Field(
        description="Windows to choose from (to approve, or to reschedule a booked visit), "
        "from real technicians' schedules; empty when nothing can be chosen"
    )
    booked: Booked | None
    deadline: Deadline | None
    answer_by: AwareDatetime | None = Field(
        None,
        description="When a waiting ticket expires unanswered (the deadline may be an "
        "earlier reminder); None when it waits for no answer",
    )
    timezone: str = Field(
        "UTC", description="The home's IANA time zone: show every time of the ticket in it"
    )
    rating: VisitRating | None
    actions: list[Action] = Field(description="What the homeowner may do now")
