"""End to end: a real MQTT client publishes through a real broker into the local stack.

Runs once per broker: Mosquitto (required in CI) and the embedded amqtt.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.common.topics import status_topic
from functions.domain.catalog import default_catalog
from functions.domain.matching import Job, rank
from infra.stack import LocalStack, StackOptions
from iot.faults import SimAppliance
from iot.simulator import Fleet
from schemas.orders import Urgency
from schemas.registry import Appliance, Category
from tests.factories import present

pytestmark = pytest.mark.e2e


def _broker_param(kind: str) -> Any:
    marks = [pytest.mark.mosquitto] if kind == "mosquitto" else []
    return pytest.param(kind, marks=marks, id=kind)


@pytest.fixture(scope="module", params=[_broker_param("mosquitto"), _broker_param("amqtt")])
def stack(request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    if request.param == "mosquitto" and shutil.which("mosquitto") is None:
        if os.environ.get("CI"):
            pytest.fail("mosquitto is not installed: CI must run the real-broker tests")
        pytest.skip("mosquitto is not installed")
    options = StackOptions(
        broker=request.param,
        homes=12,
        technicians=16,
        seed=7,
        stack_name=f"faultline-e2e-{request.param}",
    )
    with LocalStack(options) as running:
        yield running


def owner_of(appliance: Appliance) -> str:
    """The seeded homeowner of the appliance's home."""
    return f"owner-{appliance.home_id}"


def truck_fault(appliance: SimAppliance) -> dict[str, Any]:
    """A fault whose code sends a technician (no self-fix guide first) once approved, and
    no emergency where there is another (the default policy approves emergencies at once)."""
    catalog = default_catalog()
    trucks = [
        present(catalog.code(appliance.manufacturer, appliance.model, c))
        for c in appliance.fault_codes
    ]
    trucks = [e for e in trucks if not e.self_fix]
    code = next((e for e in trucks if e.urgency != "emergency"), trucks[0]).code
    return {
        "schema": "fault/1",
        "event_id": uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC).isoformat(),
        "fault_code": code,
        "firmware": "3.0.1",
        "telemetry": {},
    }


def dispatchable(stack: LocalStack, fleet: Fleet, *, auto: bool) -> tuple[Appliance, SimAppliance]:
    """A seeded appliance of a home with (or without) auto-approval, with no order yet."""
    assert stack.seed_data is not None
    homes = {h.home_id: h for h in stack.seed_data.homes}
    for appliance in stack.seed_data.appliances:
        home = homes[appliance.home_id]
        if home.policy.auto_approve != auto or present(stack.dependencies).orders.list_by_home(
            home.home_id
        ):
            continue
        return appliance, fleet.appliances[appliance.thing_name]
    raise AssertionError("no free appliance left in the seed data")


def expected_technician(stack: LocalStack, appliance: Appliance, code: str) -> str:
    """Best technician by brute force over every seeded technician (no geo index)."""
    assert stack.seed_data is not None
    home = next(h for h in stack.seed_data.homes if h.home_id == appliance.home_id)
    entry = present(default_catalog().code(appliance.manufacturer, appliance.model, code))
    live = [
        present(present(stack.dependencies).technicians.get(t.technician_id))
        for t in stack.seed_data.technicians
    ]
    job = Job(
        category=Category(entry.skill),
        manufacturer=appliance.manufacturer,
        certifications=tuple(entry.certifications),
        urgency=Urgency(entry.urgency),
        location=home.location,
        timezone=home.timezone,
    )
    return rank([t for t in live if t], job, datetime.now(UTC))[0].technician.technician_id


def settle(stack: LocalStack, published: int, received_before: int, timeout: float = 20) -> None:
    """Wait until the rules engine got `published` more messages and their handlers ran."""
    assert stack.bridge is not None and stack.invoker is not None
    deadline = time.monotonic() + timeout
    while stack.bridge.received < received_before + published:
        assert time.monotonic() < deadline, "the rules engine did not receive the messages"
        time.sleep(0.02)
    assert stack.invoker.wait_idle(timeout)


