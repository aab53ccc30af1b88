"""The approval lifecycle's timers, without an emulator: which deadline an opened order
gets, what running a due one makes of it, and that leaving `awaiting_approval` drops it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from functions.domain.approval import open_order
from functions.domain.deadlines import (
    DEFAULT_TIMINGS,
    ApprovalTimings,
    first_deadline,
    run_deadline,
)
from functions.domain.orders import transition
from schemas.orders import (
    CLOSED_STATUSES,
    Deadline,
    DeadlineAction,
    OrderStatus,
    PartSelection,
    TriageReason,
    Urgency,
)
from schemas.registry import ApprovalPolicy
from tests.factories import NOW, a_diagnosis, a_fault, a_home, an_appliance, an_order, present

A = DeadlineAction


def opened(*, policy: ApprovalPolicy, urgency: Urgency = Urgency.NORMAL, timings=DEFAULT_TIMINGS):
    return open_order(
        appliance=an_appliance(),
        home=a_home(policy=policy),
        event=a_fault(),
        diagnosis=a_diagnosis(urgency=urgency),
        parts=PartSelection(total_cost=100.0),
        published_at=NOW,
        now=NOW,
        timings=timings,
    )


def test_an_order_waiting_for_its_homeowner_is_reminded_after_a_day():
    order = opened(policy=ApprovalPolicy(auto_approve=False))
    assert order.status is OrderStatus.AWAITING_APPROVAL
    assert order.deadline == Deadline(action=A.REMIND, due_at=NOW + timedelta(hours=24))


def test_an_order_the_policy_approves_has_no_deadline():
    order = opened(policy=ApprovalPolicy(auto_approve=True))
    assert order.status is OrderStatus.APPROVED
    assert order.deadline is None


def test_an_emergency_the_policy_did_not_approve_escalates_within_minutes():
    # The homeowner turned "emergencies always" off: nobody approves it automatically
    policy = ApprovalPolicy(auto_approve=True, emergencies_always=False, max_auto_cost=10.0)
    order = opened(policy=policy, urgency=Urgency.EMERGENCY)
    assert order.status is OrderStatus.AWAITING_APPROVAL
    assert order.deadline == Deadline(action=A.ESCALATE, due_at=NOW + timedelta(minutes=15))


def test_an_expiry_shorter_than_the_reminder_skips_the_reminder():
    demo = ApprovalTimings.of_seconds(remind=86400, expire=90, escalate=900)
    order = opened(policy=ApprovalPolicy(auto_approve=False), timings=demo)
    assert order.deadline == Deadline(action=A.EXPIRE, due_at=NOW + timedelta(seconds=90))
    emergency = opened(
        policy=ApprovalPolicy(emergencies_always=False),
        urgency=Urgency.EMERGENCY,
        timings=demo,
    )
    assert present(emergency.deadline).action is A.EXPIRE


def test_nothing_runs_before_the_deadline_is_due():
    order = an_order(deadline=Deadline(action=A.REMIND, due_at=NOW + timedelta(hours=1)))
    assert run_deadline(order, NOW) is None
    assert run_deadline(an_order(), NOW) is None  # no deadline at all


def test_a_reminder_leaves_the_order_waiting_until_its_expiry():
    order = an_order(deadline=present(first_deadline(an_order())))
    later = NOW + timedelta(hours=24, seconds=30)
    step = present(run_deadline(order, later))
    assert step.action is A.REMIND
    assert step.order.status is OrderStatus.AWAITING_APPROVAL
    assert step.order.deadline == Deadline(action=A.EXPIRE, due_at=NOW + timedelta(hours=72))
    assert step.order.version == order.version + 1  # written on the version read
    assert run_deadline(step.order, later) is None  # once only


def test_the_expiry_closes_the_order():
    order = an_order(deadline=Deadline(action=A.EXPIRE, due_at=NOW + timedelta(hours=72)))
    step = present(run_deadline(order, NOW + timedelta(hours=72)))
    assert step.action is A.EXPIRE
    assert step.order.status is OrderStatus.EXPIRED
    assert step.order.status in CLOSED_STATUSES
    assert step.order.deadline is None
    assert step.order.history[-1].by == "system"
    assert "72 h" in step.order.history[-1].reason


def test_an_escalation_flags_the_order_for_the_operators_and_keeps_its_expiry():
    emergency = an_order(diagnosis=a_diagnosis(urgency=Urgency.EMERGENCY))
    order = emergency.model_copy(update={"deadline": first_deadline(emergency)})
    step = present(run_deadline(order, NOW + timedelta(minutes=16)))
    assert step.action is A.ESCALATE
    assert step.order.status is OrderStatus.AWAITING_APPROVAL
    assert step.order.needs_triage
    assert [f.reason for f in step.order.triage_reasons] == [TriageReason.APPROVAL_OVERDUE]
    assert "16 min" in step.order.triage_reasons[0].detail
    assert step.order.deadline == Deadline(action=A.EXPIRE, due_at=NOW + timedelta(hours=72))


@pytest.mark.parametrize(
    "target", [OrderStatus.APPROVED, OrderStatus.DECLINED, OrderStatus.CANCELLED]
)
def test_leaving_awaiting_approval_drops_the_deadline(target):
    order = an_order(deadline=Deadline(action=A.REMIND, due_at=NOW + timedelta(hours=24)))
    moved = transition(order, target, at=NOW, by="homeowner")
    assert moved.deadline is None


def test_a_stale_deadline_on_an_order_that_moved_on_is_only_dropped():
    # e.g. written by code that did not go through the state machine
    order = an_order(
        status=OrderStatus.DISPATCHED,
        deadline=Deadline(action=A.EXPIRE, due_at=NOW),
    )
    step = present(run_deadline(order, NOW))
    assert step.action is None
    assert step.order.deadline is None
    assert step.order.status is OrderStatus.DISPATCHED


def test_a_late_sweep_expires_at_once_what_is_past_its_expiry():
    order = an_order(deadline=present(first_deadline(an_order())))  # a reminder
    step = present(run_deadline(order, NOW + timedelta(hours=80)))
    assert step.action is A.EXPIRE
    assert step.order.status is OrderStatus.EXPIRED
