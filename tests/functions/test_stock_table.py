"""StockTable against the emulator: reads into the domain Stock.

Reservations run inside Visits.book_and_reserve: tests/functions/test_visits.py shows they
take each part from where it was sourced and never oversell.
"""

from __future__ import annotations

import uuid

import pytest

from functions.common.wiring import dependencies
from functions.dal.stock import StockTable, keys_for, stock_from_items
from functions.domain.parts import DEFAULT_BACKORDER_DAYS
from schemas.orders import PartSelection, PartSource
from tests.factories import a_selected_part


@pytest.fixture
def stock(aws_stack) -> StockTable:
    return StockTable(dependencies().clients.dynamodb, dependencies().settings.stock_table)


def part_no() -> str:
    # One table for the whole test package: each test uses part numbers of its own.
    return f"P-{uuid.uuid4().hex[:10]}"


def test_put_and_dispatch_read_build_the_domain_stock(stock: StockTable) -> None:
    pump, belt, seal = part_no(), part_no(), part_no()
    stock.put(pump, "WAREHOUSE", 3, lead_time_days=2)
    stock.put(pump, "tech-a", 1)
    stock.put(pump, "tech-b", 2)
    stock.put(belt, "WAREHOUSE", 0, lead_time_days=9)

    views = dependencies().dispatch_reads.read(["tech-a", "tech-b"], [pump, belt, seal]).stock

    assert set(views) == {"tech-a", "tech-b"}
    a = views["tech-a"]
    assert a.warehouse == {pump: 3, belt: 0}
    assert a.van == {pump: 1}  # tech-b's van is not in tech-a's view
    assert a.lead_time_days == {pump: 2, belt: 9}
    assert views["tech-b"].van == {pump: 2}
    assert a.source(pump) == (PartSource.VAN, 0)
    assert a.source(belt) == (PartSource.BACKORDER, 9)
    assert a.source(seal) == (PartSource.BACKORDER, DEFAULT_BACKORDER_DAYS)
    assert stock.read_warehouse([pump]).van == {}


def test_keys_merge_into_a_multi_table_batch_get(stock: StockTable) -> None:
    pump = part_no()
    stock.put(pump, "WAREHOUSE", 5, lead_time_days=3)
    stock.put(pump, "tech-a", 1)
    orders_table = dependencies().settings.orders_table
    keys = keys_for([pump, pump], ["tech-a", "tech-a"])  # duplicates are dropped
    assert len(keys) == 2

    response = dependencies().clients.dynamodb.batch_get_item(
        RequestItems={
            stock.table_name: {"Keys": keys},
            orders_table: {"Keys": [{"pk": {"S": "ORDER#none"}, "sk": {"S": "ORDER"}}]},
        }
    )
    everything = [item for items in response["Responses"].values() for item in items]

    view = stock_from_items(everything, "tech-a")
    assert view.warehouse == {pump: 5} and view.van == {pump: 1}
    assert stock_from_items(everything, None).van == {}


def test_backordered_parts_reserve_nothing(stock: StockTable) -> None:
    selection = PartSelection(parts=[a_selected_part(part_no(), PartSource.BACKORDER)])
    assert stock.reserve_items(selection, "tech-a") == []
    assert stock.reserve_items(PartSelection(), "tech-a") == []


def test_put_rejects_what_the_table_cannot_mean(stock: StockTable) -> None:
    with pytest.raises(ValueError):
        stock.put(part_no(), "tech-a", 1, lead_time_days=3)
    with pytest.raises(ValueError):
        stock.put(part_no(), "WAREHOUSE", -1)
