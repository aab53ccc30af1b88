"""What operators watch, from the functions themselves: the metrics the alarms and the
dashboard read (template.yaml), and the API's correlation id, which API Gateway's access
log carries too (its request id), so one request is followed from the gateway to the
handler's lines."""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.dal.due import DueWork
from functions.logic.sweeper import StuckOrderSweeper
from infra.lambda_runtime import LocalContext, load_handler
from schemas.orders import RejectionReason
from tests.functions.api_events import api_request, call_api
from tests.functions.conftest import Identity
from tests.functions.events import codes_of, event_for, fault, invoke
from tests.recording import Recording


def emitted(out: str) -> dict[str, list[float]]:
    """Metric name -> values of the EMF documents Powertools printed."""
    found: dict[str, list[float]] = {}
    for line in out.splitlines():
        if '"_aws"' not in line:
            continue
        doc = json.loads(line)
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "Faultline"
            assert directive["Dimensions"] == [["service"]] and doc["service"] == "faultline"
            for metric in directive["Metrics"]:
                value = doc[metric["Name"]]
                found.setdefault(metric["Name"], []).extend(
                    value if isinstance(value, list) else [value]
                )
    return found


def test_a_rejection_is_counted_under_its_reason(aws_stack, capsys):
    invoke(event_for(f"ghost-{uuid.uuid4().hex[:6]}", fault("E18")))
    metrics = emitted(capsys.readouterr().out)
    assert metrics["Fault_rejected"] == [1.0]
    assert metrics[f"Rejected_{RejectionReason.UNKNOWN_THING.value}"] == [1.0]
    assert "DispatchLatency" not in metrics


def test_a_fault_dispatched_at_ingest_reports_its_latency_from_receipt(household, capsys):
    house = household()
    event = event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0]))
    event["received_at"] = int(time.time() * 1000) - 1500  # IoT Core took it 1.5 s ago
    before = time.time() * 1000
    assert invoke(event)["outcome"] == "dispatched"
    took = time.time() * 1000 - before
    metrics = emitted(capsys.readouterr().out)
    [latency] = metrics["DispatchLatency"]
    assert 1500 <= latency <= 1500 + took + 1
    assert not any(name.startswith("Rejected_") for name in metrics)


class DueOnly:
    """An orders table holding only due entries, none of them an order any more."""

    def __init__(self, due: list[DueWork]) -> None:
        self.due = due

    def unsettled_events(self, before: datetime, limit: int) -> list[Any]:
        return []

    def due_work(self, now: datetime, limit: int = 100) -> list[DueWork]:
        return sorted((w for w in self.due if w.due_at <= now), key=lambda w: w.due_at)

    def get(self, order_id: str) -> None:
        return None


def test_the_sweep_reports_how_late_the_oldest_due_item_it_read_was() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    due = [
        DueWork("ord_late", retry=False, due_at=now - timedelta(minutes=7)),
        DueWork("ord_recent", retry=False, due_at=now - timedelta(seconds=20)),
        DueWork("ord_future", retry=False, due_at=now + timedelta(minutes=5)),
    ]

    def sweeper(table: DueOnly) -> StuckOrderSweeper:
        fake: Any = table  # stands in for the orders, events and due tables at once
        announcer = Recording().announcer(lambda: now, fake)
        return StuckOrderSweeper(fake, fake, fake, fake, lambda: now, announcer, offers=fake)

    assert sweeper(DueOnly(due)).sweep().oldest_due_age == 420.0
    assert sweeper(DueOnly(due[2:])).sweep().oldest_due_age == 0.0


def test_the_sweeper_handler_emits_the_backlog_age_it_reports(aws_stack, capsys):
    handler = load_handler("functions.sweep_stuck_orders.app.handler")
    report = handler({}, LocalContext("SweepStuckOrdersFunction", 512, 60))
    assert emitted(capsys.readouterr().out)["DueBacklogAge"] == [report["oldest_due_age"]]


@pytest.fixture
def api_log() -> Iterator[io.StringIO]:
    """The API logger's lines as Powertools formats them (keys added at write time)."""
    from functions.api.routing import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.name).addHandler(handler)
    yield stream
    logging.getLogger(logger.name).removeHandler(handler)


def test_the_apis_log_lines_carry_api_gateways_request_id(
    household, identity: Identity, api_log: io.StringIO
):
    house = household()
    homeowner = identity.user("homeowner", homes=[house.home.home_id])
    event = api_request(
        ("PUT", "/homes/{home_id}/policy"),
        token=homeowner.token,
        path={"home_id": house.home.home_id},
        body={"auto_approve": False, "max_auto_cost": 100.0},
    )
    assert call_api(event).status == 200
    [line] = [json.loads(x) for x in api_log.getvalue().splitlines() if "policy set" in x]
    # The access log's requestId ($context.requestId) is this line's correlation id.
    assert line["correlation_id"] == event["requestContext"]["requestId"]
    assert line["function_request_id"]  # the access log's integrationRequestId
    # Another request: its own id, nothing left over from the first.
    second = dict(event, requestContext={**event["requestContext"], "requestId": "req-2"})
    assert call_api(second).status == 200
    ids = [
        json.loads(x)["correlation_id"]
        for x in api_log.getvalue().splitlines()
        if "policy set" in x
    ]
    assert ids == [event["requestContext"]["requestId"], "req-2"]
