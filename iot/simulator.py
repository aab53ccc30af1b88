"""Appliance fleet simulator: one paho-mqtt client per appliance, publishing `fault/1` at QoS 1.

Each appliance connects with its thing name as client id, publishes faults on its fault topic
and listens on its status topic, as a real appliance would. With certificates (`iot.pki`) it
connects as on AWS IoT Core: mutual TLS, MQTT v5, and a publish the broker refuses (a PUBACK
reason code >= 0x80, e.g. 0x87 not authorized) is a failure, recorded in `Fleet.refused`.
Without them it speaks MQTT 3.1.1 over plain TCP (what the embedded amqtt broker speaks).
What it publishes (payloads, bad input, scenarios) comes from `iot.faults`; this module is
the MQTT side and the CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import multiprocessing
import random
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from functions.common.topics import fault_topic, status_topic
from functions.domain.catalog import Catalog
from iot.faults import SCENARIOS, SimAppliance, encode, example_appliances, scenario_messages
from iot.pki import ClientCertificate, common_name

__all__ = [
    "Fleet",
    "FleetError",
    "FleetProcess",
    "PublishRecord",
    "PublishRefused",
    "RefusedPublish",
    "main",
]

QOS = 1


class FleetError(RuntimeError):
    """The fleet could not connect, subscribe or publish in time."""


@dataclass(frozen=True)
class PublishRecord:
    """One acknowledged publish: what was sent, by whom, and when (time.time() before publish)."""

    thing_name: str
    kind: str
    event_id: str | None
    published_at: float
    topic: str
    payload: bytes = field(repr=False)


@dataclass(frozen=True)
class RefusedPublish:
    """A publish the broker answered with a failure reason code: never counted as sent."""

    record: PublishRecord
    reason_code: int
    reason: str


class PublishRefused(FleetError):
    """The broker refused a publish (MQTT v5 PUBACK reason code >= 0x80)."""

    def __init__(self, refused: RefusedPublish) -> None:
        record = refused.record
        super().__init__(
            f"{record.thing_name} publish on {record.topic} refused: "
            f"{refused.reason} (0x{refused.reason_code:02x})"
        )
        self.refused = refused


# --------------------------------------------------------------------------- fleet


class Fleet:
    """A set of connected simulated appliances on one broker. Use as a context manager."""

    def __init__(
        self,
        host: str,
        port: int,
        appliances: Sequence[SimAppliance],
        *,
        seed: int = 0,
        timeout: float = 10.0,
        on_status: Callable[[str, dict[str, Any]], None] | None = None,
        catalog: Catalog | None = None,
        certificates: Mapping[str, ClientCertificate] | None = None,
    ) -> None:
        """`certificates`: each appliance's (by thing name) for mutual TLS over MQTT v5;
        None: plain TCP, MQTT 3.1.1."""
        if not appliances:
            raise ValueError("a fleet needs at least one appliance")
        names = [a.thing_name for a in appliances]
        if len(set(names)) != len(names):
            raise ValueError("thing names must be unique (they are the MQTT client ids)")
        if certificates is not None and (missing := set(names) - set(certificates)):
            raise ValueError(f"no certificate for {', '.join(sorted(missing))}")
        self.certificates = dict(certificates) if certificates is not None else None
        self.host = host
        self.port = port
        self.appliances = {a.thing_name: a for a in appliances}
        self.rng = random.Random(seed)
        self.catalog = catalog  # what telemetry is drawn from; the shipped catalog when None
        self.timeout = timeout
        self._on_status = on_status
        self._clients: dict[str, mqtt.Client] = {}
        self._cond = threading.Condition()
        self._ready: set[str] = set()
        self._errors: dict[str, str] = {}
        self._status_log: list[tuple[str, dict[str, Any]]] = []
        # PUBACK reason codes by (thing, mid), set by paho before it marks the publish done.
        self._acks: dict[tuple[str, int], ReasonCode] = {}
        #: Publishes the broker refused, oldest first.
        self.refused: list[RefusedPublish] = []

    # -- lifecycle

    def connect(self) -> Fleet:
        """Connect every appliance and subscribe it to its status topic; FleetError on failure."""
        with self._cond:
            self._errors.clear()
        try:
            for thing in self.appliances:
                client = self._make_client(thing)
                self._clients[thing] = client
                client.connect(self.host, self.port, keepalive=30)
                client.loop_start()
        except OSError as exc:
            self.close()
            raise FleetError(
                f"cannot connect to MQTT broker {self.host}:{self.port}: {exc}"
            ) from exc

        deadline = time.monotonic() + self.timeout
        with self._cond:
            while len(self._ready) < len(self.appliances) and not self._errors:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            missing = sorted(set(self.appliances) - self._ready)
            errors = dict(self._errors)
        if missing:
            self.close()
            detail = "; ".join(f"{t}: {e}" for t, e in errors.items()) or "timed out"
            raise FleetError(
                f"{len(missing)} of {len(self.appliances)} appliances not connected and "
                f"subscribed within {self.timeout:.0f} s ({', '.join(missing[:5])}): {detail}"
            )
        return self

    def close(self) -> None:
        """Disconnect all appliances (safe to call more than once)."""
        clients, self._clients = self._clients, {}
        for client in clients.values():
            client.disconnect()
            client.loop_stop()
        with self._cond:
            self._ready.clear()

    def __enter__(self) -> Fleet:
        return self.connect() if not self._clients else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- paho callbacks (run in each client's network thread)

    def _make_client(self, thing: str) -> mqtt.Client:
        if self.certificates is None:
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=thing)
        else:
            client = mqtt.Client(
                mqtt.CallbackAPIVersion.VERSION2, client_id=thing, protocol=mqtt.MQTTv5
            )
            self.certificates[thing].tls_set(client)
        client.user_data_set(thing)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_subscribe = self._handle_subscribe
        client.on_message = self._handle_message
        client.on_publish = self._handle_publish
        return client

    def _handle_connect(
        self, client: mqtt.Client, thing: str, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            self._fail(thing, f"connect refused: {reason}")
            return
        # Subscribing in on_connect also restores the subscription after a reconnect.
        client.subscribe(status_topic(thing), qos=QOS)

    def _handle_disconnect(
        self, client: mqtt.Client, thing: str, flags: Any, reason: Any, props: Any
    ) -> None:
        # Before it is ready, a dropped connection is why it never will be (a broker that
        # rejects its certificate closes the TLS connection without a CONNACK).
        with self._cond:
            ready = thing in self._ready
        if not ready:
            self._fail(thing, f"disconnected before it was ready: {reason}")

    def _handle_publish(
        self, client: mqtt.Client, thing: str, mid: int, reason: ReasonCode, props: Any
    ) -> None:
        with self._cond:
            self._acks[(thing, mid)] = reason

    def _handle_subscribe(
        self, client: mqtt.Client, thing: str, mid: int, reasons: list[Any], props: Any
    ) -> None:
        if any(r.is_failure for r in reasons):
            self._fail(thing, f"subscribe refused: {reasons}")
            return
        with self._cond:
            self._ready.add(thing)
            self._cond.notify_all()

    def _fail(self, thing: str, error: str) -> None:
        with self._cond:
            self._errors[thing] = error
            self._cond.notify_all()

    def _handle_message(self, client: mqtt.Client, thing: str, msg: mqtt.MQTTMessage) -> None:
        received_at = time.time()
        try:
            parsed = json.loads(msg.payload)
            message = parsed if isinstance(parsed, dict) else {"_value": parsed}
        except ValueError:
            # Keep what arrived rather than drop it: a bad status message is a finding.
            message = {"_raw": msg.payload.decode("utf-8", errors="replace")}
        message["_received_at"] = received_at
        with self._cond:
            self._status_log.append((thing, message))
            self._cond.notify_all()
        if self._on_status is not None:
            self._on_status(thing, message)

    # -- publishing

    def publish(
        self, thing_name: str, payload: bytes | dict[str, Any], *, kind: str = "new"
    ) -> PublishRecord:
        """Publish on the appliance's fault topic at QoS 1 and wait for the PUBACK."""
        client = self._clients.get(thing_name)
        if client is None:
            raise FleetError(f"{thing_name} is not a connected fleet member")
        data = encode(payload) if isinstance(payload, dict) else payload
        topic = fault_topic(thing_name)
        published_at = time.time()
        info = client.publish(topic, data, qos=QOS)
        try:
            info.wait_for_publish(self.timeout)
        except (RuntimeError, ValueError) as exc:
            raise FleetError(f"publish from {thing_name} failed: {exc}") from exc
        if not info.is_published():
            raise FleetError(f"no PUBACK for {thing_name} within {self.timeout:.0f} s")
        with self._cond:
            ack = self._acks.pop((thing_name, info.mid), None)
        record = PublishRecord(
            thing_name=thing_name,
            kind=kind,
            event_id=_event_id_of(payload),
            published_at=published_at,
            topic=topic,
            payload=data,
        )
        # MQTT 3.1.1 has no reason code; a v5 PUBACK >= 0x80 means the broker dropped it.
        if ack is not None and ack.is_failure:
            refused = RefusedPublish(record, ack.value, str(ack))
            with self._cond:
                self.refused.append(refused)
            raise PublishRefused(refused)
        return record

    def run(
        self,
        rate_per_s: float,
        duration_s: float,
        scenario: str = "normal",
        on_publish: Callable[[PublishRecord], None] | None = None,
    ) -> list[PublishRecord]:
        """Publish round(rate * duration) messages at a steady rate, following `scenario`.

        Publish i is due at start + i / rate on the monotonic clock, so pacing never drifts;
        when a publish runs late the next ones catch up rather than being skipped. Returns
        the accepted publishes; refused ones are in `refused` and the run goes on.
        """
        # An unknown scenario raises ValueError here, before anything is published.
        next_message = scenario_messages(
            scenario, list(self.appliances.values()), self.rng, self.catalog
        )
        if rate_per_s <= 0 or duration_s < 0:
            raise ValueError("rate must be positive and duration not negative")
        count = round(rate_per_s * duration_s)
        records: list[PublishRecord] = []
        start = time.monotonic()
        for i in range(count):
            delay = start + i / rate_per_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            thing, payload, kind = next_message()
            try:
                record = self.publish(thing, payload, kind=kind)
            except PublishRefused:
                continue
            records.append(record)
            if on_publish is not None:
                on_publish(record)
        return records

    # -- status messages

    def status_messages(self, thing_name: str) -> list[dict[str, Any]]:
        """Status messages received so far by one appliance, oldest first."""
        with self._cond:
            return [msg for thing, msg in self._status_log if thing == thing_name]

    def status_messages_all(self) -> list[tuple[str, dict[str, Any]]]:
        """Every status message received so far, as (thing name, message), oldest first."""
        with self._cond:
            return list(self._status_log)

    def wait_for_status(
        self, predicate: Callable[[str, dict[str, Any]], bool], timeout: float
    ) -> tuple[str, dict[str, Any]] | None:
        """The first status message (already received or arriving within timeout) matching
        `predicate(thing_name, message)`, or None on timeout."""
        deadline = time.monotonic() + timeout
        checked = 0
        with self._cond:
            while True:
                for thing, msg in self._status_log[checked:]:
                    if predicate(thing, msg):
                        return thing, msg
                checked = len(self._status_log)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)


