"""Each invocation logs its own request context, even when invocations run at once."""

from __future__ import annotations

import io
import json
import threading
from typing import Any

from aws_lambda_powertools import Logger

from functions.common.observability import invocation_context, set_correlation_id
from infra.lambda_runtime import LocalContext


def test_concurrent_invocations_log_their_own_request_ids() -> None:
    stream = io.StringIO()
    logger = Logger(service="observability-test", stream=stream)
    # Both invocations have set their context before either logs: shared keys would show
    # the later invocation's request id in both lines.
    both_entered = threading.Barrier(2)

    @invocation_context(logger)
    def handler(event: dict[str, Any], context: Any) -> None:
        set_correlation_id(logger, event["thing"])
        both_entered.wait(timeout=5)
        logger.info("handled", extra={"thing": event["thing"]})

    contexts = {thing: LocalContext("Fn", 128, 3) for thing in ("washer-1", "boiler-2")}
    threads = [
        threading.Thread(target=handler, args=({"thing": thing}, context))
        for thing, context in contexts.items()
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sorted(line["thing"] for line in lines) == ["boiler-2", "washer-1"]
    for line in lines:
        assert line["function_request_id"] == contexts[line["thing"]].aws_request_id
        assert line["correlation_id"] == line["thing"]


def test_the_context_is_cleared_after_the_invocation() -> None:
    stream = io.StringIO()
    logger = Logger(service="observability-test-2", stream=stream)

    @invocation_context(logger)
    def handler(event: Any, context: Any) -> None:
        logger.info("inside")

    handler({}, LocalContext("Fn", 128, 3))
    logger.info("outside")

    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert "function_request_id" in inside
    assert "function_request_id" not in outside
