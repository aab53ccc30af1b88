"""End to end: a fault published over MQTT opens an order waiting for approval, and its
homeowner's notification lands in the local stack's outbox (SNS topic -> SQS queue), listed
by `faultline outbox`; with the stack's expiry shortened, the sweeper expires it and the
appliance and the homeowner are told."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from faultline.cli import main
from functions.domain.catalog import default_catalog
from infra.outbox import SentNotification
from infra.scheduler import scheduled_event
from infra.stack import LocalStack, StackOptions
from infra.template import schedules
from iot.faults import SimAppliance
from iot.simulator import Fleet
from tests.factories import present

pytestmark = pytest.mark.e2e

EXPIRY_SECONDS = 3

#: Seeds what the fleet (tests/e2e/conftest.py) publishes.
FLEET_SEED = 3


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(
        broker="amqtt",
        homes=6,
        technicians=6,
        seed=5,
        stack_name="faultline-e2e-outbox",
        schedules=False,  # the test fires the sweeper itself
        parameters={"ApprovalExpirySeconds": str(EXPIRY_SECONDS)},
    )
    with LocalStack(options) as running:
        yield running


def waiting_appliance(stack: LocalStack, fleet: Fleet) -> SimAppliance:
    """An appliance of a home whose policy approves nothing by itself (but emergencies),
    with a code that waits for its homeowner."""
    assert stack.seed_data is not None
    manual = {h.home_id for h in stack.seed_data.homes if not h.policy.auto_approve}
    members = (fleet.appliances[a.thing_name] for a in stack.seed_data.appliances)
    return next(m for m in members if _home_of(stack, m) in manual and _waiting_codes(m))


def _home_of(stack: LocalStack, member: SimAppliance) -> str:
    assert stack.seed_data is not None
    return next(a.home_id for a in stack.seed_data.appliances if a.thing_name == member.thing_name)


def _waiting_codes(appliance: SimAppliance) -> list[str]:
    """Codes that send a technician once approved (no self-fix guide first) and are no
    emergency (the default policy approves emergencies at once)."""
    catalog = default_catalog()
    entries = [
        present(catalog.code(appliance.manufacturer, appliance.model, c))
        for c in appliance.fault_codes
    ]
    return [e.code for e in entries if not e.self_fix and e.urgency != "emergency"]


def truck_fault(appliance: SimAppliance) -> dict[str, Any]:
    code = _waiting_codes(appliance)[0]
    return {
        "schema": "fault/1",
        "event_id": uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC).isoformat(),
        "fault_code": code,
        "firmware": "3.0.1",
        "telemetry": {},
    }


def wait_for_outbox(
    stack: LocalStack, found: Callable[[SentNotification], bool], timeout: float = 20
) -> SentNotification:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for sent in stack.outbox():
            if found(sent):
                return sent
        time.sleep(0.2)
    raise AssertionError(f"not in the outbox: {[s.notification.kind for s in stack.outbox()]}")


def test_an_opened_order_is_in_the_outbox_and_expires_on_the_stacks_deadline(stack, fleet, capsys):
    sim = waiting_appliance(stack, fleet)
    payload = truck_fault(sim)
    fleet.publish(sim.thing_name, payload)
    got = fleet.wait_for_status(lambda t, m: m.get("event_id") == payload["event_id"], 20)
    assert got is not None and got[1]["status"] == "awaiting_approval"
    order_id = got[1]["order_id"]

    # The homeowner's notification, with the link to the ticket in the local page
    sent = wait_for_outbox(stack, lambda s: s.notification.order_id == order_id)
    assert sent.notification.kind.value == "awaiting_approval"
    assert sent.attributes["kind"] == "awaiting_approval"
    assert sent.attributes["home_id"] == sent.notification.home_id
    assert sent.notification.link == f"{stack.api_url}/app#/orders/{order_id}"

    # `faultline outbox` lists it from the running stack
    assert stack.moto is not None
    argv = ["outbox", "--aws-url", stack.moto.url, "--stack-name", stack.options.stack_name]
    capsys.readouterr()  # (what the handlers logged so far)
    assert main([*argv, "--json", "--order", order_id]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [n["kind"] for n in listed] == ["awaiting_approval"]
    assert main(argv) == 0
    assert order_id in capsys.readouterr().out

    # The stack's expiry is seconds: the next sweep closes the order and tells both
    order = present(present(stack.dependencies).orders.get(order_id))
    assert present(order.deadline).action.value == "expire"
    time.sleep(EXPIRY_SECONDS + 0.5)
    assert stack.deployed is not None and stack.invoker is not None
    [spec] = [s for s in schedules(stack.deployed.template) if s.function.startswith("Sweep")]
    sweep = stack.invoker.invoke(
        spec.function, scheduled_event(spec, datetime.now(UTC), "us-east-1", "123456789012")
    )
    assert sweep.error is None, sweep.error
    assert present(sweep.result)["expired"] >= 1
    wait_for_outbox(
        stack,
        lambda s: s.notification.order_id == order_id and s.notification.kind.value == "expired",
    )
    expired = fleet.wait_for_status(
        lambda t, m: m.get("order_id") == order_id and m["status"] == "expired", 20
    )
    assert expired is not None
    status, ticket = stack.api_as(f"owner-{sent.notification.home_id}").get(f"/orders/{order_id}")
    assert status == 200 and ticket["status"] == "expired"
