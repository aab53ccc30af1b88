"""Lambda handler for the fault IoT rule: parse the event, run the use case, record metrics."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.wiring import fault_ingestor
from schemas.device import IngestEvent

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_parser(model=IngestEvent)
def handler(event: IngestEvent, context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(f"{event.thing_name}@{event.received_at}")
    result = fault_ingestor().ingest(event)
    metrics.add_metric(name=f"Fault_{result.outcome.value}", unit=MetricUnit.Count, value=1)
    answer = {"outcome": result.outcome.value, "order_id": result.order_id}
    if result.reason is not None:
        answer |= {"reason": result.reason.value, "detail": result.detail}
        logger.warning("fault event rejected", extra=answer)
    else:
        logger.info("fault event applied", extra=answer)
    return answer