def delivered_statuses(
    stack: LocalStack, fleet: Fleet, thing: str, timeout: float = 20
) -> list[dict[str, Any]]:
    """Every status message the handlers have published to `thing` so far, once delivered.

    Call after `settle`: the handlers' publishes have left through the data plane, but MQTT
    delivers them a moment later. A fence message sent the same way (one publisher, one
    topic, QoS 1: the broker keeps the order) arrives after all of them.
    """
    assert stack.data_plane is not None
    fence = f"fence-{uuid.uuid4().hex}"
    request = urllib.request.Request(
        f"{stack.data_plane.url}/topics/{status_topic(thing)}?qos=1",
        data=json.dumps({"status": "fence", "event_id": fence}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    got = fleet.wait_for_status(lambda t, m: t == thing and m.get("event_id") == fence, timeout)
    assert got is not None, f"the fence message did not reach {thing} within {timeout} s"
    return [m for m in fleet.status_messages(thing) if m.get("event_id") != fence]


def statuses_of(fleet: Fleet, thing: str, event_id: str) -> list[str]:
    return [m["status"] for m in fleet.status_messages(thing) if m.get("event_id") == event_id]


def test_a_published_fault_is_dispatched_and_the_appliance_is_told(stack, fleet):
    # Given an appliance in a home whose policy approves repairs
    appliance, sim = dispatchable(stack, fleet, auto=True)
    payload = truck_fault(sim)
    expected = expected_technician(stack, appliance, payload["fault_code"])
    # When it publishes a fault through the broker
    fleet.publish(sim.thing_name, payload)
    # Then it receives 'approved', then 'offered' (no technician shown yet) while the best
    # technician is asked, unless they accept offers at once
    offered = fleet.wait_for_status(
        lambda thing, m: (
            m.get("event_id") == payload["event_id"] and m["status"] in ("offered", "dispatched")
        ),
        timeout=20,
    )
    assert offered is not None, f"no offer; got {fleet.status_messages(sim.thing_name)}"
    order_id = offered[1]["order_id"]
    if offered[1]["status"] == "offered":
        assert offered[1].get("technician") is None, "a pending offer is no booking"
        # And once that technician, signed in as themselves, accepts it
        status, accepted = stack.api_as(f"tech-{expected}").post(f"/orders/{order_id}/accept", {})
        assert status == 200, accepted
    got = fleet.wait_for_status(
        lambda thing, m: m.get("event_id") == payload["event_id"] and m["status"] == "dispatched",
        timeout=20,
    )
    assert got is not None, f"no dispatched status; got {fleet.status_messages(sim.thing_name)}"
    _, message = got
    seen = statuses_of(fleet, sim.thing_name, payload["event_id"])
    assert seen in (["approved", "dispatched"], ["approved", "offered", "dispatched"]), seen
    assert message["technician"] and message["window_start"] < message["window_end"]
    # And the order, read through the HTTP API, has the expected technician and parts
    status, order = stack.api_as(owner_of(appliance)).get(f"/orders/{message['order_id']}")
    assert status == 200
    assert order["status"] == "dispatched"
    assert order["offer"]["technician_id"] == expected
    assert order["parts"]["parts"], "parts are pre-selected"
    assert order["diagnosis"]["causes"][0]["probability"] > 0


def test_a_home_without_a_policy_gets_an_awaiting_approval_ticket(stack, fleet):
    _, sim = dispatchable(stack, fleet, auto=False)
    payload = truck_fault(sim)
    fleet.publish(sim.thing_name, payload)
    got = fleet.wait_for_status(lambda t, m: m.get("event_id") == payload["event_id"], 20)
    assert got is not None and got[1]["status"] == "awaiting_approval"
    status, listing = stack.api_as("operator").get("/orders?status=awaiting_approval")
    assert status == 200
    assert got[1]["order_id"] in {o["order_id"] for o in listing["orders"]}


def test_a_redelivered_fault_opens_one_order(stack, fleet):
    appliance, sim = dispatchable(stack, fleet, auto=False)
    data = json.dumps(truck_fault(sim)).encode()
    before = stack.bridge.received
    fleet.publish(sim.thing_name, data)
    fleet.publish(sim.thing_name, data, kind="duplicate")
    settle(stack, 2, before)
    status, listing = stack.api_as(owner_of(appliance)).get(f"/homes/{appliance.home_id}/orders")
    assert status == 200 and len(listing["orders"]) == 1
    assert len(delivered_statuses(stack, fleet, sim.thing_name)) == 1


def test_bad_input_through_the_broker_is_recorded_for_operators(stack, fleet):
    _, sim = dispatchable(stack, fleet, auto=True)
    before = stack.bridge.received
    fleet.publish(sim.thing_name, b'{"event_id": "half', kind="malformed_json")
    oversized = json.dumps(truck_fault(sim)).encode() + b" " * 17_000
    fleet.publish(sim.thing_name, oversized, kind="oversized")
    settle(stack, 2, before)
    operator = stack.api_as("operator")
    status, listing = operator.get(f"/rejections?day={datetime.now(UTC).date().isoformat()}")
    assert status == 200
    reasons = sorted(
        r["reason"] for r in listing["rejections"] if r["thing_name"] == sim.thing_name
    )
    assert reasons == ["malformed_json", "payload_too_large"]
    assert delivered_statuses(stack, fleet, sim.thing_name) == []


def test_the_api_answers_bad_requests_with_a_message(stack):
    operator = stack.api_as("operator")
    status, body = operator.get("/orders?status=lost")
    assert status == 400 and "unknown status" in body["message"]
    status, body = operator.get("/orders/ord_missing")
    assert status == 404 and "ord_missing" in body["message"]
    status, body = operator.get("/rejections?day=yesterday")
    assert status == 400 and "YYYY-MM-DD" in body["message"]
