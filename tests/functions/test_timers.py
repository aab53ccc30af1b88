"""The sweeper's approval timers and retries against the emulator: remind, escalate and
expire orders found in the `due` index, each a conditional write on the version read (an
approval at the same moment wins or loses cleanly, never both), and a failed status
message or notification sent again, not lost.

Orders here open months in the past on a clock of the test's own, so that the sweeper's
Query for what is due sees none of the orders other tests opened with the real clock.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from functions.common.wiring import dependencies
from functions.dal.orders import OrdersTable
from functions.domain.approval import open_order
from functions.domain.deadlines import ApprovalTimings
from functions.domain.errors import StaleOrder
from functions.domain.orders import transition
from functions.logic.announce import STATUS, Announcer, home_timezone, notification_part
from functions.logic.sweeper import StuckOrderSweeper
from functions.logic.triage import TriageQueue
from infra.faults import FaultKind, FaultPlan, FaultRule
from schemas.notifications import NotificationKind, Recipient
from schemas.orders import (
    DeadlineAction,
    OrderStatus,
    PartSelection,
    RepairOrder,
    TriageReason,
    Urgency,
)
from schemas.registry import ApprovalPolicy
from tests.factories import a_diagnosis, a_fault, a_home, an_appliance, present
from tests.functions.conftest import published_status
from tests.functions.events import event_for, fault, invoke, waiting_codes
from tests.functions.outbox import HomeOutbox
from tests.recording import Recording

TIMINGS = ApprovalTimings(
    remind_after=timedelta(hours=24),
    expire_after=timedelta(hours=72),
    escalate_after=timedelta(minutes=15),
)
_epochs = itertools.count()

# A failed publish flushes no metrics in some paths; Powertools warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **span: float) -> datetime:
        self.now += timedelta(**span)
        return self.now


@pytest.fixture
def clock(aws_stack) -> Clock:
    """Each test a week of its own, a year before the real clock's orders; what earlier
    tests left due (all of it within their week) is swept first, so counts are the test's."""
    clock = Clock(datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=7 * next(_epochs)))
    deps = dependencies()
    quiet = Recording().announcer(clock, deps.due)
    drain = StuckOrderSweeper(
        deps.orders,
        deps.events,
        deps.due,
        deps.fault_ingestor,
        clock,
        quiet,
        timings=TIMINGS,
        offers=deps.offer_desk,
    )
    while drain.run_due():
        pass
    return clock


@pytest.fixture
def announcer(clock: Clock) -> Announcer:
    deps = dependencies()
    return Announcer(
        publisher=deps.status_publisher,
        clock=clock,
        timezone_of=home_timezone(deps.registry),
        notifier=deps.notifier,
        retries=deps.due,
        web_url=deps.settings.web_url,
    )


def sweeper_with(clock: Clock, announcer: Announcer, orders: OrdersTable | None = None):
    deps = dependencies()
    return StuckOrderSweeper(
        orders or deps.orders,
        deps.events,
        deps.due,
        deps.fault_ingestor,
        clock,
        announcer=announcer,
        timings=TIMINGS,
        offers=deps.offer_desk,
    )


@pytest.fixture
def sweeper(clock: Clock, announcer: Announcer) -> StuckOrderSweeper:
    return sweeper_with(clock, announcer)


@pytest.fixture
def faults(aws_stack) -> Iterator[FaultPlan]:
    plan = FaultPlan(seed=3).install(dependencies().clients)
    yield plan
    plan.set_rules([])


def waiting_order(clock: Clock, *, urgency: Urgency = Urgency.NORMAL) -> RepairOrder:
    """An order opened now on `clock`, waiting for its homeowner (the policy approves
    nothing, emergencies included)."""
    suffix = uuid.uuid4().hex[:10]
    home = a_home(
        home_id=f"home-{suffix}",
        policy=ApprovalPolicy(auto_approve=False, emergencies_always=False),
    )
    order = open_order(
        appliance=an_appliance(thing_name=f"washer-{suffix}", home_id=home.home_id),
        home=home,
        event=a_fault(event_id=f"evt-{suffix}"),
        diagnosis=a_diagnosis(urgency=urgency),
        parts=PartSelection(),
        published_at=clock.now,
        now=clock.now,
        timings=TIMINGS,
    )
    dependencies().orders.open_order(order, settled=True)
    return order


def current(order: RepairOrder) -> RepairOrder:
    return present(dependencies().orders.get(order.order_id))


def approve(order: RepairOrder, at: datetime) -> RepairOrder:
    """What the homeowner's approval writes (helper 1's route does the same, then
    dispatches): on the version it read."""
    approved = transition(order, OrderStatus.APPROVED, at=at, by="homeowner")
    dependencies().orders.save_order(approved, expected_version=order.version)
    return approved


def test_nothing_happens_before_a_deadline(clock, sweeper, aws_stack):
    order = waiting_order(clock)
    clock.advance(hours=23)
    report = sweeper.sweep()
    assert (report.reminded, report.expired, report.escalated) == (0, 0, 0)
    assert current(order) == order


