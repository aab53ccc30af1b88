"""Partition keys that hold at scale: pure functions, no boto3.

DynamoDB serves about 1,000 write units and 3,000 read units per second per partition key,
indexes included, and a throttled index throttles the table's writes. A key that every
order (or every rejection) shares is therefore a ceiling on the whole service, and a sort
key that grows with time stops adaptive capacity from splitting it. These functions spread
such keys over a bounded set of shards, chosen by a stable hash of an id the item already
has, so writes need no extra read and a listing queries every shard and merges.

`bench.scale` drives the same functions to show each key's peak against the limits. The
orders table's item keys are here too: its jobs live in several modules and share them.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from heapq import merge
from itertools import islice
from typing import Any, TypeVar

from functions.dal.items import key
from schemas.orders import OrderStatus, RepairOrder
from schemas.registry import Category

# The work queue: open orders by status, over this many shards per status. A storm of
# 100,000 faults in 10 minutes peaks at 8 % of one shard's write limit, 3,000 appliances
# re-reporting every 3 s at 24 % (`faultline bench scale`); a listing costs a Query a shard.
QUEUE_SHARDS = 16
# Rejections per day: a storm of malformed input from one model lands on one day.
REJECTION_SHARDS = 8

# Orders someone still has to act on (homeowner, operator, technician). Closed orders leave
# the index, so it holds only the open work and never grows with history.
LISTED_STATUSES: tuple[OrderStatus, ...] = (
    OrderStatus.AWAITING_APPROVAL,
    OrderStatus.APPROVED,
    OrderStatus.OFFERED,
    OrderStatus.DISPATCHED,
    OrderStatus.EN_ROUTE,
    OrderStatus.ON_SITE,
)


def shard_of(identity: str, shards: int) -> int:
    """A stable shard in [0, shards) (Python's hash() differs between processes)."""
    digest = hashlib.blake2b(identity.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def queue_partition(status: OrderStatus, shard: int) -> str:
    return f"QUEUE#{status.value}#{shard:02d}"


def queue_partitions(status: OrderStatus) -> list[str]:
    """Every shard of one status, to query and merge."""
    if status not in LISTED_STATUSES:
        raise ValueError(f"{status.value} orders are not in the work queue")
    return [queue_partition(status, shard) for shard in range(QUEUE_SHARDS)]


def sortable_time(moment: datetime) -> str:
    """UTC with fixed-width microseconds, so text order is time order ("...00Z" would sort
    after "...00.5Z")."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def queue_index_keys(order: RepairOrder) -> dict[str, str]:
    """The order's work-queue index attributes; none once it closed (the index is sparse).

    The sort key keeps the newest-first order that a merge across shards relies on.
    """
    if order.status not in LISTED_STATUSES:
        return {}
    return {
        "gsi1pk": queue_partition(order.status, shard_of(order.order_id, QUEUE_SHARDS)),
        "gsi1sk": f"{sortable_time(order.updated_at)}#{order.order_id}",
    }


def home_partition(home_id: str) -> str:
    """One home's orders: even a home with hundreds of appliances writes a few per hour."""
    return f"HOME#{home_id}"


def home_index_keys(home_id: str, created_at: str, order_id: str) -> dict[str, str]:
    return {"gsi2pk": home_partition(home_id), "gsi2sk": f"{created_at}#{order_id}"}


def cell_partition(cell: str, skill: Category) -> str:
    """Technicians with `skill` whose service area touches a geohash cell.

    Every dispatch in the cell reads the whole partition, so it holds only what that
    dispatch can use: in a city cell with hundreds of technicians, a skill-blind partition
    made each dispatch pay for every trade's copies (a filter is applied after the read).
    """
    return f"CELL#{cell}#{skill.value}"


def rejection_partition(day: date, rejection_id: str) -> str:
    return f"DAY#{day.isoformat()}#{shard_of(rejection_id, REJECTION_SHARDS):02d}"


def rejection_partitions(day: date) -> list[str]:
    return [f"DAY#{day.isoformat()}#{shard:02d}" for shard in range(REJECTION_SHARDS)]


T = TypeVar("T")


def newest_first(pages: Iterable[list[tuple[str, T]]], limit: int) -> list[T]:
    """Merge per-shard results, each (sort key, item) newest first, into the `limit` newest."""
    merged: Iterator[tuple[str, T]] = merge(*pages, key=lambda pair: pair[0], reverse=True)
    return [item for _sort_key, item in islice(merged, limit)]


# Due work (functions.domain.deadlines): orders whose next timed step is set, and retries of
# failed status messages, in a sparse index spread over this many shards by order id. At
# the storm's 170 orders/s (each one write on opening, one on approval) a shard takes about
# 40 writes/s, 4 % of its limit; the sweeper reads every shard once a minute.
DUE_SHARDS = 8


def due_partition(shard: int) -> str:
    return f"DUE#{shard:02d}"


def due_partitions() -> list[str]:
    return [due_partition(shard) for shard in range(DUE_SHARDS)]


def due_index_keys(order_id: str, due_at: datetime) -> dict[str, str]:
    """The due index attributes of an item due at `due_at` (the time alone sorts it, so a
    Query for `due_at <= now` finds exactly what is due)."""
    return {
        "due_pk": due_partition(shard_of(order_id, DUE_SHARDS)),
        "due_at": sortable_time(due_at),
    }


# Orders that need an operator's look, whatever their status (an unknown code found on a
# dispatched order too), in a sparse index over this many shards by order id: the triage
# queue reads each shard, never every status's work queue. Few orders are flagged.
TRIAGE_SHARDS = 4


def triage_partitions() -> list[str]:
    return [f"TRIAGE#{shard:02d}" for shard in range(TRIAGE_SHARDS)]


def triage_index_keys(order: RepairOrder) -> dict[str, str]:
    """The triage index attributes of an open order flagged for triage, or approved with
    nobody offered it (it found no technician, or has not been dispatched yet); none else."""
    waiting = order.status is OrderStatus.APPROVED and order.offer is None
    if not order.is_open or not (order.needs_triage or waiting):
        return {}
    return {
        "triage_pk": f"TRIAGE#{shard_of(order.order_id, TRIAGE_SHARDS):02d}",
        "triage_at": f"{sortable_time(order.updated_at)}#{order.order_id}",
    }


# Fault events whose follow-up work (dispatch, status message) has not finished: their
# markers sit in the sparse `unsettled` index, spread over this many shards by thing name, so
# that every approved order does not write to one hot partition; the sweeper reads each shard.
UNSETTLED_SHARDS = 4


def unsettled_partition(thing_name: str) -> str:
    return f"UNSETTLED#{zlib.crc32(thing_name.encode()) % UNSETTLED_SHARDS}"


def unsettled_partitions() -> list[str]:
    return [f"UNSETTLED#{shard}" for shard in range(UNSETTLED_SHARDS)]


def unsettled_index_keys(thing_name: str, since: datetime) -> dict[str, str]:
    """The `unsettled` index attributes of an event marker unsettled since `since`."""
    return {"unsettled_pk": unsettled_partition(thing_name), "unsettled_at": sortable_time(since)}


# The items of the orders table, one key each. One table holds them for its jobs: the order
# (functions.dal.orders), its fault events (functions.dal.events), its due work and retries
# (functions.dal.due).


def order_key(order_id: str) -> dict[str, Any]:
    return key(f"ORDER#{order_id}", "ORDER")


def event_key(thing_name: str, event_id: str) -> dict[str, Any]:
    return key(f"EVENT#{thing_name}#{event_id}", "EVENT")


def open_guard_key(thing_name: str, fault_code: str) -> dict[str, Any]:
    return key(f"OPEN#{thing_name}#{fault_code}", "OPEN")


def retry_key(order_id: str) -> dict[str, Any]:
    return key(f"RETRY#{order_id}", "RETRY")
