"""AWS clients, created once per process and only when first used.

Plain botocore clients: the functions use no boto3 resources or S3 transfers, and
importing boto3 would bring those in (about half of boto3's import time, paid on every
cold start). botocore honours AWS_ENDPOINT_URL, so the same code talks to AWS or to the
local emulator.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, cast

import botocore.session
from botocore.config import Config

from functions.common.settings import settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_iot_data import IoTDataPlaneClient

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def dynamodb() -> DynamoDBClient:
    return cast("DynamoDBClient", _session().create_client("dynamodb", config=_CONFIG))


@functools.cache
def iot_data() -> IoTDataPlaneClient:
    client = _session().create_client(
        "iot-data", endpoint_url=settings().iot_data_url, config=_CONFIG
    )
    return cast("IoTDataPlaneClient", client)


def created_clients() -> list[Any]:
    """The clients made so far (benchmarks hook their request events)."""
    made = []
    for factory in (dynamodb, iot_data):
        if factory.cache_info().currsize:
            made.append(factory())
    return made


def reset_clients() -> None:
    """Forget the clients and settings, e.g. after the environment changed in a test."""
    dynamodb.cache_clear()
    iot_data.cache_clear()
    _session.cache_clear()
    settings.cache_clear()
