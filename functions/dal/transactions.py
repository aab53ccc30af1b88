"""One TransactWriteItems call whose failure is told as the typed error of the item that failed.

Each table module builds its own items (keys, expressions) as `TransactItem`s, each carrying
what its condition failing means. When DynamoDB cancels the transaction it returns one reason
per item, in the order sent: pairing each reason with its item names the condition that
failed, with no positions to keep in step by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from functions.dal.items import from_attributes
from functions.domain.errors import ItemBusy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Given the item as it was (empty when it did not exist), the error its failed condition means.
ConditionFailed = Callable[[dict[str, Any]], Exception]


@dataclass(frozen=True)
class TransactItem:
    """One action of a transaction: `kind` is Put, Update, Delete or ConditionCheck."""

    kind: str
    request: dict[str, Any]
    what: str  # names the item in errors, e.g. "order ord_1" or "technician t-1"
    condition_failed: ConditionFailed | None = None

    def action(self) -> dict[str, Any]:
        request = self.request
        if self.condition_failed is not None:
            # The old item lets the error say what was there (the first order, the units left).
            request = {**request, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        return {self.kind: request}


def put_new(
    table: str, item: dict[str, Any], *, what: str, condition_failed: ConditionFailed | None = None
) -> TransactItem:
    """A put of an item that must not exist yet."""
    return TransactItem(
        "Put",
        {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"},
        what=what,
        condition_failed=condition_failed,
    )


def write(client: DynamoDBClient, items: Sequence[TransactItem]) -> None:
    """Write `items` all or nothing.

    Raises the error of the first item (in the order given) whose condition failed, or
    ItemBusy when a concurrent transaction held one of the items. Any other failure is
    raised as botocore's ClientError.
    """
    try:
        client.transact_write_items(TransactItems=[i.action() for i in items])  # type: ignore[misc]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons: list[dict[str, Any]] = exc.response.get("CancellationReasons", [])  # type: ignore[assignment]
        error = _error_for(items, reasons)
        if error is None:
            raise
        raise error from exc


def _error_for(items: Sequence[TransactItem], reasons: list[dict[str, Any]]) -> Exception | None:
    for item, reason in zip(items, reasons, strict=False):
        code = reason.get("Code")
        if code == "ConditionalCheckFailed" and item.condition_failed is not None:
            return item.condition_failed(from_attributes(reason.get("Item", {})))
        if code == "TransactionConflict":
            return ItemBusy(item.what)
    return None
