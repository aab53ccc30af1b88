"""OrdersTable: repair orders, their open-order guards, and their listings.

Items (orders table; its other items have modules of their own):
  ORDER#{order_id} / ORDER                 the order; gsi1 = open orders by status, sharded
                                            (functions.dal.keys), gsi2 = home; while open
                                            with a deadline, in the `due` index
                                            (functions.dal.due)
  OPEN#{thing}#{fault_code} / OPEN          exists while that appliance has an open order
                                            for that code

Every write of an order item is one operation here, named for what it does and run as one
transaction: opening writes the order, its guard and its fault event's marker
(functions.dal.events), so a duplicate delivery or two racing deliveries can never open a
second order; counting a repeat writes the order and the repeat's marker; every later write
is conditional on the version read (and on the count of repeats, which a repeat changes
without a new version), so two writers never both win. Writes that also change another
table's items (a booking, a completion, a rating) are functions.dal.visits', which takes the
order's part of the transaction from `save_items`. A failed condition is raised as its domain
error (functions.domain.errors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions.dal import transactions
from functions.dal.events import SettleEvent, new_marker, settle_item
from functions.dal.items import from_attributes, to_attributes
from functions.dal.keys import (
    due_index_keys,
    home_index_keys,
    home_partition,
    newest_first,
    open_guard_key,
    order_key,
    queue_index_keys,
    queue_partitions,
    triage_index_keys,
    triage_partitions,
)
from functions.dal.transactions import TransactItem, put_new
from functions.domain.errors import OpenOrderExists, StaleOrder
from schemas.orders import CLOSED_STATUSES, OrderStatus, RepairOrder

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _order_item(order: RepairOrder) -> dict[str, Any]:
    doc = order.model_dump(mode="json", by_alias=True)
    doc.update(queue_index_keys(order))
    doc.update(home_index_keys(order.home_id, doc["created_at"], order.order_id))
    doc.update(triage_index_keys(order))
    if order.deadline is not None and order.is_open:
        doc.update(due_index_keys(order.order_id, order.deadline.due_at))
    return {**order_key(order.order_id), **to_attributes(doc)}


_INDEX_ATTRIBUTES = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "due_pk", "due_at")


def _order_from_item(item: dict[str, Any]) -> RepairOrder:
    doc = from_attributes(item)
    for extra in (*_INDEX_ATTRIBUTES, "triage_pk", "triage_at"):
        doc.pop(extra, None)
    return RepairOrder.model_validate(doc)


#: How many event ids an order lists (occurrences counts every repeat): bounds the item.
MAX_LISTED_EVENT_IDS = 50


class _EventIdsFull(Exception):
    """The open order lists MAX_LISTED_EVENT_IDS event ids already."""


def _open_order_exists(old: dict[str, Any]) -> OpenOrderExists:
    return OpenOrderExists(str(old.get("order_id", "")))


class OrdersTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def open_order(self, order: RepairOrder, *, settled: bool, request_id: str = "") -> None:
        """Create the order with its event marker and open guard, all or nothing.

        Raises DuplicateEvent or OpenOrderExists (carrying the order that was there first).
        `settled` is False when follow-up work (dispatch) is still to come for this event;
        `request_id` (the invocation's) lets a retry of the same invocation know itself.
        """
        event_id = order.event_ids[0]
        marker = new_marker(
            self._table,
            order.thing_name,
            event_id,
            order.order_id,
            unsettled_since=None if settled else order.updated_at,
            request_id=request_id,
        )
        guard = {
            **open_guard_key(order.thing_name, order.fault_code),
            "order_id": {"S": order.order_id},
        }
        transactions.write(
            self._client,
            [
                marker,
                put_new(
                    self._table,
                    guard,
                    what="open-order guard",
                    condition_failed=_open_order_exists,
                ),
                # Order ids are random: a clash is not a conflict to tell apart, just a failure.
                put_new(self._table, _order_item(order), what=f"order {order.order_id}"),
            ],
        )

    def fold_repeat(self, order_id: str, thing_name: str, event_id: str) -> None:
        """Count a repeat of an open fault on its order; the event marker makes it once only.

        The order lists the first MAX_LISTED_EVENT_IDS event ids; later repeats are counted
        in `occurrences` only (each one's event marker still names the order), so an
        appliance re-reporting for days never grows its order past DynamoDB's item size.
        Raises DuplicateEvent, or StaleOrder when the order closed (or vanished) meanwhile.
        """
        try:
            self._fold(order_id, thing_name, event_id, list_event_id=True)
        except _EventIdsFull:
            self._fold(order_id, thing_name, event_id, list_event_id=False)

    def _fold(self, order_id: str, thing_name: str, event_id: str, *, list_event_id: bool) -> None:
        closed = {f":closed{i}": {"S": s.value} for i, s in enumerate(sorted(CLOSED_STATUSES))}
        update = "SET occurrences = occurrences + :one"
        condition = f"attribute_exists(pk) AND NOT #s IN ({', '.join(closed)})"
        values: dict[str, Any] = {":one": {"N": "1"}, **closed}
        if list_event_id:
            update += ", event_ids = list_append(event_ids, :event)"
            condition += " AND size(event_ids) < :listed"
            values[":event"] = {"L": [{"S": event_id}]}
            values[":listed"] = {"N": str(MAX_LISTED_EVENT_IDS)}

        def failed(old: dict[str, Any]) -> Exception:
            if old and old.get("status") not in CLOSED_STATUSES:
                return _EventIdsFull()  # open, so the list was full
            return StaleOrder(order_id, "closed before the repeat")

        count = TransactItem(
            "Update",
            {
                "TableName": self._table,
                "Key": order_key(order_id),
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": values,
            },
            what=f"order {order_id}",
            condition_failed=failed,
        )
        marker = new_marker(self._table, thing_name, event_id, order_id, unsettled_since=None)
        transactions.write(self._client, [marker, count])

    def save_order(
        self,
        order: RepairOrder,
        *,
        expected_version: int,
        settle_event: SettleEvent | None = None,
    ) -> None:
        """Write the order if nobody changed it since `expected_version`; else StaleOrder.

        In the same transaction: close the open guard when the order reached a final state,
        and mark `settle_event` settled.
        """
        transactions.write(
            self._client,
            self.save_items(order, expected_version=expected_version, settle_event=settle_event),
        )

    def save_items(
        self,
        order: RepairOrder,
        *,
        expected_version: int,
        settle_event: SettleEvent | None = None,
    ) -> list[TransactItem]:
        """save_order's part of a transaction: the order put on its version, its guard
        closed when final, its event settled (functions.dal.visits adds other tables')."""
        items = [
            TransactItem(
                "Put",
                {
                    "TableName": self._table,
                    "Item": _order_item(order),
                    # fold_repeat counts a repeat without a new version; a writer that read
                    # the order before it would put the old count back, so it must not win.
                    "ConditionExpression": "version = :expected AND occurrences = :occurrences",
                    "ExpressionAttributeValues": {
                        ":expected": {"N": str(expected_version)},
                        ":occurrences": {"N": str(order.occurrences)},
                    },
                },
                what=f"order {order.order_id}",
                condition_failed=lambda _old: StaleOrder(
                    order.order_id, f"changed since v{expected_version} (or a repeat was folded)"
                ),
            )
        ]
        if not order.is_open:
            guard = open_guard_key(order.thing_name, order.fault_code)
            items.append(
                TransactItem(
                    "Delete", {"TableName": self._table, "Key": guard}, what="open-order guard"
                )
            )
        if settle_event is not None:
            items.append(settle_item(self._table, settle_event))
        return items

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

    def list_to_triage(self, limit: int = 100) -> list[RepairOrder]:
        """Open orders flagged for triage (or approved with no offer), whatever their
        status, most recently changed first: one Query per shard of the sparse index."""
        pages = [
            self._newest_first("to_triage", "triage_pk", "triage_at", partition, limit)
            for partition in triage_partitions()
        ]
        return newest_first(pages, limit)

    def list_by_home(self, home_id: str, limit: int = 100) -> list[RepairOrder]:
        """A home's orders, newest first."""
        pairs = self._newest_first("by_home", "gsi2pk", "gsi2sk", home_partition(home_id), limit)
        return [order for _sort_key, order in pairs]

    def page_by_home(
        self,
        home_id: str,
        limit: int,
        *,
        before: str | None = None,
        status: OrderStatus | None = None,
    ) -> list[tuple[str, RepairOrder]]:
        """Up to `limit` (sort key, order) pairs of a home's orders, newest first: those
        whose index sort key is below `before` (a sort key this returned), in `status`.

        One Query on the `by_home` index, paged on (ExclusiveStartKey) while the status
        filter leaves fewer than `limit`; the sort keys of every home share one format,
        so pages of several homes merge newest first (functions.dal.keys.newest_first).
        """
        condition = "gsi2pk = :home"
        values: dict[str, Any] = {":home": {"S": home_partition(home_id)}}
        if before is not None:
            condition += " AND gsi2sk < :before"
            values[":before"] = {"S": before}
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by_home",
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if status is not None:
            request["FilterExpression"] = "#s = :status"
            request["ExpressionAttributeNames"] = {"#s": "status"}
            values[":status"] = {"S": status.value}
        request["ExpressionAttributeValues"] = values
        found: list[tuple[str, RepairOrder]] = []
        while len(found) < limit:
            response = self._client.query(**request)
            found += [(i["gsi2sk"]["S"], _order_from_item(i)) for i in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return found[:limit]

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
