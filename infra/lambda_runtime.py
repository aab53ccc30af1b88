"""Invoking handlers locally the way Lambda does for IoT rules: asynchronously, with retries."""

from __future__ import annotations

import importlib
import io
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TextIO

from functions.common.wiring import Dependencies, provided

log = logging.getLogger("faultline.local")

# Lambda retries a failed asynchronous invocation twice, then sends it to the dead-letter queue.
# Its retries come a minute or more apart; locally they come sooner, which changes nothing
# for the handler: a retry carries the first attempt's request id, as on Lambda.
ASYNC_ATTEMPTS = 3
RETRY_DELAY_SECONDS = 0.2


class FunctionOutput(io.TextIOBase):
    """sys.stdout while local stacks run: what the functions print (Powertools logs and EMF
    metrics) goes to their stack's function log, as Lambda sends it to CloudWatch Logs; the
    rest of the process keeps its console.

    One per process: loggers keep a reference to the stream they were created with, so the
    same object serves every stack, telling them apart by the name of the invoking thread.
    """

    _instance: ClassVar[FunctionOutput | None] = None

    def __init__(self, console: TextIO) -> None:
        self.console = console
        self._logs: dict[str, TextIO] = {}  # thread-name prefix -> that stack's function log
        self._lock = threading.Lock()

    @classmethod
    def capture(cls, log_path: Path, thread_prefix: str) -> FunctionOutput:
        """Route the output of threads named `thread_prefix`* to `log_path` until `release`."""
        if cls._instance is None:
            cls._instance = cls(sys.stdout)
        output = cls._instance
        if sys.stdout is not output:
            output.console = sys.stdout
            sys.stdout = output
        with output._lock:
            output._logs[thread_prefix] = log_path.open("a", buffering=1, encoding="utf-8")
        return output

    def release(self, thread_prefix: str) -> None:
        with self._lock:
            log = self._logs.pop(thread_prefix, None)
            last = not self._logs
        if log is not None:
            log.close()
        if last and sys.stdout is self:
            sys.stdout = self.console

    def write(self, text: str) -> int:
        # A pool names its threads "{prefix}_{n}".
        prefix = threading.current_thread().name.rpartition("_")[0]
        with self._lock:
            log = self._logs.get(prefix)
            if log is not None:
                return log.write(text)
        return self.console.write(text)

    def flush(self) -> None:
        self.console.flush()

    def isatty(self) -> bool:
        return self.console.isatty()


@dataclass
class LocalContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    region: str = "us-east-1"
    account_id: str = "123456789012"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def __post_init__(self) -> None:
        self.invoked_function_arn = (
            f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"
        )
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def load_handler(handler_path: str) -> Callable[[Any, Any], Any]:
    """'functions.ingest_fault.app.handler' -> the function, as Lambda's Python runtime does."""
    module_name, _, attribute = handler_path.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


@dataclass
class Invocation:
    function: str
    event: dict[str, Any]
    attempts: int = 0
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    result: Any = None
    error: str | None = None
    dead_lettered: bool = False


class AsyncInvoker:
    """A pool of 'Lambda containers': invokes handlers concurrently, retries, dead-letters."""

    def __init__(
        self,
        handlers: dict[str, tuple[str, int, int]],
        dead_letter: Callable[[Invocation], None],
        dependencies: Dependencies,
        *,
        concurrency: int = 8,
        thread_prefix: str = "lambda",
    ) -> None:
        self._specs = handlers  # logical id -> (handler path, memory MB, timeout s)
        self.dependencies = dependencies  # replaced to start cold 'containers'
        self._loaded: dict[str, Callable[[Any, Any], Any]] = {}
        self._lock = threading.Lock()
        self._dead_letter = dead_letter
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=thread_prefix)
        self.invocations: list[Invocation] = []
        self._pending: set[Future[Invocation]] = set()

    def _handler(self, function: str) -> Callable[[Any, Any], Any]:
        with self._lock:
            if function not in self._loaded:
                self._loaded[function] = load_handler(self._specs[function][0])
            return self._loaded[function]

    def invoke_async(self, function: str, event: dict[str, Any]) -> Future[Invocation]:
        invocation = Invocation(function=function, event=event)
        with self._lock:
            self.invocations.append(invocation)
            future = self._pool.submit(self._run, invocation)
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def invoke(self, function: str, event: dict[str, Any]) -> Invocation:
        """One synchronous invocation, no retries (as an event source mapping's poller
        invokes): an error is the caller's to handle."""
        invocation = Invocation(function=function, event=event, attempts=1)
        _, memory, timeout = self._specs[function]
        context = LocalContext(function, memory, timeout, aws_request_id=invocation.request_id)
        try:
            with provided(self.dependencies):
                invocation.result = self._handler(function)(event, context)
        except Exception as exc:
            invocation.error = f"{type(exc).__name__}: {exc}"
        return invocation

    def _done(self, future: Future[Invocation]) -> None:
        with self._lock:
            self._pending.discard(future)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no invocation is running or queued; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.02)
        return False

    def _run(self, invocation: Invocation) -> Invocation:
        _, memory, timeout = self._specs[invocation.function]
        handler = self._handler(invocation.function)
        # Lambda hands every attempt a fresh copy of the event.
        payload = json.dumps(invocation.event)
        while invocation.attempts < ASYNC_ATTEMPTS:
            invocation.attempts += 1
            context = LocalContext(
                invocation.function, memory, timeout, aws_request_id=invocation.request_id
            )
            try:
                with provided(self.dependencies):
                    invocation.result = handler(json.loads(payload), context)
                invocation.error = None
                return invocation
            except Exception as exc:
                invocation.error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "%s attempt %d failed: %s",
                    invocation.function,
                    invocation.attempts,
                    invocation.error,
                )
                time.sleep(RETRY_DELAY_SECONDS * invocation.attempts)
        invocation.dead_lettered = True
        self._dead_letter(invocation)
        return invocation

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
