"""Dispatch when its reads went stale: a booking that loses a race moves on to the next
candidate, and an order nobody can take goes to triage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.common.wiring import dependencies
from functions.dal import transactions
from functions.dal.dispatch_reads import ShortlistState
from functions.domain.catalog import default_catalog
from functions.domain.errors import OutOfStock, SlotTaken, TechnicianFullyBooked
from functions.domain.matching import round_up
from functions.domain.parts import Stock
from schemas.orders import OrderStatus, RepairOrder, TimeWindow, TriageReason
from schemas.registry import GeoPoint
from tests.factories import present
from tests.functions.events import codes_of, event_for, fault, invoke
from tests.functions.test_ingest_handler import kit_fault


@pytest.fixture
def attempts(aws_stack, monkeypatch) -> list[tuple[str, Exception | None]]:
    """Each booking dispatch tries: (technician id, the error it raised or None)."""
    visits = dependencies().visits
    real = visits.book_and_reserve
    tried: list[tuple[str, Exception | None]] = []

    def book_and_reserve(order: RepairOrder, **kwargs: Any) -> None:
        assert order.offer is not None
        try:
            real(order, **kwargs)
        except Exception as error:
            tried.append((order.offer.technician_id, error))
            raise
        tried.append((order.offer.technician_id, None))

    monkeypatch.setattr(visits, "book_and_reserve", book_and_reserve)
    return tried


def load_of(technician_id: str) -> int:
    technician = dependencies().technicians.get(technician_id)
    assert technician is not None
    return technician.active_orders


def stale_reads(monkeypatch, *, loads: int | None = None, stock: int | None = None) -> None:
    """Make dispatch see every technician with `loads` active orders, or every part with
    `stock` units in the warehouse: what it read just before a concurrent dispatch."""
    reads = dependencies().dispatcher.reads
    real = reads.read

    def read(technician_ids: list[str], part_numbers: list[str]) -> ShortlistState:
        live = real(technician_ids, part_numbers)
        live_loads, live_stock = live.loads, live.stock
        if loads is not None:
            live_loads = dict.fromkeys(live_loads, loads)
        if stock is not None:
            live_stock = {
                t: Stock(warehouse=dict.fromkeys(part_numbers, stock), van={}, lead_time_days={})
                for t in live_stock
            }
        return ShortlistState(live_loads, live_stock, live.bookings)

    monkeypatch.setattr(reads, "read", read)


def test_a_technician_booked_up_meanwhile_passes_the_order_to_the_next(
    household, attempts, monkeypatch
):
    # Given a second technician farther away
    house = household()
    technicians = dependencies().technicians
    nearest = technicians.get(house.technician_id)
    assert nearest is not None
    farther = f"{house.technician_id}-2"
    home = house.home.location
    technicians.put(
        nearest.model_copy(
            update={
                "technician_id": farther,
                "home_base": GeoPoint(lat=home.lat + 0.05, lon=home.lon),
            }
        )
    )
    # And the nearest took their last slot after dispatch read their load (bookings of
    # other orders, in windows long past: only the load is full)
    for n in range(nearest.max_active_orders):
        start = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(hours=2 * n)
        window = TimeWindow(start=start, end=start + timedelta(hours=2))
        transactions.write(
            dependencies().clients.dynamodb,
            technicians.book_items(house.technician_id, f"ord_elsewhere_{n}", window),
        )
    stale_reads(monkeypatch, loads=0)
    # When a fault is dispatched
    answer = invoke(event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0])))
    # Then booking the nearest fails as fully booked, and the next technician gets the order
    assert [(tech, type(error)) for tech, error in attempts] == [
        (house.technician_id, TechnicianFullyBooked),
        (farther, type(None)),
    ]
    order = dependencies().orders.get(answer["order_id"])
    assert order is not None and order.offer is not None
    assert order.status is OrderStatus.DISPATCHED and order.offer.technician_id == farther
    assert load_of(house.technician_id) == nearest.max_active_orders


def test_parts_taken_meanwhile_leave_the_order_for_triage(household, attempts, monkeypatch):
    # Given dispatch read the kit's parts as in the warehouse, but they are gone
    house = household()
    code, parts = kit_fault(house)
    for part in parts:
        dependencies().stock.put(part, "WAREHOUSE", 0)
    stale_reads(monkeypatch, stock=5)
    # When the fault is dispatched
    answer = invoke(event_for(house.thing, fault(code)))
    # Then the booking fails naming a missing part, and the order waits for an operator
    [(tech, error)] = attempts
    assert tech == house.technician_id
    assert isinstance(error, OutOfStock) and error.part_number in parts
    assert answer["outcome"] == "no_technician"
    order = dependencies().orders.get(answer["order_id"])
    assert order is not None and order.status is OrderStatus.APPROVED
    assert [r.reason for r in order.triage_reasons] == [TriageReason.NO_TECHNICIAN]
    assert load_of(house.technician_id) == 0


def test_a_window_taken_meanwhile_passes_the_order_to_the_next(household, attempts, monkeypatch):
    # Given a second technician farther away
    house = household()
    technicians = dependencies().technicians
    nearest = present(technicians.get(present(house.technician_id)))
    farther = f"{house.technician_id}-2"
    home = house.home.location
    technicians.put(
        nearest.model_copy(
            update={
                "technician_id": farther,
                "home_base": GeoPoint(lat=home.lat + 0.05, lon=home.lon),
            }
        )
    )
    # And dispatch read the nearest as free, but another booking takes the window it will
    # offer before dispatch books it
    reads = dependencies().dispatcher.reads
    real = reads.read

    def read_then_taken(technician_ids: list[str], part_numbers: list[str]) -> ShortlistState:
        state = real(technician_ids, part_numbers)
        # the next 24 hours, so whichever first window dispatch offers is in it
        start = round_up(datetime.now(UTC))
        window = TimeWindow(start=start, end=start + timedelta(hours=24))
        transactions.write(
            dependencies().clients.dynamodb,
            technicians.book_items(nearest.technician_id, "ord_meanwhile", window),
        )
        return state

    monkeypatch.setattr(reads, "read", read_then_taken)
    # When a fault is dispatched
    code = next(
        c
        for c in codes_of(house.appliance, self_fix=False)
        if present(
            default_catalog().code(house.appliance.manufacturer, house.appliance.model, c)
        ).urgency
        == "normal"
    )
    answer = invoke(event_for(house.thing, fault(code)))
    # Then booking the nearest fails on the taken window, and the next technician gets it
    assert [(tech, type(error)) for tech, error in attempts] == [
        (house.technician_id, SlotTaken),
        (farther, type(None)),
    ]
    order = present(dependencies().orders.get(answer["order_id"]))
    assert order.status is OrderStatus.DISPATCHED and present(order.offer).technician_id == farther
