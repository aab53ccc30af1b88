"""EventMarkers: what each applied fault event left in the orders table, and the sparse
`unsettled` index of the events whose follow-up work has not finished.

Items (orders table):
  EVENT#{thing}#{event_id} / EVENT   one per fault event ever applied (TTL 30 days): its
                                     order, whether its follow-up work (dispatch, status
                                     message) settled, the invocation that opened its order;
                                     while unsettled, in the sparse index `unsettled`
                                     (shard / since, functions.dal.keys)

A marker is put, only if absent, in the transaction that applies its event (opening an order
or counting a repeat, functions.dal.orders), so a duplicate delivery finds it and no event
is applied twice; a save of the order may settle it in the same transaction. This module
builds those two transaction items and holds the marker's own reads and writes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.dal.items import query_each, write_if
from functions.dal.keys import (
    event_key,
    sortable_time,
    unsettled_index_keys,
    unsettled_partition,
    unsettled_partitions,
)
from functions.dal.transactions import TransactItem, put_new
from functions.domain.errors import DuplicateEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EVENT_MARKER_TTL_SECONDS = 30 * 24 * 3600
UNSETTLED_INDEX = "unsettled"
# The thing name and event id of a fault event whose follow-up work a write finishes.
SettleEvent = tuple[str, str]
_SETTLE = "SET settled = :true REMOVE unsettled_pk, unsettled_at"


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


def _unsettled_event(item: dict[str, Any]) -> UnsettledEvent:
    _, thing_name, event_id = item["pk"]["S"].split("#", 2)
    return UnsettledEvent(
        thing_name=thing_name,
        event_id=event_id,
        order_id=item["order_id"]["S"],
        since=datetime.fromisoformat(item["unsettled_at"]["S"]),
    )


def _duplicate_event(old: dict[str, Any]) -> DuplicateEvent:
    return DuplicateEvent(
        str(old.get("order_id", "")), bool(old.get("settled")), str(old.get("request_id", ""))
    )


def new_marker(
    table: str,
    thing_name: str,
    event_id: str,
    order_id: str,
    *,
    unsettled_since: datetime | None,
    request_id: str | None = None,
) -> TransactItem:
    """The put of an event's marker, refused (DuplicateEvent, naming the order the event
    went to) when the event was applied before. Settled unless `unsettled_since` is given:
    then follow-up work is still to come and the marker is in the `unsettled` index.
    `request_id` (the invocation's) lets a retry of the same invocation know itself."""
    marker: dict[str, Any] = {
        **event_key(thing_name, event_id),
        "order_id": {"S": order_id},
        "settled": {"BOOL": unsettled_since is None},
        "expires_at": {"N": str(int(time.time()) + EVENT_MARKER_TTL_SECONDS)},
    }
    if request_id is not None:
        marker["request_id"] = {"S": request_id}
    if unsettled_since is not None:
        index = unsettled_index_keys(thing_name, unsettled_since)
        marker.update({name: {"S": value} for name, value in index.items()})
    return put_new(table, marker, what=f"event {event_id}", condition_failed=_duplicate_event)


def settle_item(table: str, event: SettleEvent) -> TransactItem:
    """Mark the event's follow-up work finished, in a transaction (it leaves `unsettled`)."""
    thing_name, event_id = event
    return TransactItem(
        "Update",
        {"TableName": table, **_settle_request(thing_name, event_id)},
        what=f"event {event_id}",
    )


def _settle_request(thing_name: str, event_id: str) -> dict[str, Any]:
    return {
        "Key": event_key(thing_name, event_id),
        "UpdateExpression": _SETTLE,
        "ExpressionAttributeValues": {":true": {"BOOL": True}},
    }


class EventMarkers:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def event_marker(self, thing_name: str, event_id: str) -> EventMarker | None:
        response = self._client.get_item(
            TableName=self._table, Key=event_key(thing_name, event_id), ConsistentRead=True
        )
        item = response.get("Item")
        if item is None:
            return None
        return EventMarker(item["order_id"]["S"], bool(item.get("settled", {}).get("BOOL")))

    def settle_event(self, thing_name: str, event_id: str) -> None:
        """Mark the event's follow-up work finished (it leaves the `unsettled` index)."""
        self._client.update_item(TableName=self._table, **_settle_request(thing_name, event_id))

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
                ":pk": {"S": unsettled_partition(thing_name)},
                ":at": {"S": sortable_time(since)},
            },
        )
        return written is not None

    def unsettled_events(self, older_than: datetime, limit: int = 100) -> list[UnsettledEvent]:
        """Events unsettled since before `older_than`, oldest first: one Query per shard of
        the sparse `unsettled` index (settled markers are not in it)."""
        items = query_each(
            self._client,
            unsettled_partitions(),
            TableName=self._table,
            IndexName=UNSETTLED_INDEX,
            KeyConditionExpression="unsettled_pk = :pk AND unsettled_at < :cutoff",
            ExpressionAttributeValues={":cutoff": {"S": sortable_time(older_than)}},
            Limit=limit,
        )
        found = [_unsettled_event(item) for item in items]
        return sorted(found, key=lambda e: e.since)[:limit]
