"""Device identity through real Mosquitto with mutual TLS and the IoT policy's ACL.

Each test is a thing one appliance must not be able to do to another (and the one thing it
may do), checked at the broker, as IoT Core's policy checks it.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from functions.common.topics import fault_topic, status_topic
from infra.broker import (
    DATA_PLANE_IDENTITY,
    RULES_ENGINE_IDENTITY,
    Broker,
    device_acl,
    start_broker,
)
from iot.faults import example_appliances
from iot.pki import CertificateAuthority, ClientCertificate
from iot.simulator import Fleet, FleetError, PublishRefused

pytestmark = pytest.mark.mosquitto

NOT_AUTHORIZED = 0x87
A, B = "washer-001-0", "oven-002-1"
WAIT_S = 5.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def broker(pki: CertificateAuthority) -> Iterator[Broker]:
    if shutil.which("mosquitto") is None:
        if os.environ.get("CI"):
            pytest.fail("mosquitto is not installed: CI must run the device identity tests")
        pytest.skip("mosquitto is not installed")
    with start_broker("mosquitto", tls=pki.issue_server("127.0.0.1")) as running:
        yield running


@dataclass
class Device:
    """A raw MQTT v5 client over mutual TLS that records what happens to it."""

    client: mqtt.Client
    connected: threading.Event = field(default_factory=threading.Event)
    disconnected: threading.Event = field(default_factory=threading.Event)
    subscribed: threading.Event = field(default_factory=threading.Event)
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    acks: dict[int, int] = field(default_factory=dict)

    def publish(self, topic: str, payload: bytes = b"{}") -> int:
        """Publish at QoS 1 and return the PUBACK reason code."""
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(WAIT_S)
        assert info.is_published(), "no PUBACK"
        return self.acks[info.mid]

    def subscribe(self, topic: str) -> None:
        self.subscribed.clear()
        self.client.subscribe(topic, qos=1)
        assert self.subscribed.wait(WAIT_S), "no SUBACK"

    def received(self, topic: str, timeout: float = WAIT_S) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(t == topic for t, _ in self.messages):
                return True
            time.sleep(0.02)
        return False


def connect(
    broker: Broker,
    certificate: ClientCertificate | None,
    client_id: str,
    *,
    ca_file: Path | None = None,
    wait: bool = True,
) -> Device:
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
    )
    device = Device(client)
    if certificate is not None:
        certificate.tls_set(client)
    elif ca_file is not None:
        client.tls_set(ca_certs=str(ca_file))  # TLS, but no client certificate
    client.reconnect_delay_set(30, 30)  # a refused device must not retry during the test

    def on_connect(c, u, flags, reason, props) -> None:
        if not reason.is_failure:
            device.connected.set()

    client.on_connect = on_connect
    client.on_disconnect = lambda *args: device.disconnected.set()
    client.on_subscribe = lambda *args: device.subscribed.set()
    client.on_message = lambda c, u, m: device.messages.append((m.topic, bytes(m.payload)))
    client.on_publish = lambda c, u, mid, reason, props: device.acks.__setitem__(mid, reason.value)
    try:
        client.connect(broker.host, broker.port, keepalive=30)
    except OSError:
        return device  # the TLS handshake failed in connect(): never connected
    client.loop_start()
    if wait:
        assert device.connected.wait(WAIT_S), f"{client_id} did not connect"
    return device


def connection_refused(device: Device) -> bool:
    """The broker never completed an MQTT connection for it."""
    return not device.connected.wait(2.0)


@pytest.fixture
def devices(broker: Broker) -> Iterator[list[Device]]:
    opened: list[Device] = []
    yield opened
    for device in opened:
        device.client.disconnect()
        device.client.loop_stop()


def listening_engine(broker: Broker, pki: CertificateAuthority, devices: list[Device]) -> Device:
    """The rules engine's identity, subscribed to every fault."""
    engine = connect(broker, pki.ensure_client(RULES_ENGINE_IDENTITY, service=True), "x")
    devices.append(engine)
    engine.subscribe("dt/repair/+/fault")
    return engine


def test_a_thing_publishes_its_own_faults_and_the_rules_engine_gets_them(broker, pki, devices):
    engine = listening_engine(broker, pki, devices)
    device = connect(broker, pki.ensure_client(A), A)
    devices.append(device)
    assert device.publish(fault_topic(A), b'{"fault_code":"E21"}') == 0
    assert engine.received(fault_topic(A))


def test_a_thing_cannot_publish_on_another_things_topic(broker, pki, devices):
    engine = listening_engine(broker, pki, devices)
    device = connect(broker, pki.ensure_client(A), A)
    devices.append(device)
    assert device.publish(fault_topic(B)) == NOT_AUTHORIZED
    # A fence on its own topic arrives; the refused publish never did before it.
    assert device.publish(fault_topic(A)) == 0
    assert engine.received(fault_topic(A))
    assert [t for t, _ in engine.messages] == [fault_topic(A)]


def test_a_thing_cannot_read_another_things_status(broker, pki, devices):
    a = connect(broker, pki.ensure_client(A), A)
    b = connect(broker, pki.ensure_client(B), B)
    plane = connect(broker, pki.ensure_client(DATA_PLANE_IDENTITY, service=True), "x")
    devices.extend([a, b, plane])
    a.subscribe(status_topic(A))
    a.subscribe(status_topic(B))  # granted at SUBACK, but delivery is checked per message
    a.subscribe("cmd/repair/+/status")
    b.subscribe(status_topic(B))
    assert plane.publish(status_topic(B), b'{"status":"dispatched"}') == 0
    assert plane.publish(status_topic(A), b'{"status":"fence"}') == 0
    assert b.received(status_topic(B))
    assert a.received(status_topic(A))
    # (its own status arrives once per matching subscription)
    assert {t for t, _ in a.messages} == {status_topic(A)}


