"""The ingest dead-letter queue, read without taking anything out of it.

Lambda sends a failed asynchronous invocation's event as the message body with the
attributes RequestID, ErrorCode and ErrorMessage; an IoT rule's error action sends its own
JSON body. Reading here leaves every message in the queue for the replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

#: ReceiveMessage returns at most 10 messages; this bounds the receives of one listing.
MAX_RECEIVES = 20


@dataclass(frozen=True)
class WaitingLetter:
    """One message waiting in the queue: its body and its attributes as text."""

    message_id: str
    body: str
    attributes: dict[str, str]
    sent_at_ms: int | None = None


def _waiting_letter(message: dict[str, Any]) -> WaitingLetter:
    sent = (message.get("Attributes") or {}).get("SentTimestamp")
    return WaitingLetter(
        message_id=message["MessageId"],
        body=message["Body"],
        attributes={
            name: value.get("StringValue", "")
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        sent_at_ms=int(sent) if sent else None,
    )


class DeadLetterQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def peek(self, limit: int = 100) -> list[WaitingLetter]:
        """Up to `limit` waiting messages, left in the queue: received with no visibility
        timeout, so a receive hides nothing from the replay or another operator."""
        seen: dict[str, WaitingLetter] = {}
        for _ in range(MAX_RECEIVES):
            got = self._client.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                MessageAttributeNames=["All"],
                AttributeNames=["SentTimestamp"],
            )
            new = [m for m in got.get("Messages", []) if m["MessageId"] not in seen]
            if not new:
                break
            seen.update((m["MessageId"], _waiting_letter(dict(m))) for m in new)
            if len(seen) >= limit:
                break
        return list(seen.values())[:limit]
