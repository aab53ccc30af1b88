"""OrdersTable: repair orders, event markers (dedupe) and open-order guards.

Items:
  ORDER#{order_id} / ORDER                 the order; gsi1 = open orders by status, sharded
                                            (functions.dal.keys), gsi2 = home
  EVENT#{thing}#{event_id} / EVENT          one per fault event ever applied (TTL 30 days)
  OPEN#{thing}#{fault_code} / OPEN          exists while that appliance has an open order
                                            for that code
Opening an order writes all three in one transaction, so a duplicate delivery or two racing
deliveries can never open a second order.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from functions.dal.items import from_attributes, key, to_attributes
from functions.dal.keys import (
    home_index_keys,
    home_partition,
    newest_first,
    queue_index_keys,
    queue_partitions,
)
from schemas.orders import OrderStatus, RepairOrder

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EVENT_MARKER_TTL_SECONDS = 30 * 24 * 3600


class DuplicateEvent(Exception):
    """The event was applied before. `settled` says whether its follow-up work finished."""

    def __init__(self, order_id: str, settled: bool) -> None:
        super().__init__(f"event already applied to {order_id}")
        self.order_id = order_id
        self.settled = settled


class OpenOrderExists(Exception):
    def __init__(self, order_id: str) -> None:
        super().__init__(f"open order {order_id} exists for this appliance and code")
        self.order_id = order_id


class StaleOrder(Exception):
    """Someone else changed the order first (its version moved on, or it closed)."""


class ExtraConditionFailed(Exception):
    """The order was current, but a condition on another item in the write failed."""


def order_key(order_id: str) -> dict[str, Any]:
    return key(f"ORDER#{order_id}", "ORDER")


def event_key(thing_name: str, event_id: str) -> dict[str, Any]:
    return key(f"EVENT#{thing_name}#{event_id}", "EVENT")


def open_guard_key(thing_name: str, fault_code: str) -> dict[str, Any]:
    return key(f"OPEN#{thing_name}#{fault_code}", "OPEN")


def _order_item(order: RepairOrder) -> dict[str, Any]:
    doc = order.model_dump(mode="json", by_alias=True)
    doc.update(queue_index_keys(order))
    doc.update(home_index_keys(order.home_id, doc["created_at"], order.order_id))
    return {**order_key(order.order_id), **to_attributes(doc)}


def _order_from_item(item: dict[str, Any]) -> RepairOrder:
    doc = from_attributes(item)
    for extra in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"):
        doc.pop(extra, None)
    return RepairOrder.model_validate(doc)


def _event_marker(thing_name: str, event_id: str, order_id: str, settled: bool) -> dict[str, Any]:
    return {
        **event_key(thing_name, event_id),
        "order_id": {"S": order_id},
        "settled": {"BOOL": settled},
        "expires_at": {"N": str(int(time.time()) + EVENT_MARKER_TTL_SECONDS)},
    }


def _settle_marker(thing_name: str, event_id: str) -> dict[str, Any]:
    return {
        "Key": event_key(thing_name, event_id),
        "UpdateExpression": "SET settled = :true",
        "ExpressionAttributeValues": {":true": {"BOOL": True}},
    }


def _cancellation_reasons(error: ClientError) -> list[dict[str, Any]]:
    reasons: list[dict[str, Any]] = error.response.get("CancellationReasons", [])  # type: ignore[assignment]
    return reasons


class OrdersTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def open(self, order: RepairOrder, *, settled: bool) -> None:
        """Create the order with its event marker and open guard, all or nothing.

        Raises DuplicateEvent or OpenOrderExists (carrying the order that was there first).
        `settled` is False when follow-up work (dispatch) is still to come for this event.
        """
        event_id = order.event_ids[0]
        items = [
            _event_marker(order.thing_name, event_id, order.order_id, settled),
            {
                **open_guard_key(order.thing_name, order.fault_code),
                "order_id": {"S": order.order_id},
            },
            _order_item(order),
        ]
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(pk)",
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    }
                    for item in items
                ]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            self._raise_for_conflict(_cancellation_reasons(exc))
            raise

    @staticmethod
    def _raise_for_conflict(reasons: list[dict[str, Any]]) -> None:
        def failed(i: int) -> dict[str, Any] | None:
            if i < len(reasons) and reasons[i].get("Code") == "ConditionalCheckFailed":
                return from_attributes(reasons[i].get("Item", {}))
            return None

        marker = failed(0)
        if marker is not None:
            raise DuplicateEvent(str(marker.get("order_id", "")), bool(marker.get("settled")))
        guard = failed(1)
        if guard is not None:
            raise OpenOrderExists(str(guard.get("order_id", "")))

    def add_occurrence(self, order_id: str, thing_name: str, event_id: str) -> None:
        """Fold a repeat of an open fault into its order; the event marker makes it once only."""
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": _event_marker(thing_name, event_id, order_id, settled=True),
                            "ConditionExpression": "attribute_not_exists(pk)",
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": order_key(order_id),
                            "UpdateExpression": (
                                "SET occurrences = occurrences + :one, "
                                "event_ids = list_append(event_ids, :event)"
                            ),
                            "ConditionExpression": (
                                "attribute_exists(pk) AND NOT #s IN (:c, :u, :d, :x)"
                            ),
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": {
                                ":one": {"N": "1"},
                                ":event": {"L": [{"S": event_id}]},
                                ":c": {"S": OrderStatus.COMPLETED.value},
                                ":u": {"S": OrderStatus.UNRESOLVED.value},
                                ":d": {"S": OrderStatus.DECLINED.value},
                                ":x": {"S": OrderStatus.CANCELLED.value},
                            },
                        }
                    },
                ]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = _cancellation_reasons(exc)
            self._raise_for_conflict(reasons[:1])
            raise StaleOrder(f"order {order_id} closed before the repeat was added") from exc

    def save(
        self,
        order: RepairOrder,
        *,
        expected_version: int,
        settle_event: tuple[str, str] | None = None,
        extra: list[dict[str, Any]] | None = None,
    ) -> None:
        """Write the order if nobody changed it since `expected_version`.

        In the same transaction: close the open guard when the order reached a final state,
        mark the event settled, and any `extra` transact items (e.g. a technician's load).
        """
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _order_item(order),
                    "ConditionExpression": "version = :expected",
                    "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
                }
            }
        ]
        if not order.is_open:
            items.append(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": open_guard_key(order.thing_name, order.fault_code),
                    }
                }
            )
        if settle_event is not None:
            items.append({"Update": {"TableName": self._table, **_settle_marker(*settle_event)}})
        items.extend(extra or [])
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = _cancellation_reasons(exc)
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise StaleOrder(
                    f"order {order.order_id} changed since v{expected_version}"
                ) from exc
            raise ExtraConditionFailed(order.order_id) from exc

    def get(self, order_id: str) -> RepairOrder | None:
        response = self._client.get_item(
            TableName=self._table, Key=order_key(order_id), ConsistentRead=True
        )
        return _order_from_item(response["Item"]) if "Item" in response else None

    def list_by_status(self, status: OrderStatus, limit: int = 100) -> list[RepairOrder]:
        """Open orders in `status`, most recently changed first, merged over the shards.

        Raises ValueError for a closed status: closed orders leave the work queue.
        """
        pages = [
            self._newest_first("by_status", "gsi1pk", "gsi1sk", partition, limit)
            for partition in queue_partitions(status)
        ]
        return newest_first(pages, limit)

    def list_by_home(self, home_id: str, limit: int = 100) -> list[RepairOrder]:
        """A home's orders, newest first."""
        pairs = self._newest_first("by_home", "gsi2pk", "gsi2sk", home_partition(home_id), limit)
        return [order for _sort_key, order in pairs]

    def _newest_first(
        self, index: str, key_attribute: str, sort_attribute: str, value: str, limit: int
    ) -> list[tuple[str, RepairOrder]]:
        """(sort key, order) pairs of one index partition, newest first."""
        response = self._client.query(
            TableName=self._table,
            IndexName=index,
            KeyConditionExpression=f"{key_attribute} = :v",
            ExpressionAttributeValues={":v": {"S": value}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [(i[sort_attribute]["S"], _order_from_item(i)) for i in response.get("Items", [])]