def test_a_thing_cannot_write_another_things_status(broker, pki, devices):
    a = connect(broker, pki.ensure_client(A), A)
    b = connect(broker, pki.ensure_client(B), B)
    devices.extend([a, b])
    b.subscribe(status_topic(B))
    assert a.publish(status_topic(B), b'{"status":"fake"}') == NOT_AUTHORIZED
    assert a.publish(status_topic(A), b'{"status":"fake"}') == NOT_AUTHORIZED
    assert not b.received(status_topic(B), timeout=1.0)


def test_only_the_rules_engine_reads_every_fault(broker, pki, devices):
    snoop = connect(broker, pki.ensure_client(A), A)
    b = connect(broker, pki.ensure_client(B), B)
    devices.extend([snoop, b])
    snoop.subscribe("dt/repair/+/fault")
    assert b.publish(fault_topic(B)) == 0
    assert not snoop.received(fault_topic(B), timeout=1.0)


def test_no_connection_without_a_certificate(broker, pki, devices):
    device = connect(broker, None, A, ca_file=pki.ca_file, wait=False)
    devices.append(device)
    assert connection_refused(device)


def foreign_certificate(
    pki: CertificateAuthority, directory: Path, thing: str
) -> ClientCertificate:
    """A certificate for `thing` from another CA (same CA name: only the signature differs),
    by a client that trusts the right CA, so it is the broker that must refuse it."""
    stranger = CertificateAuthority(directory).issue_client(thing)
    return replace(stranger, ca_file=pki.ca_file)


def test_no_connection_with_a_certificate_from_another_ca(broker, pki, tmp_path, devices):
    device = connect(broker, foreign_certificate(pki, tmp_path, A), A, wait=False)
    devices.append(device)
    assert connection_refused(device)


def test_no_connection_over_plain_tcp(broker, devices):
    device = connect(broker, None, A, wait=False)
    devices.append(device)
    assert connection_refused(device)


def test_a_thing_cannot_take_over_another_things_client_id(broker, pki, devices):
    engine = listening_engine(broker, pki, devices)
    b = connect(broker, pki.ensure_client(B), B)
    devices.append(b)
    # A asks for B's client id: the broker gives it its certificate's CN (A) instead ...
    impostor = connect(broker, pki.ensure_client(A), B)
    devices.append(impostor)
    # ... so B's session is not taken over (a second "B" would have closed it) ...
    assert not b.disconnected.wait(1.0)
    assert b.publish(fault_topic(B)) == 0
    assert engine.received(fault_topic(B))
    # ... and the impostor still has A's rights only.
    assert impostor.publish(fault_topic(B)) == NOT_AUTHORIZED
    assert impostor.publish(fault_topic(A)) == 0
    assert engine.received(fault_topic(A))
    assert sorted(t for t, _ in engine.messages) == sorted([fault_topic(B), fault_topic(A)])


def test_the_fleet_records_a_refused_publish_and_does_not_count_it(broker, pki):
    # The fleet believes it is B but holds A's certificate: its publishes on B's topic
    # are refused with 0x87 (MQTT v5), which must not be taken for a delivery.
    member = replace(example_appliances(1)[0], thing_name=B)
    with Fleet(broker.host, broker.port, [member], certificates={B: pki.ensure_client(A)}) as fleet:
        with pytest.raises(PublishRefused, match="0x87") as refused:
            fleet.publish(B, {"event_id": "e1"})
        assert refused.value.refused.reason_code == NOT_AUTHORIZED
        records = fleet.run(rate_per_s=50, duration_s=0.1)
        assert records == []
        assert len(fleet.refused) == 1 + 5
        assert {r.record.topic for r in fleet.refused} == {fault_topic(B)}


def test_the_fleet_publishes_over_tls_with_its_own_certificates(broker, pki):
    members = example_appliances(2)
    certificates = {m.thing_name: pki.ensure_client(m.thing_name) for m in members}
    with Fleet(broker.host, broker.port, members, certificates=certificates) as fleet:
        records = fleet.run(rate_per_s=50, duration_s=0.1)
    assert len(records) == 5 and fleet.refused == []


def test_a_fleet_without_a_valid_certificate_cannot_connect(broker, pki, tmp_path):
    member = example_appliances(1)[0]
    stranger = foreign_certificate(pki, tmp_path, member.thing_name)
    fleet = Fleet(
        broker.host, broker.port, [member], certificates={member.thing_name: stranger}, timeout=3
    )
    with pytest.raises(FleetError, match="not connected"):
        fleet.connect()


def test_a_fleet_needs_a_certificate_for_every_member(pki):
    members = example_appliances(2)
    with pytest.raises(ValueError, match="no certificate for"):
        Fleet(
            "127.0.0.1",
            1,
            members,
            certificates={members[0].thing_name: pki.ensure_client(members[0].thing_name)},
        )


def test_the_acl_grants_devices_only_their_own_topics():
    acl = device_acl()
    assert "pattern write dt/repair/%u/fault\n" in acl
    assert "pattern read cmd/repair/%u/status\n" in acl
    # No grant for everyone (a bare `topic` line before any `user` line).
    first_user = acl.index("\nuser ")
    assert "\ntopic " not in acl[:first_user]
