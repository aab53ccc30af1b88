"""The approval lifecycle's timers: when an order waiting for its homeowner is reminded,
escalated or expired. Plain Python; the scheduled sweeper (functions.logic.sweeper) runs
what is due.

Why a due-time index and a sweeper rather than EventBridge Scheduler: an order's next timed
step is one attribute of the order (`deadline`), written in the same conditional write as
every other change of the order, and indexed by a sparse, sharded GSI of the orders table
(functions.dal.keys.due_index_keys). Moving an order on (approval, decline, cancel) drops
its deadline in that same write, so there is nothing else to create, update or delete, and
no schedule can outlive its order or fire for a state the order has left. A schedule per
order would be a second resource to keep in step with every write (create on open, delete
on approve, recreate on remind), with its own failure modes between the two. One rule
(`rate(1 minute)`) serves every order, the sweeper already runs on it, and it runs the same
way locally: moto stores schedules but never fires them, and the local runtime fires the
template's rule itself (infra/scheduler.py). The price is up to a minute of lateness,
nothing for reminders counted in hours or an escalation counted in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from functions.domain.orders import flag_for_triage, transition
from schemas.orders import (
    Deadline,
    DeadlineAction,
    OrderStatus,
    RepairOrder,
    TriageFlag,
    TriageReason,
    Urgency,
)


@dataclass(frozen=True)
class ApprovalTimings:
    """How long an order waits for its homeowner, counted from its opening. Settings
    (functions.common.settings), so the local stack and the demo can shorten them."""

    remind_after: timedelta = timedelta(hours=24)
    expire_after: timedelta = timedelta(hours=72)
    # An emergency the home's policy did not approve (its owner turned emergencies off):
    # the homeowner is alerted at once, the operators take it over after this long.
    escalate_after: timedelta = timedelta(minutes=15)

    @classmethod
    def of_seconds(cls, remind: int, expire: int, escalate: int) -> ApprovalTimings:
        return cls(
            timedelta(seconds=remind), timedelta(seconds=expire), timedelta(seconds=escalate)
        )


DEFAULT_TIMINGS = ApprovalTimings()


def is_waiting_emergency(order: RepairOrder) -> bool:
    """An emergency waiting for its homeowner: the policy did not approve it."""
    return (
        order.status is OrderStatus.AWAITING_APPROVAL
        and order.diagnosis.urgency is Urgency.EMERGENCY
    )


def _expiry(order: RepairOrder, timings: ApprovalTimings) -> Deadline:
    return Deadline(action=DeadlineAction.EXPIRE, due_at=order.created_at + timings.expire_after)


def answer_by(order: RepairOrder, timings: ApprovalTimings) -> datetime | None:
    """When a waiting ticket expires unanswered (not its next reminder); None otherwise."""
    if order.status is not OrderStatus.AWAITING_APPROVAL:
        return None
    return _expiry(order, timings).due_at


def first_deadline(
    order: RepairOrder, timings: ApprovalTimings = DEFAULT_TIMINGS
) -> Deadline | None:
    """The first timed step of a newly opened order; None unless it waits for approval.

    An unapproved emergency escalates first; any other order is reminded first. A step
    that would come at or after the expiry is skipped (a demo's short expiry needs no
    reminder)."""
    if order.status is not OrderStatus.AWAITING_APPROVAL:
        return None
    expiry = _expiry(order, timings)
    if is_waiting_emergency(order):
        first = Deadline(
            action=DeadlineAction.ESCALATE, due_at=order.created_at + timings.escalate_after
        )
    else:
        first = Deadline(
            action=DeadlineAction.REMIND, due_at=order.created_at + timings.remind_after
        )
    return first if first.due_at < expiry.due_at else expiry


@dataclass(frozen=True)
class DeadlineStep:
    """What running an order's due deadline made of it: the order to write (on the version
    read) and the step taken; `action` None when the deadline was only stale and dropped."""

    order: RepairOrder
    action: DeadlineAction | None


def run_deadline(
    order: RepairOrder, now: datetime, timings: ApprovalTimings = DEFAULT_TIMINGS
) -> DeadlineStep | None:
    """The order's due deadline run; None when nothing is due (no deadline, or not yet).

    remind:   the order waits on, now until its expiry (the homeowner is reminded)
    escalate: flagged for the operators' triage (approval_overdue), then waits until its
              expiry like any order
    expire:   closed as `expired` (the transition drops the deadline)
    A step found due after the order's expiry expires it. A deadline left on an order no
    longer waiting for approval is dropped, nothing more.
    """
    deadline = order.deadline
    if deadline is None or deadline.due_at > now:
        return None
    if order.status is not OrderStatus.AWAITING_APPROVAL:
        return DeadlineStep(_with_deadline(order, None, now), None)
    waited = _hours(now - order.created_at)
    # A sweep that comes late (an outage) expires at once what is past its expiry: no
    # reminder or escalation of an order about to close.
    if deadline.action is DeadlineAction.EXPIRE or _expiry(order, timings).due_at <= now:
        expired = transition(
            order,
            OrderStatus.EXPIRED,
            at=now,
            by="system",
            reason=f"not approved within {waited} of opening",
        )
        return DeadlineStep(expired, DeadlineAction.EXPIRE)
    if deadline.action is DeadlineAction.ESCALATE:
        flag = TriageFlag(
            reason=TriageReason.APPROVAL_OVERDUE,
            detail=f"{order.diagnosis.urgency.value} unanswered by its homeowner for {waited}",
        )
        flagged = flag_for_triage(order, flag, at=now)
        return DeadlineStep(
            flagged.model_copy(update={"deadline": _expiry(order, timings)}),
            DeadlineAction.ESCALATE,
        )
    return DeadlineStep(_with_deadline(order, _expiry(order, timings), now), DeadlineAction.REMIND)


def _with_deadline(order: RepairOrder, deadline: Deadline | None, at: datetime) -> RepairOrder:
    return order.model_copy(
        update={"deadline": deadline, "version": order.version + 1, "updated_at": at}
    )


def _hours(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h"
