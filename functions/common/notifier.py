"""Publishing notifications to the SNS topic (the only SNS code): subscriptions (e-mail,
SMS, push, the local outbox queue) filter on the message attributes kind, home_id and
recipient."""

from __future__ import annotations

from typing import Any

from schemas.notifications import Notification


def message_attributes(notification: Notification) -> dict[str, dict[str, str]]:
    return {
        name: {"DataType": "String", "StringValue": value}
        for name, value in (
            ("kind", notification.kind.value),
            ("home_id", notification.home_id),
            ("recipient", notification.recipient.value),
        )
    }


class SnsNotifier:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def send(self, notification: Notification) -> None:
        self._client.publish(
            TopicArn=self._topic_arn,
            Message=notification.model_dump_json(by_alias=True, exclude_none=True),
            MessageAttributes=message_attributes(notification),
        )
