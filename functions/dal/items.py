"""Converting between pydantic models and DynamoDB's attribute-value format."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

# DynamoDB's attribute values for the JSON-shaped documents we store (boto3's TypeSerializer
# does the same, but importing it imports all of boto3).


def _serialize(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, Decimal)):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {k: _serialize(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"L": [_serialize(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def _number(text: str) -> int | float:
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)


def _deserialize(attribute: dict[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "S" or kind == "BOOL":
        return value
    if kind == "N":
        return _number(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: _deserialize(v) for k, v in value.items()}
    if kind == "L":
        return [_deserialize(v) for v in value]
    if kind == "SS":
        return list(value)
    if kind == "NS":
        return [_number(v) for v in value]
    raise TypeError(f"unexpected DynamoDB attribute type {kind}")


def to_attributes(data: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON-able dict -> DynamoDB item (floats become exact decimal strings)."""
    as_decimals = json.loads(json.dumps(data), parse_float=Decimal)
    return {k: _serialize(v) for k, v in as_decimals.items() if v is not None}


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserialize(v) for k, v in item.items()}


def write_if(write: Callable[..., Any], **request: Any) -> Any | None:
    """Run one conditional write (put_item, update_item, delete_item) with `request`: its
    response, or None when its condition failed. Any other error is raised."""
    try:
        return write(**request)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return None


def query_each(client: Any, partitions: Iterable[str], **request: Any) -> list[dict[str, Any]]:
    """The items of one Query per partition of an index, in partition order: `request` is
    the Query's, with the partition bound to `:pk` in each."""
    items: list[dict[str, Any]] = []
    for partition in partitions:
        values = {":pk": {"S": partition}, **request["ExpressionAttributeValues"]}
        response = client.query(**{**request, "ExpressionAttributeValues": values})
        items += response.get("Items", [])
    return items


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


MAX_BATCH_KEYS = 100  # BatchGetItem's limit, across all tables in one request
MAX_UNPROCESSED_ATTEMPTS = 8


def batch_get(client: Any, request: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """One BatchGetItem over several tables (100 keys at most), following UnprocessedKeys.

    `request` is BatchGetItem's RequestItems: table name -> {"Keys": [...], ...}.
    """
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in request}
    pending = {table: spec for table, spec in request.items() if spec["Keys"]}
    attempt = 0
    while pending:
        if attempt:
            # Unprocessed keys mean throttling: back off before asking again.
            if attempt >= MAX_UNPROCESSED_ATTEMPTS:
                raise RuntimeError("BatchGetItem still throttled after retries")
            time.sleep(min(1.0, 0.05 * 2**attempt))
        response = client.batch_get_item(RequestItems=pending)
        for table, items in response.get("Responses", {}).items():
            found[table].extend(items)
        pending = response.get("UnprocessedKeys") or {}
        attempt += 1
    return found


def batch_get_keys(client: Any, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item of `table` with these keys, in requests of up to 100 keys."""
    items: list[dict[str, Any]] = []
    for start in range(0, len(keys), MAX_BATCH_KEYS):
        chunk = {table: {"Keys": keys[start : start + MAX_BATCH_KEYS]}}
        items += batch_get(client, chunk)[table]
    return items
