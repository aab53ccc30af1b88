"""Notifications to people about their orders (SNS in AWS, a local outbox in the stack)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict, Field

from schemas.contract import Contract
from schemas.orders import TimeWindow, Urgency


class NotificationKind(StrEnum):
    OPENED = "opened"  # a ticket opened that the home's policy approved: no action needed
    AWAITING_APPROVAL = "awaiting_approval"  # a ticket waits for its homeowner (link to it)
    REMINDER = "reminder"  # it still waits, and expires at some point
    DISPATCHED = "dispatched"  # a technician is booked: the window, and an .ics file
    EN_ROUTE = "en_route"
    COMPLETED = "completed"
    UNRESOLVED = "unresolved"  # the visit did not fix it
    CANCELLED = "cancelled"
    ESCALATED = "escalated"  # an emergency nobody approved went to the operators
    EXPIRED = "expired"  # nobody approved it in time: closed
    NO_TECHNICIAN = "no_technician"  # nobody could take it: the operators assign one by hand


class Recipient(StrEnum):
    HOMEOWNER = "homeowner"  # the owners of the order's home
    OPERATOR = "operator"  # Faultline's operators (escalations, orders nobody could take)


class Notification(Contract):
    """One message to the people of one role about one order.

    It carries what its recipient needs to act and no more: the order's id and home, what
    is wrong, the window, the ticket's link; never an address, a location, a technician's
    contact, a serial number or another home's data. Subscriptions filter on the message
    attributes `kind`, `home_id` and `recipient`.
    """

    model_config = ConfigDict(title="Notification", extra="forbid")

    schema_version: Literal["notification/1"] = Field("notification/1", alias="schema")
    notification_id: str = Field(
        description="The same for a re-send of the same news (order, kind, order version): "
        "a recipient drops repeats by it"
    )
    kind: NotificationKind
    order_id: str
    home_id: str
    recipient: Recipient
    urgency: Urgency
    title: str = Field(max_length=120)
    text: str = Field(max_length=1000)
    link: str = Field(description="The ticket in the web page")
    window: TimeWindow | None = Field(None, description="The booked visit (dispatched)")
    calendar: str | None = Field(
        None, description="The visit as an iCalendar file (text/calendar, one VEVENT)"
    )
    sent_at: datetime
