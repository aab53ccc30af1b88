"""AWS clients, created once per process and only when first used.

boto3 honours AWS_ENDPOINT_URL, so the same code talks to AWS or to the local emulator.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from functions.common.settings import settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_iot_data import IoTDataPlaneClient

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


@functools.cache
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


@functools.cache
def iot_data() -> IoTDataPlaneClient:
    return boto3.client("iot-data", endpoint_url=settings().iot_data_url, config=_CONFIG)


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
    settings.cache_clear()
