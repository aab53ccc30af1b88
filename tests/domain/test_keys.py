"""Partition keys: stable shards, a sparse work queue, sortable times (no emulator)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from functions.dal.keys import (
    LISTED_STATUSES,
    QUEUE_SHARDS,
    newest_first,
    queue_index_keys,
    queue_partitions,
    shard_of,
    sortable_time,
)
from schemas.orders import OrderStatus
from tests.factories import an_order


def test_shards_are_stable_and_spread() -> None:
    # Fixed values: a shard that moved between releases (or processes) would hide items
    assert shard_of("ord_1", QUEUE_SHARDS) == 7
    assert shard_of("rej_1", 8) == 0
    counts = [0] * QUEUE_SHARDS
    for n in range(16_000):
        counts[shard_of(f"ord_{n}", QUEUE_SHARDS)] += 1
    assert min(counts) > 800 and max(counts) < 1200


def test_only_open_orders_carry_work_queue_keys() -> None:
    for status in OrderStatus:
        keys = queue_index_keys(an_order(status=status))
        assert bool(keys) == (status in LISTED_STATUSES), status
    keys = queue_index_keys(an_order(status=OrderStatus.APPROVED))
    assert keys["gsi1pk"] in queue_partitions(OrderStatus.APPROVED)


def test_sortable_time_sorts_as_time_does() -> None:
    whole = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
    later = whole + timedelta(microseconds=500_000)
    assert sortable_time(whole) < sortable_time(later)
    # Another offset is the same instant in UTC
    east = whole.astimezone(timezone(timedelta(hours=2)))
    assert sortable_time(east) == sortable_time(whole)


def test_merging_shards_keeps_the_newest_across_them() -> None:
    pages = [[("c", 3), ("a", 1)], [("d", 4), ("b", 2)], []]
    assert newest_first(pages, limit=3) == [4, 3, 2]
    assert newest_first(pages, limit=10) == [4, 3, 2, 1]
