"""The AWS emulator of the local stack: moto's server in a thread or a process of its own.

Both run moto with the local patches (``infra.moto_patches``); the process also keeps the
garbage collector's full passes out of its request latency.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import boto3

from infra.moto_patches import patched_server
from infra.template import TEMPLATE_PATH

#: The emulator's dummy credentials, named as botocore's client and session arguments;
#: only ever given to the sessions and clients the local stack creates.
LOCAL_CREDENTIALS: Mapping[str, str] = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}


def boto3_session(region: str = "us-east-1") -> boto3.Session:
    """A boto3 session with the emulator's dummy credentials (no global state touched)."""
    return boto3.Session(
        aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
        aws_session_token=LOCAL_CREDENTIALS["aws_session_token"],
        region_name=region,
    )


class MotoEndpoint:
    """A moto server running in a thread of this process.

    moto keeps its state in process-wide backends: every moto server (and any ``mock_aws``)
    in one process sees the same accounts and resources. While several endpoints run they
    share that state; when the last running endpoint stops, the state is reset, so the
    next ``start_moto`` (e.g. in the next test module) begins empty.
    """

    _running = 0
    _lock = threading.Lock()

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = patched_server(host, port)
        self._server.start()
        bound_host, bound_port = self._server.get_host_and_port()
        self.host = bound_host
        self.port = bound_port
        self.url = f"http://{bound_host}:{bound_port}"
        self._stopped = False
        with MotoEndpoint._lock:
            MotoEndpoint._running += 1

    def reset(self) -> None:
        """Forget every resource in moto (process-wide)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        with MotoEndpoint._lock:
            MotoEndpoint._running -= 1
            last = MotoEndpoint._running == 0
            if last:
                self.reset()
            self._server.stop()

    def __enter__(self) -> MotoEndpoint:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"MotoEndpoint({self.url!r})"


class MotoProcess:
    """A moto server in a process of its own: the local stack's emulator.

    Its own interpreter (and GIL) keeps the emulator's CPU from slowing the handlers and the
    broker clients; the state dies with the process.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "infra.emulator", host, str(port)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=TEMPLATE_PATH.parent,  # the repository root, where `-m infra.emulator` imports
        )
        assert self._process.stdout is not None
        ready = self._process.stdout.readline().split()  # "ready <port>"
        if len(ready) != 2 or ready[0] != "ready":
            self._process.kill()
            raise RuntimeError(f"the AWS emulator did not start (exit {self._process.wait()})")
        self.host = host
        self.port = int(ready[1])
        self.url = f"http://{host}:{self.port}"

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> MotoProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_moto(
    host: str = "127.0.0.1", port: int = 0, *, separate_process: bool = False
) -> MotoEndpoint | MotoProcess:
    """Start moto's server (a thread here, or its own process); ``port=0`` picks a free port."""
    if separate_process:
        return MotoProcess(host=host, port=port)
    return MotoEndpoint(host=host, port=port)


#: The services the local stack deploys into and calls (see ``_keep_full_collections_short``).
EMULATED_SERVICES: tuple[str, ...] = (
    "cloudformation",
    "dynamodb",
    "iam",
    "lambda",
    "s3",
    "sns",
    "sqs",
    "sts",
)


def _keep_full_collections_short(services: Iterable[str] = EMULATED_SERVICES) -> None:
    """Keep the garbage collector's full passes out of the emulator's request latency.

    The server answers one request at a time, so a pause of the collector is a pause of
    every caller. moto's CloudFormation backend imports nearly every moto backend (over
    200,000 objects that live as long as the process), and the tables' items (tens of
    thousands of ``DynamoType`` objects) only ever grow; each full collection walked all
    of it again (100-250 ms on the benchmark machine), which was the tail of the local
    end-to-end latency. So: load the services' backends up front, freeze that heap, and
    after every full collection freeze its survivors too. A full pass then walks only what
    was promoted since the last one. Frozen objects are still freed by reference counting;
    only a reference cycle that dies after it was frozen is not reclaimed, and the
    emulator's long-lived data (items, tables) holds no cycles.
    """
    from moto.moto_server.werkzeug_app import create_backend_app

    for service in services:
        create_backend_app(service)  # type: ignore[arg-type]
    gc.collect()
    gc.freeze()

    def freeze_survivors(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info.get("generation") == 2:
            gc.freeze()

    gc.callbacks.append(freeze_survivors)


def _serve(host: str, port: int) -> None:
    """Entry point of MotoProcess: serve until terminated."""
    server = patched_server(host, port)
    _keep_full_collections_short()
    server.start()
    print("ready", server.get_host_and_port()[1], flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    parent = os.getppid()
    # Also end when the parent is gone (killed without a chance to stop us).
    while not stop.wait(1.0) and os.getppid() == parent:
        pass
    server.stop()


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]))
