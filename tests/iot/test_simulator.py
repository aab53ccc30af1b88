"""The fleet simulator against a real (embedded amqtt) broker."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest

from functions.common.topics import FAULT_TOPIC_FILTER, fault_topic, status_topic
from infra.broker import Broker, start_broker
from iot.faults import KINDS, SimAppliance, example_appliances, make_fault
from iot.simulator import Fleet, FleetError, FleetProcess, PublishRecord, main
from schemas.device import MAX_PAYLOAD_BYTES, FaultEvent

APPLIANCES = [
    SimAppliance("wm-0001", "washer", "Bosch", "WAW28750", ["E21", "F05"]),
    SimAppliance("fr-0002", "refrigerator", "Samsung", "RB38", ["ER-CF"]),
    SimAppliance("bo-0003", "boiler", "Vaillant", "ecoTEC plus", ["F28", "F22"]),
]
CATEGORIES = [
    "washer",
    "dishwasher",
    "refrigerator",
    "oven",
    "boiler",
    "heat_pump",
    "water_heater",
    "dryer",
]


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    with start_broker("amqtt", port=0) as b:
        yield b


@pytest.fixture
def fleet(broker: Broker) -> Iterator[Fleet]:
    with Fleet(broker.host, broker.port, APPLIANCES, seed=7, timeout=5) as f:
        yield f


class Subscriber:
    """A plain paho client collecting what arrives on a topic filter."""

    def __init__(self, broker: Broker, topic_filter: str, client_id: str = "observer") -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._cond = threading.Condition()
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.client.subscribe(topic_filter, qos=1)
        assert subscribed.wait(5)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 5) -> list[mqtt.MQTTMessage]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.parametrize("category", CATEGORIES)
def test_make_fault_is_a_valid_fault_event(category: str) -> None:
    appliance = SimAppliance(f"t-{category}", category, "Acme", "X1", ["E21", "F05"])
    fault = make_fault(appliance, random.Random(1))
    event = FaultEvent.model_validate_json(json.dumps(fault))
    assert event.fault_code in {"E21", "F05"}
    assert event.occurred_at.tzinfo is not None
    assert event.telemetry, "every known category reports telemetry"
    assert make_fault(appliance, random.Random(1), fault_code="F05")["fault_code"] == "F05"


def test_make_fault_is_reproducible_per_seed() -> None:
    a = make_fault(APPLIANCES[0], random.Random(3))
    b = make_fault(APPLIANCES[0], random.Random(3))
    assert a["event_id"] == b["event_id"]
    assert a["telemetry"] == b["telemetry"]
    assert a["firmware"] == b["firmware"]


def test_fleet_publish_reaches_subscriber(broker: Broker, fleet: Fleet) -> None:
    observer = Subscriber(broker, FAULT_TOPIC_FILTER)
    try:
        fault = make_fault(APPLIANCES[0], fleet.rng)
        record = fleet.publish("wm-0001", fault)
        [msg] = observer.wait_for(1)
    finally:
        observer.close()
    assert msg.topic == fault_topic("wm-0001") == record.topic
    assert json.loads(msg.payload) == fault
    assert record.event_id == fault["event_id"]
    assert record.kind == "new"
    assert record.thing_name == "wm-0001"
    assert record.published_at > 0


def test_publish_raw_bytes_has_no_event_id(fleet: Fleet) -> None:
    record = fleet.publish("fr-0002", b"not json", kind="malformed_json")
    assert record.event_id is None
    assert record.payload == b"not json"


def test_publish_from_unknown_thing(fleet: Fleet) -> None:
    with pytest.raises(FleetError, match="not a connected fleet member"):
        fleet.publish("nobody", {"event_id": "x"})


def test_status_message_reaches_appliance(broker: Broker, fleet: Fleet) -> None:
    sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="cloud")
    sender.connect(broker.host, broker.port)
    sender.loop_start()
    try:
        status = {"schema": "status/1", "status": "dispatched", "display": "Technician Tue 10-12"}
        sender.publish(status_topic("bo-0003"), json.dumps(status), qos=1).wait_for_publish(5)
        sender.publish(status_topic("fr-0002"), b"garbled", qos=1).wait_for_publish(5)
        found = fleet.wait_for_status(lambda thing, msg: thing == "bo-0003", timeout=5)
        garbled = fleet.wait_for_status(lambda thing, msg: thing == "fr-0002", timeout=5)
    finally:
        sender.disconnect()
        sender.loop_stop()
    assert found is not None
    thing, message = found
    assert thing == "bo-0003"
    assert message["display"] == "Technician Tue 10-12"
    assert isinstance(message["_received_at"], float)
    assert fleet.status_messages("bo-0003") == [message]
    assert fleet.status_messages("wm-0001") == []
    assert garbled is not None and garbled[1]["_raw"] == "garbled"
    # Already-received messages count; a predicate nothing matches times out with None.
    assert fleet.wait_for_status(lambda t, m: t == "bo-0003", timeout=0.1) == found
    assert fleet.wait_for_status(lambda t, m: t == "wm-0001", timeout=0.1) is None


def _run(fleet: Fleet, scenario: str) -> list[PublishRecord]:
    seen: list[PublishRecord] = []
    records = fleet.run(50, 0.4, scenario, on_publish=seen.append)
    assert records == seen
    assert len(records) == 20
    assert all(r.kind in KINDS for r in records)
    return records


def test_run_normal(fleet: Fleet) -> None:
    records = _run(fleet, "normal")
    assert {r.kind for r in records} == {"new"}
    assert len({r.event_id for r in records}) == 20
    assert len({r.thing_name for r in records}) > 1
    for r in records:
        FaultEvent.model_validate_json(r.payload)


def test_run_duplicates(broker: Broker) -> None:
    with Fleet(broker.host, broker.port, APPLIANCES, seed=1) as fleet:
        records = fleet.run(50, 0.4, "duplicates")
    dups = [r for r in records if r.kind == "duplicate"]
    assert {r.kind for r in records} == {"new", "duplicate"}
    originals = {(r.thing_name, r.payload) for r in records if r.kind == "new"}
    assert all((d.thing_name, d.payload) in originals for d in dups)
    assert len({r.event_id for r in records if r.kind == "new"}) == len(originals)


def test_run_bad_input(broker: Broker) -> None:
    with Fleet(broker.host, broker.port, APPLIANCES, seed=2) as fleet:
        records = fleet.run(50, 1.0, "bad-input")  # 50 publishes so every kind shows up
    by_kind: dict[str, list[PublishRecord]] = {}
    for r in records:
        by_kind.setdefault(r.kind, []).append(r)
    assert set(by_kind) == {
        "new",
        "malformed_json",
        "schema_violation",
        "unknown_code",
        "oversized",
    }
    for r in by_kind["malformed_json"]:
        with pytest.raises(ValueError):
            json.loads(r.payload)
    for r in by_kind["schema_violation"]:
        with pytest.raises(ValueError):
            FaultEvent.model_validate_json(r.payload)
    codes = {c for a in APPLIANCES for c in a.fault_codes}
    for r in by_kind["unknown_code"]:
        assert FaultEvent.model_validate_json(r.payload).fault_code not in codes
    for r in by_kind["oversized"]:
        assert len(r.payload) > MAX_PAYLOAD_BYTES
        FaultEvent.model_validate_json(r.payload)  # only the size is wrong


def test_run_repeat(fleet: Fleet) -> None:
    records = _run(fleet, "repeat")
    assert [r.kind for r in records] == ["new"] + ["repeat"] * 19
    assert len({r.thing_name for r in records}) == 1
    assert len({json.loads(r.payload)["fault_code"] for r in records}) == 1
    assert len({r.event_id for r in records}) == 20


def test_run_paces_without_drift(fleet: Fleet) -> None:
    records = fleet.run(50, 0.4)
    span = records[-1].published_at - records[0].published_at
    assert 0.3 < span < 0.6  # 19 intervals of 20 ms


def test_run_rejects_unknown_scenario(fleet: Fleet) -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        fleet.run(1, 1, "chaos")


def test_connect_failure_is_clear() -> None:
    from infra.broker import free_port

    fleet = Fleet("127.0.0.1", free_port(), APPLIANCES, timeout=1)
    with pytest.raises(FleetError, match="cannot connect to MQTT broker"):
        fleet.connect()


def test_duplicate_thing_names_rejected() -> None:
    with pytest.raises(ValueError, match="unique"):
        Fleet("127.0.0.1", 1883, [APPLIANCES[0], APPLIANCES[0]])


def test_cli_main(broker: Broker, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--host", broker.host, "--port", str(broker.port), "--count", "4"]
    argv += ["--rate", "40", "--duration", "0.25", "--scenario", "bad-input", "--linger", "0"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("publish ") for line in out) == 10
    assert out[-1] == "published 10 messages from 4 appliances"


def test_cli_reports_unreachable_broker(capsys: pytest.CaptureFixture[str]) -> None:
    from infra.broker import free_port

    assert main(["--port", str(free_port()), "--duration", "0"]) == 1
    assert "cannot connect" in capsys.readouterr().err


def test_example_appliances() -> None:
    appliances = example_appliances(9)
    assert [a.thing_name for a in appliances[:2]] == ["sim-washer-1", "sim-dishwasher-2"]
    assert appliances[8].thing_name == "sim-washer-9"
    assert all(a.fault_codes for a in appliances)


def test_a_fleet_in_its_own_process_publishes_and_hears_its_status(broker: Broker) -> None:
    # Given a fleet running in a child process
    observer = Subscriber(broker, "dt/repair/+/fault")
    sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="cloud-2")
    sender.connect(broker.host, broker.port)
    sender.loop_start()
    try:
        with FleetProcess(broker.host, broker.port, APPLIANCES, seed=3, timeout=5) as child:
            # When it runs and the cloud answers one appliance
            records = child.run(50, 0.2, "normal")
            sender.publish(status_topic("bo-0003"), b'{"status": "approved"}', qos=1)
            deadline = time.monotonic() + 5
            while not child.status_messages("bo-0003") and time.monotonic() < deadline:
                time.sleep(0.05)
            log = child.status_log()
    finally:
        sender.disconnect()
        sender.loop_stop()
    # Then the records come back, the messages reached the broker, the status was heard
    assert len(records) == 10 and all(r.kind == "new" for r in records)
    assert len(observer.wait_for(10)) == 10
    assert [t for t, m in log] == ["bo-0003"] and log[0][1]["status"] == "approved"
    observer.close()
