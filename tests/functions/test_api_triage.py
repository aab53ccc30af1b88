"""Operators' triage: flagged orders, rejected events by day, dead letters; each with what
the operator can do next."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from chalice.test import Client

from faultline.cli import main
from functions.common.wiring import dependencies
from functions.domain.orders import flag_for_triage, transition
from functions.domain.triage import ORDER_STEPS, REJECTION_STEPS
from functions.logic.triage import TriageQueue
from schemas.orders import OrderStatus, Rejection, RejectionReason, TriageFlag, TriageReason
from tests.factories import present
from tests.functions.conftest import SignedIn
from tests.functions.events import codes_of, event_for, fault, invoke


def get(client: Client, path: str, operator: SignedIn) -> dict[str, Any]:
    response = client.http.get(path, headers={"Authorization": operator.authorization})
    assert response.status_code == 200, response.body
    return response.json_body


def test_flagged_orders_and_orders_with_no_technician_are_listed_with_next_steps(
    client, household, operator
) -> None:
    # Given an unknown code (awaiting approval, flagged) and an order nobody could take
    unknown = household(auto_approve=False)
    flagged = invoke(event_for(unknown.thing, fault("Z999")))["order_id"]
    lonely = household(with_technician=False)
    stranded = invoke(event_for(lonely.thing, fault(codes_of(lonely.appliance, self_fix=False)[0])))
    assert stranded["outcome"] == "no_technician"
    # When the operator lists the triage queue
    listed = {o["order_id"]: o for o in get(client, "/triage/orders", operator)["orders"]}
    # Then both are there, with why and what to do
    assert [r["reason"] for r in listed[flagged]["reasons"]] == ["unknown_code"]
    assert listed[flagged]["next_steps"] == list(ORDER_STEPS[TriageReason.UNKNOWN_CODE])
    assert "no_technician" in [r["reason"] for r in listed[stranded["order_id"]]["reasons"]]
    assert listed[stranded["order_id"]]["next_steps"][0].startswith("add a technician")


def test_flagged_orders_are_listed_whatever_their_status_and_leave_once_closed(
    client, household, operator
) -> None:
    # Given an order flagged unknown_code that a technician was then booked for, and a
    # flagged order that closed
    house = household()
    opened = invoke(event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0])))
    orders = dependencies().orders
    booked = present(orders.get(opened["order_id"]))
    assert booked.status is OrderStatus.DISPATCHED
    flag = TriageFlag(reason=TriageReason.UNKNOWN_CODE, detail="seen on site")
    flagged = flag_for_triage(booked, flag, at=booked.updated_at)
    orders.save_order(flagged, expected_version=booked.version)
    closed_house = household(auto_approve=False)
    closed_id = invoke(event_for(closed_house.thing, fault("Z998")))["order_id"]
    waiting = present(orders.get(closed_id))
    cancelled = transition(waiting, OrderStatus.CANCELLED, at=waiting.updated_at, by="test")
    orders.save_order(cancelled, expected_version=waiting.version)
    # When the operator lists the triage queue
    listed = {o["order_id"]: o for o in get(client, "/triage/orders", operator)["orders"]}
    # Then the dispatched one is there with its flag; the closed one is not
    assert listed[booked.order_id]["status"] == "dispatched"
    assert [r["reason"] for r in listed[booked.order_id]["reasons"]] == ["unknown_code"]
    assert closed_id not in listed


def test_a_days_rejections_are_counted_by_reason_with_next_steps(client, operator) -> None:
    day = datetime(2031, 3, 4, 12, tzinfo=UTC)
    reasons = [RejectionReason.MALFORMED_JSON] * 2 + [RejectionReason.UNKNOWN_THING]
    for n, reason in enumerate(reasons):
        dependencies().rejections.record(
            Rejection(
                rejection_id=f"rej_triage{n}",
                received_at=day,
                thing_name="washer-x",
                topic="dt/repair/washer-x/fault",
                reason=reason,
                detail="bad",
            )
        )
    answer = get(client, "/triage/rejections?day=2031-03-04", operator)
    assert answer["counts"] == {"malformed_json": 2, "unknown_thing": 1}
    steps = {r["rejection"]["rejection_id"]: r["next_steps"] for r in answer["rejections"]}
    assert steps["rej_triage2"] == list(REJECTION_STEPS[RejectionReason.UNKNOWN_THING])
    empty = get(client, "/triage/rejections?day=2031-03-05", operator)
    assert empty == {"day": "2031-03-05", "counts": {}, "rejections": []}


def test_dead_letters_are_listed_and_left_in_the_queue(
    client, household, operator, aws_stack, capsys
) -> None:
    queue_url = dependencies().settings.dead_letter_queue_url
    assert queue_url, "the template gives the API the ingest dead-letter queue"
    sqs = dependencies().clients.sqs
    house = household()
    ingest_event = event_for(house.thing, fault("E18", event_id="evt-dead-1"))
    failed = sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(ingest_event),
        MessageAttributes={
            "RequestID": {"DataType": "String", "StringValue": "req-1"},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": "Task timed out"},
            "Attempts": {"DataType": "Number", "StringValue": "3"},
        },
    )["MessageId"]
    rule_error = sqs.send_message(
        QueueUrl=queue_url, MessageBody=json.dumps({"error": "rule could not invoke"})
    )["MessageId"]
    try:
        for _ in range(2):  # listing takes nothing out
            listed = get(client, "/triage/dead-letters", operator)
            assert listed["configured"] is True
            letters = {d["message_id"]: d for d in listed["dead_letters"]}
            assert {failed, rule_error} <= set(letters)
        replayable = letters[failed]
        assert replayable["replayable"] and replayable["error"] == "Task timed out"
        assert (replayable["thing_name"], replayable["event_id"]) == (house.thing, "evt-dead-1")
        assert replayable["attempts"] == 3 and replayable["sent_at"]
        assert "replay" in replayable["next_steps"][0]
        other = letters[rule_error]
        assert not other["replayable"] and other["thing_name"] is None
        assert other["error"] == "rule could not invoke"  # what the rule's error action said
        # `faultline dlq list` reads the queue with the same reader, leaving it as it is
        capsys.readouterr()
        target = ["--aws-url", aws_stack.endpoint_url, "--stack-name", aws_stack.stack_name]
        assert main(["dlq", "list", "--json", *target]) == 0
        rows = {r["message_id"]: r for r in json.loads(capsys.readouterr().out)}
        assert rows[failed] == {
            "message_id": failed,
            "function": "IngestFaultFunction",
            "error": "Task timed out",
            "attempts": 3,
            "thing_name": house.thing,
            "event_id": "evt-dead-1",
        }
        assert (rows[rule_error]["function"], rows[rule_error]["error"]) == (
            "rule",
            "rule could not invoke",
        )
        assert {failed, rule_error} <= {
            d["message_id"] for d in get(client, "/triage/dead-letters", operator)["dead_letters"]
        }
        assert "IoT rule" in other["next_steps"][0]
    finally:
        mine = {failed, rule_error}
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        for message in got.get("Messages", []):
            if message["MessageId"] in mine:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_without_a_dead_letter_queue_triage_says_so(aws_stack) -> None:
    deps = dependencies()
    queue = TriageQueue(deps.orders, deps.rejections, dead_letters=None)
    answer = queue.waiting_dead_letters()
    assert answer.configured is False and answer.dead_letters == []
