"""OrdersTable: repair orders, event markers (dedupe) and open-order guards.

Items:
  ORDER#{order_id} / ORDER                 the order; gsi1 = open orders by status, sharded
                                            (functions.dal.keys), gsi2 = home
  EVENT#{thing}#{event_id} / EVENT          one per fault event ever applied (TTL 30 days);
                                            while its follow-up work is unsettled, in the
                                            sparse index `unsettled` (shard / since)
  OPEN#{thing}#{fault_code} / OPEN          exists while that appliance has an open order
                                            for that code
  RETRY#{order_id} / RETRY                  what of the order's announcement failed (its
                                            status message, a notification), to send again

Orders with a deadline and retries are in the sparse, sharded index `due` (due_pk / due_at):
the sweeper queries it for what is due (functions.domain.deadlines says why not a schedule
per order).

Every write of an order is one operation here, named for what it does and run as one
transaction: opening writes all three items, so a duplicate delivery or two racing
deliveries can never open a second order; every later write is conditional on the version
read, so two writers never both win. Operations that also book a technician, reserve parts or
count a learned outcome take those items from their tables' modules. A failed condition is
raised as its domain error (functions.domain.errors).
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from functions.dal import transactions
from functions.dal.items import from_attributes, key, to_attributes, write_if
from functions.dal.keys import (
    due_index_keys,
    due_partitions,
    home_index_keys,
    home_partition,
    newest_first,
    queue_index_keys,
    queue_partitions,
)
from functions.dal.transactions import TransactItem
from functions.domain.errors import DuplicateEvent, OpenOrderExists, StaleOrder
from schemas.orders import CLOSED_STATUSES, OrderStatus, RepairOrder, TimeWindow

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from functions.dal.learning import LearningTable
    from functions.dal.stock import StockTable
    from functions.dal.technicians import TechniciansTable

EVENT_MARKER_TTL_SECONDS = 30 * 24 * 3600
# The thing name and event id of a fault event whose follow-up work a write finishes.
SettleEvent = tuple[str, str]
# Unsettled markers spread over this many index partitions, so that every approved order
# does not write to one hot partition of the sparse index; the sweeper reads each shard.
UNSETTLED_INDEX = "unsettled"
UNSETTLED_SHARDS = 4
DUE_INDEX = "due"
# A retry item that never succeeded is dropped after this (the status it was for is stale).
RETRY_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class EventMarker:
    """What an applied fault event left: its order, and whether its follow-up settled."""

    order_id: str
    settled: bool


@dataclass(frozen=True)
class UnsettledEvent:
    """A fault event whose follow-up work (dispatch, status message) has not finished."""

    thing_name: str
    event_id: str
    order_id: str
    since: datetime


def order_key(order_id: str) -> dict[str, Any]:
    return key(f"ORDER#{order_id}", "ORDER")


def event_key(thing_name: str, event_id: str) -> dict[str, Any]:
    return key(f"EVENT#{thing_name}#{event_id}", "EVENT")


def open_guard_key(thing_name: str, fault_code: str) -> dict[str, Any]:
    return key(f"OPEN#{thing_name}#{fault_code}", "OPEN")


def retry_key(order_id: str) -> dict[str, Any]:
    return key(f"RETRY#{order_id}", "RETRY")


@dataclass(frozen=True)
class DueWork:
    """An entry of the `due` index: an order whose deadline is due, or a retry."""

    order_id: str
    retry: bool  # a retry item, else the order's own deadline
    due_at: datetime


@dataclass(frozen=True)
class PendingRetry:
    """What of an order's announcement is still to send, as recorded."""

    order_id: str
    pending: frozenset[str]  # "status", "notification:<kind>"
    failures: int  # failures recorded: the version a finished retry deletes on
    attempts: int  # retries made
    since: datetime


