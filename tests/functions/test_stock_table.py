"""StockTable against the emulator: reads into the domain Stock; reservations never oversell."""

from __future__ import annotations

import threading
import uuid

import pytest
from botocore.exceptions import ClientError

from functions.common.wiring import dependencies
from functions.dal.stock import StockTable, keys_for, stock_from_items
from functions.domain.parts import DEFAULT_BACKORDER_DAYS
from schemas.orders import PartSelection, PartSource, SelectedPart


@pytest.fixture
def stock(aws_stack) -> StockTable:
    return StockTable(dependencies().clients.dynamodb, dependencies().settings.stock_table)


def part_no() -> str:
    # One table for the whole test package: each test uses part numbers of its own.
    return f"P-{uuid.uuid4().hex[:10]}"


def selected(part_number: str, source: PartSource, quantity: int = 1) -> SelectedPart:
    return SelectedPart(
        part_number=part_number,
        description="part",
        for_causes=["cause"],
        quantity=quantity,
        unit_price=10.0,
        source=source,
    )


def test_put_and_read_build_the_domain_stock(stock: StockTable) -> None:
    pump, belt, seal = part_no(), part_no(), part_no()
    stock.put(pump, "WAREHOUSE", 3, lead_time_days=2)
    stock.put(pump, "tech-a", 1)
    stock.put(pump, "tech-b", 2)
    stock.put(belt, "WAREHOUSE", 0, lead_time_days=9)

    views = stock.read([pump, belt, seal], ["tech-a", "tech-b"])

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


def test_reservation_decrements_where_each_part_was_sourced(stock: StockTable) -> None:
    from_van, from_warehouse, on_backorder = part_no(), part_no(), part_no()
    stock.put(from_van, "tech-a", 2)
    stock.put(from_van, "WAREHOUSE", 7)
    stock.put(from_warehouse, "WAREHOUSE", 4, lead_time_days=3)
    selection = PartSelection(
        parts=[
            selected(from_van, PartSource.VAN),
            selected(from_warehouse, PartSource.WAREHOUSE, quantity=3),
            selected(on_backorder, PartSource.BACKORDER),
        ]
    )

    items = stock.reserve_items(selection, "tech-a")
    assert len(items) == 2  # the backordered part reserves nothing
    dependencies().clients.dynamodb.transact_write_items(TransactItems=items)  # type: ignore[arg-type]

    view = stock.read([from_van, from_warehouse], ["tech-a"])["tech-a"]
    assert view.van == {from_van: 1}
    assert view.warehouse == {from_van: 7, from_warehouse: 1}
    assert view.lead_time_days[from_warehouse] == 3  # the decrement keeps the other attributes


def test_backorder_only_selection_reserves_nothing(stock: StockTable) -> None:
    selection = PartSelection(parts=[selected(part_no(), PartSource.BACKORDER)])
    assert stock.reserve_items(selection, "tech-a") == []
    assert stock.reserve_items(PartSelection(), "tech-a") == []


def test_reservation_fails_without_enough_units(stock: StockTable) -> None:
    plenty, scarce, absent = part_no(), part_no(), part_no()
    stock.put(plenty, "WAREHOUSE", 5)
    stock.put(scarce, "WAREHOUSE", 1)
    selection = PartSelection(
        parts=[
            selected(plenty, PartSource.WAREHOUSE),
            selected(scarce, PartSource.WAREHOUSE, quantity=2),
        ]
    )
    with pytest.raises(ClientError) as caught:
        dependencies().clients.dynamodb.transact_write_items(
            TransactItems=stock.reserve_items(selection, "t")
        )  # type: ignore[arg-type]
    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert stock.read_warehouse([plenty, scarce]).warehouse == {plenty: 5, scarce: 1}

    # No item at all (never stocked) fails the condition too, rather than going negative.
    missing = PartSelection(parts=[selected(absent, PartSource.VAN)])
    with pytest.raises(ClientError):
        dependencies().clients.dynamodb.transact_write_items(
            TransactItems=stock.reserve_items(missing, "t")
        )  # type: ignore[arg-type]
    assert stock.read([absent], ["t"])["t"].van == {}


def test_two_dispatches_race_for_the_last_unit(stock: StockTable) -> None:
    last = part_no()
    stock.put(last, "WAREHOUSE", 1)
    selection = PartSelection(parts=[selected(last, PartSource.WAREHOUSE)])
    start = threading.Barrier(2)
    outcomes: list[str] = []
    client = dependencies().clients.dynamodb

    def dispatch(technician_id: str) -> None:
        items = stock.reserve_items(selection, technician_id)
        start.wait()
        try:
            client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
            outcomes.append("reserved")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=dispatch, args=(t,)) for t in ("tech-a", "tech-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["TransactionCanceledException", "reserved"]
    assert stock.read_warehouse([last]).warehouse == {last: 0}


def test_put_rejects_what_the_table_cannot_mean(stock: StockTable) -> None:
    with pytest.raises(ValueError):
        stock.put(part_no(), "tech-a", 1, lead_time_days=3)
    with pytest.raises(ValueError):
        stock.put(part_no(), "WAREHOUSE", -1)
