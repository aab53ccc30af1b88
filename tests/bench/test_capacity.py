"""DynamoDB's capacity rules as the bench prices requests: fabricated items, no emulator."""

from __future__ import annotations

import pytest

from bench.capacity import (
    Index,
    TableShape,
    index_entry,
    index_writes,
    item_bytes,
    number_bytes,
    read_units,
    write_units,
)

ORDERS = TableShape(
    "OrdersTable",
    ("pk", "sk"),
    (
        Index("by_status", ("gsi1pk", "gsi1sk"), "ALL"),
        Index("due", ("due_pk", "due_at"), "KEYS_ONLY"),
        Index("unsettled", ("unsettled_pk", "unsettled_at"), "INCLUDE", ("order_id",)),
    ),
)


def s(text: str) -> dict[str, str]:
    return {"S": text}


@pytest.mark.parametrize(
    "number, size",
    [("1", 2), ("12", 2), ("123", 3), ("1000000", 2), ("0.001", 2), ("-12", 3), ("12345", 4)],
)
def test_a_number_is_a_byte_per_two_significant_digits_plus_one(number: str, size: int) -> None:
    assert number_bytes(number) == size


def test_an_item_is_its_names_and_values_with_list_and_map_overheads() -> None:
    item = {
        "pk": s("ORDER#1"),  # 2 + 7
        "n": {"N": "42"},  # 1 + 2
        "ok": {"BOOL": True},  # 2 + 1
        "tags": {"SS": ["ab", "c"]},  # 4 + 3
        "list": {"L": [s("xy"), {"N": "7"}]},  # 4 + 3 + (1 + 2) + (1 + 2)
        "map": {"M": {"k": s("v")}},  # 3 + 3 + (1 + 1 + 1)
    }
    assert item_bytes(item) == 9 + 3 + 3 + 7 + 13 + 9
    assert item_bytes(None) == 0


@pytest.mark.parametrize("size, units", [(0, 1), (1024, 1), (1025, 2), (3000, 3)])
def test_writes_round_up_per_kilobyte_and_double_in_a_transaction(size: int, units: int) -> None:
    assert write_units(size) == units
    assert write_units(size, transactional=True) == 2 * units


def test_reads_round_up_per_four_kilobytes_half_when_eventually_consistent() -> None:
    assert read_units(100) == 0.5
    assert read_units(4097) == 1.0
    assert read_units(4097, consistent=True) == 2.0
    assert read_units(0, transactional=True) == 2.0


def _order(status_key: str | None, size: int = 0, due: str | None = None) -> dict:
    item = {"pk": s("ORDER#1"), "sk": s("ORDER"), "order_id": s("1"), "body": s("x" * size)}
    if status_key is not None:
        item |= {"gsi1pk": s(status_key), "gsi1sk": s("2026")}
    if due is not None:
        item |= {"due_pk": s("DUE#01"), "due_at": s(due)}
    return item


def test_an_index_entry_holds_the_keys_and_what_the_index_projects() -> None:
    order = _order("QUEUE#approved#01", 500, due="2026-03-03")
    by_status, due, unsettled = ORDERS.indexes
    assert index_entry(order, ORDERS, by_status) == order
    assert set(index_entry(order, ORDERS, due) or {}) == {"pk", "sk", "due_pk", "due_at"}
    assert index_entry(order, ORDERS, unsettled) is None  # sparse: no unsettled keys


def test_index_writes_follow_the_entry_not_the_item() -> None:
    by_status, due, _ = ORDERS.indexes
    before = _order("QUEUE#approved#01", 1500, due="2026-03-03")
    # A change of a projected attribute in place: the larger of the two entries.
    grown = before | {"body": s("x" * 2500)}
    assert [u for _, u in index_writes(before, grown, ORDERS, by_status)] == [3.0]
    # Nothing the KEYS_ONLY index holds changed: no write there.
    assert index_writes(before, grown, ORDERS, due) == []
    # The key moved: a delete under the old key and a put under the new one.
    moved = before | {"gsi1pk": s("QUEUE#dispatched#01")}
    writes = index_writes(before, moved, ORDERS, by_status)
    assert [(e["gsi1pk"]["S"], u) for e, u in writes] == [
        ("QUEUE#approved#01", 2.0),
        ("QUEUE#dispatched#01", 2.0),
    ]
    # Closed: the sparse entry goes, charged at its old size.
    closed = {k: v for k, v in before.items() if k not in ("gsi1pk", "gsi1sk")}
    assert [u for _, u in index_writes(before, closed, ORDERS, by_status)] == [2.0]
    # Created, and an item never in the index.
    assert [u for _, u in index_writes(None, before, ORDERS, by_status)] == [2.0]
    assert index_writes(closed, closed | {"body": s("y")}, ORDERS, by_status) == []


def test_a_table_shape_comes_from_the_template_properties() -> None:
    shape = TableShape.from_template(
        "OrdersTable",
        {
            "KeySchema": [
                {"AttributeName": "sk", "KeyType": "RANGE"},
                {"AttributeName": "pk", "KeyType": "HASH"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "unsettled",
                    "KeySchema": [{"AttributeName": "unsettled_pk", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["order_id"]},
                }
            ],
        },
    )
    assert shape.keys == ("pk", "sk")
    assert shape.index("unsettled") == Index(
        "unsettled", ("unsettled_pk",), "INCLUDE", ("order_id",)
    )
