"""The recording: what the real use cases read and write against the in-process emulator.

One recording per test session (bench.recording.recorded_operations), shared with the
scale bench's tests."""

from __future__ import annotations

import pytest

from bench import cost, scale
from bench.fleet import Fleet, steady_day
from bench.recording import Operation, key_template, recorded_operations
from functions.domain.catalog import default_catalog


@pytest.fixture(scope="module")
def operations() -> dict[str, Operation]:
    return recorded_operations()


def calls(operation: Operation) -> list[str]:
    return [f"{r.operation}{'!' if r.failed else ''}" for r in operation.requests]


def keys(operation: Operation, kind: str | None = None) -> set[tuple[str, str]]:
    return {
        (a.target, key_template(a.key, operation.ids))
        for a in operation.accesses()
        if kind is None or a.kind == kind
    }


def test_a_new_fault_writes_its_order_marker_guard_and_index_entries(
    operations: dict[str, Operation],
) -> None:
    waiting = operations["fault_waiting"]
    assert calls(waiting)[:2] == ["GetItem", "TransactWriteItems"]  # registry, the open
    assert {
        ("OrdersTable", "ORDER#{order}"),
        ("OrdersTable", "EVENT#{thing}#{event}"),
        ("OrdersTable", "OPEN#{thing}#{code}"),
        ("OrdersTable/by_status", "QUEUE#awaiting_approval#{queue_shard}"),
        ("OrdersTable/by_home", "HOME#{home}"),
        ("OrdersTable/due", "DUE#{due_shard}"),  # its reminder, from the order's own write
    } <= keys(waiting, "write")
    assert waiting.inbound_bytes > 0
    assert [r.service for r in waiting.requests].count("iot-data") == 1


def test_a_duplicate_costs_its_failed_open_and_writes_nothing_else(
    operations: dict[str, Operation],
) -> None:
    duplicate = operations["duplicate"]
    assert calls(duplicate) == ["GetItem", "TransactWriteItems!"]
    assert ("OrdersTable", "ORDER#{new_order}") in keys(duplicate, "write")
    assert not any("/" in a.target for a in duplicate.accesses())  # no index entry moved


def test_an_approval_books_the_technician_blocks_and_reads_the_callers_homes(
    operations: dict[str, Operation],
) -> None:
    approve = operations["approve"]
    reads, writes = keys(approve, "read"), keys(approve, "write")
    assert ("AccountsTable", "USER#{user}") in reads
    assert ("TechniciansTable", "CELL#{cell}#{skill}") in reads
    busy = [a for a in approve.accesses() if a.kind == "write" and a.target == "TechniciansTable"]
    assert len(busy) > 2  # the profile and the window's 30-minute busy blocks
    assert {key_template(a.key, approve.ids) for a in busy} == {"TECH#{tech0}"}
    assert ("StockTable", "PART#{part}") in writes
    assert ("OrdersTable/by_status", "QUEUE#dispatched#{queue_shard}") in writes
    assert ("OrdersTable/by_status", "QUEUE#awaiting_approval#{queue_shard}") in writes


def test_the_technicians_steps_read_their_profile_owner_and_the_completion_counts_the_cause(
    operations: dict[str, Operation],
) -> None:
    for step in ("en_route", "on_site", "completed"):
        assert ("AccountsTable", "USER#{tech_user}") in keys(operations[step], "read")
    completed = keys(operations["completed"], "write")
    assert ("LearningTable", "LEARNED") in completed
    assert ("OrdersTable", "OPEN#{thing}#{code}") in completed  # the guard closes


def test_orders_grow_with_their_history(operations: dict[str, Operation]) -> None:
    def order_size(name: str) -> int:
        op = operations[name]
        return max(
            a.size
            for a in op.accesses()
            if a.kind == "write" and key_template(a.key, op.ids) == "ORDER#{order}"
        )

    assert order_size("fault_waiting") < order_size("approve") < order_size("completed")
    first, past = operations["repeat_1"], operations["repeat_51"]
    assert calls(first) == ["GetItem", "TransactWriteItems!", "TransactWriteItems"]
    # Past the 50 listed event ids: the fold fails once more, then counts without listing.
    assert calls(past) == [
        "GetItem",
        "TransactWriteItems!",
        "TransactWriteItems!",
        "TransactWriteItems",
    ]


def test_the_sweeper_timers_exclude_its_every_minute_queries(
    operations: dict[str, Operation],
) -> None:
    assert calls(operations["sweep_idle"]) == ["Query"] * 12
    for timer in ("reminder", "expiry", "escalation"):
        assert "Query" not in calls(operations[timer])
        assert ("OrdersTable", "ORDER#{order}") in keys(operations[timer], "write")
    assert [r.service for r in operations["reminder"].requests].count("sns") == 1


def test_every_recorded_key_is_a_template_no_literal_id_left(
    operations: dict[str, Operation],
) -> None:
    for operation in operations.values():
        for _target, template in keys(operation):
            assert "appl-" not in template and "home-" not in template, (operation.name, template)


def test_key_templates_name_identifiers_and_shards() -> None:
    ids = {"ord_1": "order", "appl-x": "thing", "evt-1": "event"}
    assert key_template("ORDER#ord_1", ids) == "ORDER#{order}"
    assert key_template("EVENT#appl-x#evt-1", ids) == "EVENT#{thing}#{event}"
    assert key_template("QUEUE#dispatched#07", ids) == "QUEUE#dispatched#{queue_shard}"
    assert key_template("DAY#2026-03-02#05", ids) == "DAY#{day}#{rejection_shard}"
    with pytest.raises(ValueError, match="no placeholder"):
        key_template("ORDER#ord_2", ids)


def test_the_simulated_flow_runs_the_operations_the_cost_model_counts(
    operations: dict[str, Operation],
) -> None:
    """bench.scale's flow and bench.cost's mix are one flow: with technicians to spare, the
    operations per fault of a simulated day match the expectation."""
    catalog = default_catalog()
    assumptions = scale.with_measured(scale.Assumptions(technicians_per_cell=100_000), catalog)
    flow = scale.RepairFlow(catalog, scale.recorded_profiles(), assumptions)
    faults = 0
    for fault in steady_day(Fleet(catalog)):
        flow.fault(fault)
        faults += 1
        if faults == 10_000:
            break
    expected = cost.operations_per_fault(assumptions)
    # An appliance the day picks twice while its order is open folds a repeat: rare.
    others = {n: c for n, c in flow.counts.items() if n not in expected}
    assert set(others) <= {f"repeat_{n}" for n in range(1, 52)}
    assert sum(others.values()) / faults < 0.001
    for name, share in expected.items():
        assert flow.counts[name] / faults == pytest.approx(share, abs=0.02), name
