"""The homeowner's side through the local stack: a seeded homeowner's real token, the
API's local server, a real broker. Policy, unpairing and pairing again with the printed
serial, and a self-fix that did not help going on to dispatch, told to the appliance."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from functions.domain.catalog import default_catalog
from infra.stack import LocalStack, StackOptions
from schemas.registry import Appliance
from tests.factories import present

pytestmark = pytest.mark.e2e

#: Seeds what the fleet (tests/e2e/conftest.py) publishes.
FLEET_SEED = 3


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(
        broker="amqtt", homes=8, technicians=16, seed=5, stack_name="faultline-e2e-homes"
    )
    with LocalStack(options) as running:
        yield running


def self_fix_code(appliance: Appliance) -> str | None:
    catalog = default_catalog()
    info = catalog.find_model(appliance.manufacturer, appliance.model)
    for code in info.codes if info else []:
        entry = present(catalog.code(appliance.manufacturer, appliance.model, code))
        if entry.self_fix and entry.urgency != "emergency":
            return code
    return None


def test_a_homeowner_sets_the_policy_repairs_and_pairs_through_the_stack(stack, fleet):
    assert stack.seed_data is not None
    appliances = stack.seed_data.appliances
    appliance = next(
        a
        for a in appliances
        if self_fix_code(a) and sum(b.home_id == a.home_id for b in appliances) > 1
    )
    home_id = appliance.home_id
    owner = stack.api_as(f"owner-{home_id}")
    # Given the homeowner's homes, and a policy that approves everything
    status, homes = owner.get("/my/homes")
    assert status == 200
    assert home_id in {h["home_id"] for h in homes["homes"]}
    status, policy = owner.put(f"/homes/{home_id}/policy", {"auto_approve": True})
    assert (status, policy["auto_approve"]) == (200, True), policy
    # When the appliance reports a fault with a self-fix guide, the truck waits
    code = present(self_fix_code(appliance))
    event_id = uuid.uuid4().hex
    fault = {
        "schema": "fault/1",
        "event_id": event_id,
        "occurred_at": datetime.now(UTC).isoformat(),
        "fault_code": code,
        "firmware": "3.0.1",
        "telemetry": {},
    }
    fleet.publish(appliance.thing_name, fault)
    opened = fleet.wait_for_status(lambda t, m: m.get("event_id") == event_id, 20)
    assert opened is not None and opened[1]["status"] == "awaiting_approval"
    order_id = opened[1]["order_id"]
    status, listing = owner.get("/my/orders?status=awaiting_approval")
    assert status == 200 and order_id in {o["order_id"] for o in listing["orders"]}
    # And the homeowner says the guide did not help: the policy sends a technician
    status, order = owner.post(f"/orders/{order_id}/self-fix", {"result": "still_broken"})
    assert status == 200, order
    assert order["self_fix_tried"] is True and order["status"] != "awaiting_approval"
    told = fleet.wait_for_status(
        lambda t, m: m.get("order_id") == order_id and m.get("status") == order["status"], 20
    )
    assert told is not None and told[0] == appliance.thing_name
    # Then another appliance of the home, with no order, is unpaired and paired again
    other = next(
        a for a in appliances if a.home_id == home_id and a.thing_name != appliance.thing_name
    )
    base = f"/homes/{home_id}/appliances"
    status, unpaired = owner.delete(f"{base}/{other.thing_name}")
    assert (status, unpaired["unpaired"]) == (200, True), unpaired
    wrong = owner.post(base, {"thing_name": other.thing_name, "serial": "SN00000000"})
    assert wrong[0] == 404 and wrong[1]["message"] == f"no appliance {other.thing_name}"
    status, paired = owner.post(base, {"thing_name": other.thing_name, "serial": other.serial})
    assert (status, paired["thing_name"]) == (200, other.thing_name), paired
