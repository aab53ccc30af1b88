"""Diagnosis, parts, repair orders, offers and rejections."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict, Field

from schemas.contract import Contract
from schemas.registry import Category


class Urgency(StrEnum):
    EMERGENCY = "emergency"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class TriageReason(StrEnum):
    """Why an order needs an operator's look (operators list and filter by these)."""

    UNKNOWN_MANUFACTURER = "unknown_manufacturer"
    UNKNOWN_MODEL = "unknown_model"
    UNKNOWN_CODE = "unknown_code"
    DIAGNOSIS_FAILED = "diagnosis_failed"  # diagnosis raised: a bug or bad catalog data
    NO_TECHNICIAN = "no_technician"
    APPROVAL_OVERDUE = "approval_overdue"  # an emergency its homeowner has not answered


class TriageFlag(Contract):
    reason: TriageReason
    detail: str = Field("", description="What exactly, in words (the model, the code...)")


class CauseEstimate(Contract):
    cause_id: str
    description: str
    probability: float = Field(ge=0, le=1)
    evidence: list[str] = Field(default_factory=list, description="What moved this estimate")


class Diagnosis(Contract):
    model_config = ConfigDict(title="Diagnosis")

    schema_version: Literal["diagnosis/1"] = Field("diagnosis/1", alias="schema")
    fault_code: str
    known_code: bool
    title: str
    causes: list[CauseEstimate] = Field(description="Ranked, most probable first")
    confidence: float = Field(ge=0, le=1)
    required_skill: Category
    certifications: list[str] = Field(default_factory=list)
    urgency: Urgency
    safety_advice: str = ""
    self_fix: str | None = Field(None, description="Guide the homeowner can try before a visit")
    explanation: str = Field(
        "", description="Plain-language summary for the homeowner and the technician"
    )
    observations: dict[str, str] = Field(
        default_factory=dict,
        description="Per telemetry reading used, the rule conditions it met ('none' for none): "
        "counted with the confirmed cause, so the rules' weights are learned too",
    )
    notes: list[str] = Field(default_factory=list, description="Evidence ignored, and why")
    triage_reasons: list[TriageFlag] = Field(default_factory=list)


class PartSource(StrEnum):
    VAN = "van"
    WAREHOUSE = "warehouse"
    BACKORDER = "backorder"


class SelectedPart(Contract):
    part_number: str
    description: str
    for_causes: list[str]
    quantity: int = 1
    unit_price: float = Field(ge=0)
    source: PartSource = PartSource.WAREHOUSE
    lead_time_days: int = 0


class PartSelection(Contract):
    model_config = ConfigDict(title="PartSelection")

    schema_version: Literal["parts/1"] = Field("parts/1", alias="schema")
    parts: list[SelectedPart] = Field(default_factory=list)
    total_cost: float = 0.0
    fix_probability: float = Field(0.0, ge=0, le=1, description="P(the visit fixes the fault)")
    lead_time_days: int = 0


class OrderStatus(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    OFFERED = "offered"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    COMPLETED = "completed"
    UNRESOLVED = "unresolved"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # nobody approved it before its deadline
    SELF_FIXED = "self_fixed"  # the homeowner fixed it with the self-fix guide


# An order in one of these is over: nothing moves it on. The state machine
# (functions.domain.orders) gives exactly these no way out, and a test holds the two together.
CLOSED_STATUSES = frozenset(
    {
        OrderStatus.COMPLETED,
        OrderStatus.UNRESOLVED,
        OrderStatus.DECLINED,
        OrderStatus.CANCELLED,
        OrderStatus.EXPIRED,
        OrderStatus.SELF_FIXED,
    }
)


class Transition(Contract):
    from_status: OrderStatus | None
    to_status: OrderStatus
    at: datetime
    by: str = Field(description="Who made the change: system, homeowner, technician id")
    reason: str = ""


class TimeWindow(Contract):
    start: datetime
    end: datetime


class Approval(Contract):
    """Who approved the visit, when, and the window they chose (None: the first free one)."""

    by: str = Field(description="The homeowner's user id, an operator's, or 'policy'")
    at: datetime
    window: TimeWindow | None = None


class DeadlineAction(StrEnum):
    REMIND = "remind"  # remind the homeowner that the ticket waits for them
    EXPIRE = "expire"  # close the order unanswered
    ESCALATE = "escalate"  # an emergency nobody approved goes to the operators' queue
    OFFER_EXPIRY = "offer_expiry"  # the pending offer was not answered: the next candidate


class Deadline(Contract):
    """The next timed step of an order; the scheduled sweeper runs it once it is due."""

    action: DeadlineAction
    due_at: datetime


class VisitRating(Contract):
    """The homeowner's rating of a completed visit."""

    stars: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=1000)
    at: datetime


