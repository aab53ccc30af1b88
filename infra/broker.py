"""A real MQTT broker for the local stack and tests: embedded amqtt or a Mosquitto subprocess.

With `tls`, Mosquitto enforces device identity the way AWS IoT Core does: mutual TLS
against the local CA (`iot.pki`), the certificate's CN becomes the username *and* the
client id, and an ACL with the IoT policy's rules grants each thing its own topics only.
amqtt enforces none of this (no TLS client certificates, no ACL here).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any

from functions.common.topics import FAULT_TOPIC_FILTER, fault_topic, status_topic
from iot.pki import ServerCertificate

__all__ = [
    "DATA_PLANE_IDENTITY",
    "RULES_ENGINE_IDENTITY",
    "Broker",
    "BrokerUnavailable",
    "device_acl",
    "free_port",
    "start_broker",
]

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0

#: The cloud side's own certificate identities (CN), and so their usernames in the ACL.
RULES_ENGINE_IDENTITY = "faultline-rules-engine"
DATA_PLANE_IDENTITY = "faultline-iot-data-plane"


def device_acl() -> str:
    """Mosquitto's ACL with the rules of the IoT policy in template.yaml.

    `%u` is the username, which `use_identity_as_username` takes from the certificate's
    CN (the thing name), as `${iot:Connection.Thing.ThingName}` is in the policy. An ACL
    file denies whatever it does not grant.
    """
    # status_topic() refuses wildcards in a thing name (rightly); the data plane's grant
    # is for every thing's status topic, so its filter is built from the pattern.
    every_status_topic = status_topic("%u").replace("%u", "+")
    return (
        "# Appliances: publish only their own faults, receive only their own status.\n"
        f"pattern write {fault_topic('%u')}\n"
        f"pattern read {status_topic('%u')}\n"
        "\n# The rules engine reads every fault (the IoT rule's FROM).\n"
        f"user {RULES_ENGINE_IDENTITY}\n"
        f"topic read {FAULT_TOPIC_FILTER}\n"
        "\n# The IoT data plane publishes every appliance's status (iot-data Publish).\n"
        f"user {DATA_PLANE_IDENTITY}\n"
        f"topic write {every_status_topic}\n"
    )


class BrokerUnavailable(RuntimeError):
    """The requested broker cannot be started (binary missing, port busy, start timeout)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (bind to port 0 and let the OS pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Broker:
    """A running broker. `stop()` is idempotent and releases the port."""

    def __init__(self, kind: str, host: str, port: int, *, tls: bool = False) -> None:
        self.kind = kind
        self.host = host
        self.port = port
        #: Mutual TLS and the per-thing ACL: the topic's thing is the connection's identity.
        self.tls = tls
        self._stopped = False
        self._lock = threading.Lock()

    def stop(self) -> None:
        """Stop the broker (safe to call more than once)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._shutdown()

    def _shutdown(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Broker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        tls = ", tls=True" if self.tls else ""
        return f"Broker(kind={self.kind!r}, host={self.host!r}, port={self.port}{tls})"


class _AmqttBroker(Broker):
    """amqtt in a daemon thread with its own event loop, so callers stay synchronous."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__("amqtt", host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"amqtt-{host}:{port}", daemon=True
        )
        self._broker: Any = None

    def start(self) -> None:
        self._thread.start()
        future: Future[int] = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        try:
            self.port = future.result(timeout=START_TIMEOUT_S)
        except Exception as exc:
            self._stop_loop()
            raise BrokerUnavailable(
                f"amqtt could not listen on {self.host}:{self.port}: {exc}"
            ) from exc

    async def _start(self) -> int:
        from amqtt.broker import Broker as AmqttBroker

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # Only anonymous auth: leaving out the default logger and $SYS plugins keeps
            # the broker quiet and avoids a periodic $SYS publisher task.
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        self._broker = AmqttBroker(config, loop=asyncio.get_running_loop())
        await self._broker.start()
        # With port 0 the OS picked one; read it back from the listening socket.
        server = self._broker._servers["default"].instance
        port: int = server.sockets[0].getsockname()[1]
        return port

    def _shutdown(self) -> None:
        if self._broker is not None:
            future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
            with contextlib.suppress(Exception):
                future.result(timeout=STOP_TIMEOUT_S)
        self._stop_loop()

    def _stop_loop(self) -> None:
        if self._loop.is_closed():
            return
        # Cancel leftover client handler tasks so their sockets close with the loop.
        self._loop.call_soon_threadsafe(self._cancel_tasks_and_stop)
        self._thread.join(timeout=STOP_TIMEOUT_S)
        if not self._thread.is_alive():
            self._loop.close()

    def _cancel_tasks_and_stop(self) -> None:
        for task in asyncio.all_tasks(self._loop):
            task.cancel()
        # Let the cancellations run one round before the loop stops.
        self._loop.call_soon(self._loop.stop)


