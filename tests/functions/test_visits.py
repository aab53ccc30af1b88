"""Visits' writes against the emulator: the order and the other tables' items it books,
frees or counts in one transaction, each failed condition raised as its own domain error,
and nothing written when one fails."""

from __future__ import annotations

import threading
from collections.abc import Mapping

import pytest

from functions.common.wiring import dependencies
from functions.dal.orders import OrdersTable
from functions.dal.visits import Visits
from functions.domain.errors import OutOfStock, StaleOrder, TechnicianFullyBooked
from functions.domain.learning import counts_key
from functions.domain.parts import Stock
from schemas.orders import OrderStatus, PartSource, RepairOrder
from tests.factories import a_selected_part
from tests.functions.test_orders_table import Booking, a_booking, fresh, step


def load_of(technician_id: str) -> int:
    technician = dependencies().technicians.get(technician_id)
    assert technician is not None
    return technician.active_orders


def stock_seen(technician_id: str, part_numbers: list[str]) -> Stock:
    """The technician's van and the warehouse, as dispatch reads them."""
    return dependencies().dispatch_reads.read([technician_id], part_numbers).stock[technician_id]


def warehouse(*part_numbers: str) -> Mapping[str, int]:
    return dependencies().stock.read_warehouse(list(part_numbers)).warehouse


# Booking a technician and reserving the kit


def test_booking_takes_a_slot_and_the_parts_where_each_was_sourced(
    orders: OrdersTable, visits: Visits
) -> None:
    from_van, from_warehouse, on_backorder = fresh("P"), fresh("P"), fresh("P")
    kit = [
        a_selected_part(from_van, PartSource.VAN),
        a_selected_part(from_warehouse, PartSource.WAREHOUSE, quantity=3),
        a_selected_part(on_backorder, PartSource.BACKORDER),
    ]
    booking = a_booking(orders, kit)
    stock = dependencies().stock
    stock.put(from_van, booking.technician_id, 2)
    stock.put(from_van, "WAREHOUSE", 7)
    stock.put(from_warehouse, "WAREHOUSE", 4, lead_time_days=3)

    visits.book_and_reserve(
        booking.dispatched,
        expected_version=booking.approved.version,
        settle_event=(booking.approved.thing_name, booking.approved.event_ids[0]),
    )

    stored = orders.get(booking.approved.order_id)
    assert stored is not None and stored.status is OrderStatus.DISPATCHED
    assert load_of(booking.technician_id) == 1
    view = stock_seen(booking.technician_id, [from_van, from_warehouse])
    assert view.van == {from_van: 1}
    assert view.warehouse == {from_van: 7, from_warehouse: 1}  # backordered: nothing taken
    assert view.lead_time_days[from_warehouse] == 3  # the decrement keeps the other attributes


def test_booking_a_fully_booked_technician_writes_nothing(
    orders: OrdersTable, visits: Visits
) -> None:
    pump = fresh("P")
    dependencies().stock.put(pump, "WAREHOUSE", 5)
    first = a_booking(orders, [a_selected_part(pump, PartSource.WAREHOUSE)], max_active_orders=1)
    visits.book_and_reserve(first.dispatched, expected_version=first.approved.version)
    # The second order goes to the same technician, who has no slot left.
    second = a_booking(
        orders, [a_selected_part(pump, PartSource.WAREHOUSE)], technician_id=first.technician_id
    )

    with pytest.raises(TechnicianFullyBooked) as caught:
        visits.book_and_reserve(second.dispatched, expected_version=second.approved.version)

    assert caught.value.technician_id == first.technician_id
    stored = orders.get(second.approved.order_id)
    assert stored is not None and stored.status is OrderStatus.APPROVED
    assert load_of(first.technician_id) == 1
    assert warehouse(pump) == {pump: 4}


def test_a_part_out_of_stock_is_named_and_nothing_is_taken(
    orders: OrdersTable, visits: Visits
) -> None:
    plenty, scarce = fresh("P"), fresh("P")
    dependencies().stock.put(plenty, "WAREHOUSE", 5)
    dependencies().stock.put(scarce, "WAREHOUSE", 1)
    booking = a_booking(
        orders,
        [
            a_selected_part(plenty, PartSource.WAREHOUSE),
            a_selected_part(scarce, PartSource.WAREHOUSE, 2),
        ],
    )

    with pytest.raises(OutOfStock) as caught:
        visits.book_and_reserve(booking.dispatched, expected_version=booking.approved.version)

    error = caught.value
    assert (error.part_number, error.location, error.wanted, error.available) == (
        scarce,
        "WAREHOUSE",
        2,
        1,
    )
    assert warehouse(plenty, scarce) == {plenty: 5, scarce: 1}
    assert load_of(booking.technician_id) == 0


