"""The ingest dead-letter queue, locally: what Lambda puts on a dead letter, and the replay
that feeds the replay function's SQS consumer as Lambda's poller would (batches, partial
batch failures). Listing it is functions.dal.dead_letters' job, as for the API.

Lambda sends a failed asynchronous invocation's event as the message body, with the
attributes RequestID, ErrorCode and ErrorMessage; an IoT rule's error action sends its own
JSON. Both land in the same queue; only the first is a fault event to replay.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from functions.dal.dead_letters import ATTEMPTS_ATTRIBUTE, DeadLetter, dead_letter
from functions.logic.replay import fault_event_identity
from infra.lambda_runtime import Invocation


def dead_letter_attributes(invocation: Invocation) -> dict[str, Any]:
    """The attributes Lambda puts on an asynchronous invocation's dead letter."""
    return {
        "RequestID": {"DataType": "String", "StringValue": invocation.request_id},
        # Lambda's ErrorCode is the invoke's HTTP status: 200 for an error of the function.
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {"DataType": "String", "StringValue": (invocation.error or "")[:1024]},
        ATTEMPTS_ATTRIBUTE: {"DataType": "Number", "StringValue": str(invocation.attempts)},
    }


def poller_record(letter: DeadLetter, queue_arn: str, region: str) -> dict[str, Any]:
    """The record Lambda's SQS poller hands the function."""
    return {
        "messageId": letter.message_id,
        "receiptHandle": letter.receipt_handle,
        "body": letter.body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
        "messageAttributes": {
            name: {"stringValue": value, "dataType": "String"}
            for name, value in letter.attributes.items()
        },
        "md5OfBody": hashlib.md5(letter.body.encode()).hexdigest(),  # SQS's checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


@dataclass
class ReplayReport:
    replayed: list[DeadLetter] = field(default_factory=list)
    not_replayable: list[DeadLetter] = field(default_factory=list)  # reported, removed
    failed: list[DeadLetter] = field(default_factory=list)  # left in the queue


def replay_dead_letters(
    sqs: Any,
    queue_url: str,
    consumer: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    batch_size: int = 10,
    region: str = "us-east-1",
) -> ReplayReport:
    """Drain the queue through `consumer` (the replay function, invoked synchronously as
    Lambda's poller does): what it reports failed stays in the queue, the rest is deleted."""
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    report = ReplayReport()
    failed: dict[str, DeadLetter] = {}
    while True:
        got = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(batch_size, 10),
            VisibilityTimeout=60,  # hidden while the consumer works on them
            MessageAttributeNames=["All"],
        )
        batch = [dead_letter(m) for m in got.get("Messages", [])]
        if not batch:
            break
        response = consumer({"Records": [poller_record(d, arn, region) for d in batch]})
        failures = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        done = [d for d in batch if d.message_id not in failures]
        for letter in batch:
            if letter.message_id in failures:
                failed[letter.message_id] = letter
            elif fault_event_identity(letter.body) is None:
                report.not_replayable.append(letter)
            else:
                report.replayed.append(letter)
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": d.receipt_handle} for i, d in enumerate(done)
                ],
            )
    for letter in failed.values():  # visible again, for `dlq list` and the next replay
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=letter.receipt_handle, VisibilityTimeout=0
        )
    report.failed = list(failed.values())
    return report
