"""DueIndex: the orders table's sparse, sharded index `due` (due_pk / due_at) of what a timer
must do, and the retry items in it.

Items in the index (orders table):
  ORDER#{order_id} / ORDER   an open order with a deadline: its own write indexes it
                             (functions.dal.orders), so the deadline needs no item of its own
  RETRY#{order_id} / RETRY   what of the order's announcement failed (its status message, a
                             notification), to send again; written here

The sweeper queries the index for what is due (functions.domain.deadlines says why not a
schedule per order), then reads the order or the retry itself before acting.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.dal.items import query_each, write_if
from functions.dal.keys import due_index_keys, due_partitions, retry_key, sortable_time

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DUE_INDEX = "due"
# A retry item that never succeeded is dropped after this (the status it was for is stale).
RETRY_TTL_SECONDS = 7 * 24 * 3600


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


def _due_work(item: dict[str, Any]) -> DueWork:
    kind, order_id = item["pk"]["S"].split("#", 1)
    return DueWork(
        order_id=order_id,
        retry=kind == "RETRY",
        due_at=datetime.fromisoformat(item["due_at"]["S"]),
    )


class DueIndex:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def due_work(self, now: datetime, limit: int = 100) -> list[DueWork]:
        """Deadlines and retries due by `now`, earliest first: one Query per shard of the
        sparse `due` index (no Scan). The index is eventually consistent: read the order
        (or the retry) itself before acting."""
        items = query_each(
            self._client,
            due_partitions(),
            TableName=self._table,
            IndexName=DUE_INDEX,
            KeyConditionExpression="due_pk = :pk AND due_at <= :now",
            ExpressionAttributeValues={":now": {"S": sortable_time(now)}},
            Limit=limit,
        )
        found = [_due_work(item) for item in items]
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
