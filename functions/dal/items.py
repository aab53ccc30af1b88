"""Converting between pydantic models and DynamoDB's attribute-value format."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_attributes(data: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON-able dict -> DynamoDB item (floats become Decimals, as DynamoDB requires)."""
    as_decimals = json.loads(json.dumps(data), parse_float=Decimal)
    return {k: _serializer.serialize(v) for k, v in as_decimals.items() if v is not None}


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return _plain({k: _deserializer.deserialize(v) for k, v in item.items()})


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [_plain(v) for v in value]
    return value


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def batch_get(client: Any, request: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """One BatchGetItem over several tables (100 keys at most), following UnprocessedKeys.

    `request` is BatchGetItem's RequestItems: table name -> {"Keys": [...], ...}.
    """
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in request}
    pending = {table: spec for table, spec in request.items() if spec["Keys"]}
    while pending:
        response = client.batch_get_item(RequestItems=pending)
        for table, items in response.get("Responses", {}).items():
            found[table].extend(items)
        pending = response.get("UnprocessedKeys") or {}
    return found