class OfferStatus(StrEnum):
    PENDING = "pending"  # the technician has not answered; their window is held
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"  # not answered before its deadline


class Offer(Contract):
    model_config = ConfigDict(title="Offer")

    schema_version: Literal["offer/1"] = Field("offer/1", alias="schema")
    offer_id: str
    order_id: str
    technician_id: str
    technician_name: str
    score: float
    distance_km: float
    window: TimeWindow
    status: OfferStatus = OfferStatus.PENDING
    offered_at: datetime
    deadline: datetime | None = Field(
        None, description="Accept before this, or the next candidate gets it (None: no limit)"
    )
    decline_reason: str = Field("", description="Why the technician declined it")


class RepairOrder(Contract):
    model_config = ConfigDict(title="RepairOrder")

    schema_version: Literal["order/1"] = Field("order/1", alias="schema")
    order_id: str
    thing_name: str
    home_id: str
    manufacturer: str
    model: str
    category: Category
    fault_code: str
    event_ids: list[str] = Field(
        description="Fault events folded into this order, first first: the first 50 "
        "(occurrences counts them all)"
    )
    occurrences: int = 1
    first_published_at: datetime
    status: OrderStatus
    under_warranty: bool = False
    diagnosis: Diagnosis
    parts: PartSelection
    needs_triage: bool = False
    triage_reasons: list[TriageFlag] = Field(default_factory=list)
    offer: Offer | None = Field(None, description="The current offer: pending or accepted")
    offer_history: list[Offer] = Field(
        default_factory=list,
        description="Past offers, declined or expired: their technicians are not asked again",
    )
    confirmed_cause: str | None = Field(None, description="The cause the technician found")
    approval: Approval | None = None
    deadline: Deadline | None = Field(None, description="The next timed step, if any")
    self_fix_tried: bool = Field(
        False, description="The homeowner tried the self-fix guide and it did not help"
    )
    rating: VisitRating | None = None
    history: list[Transition] = Field(default_factory=list)
    version: int = 1
    created_at: datetime
    updated_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES


class RejectionReason(StrEnum):
    PAYLOAD_TOO_LARGE = "payload_too_large"
    MALFORMED_JSON = "malformed_json"
    SCHEMA_VIOLATION = "schema_violation"
    UNKNOWN_THING = "unknown_thing"
    UNPAIRED_THING = "unpaired_thing"  # registered, but its homeowner unpaired it
    IDENTITY_MISMATCH = "identity_mismatch"
    CLOCK_SKEW = "clock_skew"  # occurred_at too far after the broker received it
    STALE_EVENT = "stale_event"  # occurred_at older than the maximum event age


class Rejection(Contract):
    """A fault event that opened no order, kept for operators with the reason."""

    model_config = ConfigDict(title="Rejection")

    schema_version: Literal["rejection/1"] = Field("rejection/1", alias="schema")
    rejection_id: str
    received_at: datetime
    thing_name: str
    topic: str
    reason: RejectionReason
    detail: str
    event_id: str | None = None
    payload_excerpt: str = Field("", description="First bytes of the payload, for diagnosis")


class ProgressUpdate(Contract):
    """A technician's step on an order (POST /orders/{order_id}/progress).

    Version 2 dropped `technician_id`: the technician is the caller, known from the access
    token. A body that still names one is refused (extra fields are forbidden), so a client
    never believes it acted for someone else.
    """

    model_config = ConfigDict(extra="forbid", title="ProgressUpdate")

    schema_version: Literal["progress/2"] = Field("progress/2", alias="schema")
    status: Literal["en_route", "on_site", "completed", "unresolved"]
    confirmed_cause: str | None = Field(None, description="Required when completed")
    note: str = Field("", max_length=500)
