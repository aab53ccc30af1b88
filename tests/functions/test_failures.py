"""Failures at the AWS client boundary (real botocore errors, injected by infra.faults):
Lambda's retries, the dead-letter replay consumer and the stuck-order sweeper each finish
what an attempt left undone, and never open a second order."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.common.wiring import dependencies
from functions.logic.ingest import IN_FLIGHT
from functions.logic.sweeper import StuckOrderSweeper
from infra.faults import FaultKind, FaultPlan, FaultRule, InjectedCrash
from infra.lambda_runtime import LocalContext, load_handler
from schemas.orders import OrderStatus
from tests.factories import present
from tests.functions.conftest import published_status
from tests.functions.events import codes_of, event_for, fault
from tests.recording import Recording

# A failed invocation flushes no metrics, and Powertools warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@pytest.fixture
def faults(aws_stack) -> Iterator[FaultPlan]:
    """A fault plan on the functions' clients, emptied after the test."""
    plan = FaultPlan(seed=7).install(dependencies().clients)
    yield plan
    plan.set_rules([])


def crash_before_dispatch() -> FaultRule:
    """The dispatch's first read (the technicians Query) dies: the order is written, the
    dispatch never starts."""
    return FaultRule(
        FaultKind.CRASH,
        "dynamodb.Query",
        calls=range(1, 2),
        table=dependencies().settings.technicians_table,
    )


def ingest(event: dict[str, Any], request_id: str | None = None) -> dict[str, Any]:
    handler = load_handler("functions.ingest_fault.app.handler")
    context = LocalContext(
        "IngestFaultFunction", 512, 10, aws_request_id=request_id or str(uuid.uuid4())
    )
    return handler(event, context)


def sweeper_at(clock: Callable[[], datetime]) -> StuckOrderSweeper:
    """The sweeper running at `clock`; what it announces itself (timers, retries) is recorded,
    not sent: here it is the events it finishes through ingest that count."""
    deps = dependencies()
    announcer = Recording().announcer(clock, deps.due)
    return StuckOrderSweeper(
        deps.orders,
        deps.events,
        deps.due,
        deps.fault_ingestor,
        clock,
        announcer,
        offers=deps.offer_desk,
    )


def replay(*bodies: str) -> dict[str, Any]:
    """Invoke the replay consumer with one SQS batch, as Lambda's poller does."""
    handler = load_handler("functions.replay_dead_letters.app.handler")
    records = [
        {
            "messageId": f"m{i}",
            "receiptHandle": f"r{i}",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:dlq",
            "awsRegion": "us-east-1",
        }
        for i, body in enumerate(bodies)
    ]
    return handler({"Records": records}, LocalContext("ReplayDeadLettersFunction", 512, 30))


def orders_of(house) -> list:
    return dependencies().orders.list_by_home(house.home.home_id)


def truck_event(house) -> dict[str, Any]:
    return event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0]))


def crashed_before_dispatch(house, faults: FaultPlan, request_id: str = "req-1") -> dict:
    """An event whose invocation died after writing its order, before dispatching it."""
    event = truck_event(house)
    faults.set_rules([crash_before_dispatch()])
    with pytest.raises(InjectedCrash):
        ingest(event, request_id=request_id)
    faults.set_rules([])
    return event


def test_a_retry_of_the_same_invocation_finishes_the_dispatch_at_once(household, faults):
    # Given the first attempt dies between the order's transaction and the dispatch
    house = household()
    event = crashed_before_dispatch(house, faults)
    [order] = orders_of(house)
    assert order.status is OrderStatus.APPROVED
    # When Lambda retries it (same request id), well within the in-flight window
    answer = ingest(event, request_id="req-1")
    # Then the retry dispatches the one order
    assert answer["outcome"] == "duplicate"
    [order] = orders_of(house)
    assert order.status is OrderStatus.DISPATCHED
    assert present(dependencies().events.event_marker(house.thing, order.event_ids[0])).settled


def test_a_redelivery_from_another_invocation_leaves_an_in_flight_event_alone(household, faults):
    house = household()
    event = crashed_before_dispatch(house, faults)
    assert ingest(event, request_id="req-2")["outcome"] == "duplicate"
    [order] = orders_of(house)
    assert order.status is OrderStatus.APPROVED  # the first may still be running