def _event_id_of(payload: bytes | dict[str, Any]) -> str | None:
    if isinstance(payload, bytes):
        try:
            payload = json.loads(payload)
        except ValueError:
            return None
    event_id = payload.get("event_id") if isinstance(payload, dict) else None
    return event_id if isinstance(event_id, str) else None


# --------------------------------------------------------------------------- fleet process


class FleetProcess:
    """A Fleet in a process of its own, driven from this one. Use as a context manager.

    Appliances are separate devices: run in the same interpreter as the system under test,
    a fleet's client threads (one per appliance) compete with it for the GIL and its
    collector walks their objects, so the devices' own overhead shows up as cloud latency.
    Here they run in a child process; `run` returns the same PublishRecords and
    `status_log` the status messages (with the appliance's `_received_at`), both stamped
    with the child's clock as Fleet stamps them.
    """

    def __init__(
        self,
        host: str,
        port: int,
        appliances: Sequence[SimAppliance],
        *,
        seed: int = 0,
        timeout: float = 10.0,
        certificates: Mapping[str, ClientCertificate] | None = None,
    ) -> None:
        if not appliances:
            raise ValueError("a fleet needs at least one appliance")
        certs = dict(certificates) if certificates is not None else None
        self._args = (host, port, list(appliances), seed, timeout, certs)
        self.timeout = timeout
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None

    def connect(self) -> FleetProcess:
        """Start the child and connect its fleet; FleetError when it cannot."""
        context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        parent, child = context.Pipe()
        self._process = context.Process(
            target=_serve_fleet, args=(child, *self._args), name="fleet", daemon=True
        )
        self._process.start()
        child.close()
        self._conn = parent
        try:
            self._call("connected", wait=self.timeout + 60)
        except BaseException:
            self.close()
            raise
        return self

    def _call(self, command: str, *args: Any, wait: float | None = None) -> Any:
        if self._conn is None:
            raise FleetError("the fleet process is not running")
        self._conn.send((command, args))
        if wait is not None and not self._conn.poll(wait):
            raise FleetError(f"the fleet process did not answer {command!r} in {wait:.0f} s")
        try:
            ok, value = self._conn.recv()
        except EOFError as exc:
            raise FleetError("the fleet process ended") from exc
        if not ok:
            raise FleetError(value)
        return value

    def run(
        self, rate_per_s: float, duration_s: float, scenario: str = "normal"
    ) -> list[PublishRecord]:
        """Fleet.run in the child; returns its records."""
        records: list[PublishRecord] = self._call("run", rate_per_s, duration_s, scenario)
        return records

    def status_messages(self, thing_name: str) -> list[dict[str, Any]]:
        """Status messages received so far by one appliance, oldest first."""
        messages: list[dict[str, Any]] = self._call("status_messages", thing_name)
        return messages

    def refused(self) -> list[RefusedPublish]:
        """Publishes the broker refused so far (Fleet.refused in the child)."""
        refused: list[RefusedPublish] = self._call("refused")
        return refused

    def status_log(self) -> list[tuple[str, dict[str, Any]]]:
        """Every status message received so far, as (thing name, message), oldest first."""
        log: list[tuple[str, dict[str, Any]]] = self._call("status_log")
        return log

    def close(self) -> None:
        """Disconnect the fleet and end the child (safe to call more than once)."""
        conn, self._conn = self._conn, None
        process, self._process = self._process, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.send(("close", ()))
            conn.close()
        if process is not None:
            process.join(self.timeout)
            if process.is_alive():
                process.terminate()
                process.join()

    def __enter__(self) -> FleetProcess:
        return self.connect() if self._conn is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _serve_fleet(
    conn: Connection,
    host: str,
    port: int,
    appliances: list[SimAppliance],
    seed: int,
    timeout: float,
    certificates: dict[str, ClientCertificate] | None,
) -> None:
    """The child of FleetProcess: answer (ok, value) to each (command, args) until 'close'."""
    fleet = Fleet(host, port, appliances, seed=seed, timeout=timeout, certificates=certificates)

    def connected() -> None:
        fleet.connect()

    commands: dict[str, Callable[..., Any]] = {
        "connected": connected,
        "run": fleet.run,
        "status_messages": fleet.status_messages,
        "status_log": fleet.status_messages_all,
        "refused": lambda: list(fleet.refused),
    }
    try:
        while True:
            try:
                command, args = conn.recv()
            except EOFError:
                return
            if command == "close":
                return
            try:
                conn.send((True, commands[command](*args)))
            except (FleetError, ValueError) as exc:
                conn.send((False, str(exc)))
    finally:
        fleet.close()
        conn.close()


