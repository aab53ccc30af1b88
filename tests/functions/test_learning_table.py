"""LearningTable and its cache against the emulator: atomic counts, snapshot, caching, outages."""

from __future__ import annotations

import threading
import uuid

import pytest

from functions.common.wiring import dependencies
from functions.dal import transactions
from functions.dal.learning import LearnedCountsCache, LearningTable
from functions.domain.learning import LearnedCounts, counts_key


@pytest.fixture
def table(aws_stack) -> LearningTable:
    return LearningTable(dependencies().clients.dynamodb, dependencies().settings.learning_table)


def fresh_key() -> str:
    # The partition is shared by the whole test package: each test counts under its own key.
    return counts_key(f"maker-{uuid.uuid4().hex[:8]}", "wm-1000", "e21")


def count(
    table: LearningTable,
    key: str,
    cause_id: str,
    times: int = 1,
    observations: dict[str, str] | None = None,
) -> None:
    """Count confirmed causes as completions do (functions.dal.visits): each one its item
    in a transaction, here riding alone."""
    for _ in range(times):
        item = table.record_outcome_item(key, cause_id, observations=observations)
        transactions.write(table._client, [item])  # the table's: threads have no deps


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingTable(LearningTable):
    """Counts the snapshots actually read from the table."""

    reads = 0

    def snapshot(self) -> LearnedCounts:
        self.reads += 1
        return super().snapshot()


def test_concurrent_completions_lose_no_count(table: LearningTable) -> None:
    key = fresh_key()
    start = threading.Barrier(8)

    def complete_25() -> None:
        start.wait()
        for _ in range(25):
            count(table, key, "drain_pump")

    threads = [threading.Thread(target=complete_25) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert table.snapshot().for_key(key) == {"drain_pump": 200}


def test_snapshot_returns_counts_per_key_and_cause(table: LearningTable) -> None:
    washer, boiler = fresh_key(), fresh_key()
    count(table, washer, "drain_pump")
    count(table, washer, "drain_pump", times=2)
    count(table, washer, "filter-blocked")  # a cause id that is no valid bare name
    count(table, boiler, "size")  # a DynamoDB reserved word

    counts = table.snapshot()

    assert counts.for_key(washer) == {"drain_pump": 3, "filter-blocked": 1}
    assert counts.for_key(boiler) == {"size": 1}


def test_outcomes_count_what_each_reading_showed(table: LearningTable) -> None:
    key = fresh_key()
    shown = {"drain_pump_current_a": "<0.1", "door_closed": "==true+==false"}
    count(table, key, "pump_failed", observations=shown)
    count(table, key, "pump_failed", times=2, observations={"drain_pump_current_a": "<0.1"})
    count(table, key, "filter-blocked", observations={"drain_pump_current_a": "none"})

    counts = table.snapshot()

    assert counts.for_key(key) == {"pump_failed": 3, "filter-blocked": 1}
    assert counts.evidence_for(key, "drain_pump_current_a") == {
        "<0.1": {"pump_failed": 3},
        "none": {"filter-blocked": 1},
    }
    assert counts.evidence_for(key, "door_closed") == {"==true+==false": {"pump_failed": 1}}


def test_snapshot_follows_pages(table: LearningTable, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = [fresh_key() for _ in range(5)]
    for k in keys:
        count(table, k, "door_lock")
    # One item per page, so the snapshot must follow LastEvaluatedKey to see them all.
    query, pages = table._client.query, []

    def one_per_page(**request):
        pages.append(request)
        return query(**{**request, "Limit": 1})

    monkeypatch.setattr(table._client, "query", one_per_page)

    counts = table.snapshot()

    assert all(counts.for_key(k) == {"door_lock": 1} for k in keys)
    assert len(pages) > len(keys)


def test_cache_reads_once_per_max_age(table: LearningTable) -> None:
    key = fresh_key()
    count(table, key, "heater")
    counting, clock = CountingTable(table._client, table._table), FakeClock()
    cache = LearnedCountsCache(counting, max_age_seconds=300, clock=clock)

    assert cache.get().for_key(key) == {"heater": 1}
    count(table, key, "heater")
    clock.now += 299
    assert cache.get().for_key(key) == {"heater": 1}  # still the cached snapshot
    assert counting.reads == 1

    clock.now += 1
    assert cache.get().for_key(key) == {"heater": 2}
    assert counting.reads == 2


def test_cache_shares_one_read_between_threads(table: LearningTable) -> None:
    counting = CountingTable(table._client, table._table)
    cache = LearnedCountsCache(counting, max_age_seconds=300, clock=FakeClock())
    threads = [threading.Thread(target=cache.get) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert counting.reads == 1


def test_cache_serves_empty_counts_when_the_table_is_missing(
    aws_stack, caplog: pytest.LogCaptureFixture
) -> None:
    missing = LearningTable(
        dependencies().clients.dynamodb, f"no-such-table-{uuid.uuid4().hex[:8]}"
    )
    cache = LearnedCountsCache(missing, clock=FakeClock())

    counts = cache.get()

    assert counts.counts == {}
    assert "learned counts unavailable" in caplog.text


def test_cache_keeps_the_last_snapshot_through_an_outage(table: LearningTable) -> None:
    key = fresh_key()
    count(table, key, "heater", times=4)
    clock = FakeClock()
    cache = LearnedCountsCache(table, max_age_seconds=60, clock=clock, retry_after_error_seconds=10)
    assert cache.get().for_key(key) == {"heater": 4}

    healthy_table = table._table
    table._table = f"no-such-table-{uuid.uuid4().hex[:8]}"  # DynamoDB now fails every read
    clock.now += 60
    assert cache.get().for_key(key) == {"heater": 4}

    table._table = healthy_table
    count(table, key, "heater")
    clock.now += 5
    assert cache.get().for_key(key) == {"heater": 4}  # waits before trying again
    clock.now += 5
    assert cache.get().for_key(key) == {"heater": 5}