def _order_item(order: RepairOrder) -> dict[str, Any]:
    doc = order.model_dump(mode="json", by_alias=True)
    doc.update(queue_index_keys(order))
    doc.update(home_index_keys(order.home_id, doc["created_at"], order.order_id))
    if order.deadline is not None and order.is_open:
        doc.update(due_index_keys(order.order_id, order.deadline.due_at))
    return {**order_key(order.order_id), **to_attributes(doc)}


def _order_from_item(item: dict[str, Any]) -> RepairOrder:
    doc = from_attributes(item)
    for extra in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "due_pk", "due_at"):
        doc.pop(extra, None)
    return RepairOrder.model_validate(doc)


def _duplicate_event(old: dict[str, Any]) -> DuplicateEvent:
    return DuplicateEvent(
        str(old.get("order_id", "")), bool(old.get("settled")), str(old.get("request_id", ""))
    )


def _unsettled_shard(thing_name: str) -> str:
    return f"UNSETTLED#{zlib.crc32(thing_name.encode()) % UNSETTLED_SHARDS}"


def _sortable(at: datetime) -> str:
    """A UTC time as a string that sorts like the time (isoformat drops zero microseconds)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _unsettled_attributes(thing_name: str, since: datetime) -> dict[str, Any]:
    return {
        "unsettled_pk": {"S": _unsettled_shard(thing_name)},
        "unsettled_at": {"S": _sortable(since)},
    }


_SETTLE = "SET settled = :true REMOVE unsettled_pk, unsettled_at"


#: How many event ids an order lists (occurrences counts every repeat): bounds the item.
MAX_LISTED_EVENT_IDS = 50


class _EventIdsFull(Exception):
    """The open order lists MAX_LISTED_EVENT_IDS event ids already."""


def _open_order_exists(old: dict[str, Any]) -> OpenOrderExists:
    return OpenOrderExists(str(old.get("order_id", "")))


class OrdersTable:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        technicians: TechniciansTable,
        stock: StockTable,
        learning: LearningTable,
    ) -> None:
        self._client = client
        self._table = table_name
        # The tables whose items ride in an order's transactions (a booking, a completion).
        self._technicians = technicians
        self._stock = stock
        self._learning = learning

    def open_order(self, order: RepairOrder, *, settled: bool, request_id: str = "") -> None:
        """Create the order with its event marker and open guard, all or nothing.

        Raises DuplicateEvent or OpenOrderExists (carrying the order that was there first).
        `settled` is False when follow-up work (dispatch) is still to come for this event;
        `request_id` (the invocation's) lets a retry of the same invocation know itself.
        """
        event_id = order.event_ids[0]
        marker = self._event_marker(order.thing_name, event_id, order.order_id, settled)
        marker["request_id"] = {"S": request_id}
        if not settled:
            marker.update(_unsettled_attributes(order.thing_name, order.updated_at))
        guard = {
            **open_guard_key(order.thing_name, order.fault_code),
            "order_id": {"S": order.order_id},
        }
        transactions.write(
            self._client,
            [
                self._new(
                    marker,
                    what=f"event {event_id}",
                    condition_failed=_duplicate_event,
                ),
                self._new(guard, what="open-order guard", condition_failed=_open_order_exists),
                # Order ids are random: a clash is not a conflict to tell apart, just a failure.
                self._new(_order_item(order), what=f"order {order.order_id}"),
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
        marker = self._new(
            self._event_marker(thing_name, event_id, order_id, settled=True),
            what=f"event {event_id}",
            condition_failed=_duplicate_event,
        )
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
        transactions.write(self._client, self._order_writes(order, expected_version, settle_event))

    def book_and_reserve(
        self,
        order: RepairOrder,
        *,
        expected_version: int,
        settle_event: SettleEvent | None = None,
    ) -> None:
        """Write the order dispatched, take one of its technician's slots and reserve its kit.

        Raises StaleOrder, TechnicianFullyBooked, or OutOfStock naming the part.
        """
        if order.status is not OrderStatus.DISPATCHED or order.offer is None:
            raise ValueError(f"order {order.order_id} is not dispatched to a technician")
        technician_id = order.offer.technician_id
        transactions.write(
            self._client,
            [
                *self._order_writes(order, expected_version, settle_event),
                *self._technicians.book_items(technician_id, order.order_id, order.offer.window),
                *self._stock.reserve_items(order.parts, technician_id),
            ],
        )

    def cancel_booked(self, order: RepairOrder, *, expected_version: int) -> None:
        """Write the order cancelled and give back what its booking took: the technician's
        slot, its window (map entry and busy blocks) and its reserved parts; else StaleOrder.
        """
        if order.status is not OrderStatus.CANCELLED or order.offer is None:
            raise ValueError(f"order {order.order_id} is not a cancelled booking")
        offer = order.offer
        transactions.write(
            self._client,
            [
                *self._order_writes(order, expected_version, None),
                *self._technicians.release_items(offer.technician_id, order.order_id, offer.window),
                *self._stock.release_items(order.parts, offer.technician_id),
            ],
        )

    def move_booking(
        self, order: RepairOrder, *, expected_version: int, old_window: TimeWindow
    ) -> None:
        """Write the order with its booking moved from `old_window` to its offer's window:
        the new blocks taken (SlotTaken when someone holds one), the old ones freed."""
        if order.status is not OrderStatus.DISPATCHED or order.offer is None:
            raise ValueError(f"order {order.order_id} is not dispatched to a technician")
        offer = order.offer
        transactions.write(
            self._client,
            [
                *self._order_writes(order, expected_version, None),
                *self._technicians.move_items(
                    offer.technician_id, order.order_id, old_window, offer.window
                ),
            ],
        )

    def record_completion(
        self, order: RepairOrder, *, expected_version: int, counts_key: str
    ) -> None:
        """Write the order completed, free its technician's slot and count its confirmed
        cause (with what the readings showed) under `counts_key` for learning.

        Exactly once: a second completion finds the version moved on (StaleOrder).
        """
        if order.status is not OrderStatus.COMPLETED or order.confirmed_cause is None:
            raise ValueError(f"order {order.order_id} is not completed with a cause")
        learned = self._learning.record_outcome_item(
            counts_key, order.confirmed_cause, observations=order.diagnosis.observations
        )
        transactions.write(self._client, [*self._ending_visit(order, expected_version), learned])

    def record_unresolved(self, order: RepairOrder, *, expected_version: int) -> None:
        """Write the order unresolved and free its technician's slot; else StaleOrder."""
        if order.status is not OrderStatus.UNRESOLVED:
            raise ValueError(f"order {order.order_id} is not unresolved")
        transactions.write(self._client, self._ending_visit(order, expected_version))

    def _ending_visit(self, order: RepairOrder, expected_version: int) -> list[TransactItem]:
        if order.offer is None:
            raise ValueError(f"order {order.order_id} has no technician to release")
        offer = order.offer
        return [
            *self._order_writes(order, expected_version, None),
            *self._technicians.release_items(offer.technician_id, order.order_id, offer.window),
        ]

    def _order_writes(
        self, order: RepairOrder, expected_version: int, settle_event: SettleEvent | None
    ) -> list[TransactItem]:
        """The order put on its version, its guard closed when final, its event settled."""
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
            thing_name, event_id = settle_event
            items.append(
                TransactItem(
                    "Update",
                    {
                        "TableName": self._table,
                        "Key": event_key(thing_name, event_id),
                        "UpdateExpression": _SETTLE,
                        "ExpressionAttributeValues": {":true": {"BOOL": True}},
                    },
                    what=f"event {event_id}",
                )
            )
        return items

    def _new(
        self,
        item: dict[str, Any],
        *,
        what: str,
        condition_failed: transactions.ConditionFailed | None = None,
    ) -> TransactItem:
        """A put of an item that must not exist yet."""
        return TransactItem(
            "Put",
            {
                "TableName": self._table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
            },
            what=what,
            condition_failed=condition_failed,
        )

    @staticmethod
    def _event_marker(
        thing_name: str, event_id: str, order_id: str, settled: bool
    ) -> dict[str, Any]:
        return {
            **event_key(thing_name, event_id),
            "order_id": {"S": order_id},
            "settled": {"BOOL": settled},
            "expires_at": {"N": str(int(time.time()) + EVENT_MARKER_TTL_SECONDS)},
        }

    def settle_event(self, thing_name: str, event_id: str) -> None:
        """Mark the event's follow-up work finished (it leaves the `unsettled` index)."""
        self._client.update_item(
            TableName=self._table,
            Key=event_key(thing_name, event_id),
            UpdateExpression=_SETTLE,
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )

    def unsettle_event(self, thing_name: str, event_id: str, since: datetime) -> bool:
        """Mark an applied event's follow-up work unfinished again (its status message
        failed), so a retry or the sweeper finishes it. False when there is no marker."""
        written = write_if(
            self._client.update_item,
            TableName=self._table,
            Key=event_key(thing_name, event_id),
            UpdateExpression="SET settled = :false, unsettled_pk = :pk, unsettled_at = :at",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={
                ":false": {"BOOL": False},
                ":pk": {"S": _unsettled_shard(thing_name)},
                ":at": {"S": _sortable(since)},
            },
        )
        return written is not None

    def event_marker(self, thing_name: str, event_id: str) -> EventMarker | None:
        response = self._client.get_item(
            TableName=self._table, Key=event_key(thing_name, event_id), ConsistentRead=True
        )
        item = response.get("Item")
        if item is None:
            return None
        return EventMarker(item["order_id"]["S"], bool(item.get("settled", {}).get("BOOL")))

    def unsettled_events(self, older_than: datetime, limit: int = 100) -> list[UnsettledEvent]:
        """Events unsettled since before `older_than`, oldest first: one Query per shard of
        the sparse `unsettled` index (settled markers are not in it)."""
        found: list[UnsettledEvent] = []
        for shard in range(UNSETTLED_SHARDS):
            response = self._client.query(
                TableName=self._table,
                IndexName=UNSETTLED_INDEX,
                KeyConditionExpression="unsettled_pk = :pk AND unsettled_at < :cutoff",
                ExpressionAttributeValues={
                    ":pk": {"S": f"UNSETTLED#{shard}"},
                    ":cutoff": {"S": _sortable(older_than)},
                },
                Limit=limit,
            )
            for item in response.get("Items", []):
                _, thing_name, event_id = item["pk"]["S"].split("#", 2)
                found.append(
                    UnsettledEvent(
                        thing_name=thing_name,
                        event_id=event_id,
                        order_id=item["order_id"]["S"],
                        since=datetime.fromisoformat(item["unsettled_at"]["S"]),
                    )
                )
        return sorted(found, key=lambda e: e.since)[:limit]

    def due_work(self, now: datetime, limit: int = 100) -> list[DueWork]:
        """Deadlines and retries due by `now`, earliest first: one Query per shard of the
        sparse `due` index (no Scan). The index is eventually consistent: read the order
        (or the retry) itself before acting."""
        found: list[DueWork] = []
        for partition in due_partitions():
            response = self._client.query(
                TableName=self._table,
                IndexName=DUE_INDEX,
                KeyConditionExpression="due_pk = :pk AND due_at <= :now",
                ExpressionAttributeValues={
                    ":pk": {"S": partition},
                    ":now": {"S": _sortable(now)},
                },
                Limit=limit,
            )
            for item in response.get("Items", []):
                kind, order_id = item["pk"]["S"].split("#", 1)
                found.append(
                    DueWork(
                        order_id=order_id,
                        retry=kind == "RETRY",
                        due_at=datetime.fromisoformat(item["due_at"]["S"]),
                    )
                )
        return sorted(found, key=lambda w: w.due_at)[:limit]

    def record_retry(self, order_id: str, pending: set[str], due_at: datetime) -> None:
        """Record that part of an order's announcement failed, to send again once due.

        Merged into the order's retry item if one waits (the parts add up, the earlier due
        time stays); every record counts a failure, so a retry that finished deletes the
        item only if nothing failed since it read it."""
        due = due_index_keys(order_id, due_at)
        self._client.update_item(
            TableName=self._table,
            Key=retry_key(order_id),
            UpdateExpression=(
                "SET order_id = :id, due_pk = :pk, due_at = if_not_exists(due_at, :at), "
                "since = if_not_exists(since, :at), attempts = if_not_exists(attempts, :zero), "
                "expires_at = :ttl ADD failures :one, pending :pending"
            ),
            ExpressionAttributeValues={
                ":id": {"S": order_id},
                ":pk": {"S": due["due_pk"]},
                ":at": {"S": due["due_at"]},
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
                ":ttl": {"N": str(int(time.time()) + RETRY_TTL_SECONDS)},
                ":pending": {"SS": sorted(pending)},
            },
        )

    def pending_retry(self, order_id: str) -> PendingRetry | None:
        item = self._client.get_item(
            TableName=self._table, Key=retry_key(order_id), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return PendingRetry(
            order_id=order_id,
            pending=frozenset(item.get("pending", {}).get("SS", [])),
            failures=int(item["failures"]["N"]),
            attempts=int(item.get("attempts", {}).get("N", "0")),
            since=datetime.fromisoformat(item["since"]["S"]),
        )

    def retry_done(self, retry: PendingRetry) -> bool:
        """Delete the retry item, unless a failure was recorded since it was read (then it
        stays for the next sweep). True when deleted."""
        return self._on_retry(
            retry,
            {"Key": retry_key(retry.order_id)},
            self._client.delete_item,
        )

    def retry_later(self, retry: PendingRetry, pending: set[str], due_at: datetime) -> bool:
        """Leave `pending` (what failed again) to send at `due_at`, one attempt more."""
        keys = due_index_keys(retry.order_id, due_at)
        return self._on_retry(
            retry,
            {
                "Key": retry_key(retry.order_id),
                "UpdateExpression": "SET due_at = :at, pending = :pending ADD attempts :one",
                "ExpressionAttributeValues": {
                    ":at": {"S": keys["due_at"]},
                    ":pending": {"SS": sorted(pending)},
                    ":one": {"N": "1"},
                },
            },
            self._client.update_item,
        )

    def _on_retry(self, retry: PendingRetry, request: dict[str, Any], call: Any) -> bool:
        values = {
            **request.pop("ExpressionAttributeValues", {}),
            ":failures": {"N": str(retry.failures)},
        }
        written = write_if(
            call,
            TableName=self._table,
            ConditionExpression="failures = :failures",
            ExpressionAttributeValues=values,
            **request,
        )
        return written is not None

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

    def record_self_fix(
        self, order: RepairOrder, *, expected_version: int, counts_key: str | None
    ) -> None:
        """Write the order closed as self-fixed and count a self-fix success under
        `counts_key` for learning, in one transaction (exactly once: a second finds the
        version moved on). No count when the fault has no learning key."""
        if order.status is not OrderStatus.SELF_FIXED:
            raise ValueError(f"order {order.order_id} is not self-fixed")
        items = self._order_writes(order, expected_version, None)
        if counts_key is not None:
            items.append(self._learning.record_self_fix_item(counts_key))
        transactions.write(self._client, items)

    def record_rating(self, order: RepairOrder, *, expected_version: int) -> None:
        """Write the order's rating and add it to its technician's profile counters, in
        one transaction: a rating counts exactly once (a second finds the version moved on).
        """
        if order.rating is None or order.offer is None:
            raise ValueError(f"order {order.order_id} has no rating of a technician's visit")
        transactions.write(
            self._client,
            [
                *self._order_writes(order, expected_version, None),
                self._technicians.rating_item(order.offer.technician_id, order.rating.stars),
            ],
        )

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
