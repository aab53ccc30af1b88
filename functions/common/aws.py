"""The AWS clients of one set of dependencies, each created when first used.

Plain botocore clients: the functions use no boto3 resources or S3 transfers, and
importing boto3 would bring those in (about half of boto3's import time, paid on every
cold start). On Lambda the clients find region and credentials in the environment; the
local stack passes the emulator's endpoint, region and keys instead.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import botocore.session
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_iot_data import IoTDataPlaneClient
    from mypy_boto3_sqs import SQSClient

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


class AwsClients:
    def __init__(
        self,
        iot_data_url: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        """`credentials`: aws_access_key_id, aws_secret_access_key, aws_session_token."""
        self._iot_data_url = iot_data_url
        self._options: dict[str, Any] = {"config": _CONFIG, **(credentials or {})}
        if region:
            self._options["region_name"] = region
        self._endpoint_url = endpoint_url
        self._lock = threading.Lock()
        self._session: botocore.session.Session | None = None
        self._clients: dict[str, Any] = {}

    def _client(self, service: str, endpoint_url: str | None) -> Any:
        with self._lock:
            if service not in self._clients:
                if self._session is None:
                    self._session = botocore.session.get_session()
                self._clients[service] = self._session.create_client(
                    service, endpoint_url=endpoint_url, **self._options
                )
            return self._clients[service]

    @property
    def dynamodb(self) -> DynamoDBClient:
        return cast("DynamoDBClient", self._client("dynamodb", self._endpoint_url))

    @property
    def iot_data(self) -> IoTDataPlaneClient:
        return cast("IoTDataPlaneClient", self._client("iot-data", self._iot_data_url))

    @property
    def sqs(self) -> SQSClient:
        return cast("SQSClient", self._client("sqs", self._endpoint_url))

    @property
    def sns(self) -> Any:  # no SNS type stubs installed
        return self._client("sns", self._endpoint_url)
