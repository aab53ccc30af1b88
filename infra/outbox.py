"""The local outbox: an SQS queue subscribed to the notifications topic (moto's SNS delivers
to SQS subscriptions), so what would reach people's phones and mailboxes in AWS can be read
locally (`faultline outbox`). In AWS the topic's subscriptions are e-mail, SMS or push; the
outbox is the local stack's own, not in template.yaml.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.notifications import Notification

TOPIC = "NotificationsTopic"  # the template's logical id


def outbox_queue_name(stack_name: str) -> str:
    return f"{stack_name}-outbox"


def subscribe_queue(
    sqs: Any,
    sns: Any,
    topic_arn: str,
    queue_name: str,
    filter_policy: Mapping[str, list[str]] | None = None,
) -> str:
    """Create `queue_name` and subscribe it to the topic with raw delivery (the body is the
    notification itself, the message attributes come along), optionally filtered on the
    attributes (kind, home_id, recipient). Returns the queue's URL."""
    url = str(sqs.create_queue(QueueName=queue_name)["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    attributes = {"RawMessageDelivery": "true"}
    if filter_policy:
        attributes["FilterPolicy"] = json.dumps(filter_policy)
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return url


@dataclass(frozen=True)
class SentNotification:
    message_id: str
    notification: Notification
    attributes: dict[str, str]  # the SNS message attributes: kind, home_id, recipient


def _sent(message: dict[str, Any]) -> SentNotification:
    return SentNotification(
        message_id=message["MessageId"],
        notification=Notification.model_validate_json(message["Body"]),
        attributes={
            name: value.get("StringValue", "")
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
    )


def list_outbox(sqs: Any, queue_url: str, *, hold_seconds: int = 20) -> list[SentNotification]:
    """Every notification in the queue, oldest first, left in it: messages are received
    (hidden for `hold_seconds`, so each receive brings new ones) until none is left, then
    made visible again."""
    received: dict[str, dict[str, Any]] = {}
    while True:
        got = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=hold_seconds,
            MessageAttributeNames=["All"],
            AttributeNames=["SentTimestamp"],
        ).get("Messages", [])
        new = [m for m in got if m["MessageId"] not in received]
        if not new:
            break
        received.update((m["MessageId"], m) for m in new)
    messages = list(received.values())
    for start in range(0, len(messages), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(messages[start : start + 10])
            ],
        )
    messages.sort(key=lambda m: int(m.get("Attributes", {}).get("SentTimestamp", "0")))
    return [_sent(m) for m in messages]
