"""The request context in the functions' logs, kept per invocation.

Powertools' `inject_lambda_context` puts the Lambda context into keys shared by every user
of the logger. On Lambda that is one invocation per container at a time; the local runtime
runs several invocations of a function in one process at once, where shared keys would let
one invocation log another's request id. Powertools' thread-safe keys live in a context
variable instead, so each invocation logs its own, the same on Lambda and locally.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

Handler = TypeVar("Handler", bound=Callable[[Any, Any], Any])

_cold = True


def _cold_start() -> bool:
    global _cold
    cold, _cold = _cold, False
    return cold


@contextmanager
def logged_invocation(
    logger: Logger, context: Any, correlation_id: str | None = None
) -> Iterator[None]:
    """While it lasts, log lines carry this invocation's context (and correlation id) and
    only this one's. The API's correlation id is API Gateway's request id, which its access
    log carries too (template.yaml: RestApi AccessLogSetting)."""
    logger.thread_safe_clear_keys()
    keys = build_lambda_context_model(context).__dict__ if context is not None else {}
    logger.thread_safe_append_keys(cold_start=_cold_start(), **keys)
    if correlation_id:
        set_correlation_id(logger, correlation_id)
    try:
        yield
    finally:
        logger.thread_safe_clear_keys()


def invocation_context(logger: Logger) -> Callable[[Handler], Handler]:
    """Decorate a handler: its log lines carry this invocation's context and only this one's."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def with_context(event: Any, context: Any) -> Any:
            with logged_invocation(logger, context):
                return handler(event, context)

        return with_context  # type: ignore[return-value]

    return decorate


def set_correlation_id(logger: Logger, value: str) -> None:
    """The correlation id of this invocation's log lines."""
    logger.thread_safe_append_keys(correlation_id=value)


def handler_telemetry() -> tuple[Logger, Metrics]:
    """A handler module's Logger and Metrics (settings from the environment). The layers
    below log with the standard library (the domain knows no Powertools): their records,
    e.g. a failed diagnosis with its traceback, come out as this logger's JSON."""
    logger = Logger()
    copy_config_to_registered_loggers(source_logger=logger, include={"functions"})
    return logger, Metrics()
