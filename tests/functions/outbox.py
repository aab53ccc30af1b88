"""A per-test outbox: a queue subscribed to the notifications topic, filtered on one home."""

from __future__ import annotations

import uuid

from functions.common.wiring import dependencies
from infra.aws import DeployedStack
from infra.outbox import SentNotification, list_outbox, subscribe_queue


class HomeOutbox:
    """What the notifications topic delivered about one home (a filter policy on home_id)."""

    def __init__(self, stack: DeployedStack, home_id: str) -> None:
        self._sqs = stack.client("sqs")
        self.url = subscribe_queue(
            self._sqs,
            stack.client("sns"),
            dependencies().settings.notifications_topic_arn,
            f"outbox-{uuid.uuid4().hex[:12]}",
            filter_policy={"home_id": [home_id]},
        )

    def sent(self) -> list[SentNotification]:
        return list_outbox(self._sqs, self.url, hold_seconds=2)

    def kinds(self) -> list[str]:
        return [s.notification.kind.value for s in self.sent()]
