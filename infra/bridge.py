"""The local stand-in for AWS IoT Core's rules engine and data plane.

- Subscribes to the broker with each topic rule's filter, evaluates the rule's SQL from
  template.yaml and invokes the rule's Lambda action asynchronously; a rule that cannot be
  evaluated goes to its error action (an SQS queue), as in AWS.
- Serves the IoT data-plane Publish API (`POST /topics/{topic}?qos=N`), so handlers publish
  status messages with boto3's `iot-data` client and the message reaches the broker.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import paho.mqtt.client as mqtt

from infra.broker import DATA_PLANE_IDENTITY, RULES_ENGINE_IDENTITY
from infra.lambda_runtime import AsyncInvoker
from iot.pki import ClientCertificate
from iot.rule_sql import Rule, RuleEvaluationError, parse_rule

log = logging.getLogger("faultline.local")


@dataclass
class RouteSpec:
    """One topic rule, ready to run: its parsed SQL, its Lambda and its error queue."""

    name: str
    rule: Rule
    function: str | None
    error_queue_url: str | None


def routes_from_template(rules: list[Any], queue_urls: dict[str, str]) -> list[RouteSpec]:
    """Turn infra.template.TopicRuleSpec entries into routes (queue logical id -> URL)."""
    return [
        RouteSpec(
            name=spec.logical_id,
            rule=parse_rule(spec.sql),
            function=spec.lambda_function_logical_id,
            error_queue_url=queue_urls.get(spec.error_action_queue_logical_id or ""),
        )
        for spec in rules
    ]


class RulesBridge:
    def __init__(
        self,
        host: str,
        port: int,
        routes: list[RouteSpec],
        invoker: AsyncInvoker,
        send_to_queue: Callable[[str, str], None],
        tls: ClientCertificate | None = None,
    ) -> None:
        """`tls`: the rules engine's certificate, for a broker that enforces identity."""
        self._routes = routes
        self._invoker = invoker
        self._send_to_queue = send_to_queue
        self._subscribed = threading.Event()
        self.received = 0
        self.errors: list[tuple[str, str]] = []
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=RULES_ENGINE_IDENTITY
        )
        if tls is not None:
            tls.tls_set(self._client)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._host, self._port = host, port

    def start(self, timeout: float = 10.0) -> None:
        self._client.connect(self._host, self._port, keepalive=30)
        self._client.loop_start()
        if not self._subscribed.wait(timeout):
            raise TimeoutError("the rules engine could not subscribe to the broker")

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        filters = sorted({route.rule.topic_filter for route in self._routes})
        client.subscribe([(f, 1) for f in filters])

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any
    ) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.received += 1
        now_ms = int(time.time() * 1000)
        client_id = _publisher_client_id(message)
        for route in self._routes:
            if not route.rule.matches(message.topic):
                continue
            try:
                event = route.rule.evaluate(
                    message.topic, bytes(message.payload), client_id, now_ms
                )
            except RuleEvaluationError as exc:
                self._error_action(route, message, str(exc))
                continue
            if event is not None and route.function is not None:
                self._invoker.invoke_async(route.function, event)

    def _error_action(self, route: RouteSpec, message: mqtt.MQTTMessage, error: str) -> None:
        self.errors.append((route.name, error))
        log.warning("rule %s failed on %s: %s", route.name, message.topic, error)
        if route.error_queue_url:
            body = json.dumps({"ruleName": route.name, "topic": message.topic, "error": error})
            self._send_to_queue(route.error_queue_url, body)


def _publisher_client_id(message: mqtt.MQTTMessage) -> str:
    """`clientid()`: on AWS the client id of the connection that published.

    MQTT does not tell subscribers who published, so it is derived from what the broker
    enforced. With TLS (`faultline up --tls`) Mosquitto sets each connection's client id
    to its certificate's CN (`use_username_as_clientid`) and its ACL lets only the
    connection with CN = X publish on `dt/repair/X/fault`: the thing in the topic IS the
    publishing connection's client id, as IoT Core's policy makes it. Nothing in the
    payload is trusted for it.

    Without TLS (amqtt, plain Mosquitto) nothing enforces that, and this is only what an
    honest device would have used: any client can publish on any thing's topic there.
    """
    parts = message.topic.split("/")
    return parts[2] if len(parts) > 2 else ""


class DataPlaneServer:
    """`iot-data` Publish over HTTP, forwarded to the broker."""

    def __init__(
        self,
        host: str,
        port: int,
        broker_host: str,
        broker_port: int,
        tls: ClientCertificate | None = None,
    ) -> None:
        """`tls`: the data plane's certificate, for a broker that enforces identity."""
        self._publisher = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=DATA_PLANE_IDENTITY
        )
        if tls is not None:
            tls.tls_set(self._publisher)
        # Publishes do not wait for their PUBACK, so bursts may have more than paho's
        # default 20 in flight; beyond the window paho would hold them back.
        self._publisher.max_inflight_messages_set(1000)
        self._publisher.connect(broker_host, broker_port, keepalive=30)
        self._publisher.loop_start()
        self.published = 0
        publisher = self._publisher
        server = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive: boto3 reuses its connection instead of a TCP connect (and a new
            # server thread) per Publish; the body is always read, so the stream stays framed.
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # The head and the body are two writes: without this the body waits for
                # the client's delayed ACK (40 ms) on a connection that stays open.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length)
                if not url.path.startswith("/topics/"):
                    self._answer(404, {"message": f"no such resource {url.path}"})
                    return
                topic = unquote(url.path.removeprefix("/topics/"))
                qos = int(parse_qs(url.query).get("qos", ["0"])[0])
                if qos not in (0, 1):
                    self._answer(400, {"message": "qos must be 0 or 1"})
                    return
                # Accepted once the broker connection has it: like IoT Core's Publish API,
                # the answer does not wait for delivery (paho resends QoS 1 until PUBACK).
                info = publisher.publish(topic, payload, qos=qos)
                if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                    self._answer(503, {"message": f"broker refused: {mqtt.error_string(info.rc)}"})
                    return
                server.published += 1
                self._answer(200, {})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # request lines would drown the demo's progress output

        self._http = ThreadingHTTPServer((host, port), Handler)
        self._http.daemon_threads = True
        self.port = self._http.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._publisher.disconnect()
        self._publisher.loop_stop()
