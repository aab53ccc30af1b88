"""The ingest dead-letter queue, read without taking anything out of it: the one reader of
its messages, for the operators' triage (the API), `faultline dlq` and the local replay.

Lambda sends a failed asynchronous invocation's event as the message body with the
attributes RequestID, ErrorCode and ErrorMessage; an IoT rule's error action sends its own
JSON body. Reading here leaves every message in the queue for the replay.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

#: ReceiveMessage returns at most 10 messages; this bounds the receives of a limited listing.
MAX_RECEIVES = 20
#: The message attribute the local runtime adds to Lambda's three: attempts made before the
#: event was dead-lettered (always 3 on Lambda, which does not send it).
ATTEMPTS_ATTRIBUTE = "Attempts"


@dataclass(frozen=True)
class DeadLetter:
    """One message in the queue: its body and its attributes as text."""

    message_id: str
    body: str
    attributes: dict[str, str]
    sent_at_ms: int | None = None
    receipt_handle: str = ""  # the receive's handle (the replay deletes with it)

    @property
    def error(self) -> str:
        """What the last attempt failed with: Lambda's ErrorMessage, or what an IoT rule's
        error action says failed in its body."""
        if "ErrorMessage" in self.attributes:
            return self.attributes["ErrorMessage"]
        try:
            return str(json.loads(self.body).get("error", ""))
        except (ValueError, AttributeError):
            return ""

    @property
    def attempts(self) -> int | None:
        attempts = self.attributes.get(ATTEMPTS_ATTRIBUTE, "")
        return int(attempts) if attempts.isdigit() else None

    @property
    def sent_at(self) -> datetime | None:
        return (
            datetime.fromtimestamp(self.sent_at_ms / 1000, UTC)
            if self.sent_at_ms is not None
            else None
        )


def dead_letter(message: Mapping[str, Any]) -> DeadLetter:
    """The letter of one message as ReceiveMessage returns it."""
    sent = (message.get("Attributes") or {}).get("SentTimestamp")
    return DeadLetter(
        message_id=message["MessageId"],
        body=message["Body"],
        attributes={
            name: value.get("StringValue", "")
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        sent_at_ms=int(sent) if sent else None,
        receipt_handle=message.get("ReceiptHandle", ""),
    )


class DeadLetterQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def peek(self, limit: int | None = 100) -> list[DeadLetter]:
        """Up to `limit` waiting messages (every one when None), left in the queue: received
        with no visibility timeout, so a receive hides nothing from the replay or another
        operator. Received until a receive brings no new one (at most MAX_RECEIVES times
        when limited: the API answers in bounded time)."""
        seen: dict[str, DeadLetter] = {}
        receives = 0
        while limit is None or (receives < MAX_RECEIVES and len(seen) < limit):
            receives += 1
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
            seen.update((m["MessageId"], dead_letter(m)) for m in new)
        return list(seen.values())[:limit]
