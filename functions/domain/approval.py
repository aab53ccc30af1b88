"""Opening an order: the first status comes from the home's approval policy."""

from __future__ import annotations

import uuid
from datetime import datetime

from functions.domain.deadlines import DEFAULT_TIMINGS, ApprovalTimings, first_deadline
from functions.domain.orders import transition
from schemas.device import FaultEvent
from schemas.orders import Diagnosis, OrderStatus, PartSelection, RepairOrder, Transition, Urgency
from schemas.registry import Appliance, Home


def approval_decision(
    home: Home,
    diagnosis: Diagnosis,
    parts: PartSelection,
    *,
    under_warranty: bool = False,
    self_fix_tried: bool = False,
) -> str | None:
    """Why the home's policy approves this repair at once, or None when the homeowner must
    decide. The rules, first match wins:

    1. an emergency, when `emergencies_always` (the default): whatever the cost ceiling,
       with or without `auto_approve`, and before any self-fix guide (a gas leak never
       waits for one);
    2. a self-fix guide the homeowner has not tried yet: they try it first;
    3. a repair the warranty covers, when `warranty_repairs`;
    4. with a cost ceiling (`max_auto_cost`), an estimate at most the ceiling (and nothing
       above it, even with `auto_approve`);
    5. without a ceiling, everything when `auto_approve`.
    """
    policy = home.policy
    if diagnosis.urgency is Urgency.EMERGENCY and policy.emergencies_always:
        return "approval policy: emergencies are always approved"
    if diagnosis.self_fix and not self_fix_tried:
        return None  # the homeowner tries the self-fix guide before a truck is sent
    if under_warranty and policy.warranty_repairs:
        return "approval policy: the warranty covers this repair"
    if policy.max_auto_cost is not None:
        if parts.total_cost <= policy.max_auto_cost:
            return (
                f"auto-approval policy: estimate {parts.total_cost:.2f} <= "
                f"{policy.max_auto_cost:.2f}"
            )
        return None
    if policy.auto_approve:
        return "auto-approval policy"
    return None


def open_order(
    *,
    appliance: Appliance,
    home: Home,
    event: FaultEvent,
    diagnosis: Diagnosis,
    parts: PartSelection,
    published_at: datetime,
    now: datetime,
    timings: ApprovalTimings = DEFAULT_TIMINGS,
) -> RepairOrder:
    """A new order in `awaiting_approval`, moved on to `approved` when the policy says so.

    An order left waiting gets its first deadline (functions.domain.deadlines): a reminder,
    or for an emergency the policy did not approve, the escalation to the operators."""
    why_waiting = (
        "self-fix guide sent to the homeowner first" if diagnosis.self_fix else "awaiting homeowner"
    )
    order = RepairOrder(
        order_id=f"ord_{uuid.uuid4().hex[:20]}",
        thing_name=appliance.thing_name,
        home_id=home.home_id,
        manufacturer=appliance.manufacturer,
        model=appliance.model,
        category=appliance.category,
        fault_code=event.fault_code,
        event_ids=[event.event_id],
        first_published_at=published_at,
        status=OrderStatus.AWAITING_APPROVAL,
        under_warranty=appliance.under_warranty(now.date()),
        diagnosis=diagnosis,
        parts=parts,
        needs_triage=bool(diagnosis.triage_reasons),
        triage_reasons=list(diagnosis.triage_reasons),
        history=[
            Transition(
                from_status=None,
                to_status=OrderStatus.AWAITING_APPROVAL,
                at=now,
                by="system",
                reason=f"opened from fault {event.fault_code} ({event.event_id}); {why_waiting}",
            )
        ],
        created_at=now,
        updated_at=now,
    )
    approved_because = approval_decision(
        home, diagnosis, parts, under_warranty=order.under_warranty
    )
    if approved_because is None:
        return order.model_copy(update={"deadline": first_deadline(order, timings)})
    return transition(order, OrderStatus.APPROVED, at=now, by="policy", reason=approved_because)
