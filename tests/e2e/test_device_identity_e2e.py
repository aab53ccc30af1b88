"""End to end over mutual TLS (`faultline up --tls`): the identity the handler sees is the
connection's, and what the broker refuses never reaches the rules engine."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from faultline.cli import main
from functions.domain.catalog import default_catalog
from infra.stack import LocalStack, StackOptions
from iot.faults import example_appliances, sim_appliances
from iot.pki import common_name
from iot.simulator import Fleet, PublishRefused
from schemas.orders import RejectionReason

pytestmark = [pytest.mark.e2e, pytest.mark.mosquitto]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    if shutil.which("mosquitto") is None:
        if os.environ.get("CI"):
            pytest.fail("mosquitto is not installed: CI must run the TLS tests")
        pytest.skip("mosquitto is not installed")
    options = StackOptions(tls=True, homes=4, technicians=6, seed=3, stack_name="faultline-e2e-tls")
    with LocalStack(options) as running:
        yield running


@pytest.fixture
def events(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every event the rules engine hands to a function during the test."""
    assert stack.invoker is not None
    seen: list[dict[str, Any]] = []
    invoke = stack.invoker.invoke_async

    def recording(function: str, event: dict[str, Any]) -> Any:
        seen.append(event)
        return invoke(function, event)

    monkeypatch.setattr(stack.invoker, "invoke_async", recording)
    return seen


def fault(code: str, event_id: str) -> dict[str, Any]:
    return {
        "schema": "fault/1",
        "event_id": event_id,
        "occurred_at": datetime.now(UTC).isoformat(),
        "fault_code": code,
        "firmware": "3.0.1",
        "telemetry": {},
    }


def settle(stack: LocalStack, received: int, timeout: float = 20) -> None:
    assert stack.bridge is not None and stack.invoker is not None
    deadline = time.monotonic() + timeout
    while stack.bridge.received < received:
        assert time.monotonic() < deadline, "the rules engine did not receive the messages"
        time.sleep(0.02)
    assert stack.invoker.wait_idle(timeout)


def test_every_seeded_appliance_has_its_own_certificate(stack):
    assert stack.seed_data is not None and stack.broker is not None and stack.broker.tls
    things = {a.thing_name for a in stack.seed_data.appliances}
    assert set(stack.device_certificates) == things
    assert all(common_name(c.cert_file) == t for t, c in stack.device_certificates.items())


def test_a_fault_over_tls_becomes_an_order_with_the_connections_identity(stack, events):
    assert stack.broker is not None and stack.seed_data is not None
    sim = sim_appliances(stack.seed_data.appliances, default_catalog())[0]
    certificates = {sim.thing_name: stack.device_certificates[sim.thing_name]}
    before = stack.bridge.received
    with Fleet(stack.broker.host, stack.broker.port, [sim], certificates=certificates) as fleet:
        fleet.publish(sim.thing_name, fault(sim.fault_codes[0], "tls-own-1"))
        settle(stack, before + 1)
    assert [(e["thing_name"], e["client_id"]) for e in events] == [(sim.thing_name, sim.thing_name)]
    orders = stack.dependencies.orders.list_by_home(
        next(a.home_id for a in stack.seed_data.appliances if a.thing_name == sim.thing_name)
    )
    assert any("tls-own-1" in o.event_ids for o in orders)


def test_a_fault_on_another_things_topic_is_refused_and_never_invoked(stack, events):
    assert stack.broker is not None and stack.seed_data is not None
    victim, attacker = stack.seed_data.appliances[2], stack.seed_data.appliances[3]
    member = sim_appliances([victim], default_catalog())[0]
    orders_before = stack.dependencies.orders.list_by_home(victim.home_id)
    received = stack.bridge.received
    # The fleet member is the victim, but it holds the attacker's certificate.
    certificates = {victim.thing_name: stack.device_certificates[attacker.thing_name]}
    with (
        Fleet(stack.broker.host, stack.broker.port, [member], certificates=certificates) as fleet,
        pytest.raises(PublishRefused, match="0x87"),
    ):
        fleet.publish(victim.thing_name, fault(member.fault_codes[0], "tls-forged-1"))
    # A fence through the rules engine: had the forged fault passed, it would be before it.
    own = sim_appliances([attacker], default_catalog())[0]
    with Fleet(
        stack.broker.host,
        stack.broker.port,
        [own],
        certificates={own.thing_name: stack.device_certificates[own.thing_name]},
    ) as fleet:
        fleet.publish(own.thing_name, fault(own.fault_codes[0], "tls-fence-1"))
        settle(stack, received + 1)
    assert stack.bridge.received == received + 1
    assert [e["thing_name"] for e in events] == [attacker.thing_name]
    assert stack.dependencies.orders.list_by_home(victim.home_id) == orders_before


def test_a_registered_device_publishes_and_the_handler_sees_its_identity(stack, events, capsys):
    assert stack.broker is not None and stack.pki is not None
    thing = "washer-registered-1"
    code = main(["device", "register", thing, "--pki-dir", str(stack.pki.directory)])
    assert code == 0
    out = capsys.readouterr().out
    certificate = stack.pki.client_certificate(thing)
    assert certificate is not None and str(certificate.cert_file) in out
    member = replace(example_appliances(1)[0], thing_name=thing)
    before = stack.bridge.received
    with Fleet(
        stack.broker.host, stack.broker.port, [member], certificates={thing: certificate}
    ) as fleet:
        fleet.publish(thing, fault("E21", "tls-registered-1"))
        settle(stack, before + 1)
    # Not in the appliance registry: the handler rejects it, but knows who sent it.
    assert [(e["thing_name"], e["client_id"]) for e in events] == [(thing, thing)]
    day = datetime.now(UTC).date()
    rejected = [r for r in stack.dependencies.rejections.list_day(day) if r.thing_name == thing]
    assert [r.reason for r in rejected] == [RejectionReason.UNKNOWN_THING]