# --------------------------------------------------------------------------- CLI


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faultline simulate",
        description=(
            "Simulate a fleet of smart appliances over MQTT. Each appliance connects with its "
            "thing name as client id, publishes fault/1 events on dt/repair/<thing>/fault at "
            "QoS 1 and prints the repair status messages it receives on cmd/repair/<thing>/status."
        ),
        epilog=(
            "scenarios: normal = a new fault per publish; duplicates = ~20% byte-identical "
            "re-sends; bad-input = malformed JSON, schema violations, unknown codes, oversized "
            "payloads mixed with normal faults; repeat = one appliance re-reports one fault code."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="MQTT broker host (default %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=1883, help="MQTT broker port (default %(default)s)"
    )
    parser.add_argument("--count", type=int, default=None, help="number of appliances (default 3)")
    parser.add_argument(
        "--rate", type=float, default=1.0, help="publishes per second (default %(default)s)"
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds to publish for (default %(default)s)"
    )
    parser.add_argument(
        "--scenario", choices=SCENARIOS, default="normal", help="default %(default)s"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="RNG seed for reproducible runs (default %(default)s)"
    )
    parser.add_argument(
        "--linger",
        type=float,
        default=2.0,
        help="seconds to keep listening for status after publishing (default %(default)s)",
    )
    tls = parser.add_argument_group(
        "mutual TLS (MQTT v5)",
        "Connect as the one appliance a certificate identifies (thing name = its CN), as on "
        "AWS IoT Core or `faultline up --tls`; `faultline device register THING` issues one.",
    )
    tls.add_argument("--cafile", help="CA certificate to trust (PEM)")
    tls.add_argument("--cert", help="the appliance's certificate (PEM)")
    tls.add_argument("--key", help="the appliance's private key (PEM)")
    return parser


