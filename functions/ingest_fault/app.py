"""Lambda handler for the fault IoT rule: parse the event, run the use case, record metrics.

No Powertools Tracer here: importing the X-Ray SDK costs more cold-start time than the
whole budget of this function (see `faultline bench`); the function still runs with
Lambda's active tracing, and the API function uses the Tracer.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.observability import handler_telemetry, invocation_context, set_correlation_id
from functions.common.snapstart import register_runtime_hooks
from functions.common.wiring import dependencies
from functions.logic.ingest import Outcome
from schemas.device import IngestEvent

register_runtime_hooks()
logger, metrics = handler_telemetry()
# A policy-approved fault is dispatched (or offered) before ingest returns.
DISPATCHED_AT_INGEST = frozenset({Outcome.DISPATCHED, Outcome.OFFERED})


@invocation_context(logger)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # An event that is not the rule's shape is a deployment fault, not bad device input:
    # the ValidationError fails the invocation, Lambda retries it, then dead-letters it.
    ingest = IngestEvent.model_validate(event)
    set_correlation_id(logger, f"{ingest.thing_name}@{ingest.received_at}")
    # Lambda's retries of an asynchronous invocation keep its request id: a retry knows the
    # attempt before it ended, and finishes what that one left undone without waiting.
    result = dependencies().fault_ingestor.ingest(ingest, request_id=context.aws_request_id)
    metrics.add_metric(name=f"Fault_{result.outcome.value}", unit=MetricUnit.Count, value=1)
    if result.diagnosis_failed:  # logged with its traceback by the use case; counted here
        metrics.add_metric(name="DiagnosisFailed", unit=MetricUnit.Count, value=1)
    if result.reason is not None:  # the dashboard's rejections by reason
        metrics.add_metric(name=f"Rejected_{result.reason.value}", unit=MetricUnit.Count, value=1)
    if result.outcome in DISPATCHED_AT_INGEST:  # from IoT Core's receipt to a technician
        latency = time.time() * 1000 - ingest.received_at
        metrics.add_metric(name="DispatchLatency", unit=MetricUnit.Milliseconds, value=latency)
    answer = {"outcome": result.outcome.value, "order_id": result.order_id}
    if result.reason is not None:
        answer |= {"reason": result.reason.value, "detail": result.detail}
        logger.warning("fault event rejected", extra=answer)
    else:
        logger.info("fault event applied", extra=answer)
    return answer
