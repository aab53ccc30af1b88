"""Lambda handler for the ingest dead-letter queue: replay each dead-lettered event.

Powertools' BatchProcessor reports the records that failed (`ReportBatchItemFailures`), so
SQS deletes the rest and offers only those again. A message that is no fault event (an IoT
rule's error action) can never succeed: it is logged with its body and counted, not retried.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.observability import handler_telemetry, invocation_context
from functions.common.snapstart import register_runtime_hooks
from functions.common.wiring import dependencies
from functions.logic.errors import NotAFaultEvent

register_runtime_hooks()
logger, metrics = handler_telemetry()
processor = BatchProcessor(event_type=EventType.SQS)


def replay_record(record: SQSRecord) -> dict[str, Any]:
    try:
        result = dependencies().dead_letter_replay.replay(record.body)
    except NotAFaultEvent as exc:
        logger.error(
            "dead letter is not a fault event; reported, not replayed",
            extra={"message_id": record.message_id, "why": str(exc), "body": record.body[:2048]},
        )
        metrics.add_metric(name="DeadLetterNotReplayable", unit=MetricUnit.Count, value=1)
        return {"replayed": False, "why": str(exc)}
    metrics.add_metric(name="DeadLetterReplayed", unit=MetricUnit.Count, value=1)
    answer = {"replayed": True, "outcome": result.outcome.value, "order_id": result.order_id}
    logger.info("dead letter replayed", extra=answer)
    return answer


@invocation_context(logger)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=replay_record, processor=processor, context=context
    )