def _certificate_fleet(
    args: argparse.Namespace,
) -> tuple[list[SimAppliance], dict[str, ClientCertificate]]:
    """The one appliance the certificate identifies; ValueError on incomplete options."""
    given = [args.cafile, args.cert, args.key]
    if not all(given):
        raise ValueError("--cafile, --cert and --key go together")
    if args.count not in (None, 1):
        raise ValueError("a certificate identifies one appliance: --count must be 1")
    try:
        thing = common_name(Path(args.cert))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the certificate {args.cert}: {exc}") from exc
    appliance = dataclasses.replace(example_appliances(1)[0], thing_name=thing)
    certificate = ClientCertificate(thing, Path(args.cert), Path(args.key), Path(args.cafile))
    return [appliance], {thing: certificate}


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point (`faultline simulate ...`); returns the process exit code."""
    args = _build_parser().parse_args(argv)
    if (args.count is not None and args.count < 1) or args.rate <= 0 or args.duration < 0:
        print(
            "error: --count and --rate must be positive, --duration not negative", file=sys.stderr
        )
        return 2
    certificates: dict[str, ClientCertificate] | None = None
    if args.cafile or args.cert or args.key:
        try:
            appliances, certificates = _certificate_fleet(args)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    else:
        appliances = example_appliances(args.count or 3)

    def show_publish(record: PublishRecord) -> None:
        print(
            f"publish {record.kind:<16} {record.thing_name:<24} "
            f"event_id={record.event_id or '-'} bytes={len(record.payload)}",
            flush=True,
        )

    def show_status(thing: str, message: dict[str, Any]) -> None:
        shown = {k: v for k, v in message.items() if k != "_received_at"}
        print(f"status  {thing:<24} {json.dumps(shown, sort_keys=True)}", flush=True)

    fleet = Fleet(
        args.host,
        args.port,
        appliances,
        seed=args.seed,
        on_status=show_status,
        certificates=certificates,
    )
    try:
        with fleet:
            records = fleet.run(args.rate, args.duration, args.scenario, on_publish=show_publish)
            time.sleep(args.linger)
    except FleetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    for refused in fleet.refused:
        print(
            f"refused {refused.record.kind:<16} {refused.record.thing_name:<24} "
            f"{refused.reason} (0x{refused.reason_code:02x})",
            flush=True,
        )
    print(
        f"published {len(records)} messages from {len(appliances)} appliances"
        + (f", {len(fleet.refused)} refused by the broker" if fleet.refused else ""),
        flush=True,
    )
    return 1 if fleet.refused else 0


if __name__ == "__main__":
    sys.exit(main())
