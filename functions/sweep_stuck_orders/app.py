"""Lambda handler of the stuck-order sweeper (an EventBridge schedule in template.yaml):
stuck events, due approval timers, and retries of failed announcements."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.observability import handler_telemetry, invocation_context
from functions.common.snapstart import register_runtime_hooks
from functions.common.wiring import dependencies

register_runtime_hooks()
logger, metrics = handler_telemetry()


@invocation_context(logger)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = dependencies().stuck_order_sweeper.sweep()
    metrics.add_metric(name="StuckEventsFinished", unit=MetricUnit.Count, value=report.finished)
    metrics.add_metric(name="StuckEventsFailed", unit=MetricUnit.Count, value=report.failed)
    metrics.add_metric(name="ApprovalsReminded", unit=MetricUnit.Count, value=report.reminded)
    metrics.add_metric(name="ApprovalsEscalated", unit=MetricUnit.Count, value=report.escalated)
    metrics.add_metric(name="ApprovalsExpired", unit=MetricUnit.Count, value=report.expired)
    metrics.add_metric(name="AnnouncementsRetried", unit=MetricUnit.Count, value=report.retried)
    metrics.add_metric(name="DueWorkFailed", unit=MetricUnit.Count, value=report.due_failed)
    metrics.add_metric(name="DueBacklogAge", unit=MetricUnit.Seconds, value=report.oldest_due_age)
    logger.info("swept stuck orders", extra=asdict(report))
    return asdict(report)