def test_a_waiting_order_is_reminded_then_expires(clock, sweeper, aws_stack):
    order = waiting_order(clock)
    outbox = HomeOutbox(aws_stack, order.home_id)
    clock.advance(hours=24, minutes=1)
    assert sweeper.sweep().reminded == 1
    reminded = current(order)
    assert reminded.status is OrderStatus.AWAITING_APPROVAL
    assert present(reminded.deadline).action is DeadlineAction.EXPIRE
    assert sweeper.sweep().reminded == 0  # once only
    assert outbox.kinds() == ["reminder"]
    assert "expires" in outbox.sent()[0].notification.text

    clock.advance(hours=48)
    assert sweeper.sweep().expired == 1
    expired = current(order)
    assert expired.status is OrderStatus.EXPIRED
    assert expired.deadline is None
    assert outbox.kinds() == ["reminder", "expired"]
    [status] = published_status(order.thing_name)
    assert json.loads(status)["status"] == "expired"  # the display is told too
    assert sweeper.sweep().expired == 0  # idempotent
    # Closed: the open guard is gone, so the fault coming back opens a new order
    again = order.model_copy(update={"order_id": f"{order.order_id}-2", "event_ids": ["e2"]})
    dependencies().orders.open_order(again, settled=True)


def test_an_unapproved_emergency_escalates_to_the_operators(clock, sweeper, aws_stack):
    order = waiting_order(clock, urgency=Urgency.EMERGENCY)
    outbox = HomeOutbox(aws_stack, order.home_id)
    clock.advance(minutes=16)
    assert sweeper.sweep().escalated == 1
    escalated = current(order)
    assert escalated.status is OrderStatus.AWAITING_APPROVAL  # still the homeowner's to approve
    assert [f.reason for f in escalated.triage_reasons] == [TriageReason.APPROVAL_OVERDUE]
    assert present(escalated.deadline).action is DeadlineAction.EXPIRE
    sent = outbox.sent()
    assert [(s.notification.kind, s.notification.recipient) for s in sent] == [
        (NotificationKind.ESCALATED, Recipient.HOMEOWNER),
        (NotificationKind.ESCALATED, Recipient.OPERATOR),
    ]
    assert sent[1].attributes["recipient"] == "operator"
    assert sweeper.sweep().escalated == 0

    # The operators' triage queue lists it, with what to do
    class OnlyThis:
        def list_to_triage(self, limit=100):
            return [escalated]

    listed = TriageQueue(OnlyThis(), None, None).orders_to_triage().orders  # type: ignore[arg-type]
    [item] = listed
    assert item.order_id == order.order_id
    assert [r.reason for r in item.reasons] == [TriageReason.APPROVAL_OVERDUE]
    assert any("call the homeowner" in step for step in item.next_steps)


def test_an_approval_between_the_sweepers_read_and_write_wins(
    clock, announcer, aws_stack, monkeypatch
):
    order = waiting_order(clock)
    outbox = HomeOutbox(aws_stack, order.home_id)
    clock.advance(hours=73)  # its expiry is due... but the homeowner approves right now
    deps = dependencies()
    orders = OrdersTable(deps.clients.dynamodb, deps.settings.orders_table)
    read = orders.get
    approved: list[RepairOrder] = []

    def read_then_homeowner_approves(order_id: str) -> RepairOrder | None:
        found = read(order_id)
        if order_id == order.order_id and not approved and found is not None:
            approved.append(approve(found, clock.now))
        return found

    monkeypatch.setattr(orders, "get", read_then_homeowner_approves)
    report = sweeper_with(clock, announcer, orders).sweep()
    assert report.expired == 0 and report.due_failed == 0
    assert current(order).status is OrderStatus.APPROVED  # the homeowner's write stands
    assert current(order).deadline is None
    assert "expired" not in outbox.kinds()


def test_an_approval_after_the_expiry_loses_cleanly(clock, sweeper, aws_stack):
    order = waiting_order(clock)
    read_by_homeowner = current(order)
    clock.advance(hours=73)
    assert sweeper.sweep().expired == 1
    with pytest.raises(StaleOrder):  # the route answers 409
        approve(read_by_homeowner, clock.now)
    assert current(order).status is OrderStatus.EXPIRED


def test_racing_expiry_and_approval_have_exactly_one_winner(clock, announcer, aws_stack):
    orders = [waiting_order(clock) for _ in range(4)]
    clock.advance(hours=73)
    sweeper = sweeper_with(clock, announcer)
    homeowner_lost: list[str] = []
    start = threading.Barrier(2)

    def homeowners() -> None:
        start.wait()
        for order in orders:
            read = current(order)
            if read.status is not OrderStatus.AWAITING_APPROVAL:
                homeowner_lost.append(order.order_id)  # "cannot approve an expired order"
                continue
            try:
                approve(read, clock.now)
            except StaleOrder:
                homeowner_lost.append(order.order_id)

    # (the thread runs with this test's dependencies, as a request handler would)
    racer = threading.Thread(target=contextvars.copy_context().run, args=(homeowners,))
    racer.start()
    start.wait()
    report = sweeper.sweep()
    racer.join()
    statuses = {o.order_id: current(o).status for o in orders}
    expired = {i for i, s in statuses.items() if s is OrderStatus.EXPIRED}
    assert set(statuses.values()) <= {OrderStatus.EXPIRED, OrderStatus.APPROVED}
    assert expired == set(homeowner_lost)  # the homeowner lost exactly where the sweep won
    assert report.expired == len(expired)
    assert sweeper.sweep().expired == 0


