"""Lambda handler for the fault IoT rule: parse the event, run the use case, record metrics.

No Powertools Tracer here: importing the X-Ray SDK costs more cold-start time than the
whole budget of this function (see `faultline bench`); the function still runs with
Lambda's active tracing, and the API function uses the Tracer.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.wiring import fault_ingestor
from schemas.device import IngestEvent

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # An event that is not the rule's shape is a deployment fault, not bad device input:
    # the ValidationError fails the invocation, Lambda retries it, then dead-letters it.
    ingest = IngestEvent.model_validate(event)
    logger.set_correlation_id(f"{ingest.thing_name}@{ingest.received_at}")
    result = fault_ingestor().ingest(ingest)
    metrics.add_metric(name=f"Fault_{result.outcome.value}", unit=MetricUnit.Count, value=1)
    if result.diagnosis_failed:  # logged with its traceback by the use case; counted here
        metrics.add_metric(name="DiagnosisFailed", unit=MetricUnit.Count, value=1)
    answer = {"outcome": result.outcome.value, "order_id": result.order_id}
    if result.reason is not None:
        answer |= {"reason": result.reason.value, "detail": result.detail}
        logger.warning("fault event rejected", extra=answer)
    else:
        logger.info("fault event applied", extra=answer)
    return answer