def test_a_part_never_stocked_in_the_van_is_out_of_stock(
    orders: OrdersTable, visits: Visits
) -> None:
    absent = fresh("P")
    booking = a_booking(orders, [a_selected_part(absent, PartSource.VAN)])

    with pytest.raises(OutOfStock) as caught:
        visits.book_and_reserve(booking.dispatched, expected_version=booking.approved.version)

    assert caught.value.part_number == absent and caught.value.available == 0
    assert booking.technician_id in caught.value.location


def test_a_stale_order_is_reported_before_any_other_failure(
    orders: OrdersTable, visits: Visits
) -> None:
    absent = fresh("P")
    booking = a_booking(
        orders, [a_selected_part(absent, PartSource.WAREHOUSE)], max_active_orders=1
    )
    orders.save_order(
        step(booking.approved, OrderStatus.CANCELLED), expected_version=booking.approved.version
    )

    with pytest.raises(StaleOrder):
        visits.book_and_reserve(booking.dispatched, expected_version=booking.approved.version)


def test_two_bookings_race_for_the_last_unit(orders: OrdersTable, visits: Visits) -> None:
    last = fresh("P")
    dependencies().stock.put(last, "WAREHOUSE", 1)
    bookings = [a_booking(orders, [a_selected_part(last, PartSource.WAREHOUSE)]) for _ in range(2)]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def book(booking: Booking) -> None:
        start.wait()
        try:
            visits.book_and_reserve(booking.dispatched, expected_version=booking.approved.version)
            outcomes.append("booked")
        except OutOfStock as error:
            outcomes.append(f"out of {error.part_number}")

    threads = [threading.Thread(target=book, args=(b,)) for b in bookings]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["booked", f"out of {last}"]
    assert warehouse(last) == {last: 0}


def test_only_a_dispatched_order_can_be_booked(orders: OrdersTable, visits: Visits) -> None:
    booking = a_booking(orders, [])
    with pytest.raises(ValueError):
        visits.book_and_reserve(booking.approved, expected_version=booking.approved.version)


# Ending the visit


def visited(orders: OrdersTable, visits: Visits, booking: Booking) -> RepairOrder:
    """The booking written, then the technician on site."""
    visits.book_and_reserve(booking.dispatched, expected_version=booking.approved.version)
    on_site = step(step(booking.dispatched, OrderStatus.EN_ROUTE), OrderStatus.ON_SITE)
    orders.save_order(on_site, expected_version=booking.dispatched.version)
    return on_site


def test_a_completion_frees_the_slot_and_counts_the_cause_once(
    orders: OrdersTable, visits: Visits
) -> None:
    booking = a_booking(orders, [])
    on_site = visited(orders, visits, booking)
    key = counts_key(fresh("maker"), "family", "E18")
    observations = {"drain_pump_current_a": "<0.1"}
    diagnosis = on_site.diagnosis.model_copy(update={"observations": observations})
    completed = step(on_site, OrderStatus.COMPLETED).model_copy(
        update={"confirmed_cause": "pump", "diagnosis": diagnosis}
    )

    visits.record_completion(completed, expected_version=on_site.version, counts_key=key)
    with pytest.raises(StaleOrder):
        visits.record_completion(completed, expected_version=on_site.version, counts_key=key)

    assert load_of(booking.technician_id) == 0
    learned = dependencies().learning.snapshot()
    assert learned.for_key(key) == {"pump": 1}
    assert learned.evidence_for(key, "drain_pump_current_a") == {"<0.1": {"pump": 1}}
    stored = orders.get(completed.order_id)
    assert stored is not None and stored.confirmed_cause == "pump"


def test_an_unresolved_visit_frees_the_slot(orders: OrdersTable, visits: Visits) -> None:
    booking = a_booking(orders, [])
    on_site = visited(orders, visits, booking)

    visits.record_unresolved(
        step(on_site, OrderStatus.UNRESOLVED), expected_version=on_site.version
    )

    assert load_of(booking.technician_id) == 0
    stored = orders.get(on_site.order_id)
    assert stored is not None and stored.status is OrderStatus.UNRESOLVED


def test_a_completion_needs_its_cause(orders: OrdersTable, visits: Visits) -> None:
    on_site = visited(orders, visits, a_booking(orders, []))
    with pytest.raises(ValueError):
        visits.record_completion(
            step(on_site, OrderStatus.COMPLETED), expected_version=on_site.version, counts_key="k"
        )