def test_a_failed_notification_is_sent_again_by_the_sweeper(
    clock, sweeper, announcer, faults, aws_stack
):
    order = waiting_order(clock)
    outbox = HomeOutbox(aws_stack, order.home_id)
    clock.advance(hours=24, minutes=1)
    faults.set_rules([FaultRule(FaultKind.PUBLISH_FAILURE, "sns.Publish")])
    assert sweeper.sweep().reminded == 1  # the reminder is due and written...
    assert outbox.kinds() == []  # ...but SNS failed
    retry = present(dependencies().due.pending_retry(order.order_id))
    assert retry.pending == {notification_part(NotificationKind.REMINDER, Recipient.HOMEOWNER)}
    assert faults.injected["publish_failure sns.Publish"] >= 1

    # Still failing at the next sweep: kept, tried again later
    clock.advance(minutes=1)
    assert sweeper.sweep().due_failed == 1
    assert present(dependencies().due.pending_retry(order.order_id)).attempts == 1
    clock.advance(minutes=1)
    assert sweeper.sweep().retried == 0  # not due again yet (2 minutes after the last try)

    faults.set_rules([])  # SNS is back
    clock.advance(minutes=2)
    assert sweeper.sweep().retried == 1
    assert outbox.kinds() == ["reminder"]
    assert dependencies().due.pending_retry(order.order_id) is None
    assert sweeper.sweep().retried == 0


def test_a_failed_status_publish_is_retried_not_lost(clock, sweeper, announcer, faults, aws_stack):
    order = waiting_order(clock)
    outbox = HomeOutbox(aws_stack, order.home_id)
    cancelled = transition(order, OrderStatus.CANCELLED, at=clock.now, by="homeowner")
    dependencies().orders.save_order(cancelled, expected_version=order.version)
    faults.set_rules([FaultRule(FaultKind.PUBLISH_FAILURE, "iot-data-plane.Publish")])
    announcer.order_changed(cancelled)  # never raises: the change is written
    assert published_status(order.thing_name) == []
    assert outbox.kinds() == ["cancelled"]  # the homeowner was told regardless
    assert present(dependencies().due.pending_retry(order.order_id)).pending == {STATUS}

    faults.set_rules([])
    clock.advance(minutes=1)
    assert sweeper.sweep().retried == 1
    [status] = published_status(order.thing_name)
    assert json.loads(status)["status"] == "cancelled"
    assert dependencies().due.pending_retry(order.order_id) is None


def test_a_retry_sends_only_what_is_still_true(clock, sweeper, aws_stack):
    order = waiting_order(clock)
    outbox = HomeOutbox(aws_stack, order.home_id)
    # A reminder failed, then the homeowner approved: the reminder is news no more
    part = notification_part(NotificationKind.REMINDER, Recipient.HOMEOWNER)
    dependencies().due.record_retry(order.order_id, {part}, due_at=clock.now)
    approve(order, clock.now)
    clock.advance(minutes=1)
    assert sweeper.sweep().retried == 1
    assert outbox.kinds() == []
    assert dependencies().due.pending_retry(order.order_id) is None


def test_the_stack_sweeper_is_wired_with_the_settings_timings(aws_stack):
    deps = dependencies()
    sweeper = deps.stuck_order_sweeper
    assert sweeper.announcer is deps.announcer
    assert sweeper.timings == deps.settings.approval_timings
    assert deps.fault_ingestor.timings == deps.settings.approval_timings
    assert deps.order_progress.announcer is deps.announcer


def test_ingest_records_a_failed_notification_and_never_fails_for_it(household, faults, aws_stack):
    house = household(auto_approve=False)
    outbox = HomeOutbox(aws_stack, house.home.home_id)
    faults.set_rules([FaultRule(FaultKind.PUBLISH_FAILURE, "sns.Publish")])
    answer = invoke(event_for(house.thing, fault(waiting_codes(house.appliance)[0])))
    assert answer["outcome"] == "opened"  # the order is open and the appliance told
    [order] = dependencies().orders.list_by_home(house.home.home_id)
    part = notification_part(NotificationKind.AWAITING_APPROVAL, Recipient.HOMEOWNER)
    assert present(dependencies().due.pending_retry(order.order_id)).pending == {part}

    faults.set_rules([])
    deps = dependencies()
    sweeper = StuckOrderSweeper(
        deps.orders,
        deps.events,
        deps.due,
        deps.fault_ingestor,
        deps.clock,
        announcer=deps.announcer,
        timings=TIMINGS,
        offers=deps.offer_desk,
    )
    assert sweeper.run_due()["retried"] >= 1
    assert outbox.kinds() == ["awaiting_approval"]
    assert dependencies().due.pending_retry(order.order_id) is None
