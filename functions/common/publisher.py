"""Publishing status messages through the IoT data plane (AWS IoT Core, or the local stack's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.common.topics import status_topic
from schemas.device import StatusMessage

if TYPE_CHECKING:
    from mypy_boto3_iot_data import IoTDataPlaneClient


class IotStatusPublisher:
    def __init__(self, client: IoTDataPlaneClient) -> None:
        self._client = client

    def publish(self, thing_name: str, message: StatusMessage) -> None:
        self._client.publish(
            topic=status_topic(thing_name),
            qos=1,
            payload=message.model_dump_json(by_alias=True, exclude_none=True).encode(),
        )