class _MosquittoBroker(Broker):
    """Mosquitto as a subprocess with a generated config in a temp dir."""

    def __init__(
        self, binary: str, host: str, port: int, server: ServerCertificate | None = None
    ) -> None:
        super().__init__("mosquitto", host, port, tls=server is not None)
        self._binary = binary
        self._server = server
        self._dir = Path(tempfile.mkdtemp(prefix="faultline-mosquitto-"))
        self._stderr_path = self._dir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # Without this, a readiness probe could succeed against whatever already listens there.
        if _port_accepts(self.host, self.port):
            self._fail("port already in use")
        conf = self._dir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} {self.host}\n"
            + (self._tls_config() if self._server else "allow_anonymous true\n")
            + "persistence false\n"
            "log_dest stderr\n"
            "log_type error\n"
            "log_type warning\n"
            # IoT Core never drops a QoS 1 message the rules engine has not taken yet; by
            # default Mosquitto queues 1000 per subscriber and drops the rest, which lost a
            # fifth of `faultline bench burst` while the rules engine was busy. Not 0 ("no
            # limit"): with it, Mosquitto 2.0.11 stops answering a publish the ACL refuses
            # with PUBACK 0x87 (the device-identity tests catch that).
            "max_queued_messages 1000000\n"
        )
        # stderr goes to a file, not a pipe, so a chatty broker can never block on it.
        with self._stderr_path.open("wb") as stderr:
            self._proc = subprocess.Popen(
                [self._binary, "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._fail(f"mosquitto exited with code {self._proc.returncode}")
            if _port_accepts(self.host, self.port):
                return
            time.sleep(0.05)
        self._fail(f"mosquitto did not accept connections within {START_TIMEOUT_S:.0f} s")

    def _tls_config(self) -> str:
        assert self._server is not None
        acl = self._dir / "acl"
        acl.write_text(device_acl())
        # Mosquitto started as root drops to the `mosquitto` user before it loads the
        # certificates and the ACL, and could not read our 0700 directories: it stays the
        # user who started it (a no-op when that is not root).
        user = pwd.getpwuid(os.geteuid()).pw_name
        return (
            f"user {user}\n"
            f"cafile {self._server.ca_file}\n"
            f"certfile {self._server.cert_file}\n"
            f"keyfile {self._server.key_file}\n"
            "require_certificate true\n"
            "use_identity_as_username true\n"
            # Mosquitto has no "client id must equal the username" check. Instead it
            # replaces whatever client id a device asks for with its certificate's CN, so
            # no device can take over (and disconnect) another's session.
            "use_username_as_clientid true\n"
            "allow_anonymous false\n"
            f"acl_file {acl}\n"
        )

    def _fail(self, reason: str) -> None:
        stderr = self._read_stderr()
        self.stop()
        raise BrokerUnavailable(
            f"{reason} on {self.host}:{self.port}; stderr:\n{stderr or '(empty)'}"
        )

    def _read_stderr(self) -> str:
        try:
            return self._stderr_path.read_text(errors="replace").strip()
        except OSError:
            return ""

    def _shutdown(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=STOP_TIMEOUT_S)
        shutil.rmtree(self._dir, ignore_errors=True)


def start_broker(
    kind: str = "auto",
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tls: ServerCertificate | None = None,
) -> Broker:
    """Start an MQTT broker and return once it accepts connections.

    kind: "auto" (Mosquitto if on PATH, else amqtt), "amqtt" or "mosquitto".
    port: 0 picks a free port; read the real one from `Broker.port`.
    tls: the broker's certificate (from `iot.pki`): Mosquitto with mutual TLS and the
    per-thing ACL; only Mosquitto can do that, so "amqtt" with tls is refused.
    """
    if kind not in ("auto", "amqtt", "mosquitto"):
        raise ValueError(f"unknown broker kind {kind!r}; expected auto, amqtt or mosquitto")
    if tls is not None and kind == "amqtt":
        raise ValueError("mutual TLS with the per-thing ACL needs Mosquitto, not amqtt")
    binary = shutil.which("mosquitto")
    if (kind == "mosquitto" or tls is not None) and binary is None:
        raise BrokerUnavailable("mosquitto is not installed (apt-get install mosquitto)")
    if kind != "amqtt" and binary is not None:
        # Mosquitto reports no chosen port back, so pick one for it.
        mosquitto = _MosquittoBroker(binary, host, port or free_port(host), tls)
        mosquitto.start()
        return mosquitto
    amqtt = _AmqttBroker(host, port)
    amqtt.start()
    return amqtt
