"""Both brokers start on a free port, carry a QoS 1 round trip and free the port on stop."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from infra.broker import Broker, BrokerUnavailable, free_port, start_broker


def _round_trip(broker: Broker) -> None:
    received: list[mqtt.MQTTMessage] = []
    subscribed = threading.Event()
    arrived = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{broker.kind}")
    client.on_subscribe = lambda *args: subscribed.set()

    def on_message(client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        received.append(msg)
        arrived.set()

    client.on_message = on_message
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.subscribe("dt/repair/+/fault", qos=1)
        assert subscribed.wait(5), "no SUBACK"
        info = client.publish("dt/repair/wm-1/fault", b'{"fault_code":"E21"}', qos=1)
        info.wait_for_publish(5)
        assert info.is_published(), "no PUBACK"
        assert arrived.wait(5), "message not delivered"
    finally:
        client.disconnect()
        client.loop_stop()
    assert received[0].topic == "dt/repair/wm-1/fault"
    assert received[0].payload == b'{"fault_code":"E21"}'
    assert received[0].qos == 1


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _check_lifecycle(kind: str) -> None:
    with start_broker(kind, port=0) as broker:
        assert broker.kind == kind
        assert broker.port > 0
        _round_trip(broker)
    assert not _accepts(broker.host, broker.port)
    broker.stop()  # idempotent
    # The port is really free: a new broker can take it at once.
    with start_broker(kind, port=broker.port) as again:
        assert again.port == broker.port
        _round_trip(again)


def test_amqtt_round_trip_and_stop() -> None:
    _check_lifecycle("amqtt")


def _require_mosquitto() -> None:
    if shutil.which("mosquitto") is None:
        if os.environ.get("CI"):
            pytest.fail("mosquitto is required in CI but is not installed")
        pytest.skip("mosquitto is not installed")


@pytest.mark.mosquitto
def test_mosquitto_round_trip_and_stop() -> None:
    _require_mosquitto()
    _check_lifecycle("mosquitto")


@pytest.mark.mosquitto
def test_mosquitto_port_in_use() -> None:
    _require_mosquitto()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        with pytest.raises(BrokerUnavailable, match="port already in use"):
            start_broker("mosquitto", port=sock.getsockname()[1])


@pytest.mark.mosquitto
def test_mosquitto_bind_failure_reports_stderr() -> None:
    _require_mosquitto()
    # Bound but not listening: the readiness probe is refused and mosquitto fails to bind.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        with pytest.raises(BrokerUnavailable, match="exited with code") as err:
            start_broker("mosquitto", port=sock.getsockname()[1])
    assert "Address already in use" in str(err.value)


def test_auto_picks_mosquitto_when_installed() -> None:
    expected = "mosquitto" if shutil.which("mosquitto") else "amqtt"
    with start_broker() as broker:
        assert broker.kind == expected


def test_mosquitto_missing_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(BrokerUnavailable, match="not installed"):
        start_broker("mosquitto")
    with start_broker("auto") as broker:
        assert broker.kind == "amqtt"


def test_unknown_kind_rejected() -> None:
    with pytest.raises(ValueError, match="unknown broker kind"):
        start_broker("rabbitmq")


def test_amqtt_busy_port_is_a_clear_error() -> None:
    with (
        start_broker("amqtt") as broker,
        pytest.raises(BrokerUnavailable, match="could not listen"),
    ):
        start_broker("amqtt", port=broker.port)


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 0 < port < 65536
    assert not _accepts("127.0.0.1", port), "nothing listens on a free port"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # OSError (address in use) if it was not free
        assert sock.getsockname() == ("127.0.0.1", port)