def test_a_dead_letter_replayed_twice_dispatches_one_order(household, faults):
    # Given an event dead-lettered after its order was written but never dispatched
    house = household()
    event = crashed_before_dispatch(house, faults)
    # When the dead letter is replayed, and replayed again (a redelivered SQS message)
    body = json.dumps(event)
    assert replay(body) == {"batchItemFailures": []}
    assert replay(body, body) == {"batchItemFailures": []}
    # Then there is one order, dispatched once, its technician booked once
    [order] = orders_of(house)
    assert order.status is OrderStatus.DISPATCHED
    assert present(dependencies().technicians.get(house.technician_id)).active_orders == 1


def test_a_dead_letter_never_applied_opens_its_order_on_replay(household):
    house = household()
    event = truck_event(house)
    assert replay(json.dumps(event)) == {"batchItemFailures": []}
    [order] = orders_of(house)
    assert order.status is OrderStatus.DISPATCHED


def test_a_dead_letter_that_is_no_fault_event_is_reported_not_retried(aws_stack, caplog):
    rule_error = json.dumps({"ruleName": "FaultTopicRule", "topic": "dt/x", "error": "bad SQL"})
    assert replay(rule_error) == {"batchItemFailures": []}
    assert any("not a fault event" in r.getMessage() for r in caplog.records)


def test_a_replay_that_fails_again_is_reported_as_a_batch_item_failure(household, faults):
    house = household()
    good = truck_event(house)
    other = household()
    failing = truck_event(other)
    faults.set_rules(
        [
            FaultRule(
                FaultKind.CRASH,
                "dynamodb.Query",
                table=dependencies().settings.technicians_table,
                calls=range(2, 3),
            )
        ]
    )
    assert replay(json.dumps(good), json.dumps(failing)) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}]
    }


def test_the_sweeper_dispatches_an_order_stuck_approved(household, faults):
    house = household()
    crashed_before_dispatch(house, faults)
    # Within the in-flight window it is not stuck yet; a window later it is
    sweeper_at(lambda: datetime.now(UTC)).sweep()
    assert orders_of(house)[0].status is OrderStatus.APPROVED
    later = lambda: datetime.now(UTC) + IN_FLIGHT  # noqa: E731
    report = sweeper_at(later).sweep()
    assert report.finished >= 1 and report.failed == 0
    [order] = orders_of(house)
    assert order.status is OrderStatus.DISPATCHED
    assert json.loads(published_status(house.thing)[-1])["status"] == "dispatched"
    unsettled = dependencies().events.unsettled_events(later())
    assert not any(e.order_id == order.order_id for e in unsettled)


def test_the_sweeper_sends_a_status_message_that_never_went_out(household, faults):
    # Given the order is dispatched but every publish of its 'dispatched' status fails
    house = household()
    event = truck_event(house)
    faults.set_rules(
        [FaultRule(FaultKind.PUBLISH_FAILURE, "iot-data-plane.Publish", calls=range(2, 99))]
    )
    with pytest.raises(Exception, match="ServiceUnavailable"):
        ingest(event)
    faults.set_rules([])
    [order] = orders_of(house)
    assert order.status is OrderStatus.DISPATCHED
    assert [json.loads(p)["status"] for p in published_status(house.thing)] == ["approved"]
    # When the sweeper runs a window later
    later = lambda: datetime.now(UTC) + IN_FLIGHT  # noqa: E731
    sweeper_at(later).sweep()
    # Then the appliance is told, and the event is settled
    assert [json.loads(p)["status"] for p in published_status(house.thing)] == [
        "approved",
        "dispatched",
    ]
    assert present(dependencies().events.event_marker(house.thing, order.event_ids[0])).settled


def test_a_throttled_read_is_retried_by_the_sdk(household, faults):
    house = household()
    faults.set_rules([FaultRule(FaultKind.THROTTLE, "dynamodb.GetItem", calls=range(1, 2))])
    assert dependencies().registry.get_appliance(house.thing) is not None
    assert faults.injected == {"throttle dynamodb.GetItem": 1}
