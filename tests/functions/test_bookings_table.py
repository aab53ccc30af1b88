"""A technician's time against the emulator: a booked window is held by DynamoDB (busy
blocks put only if absent), read back in dispatch's one BatchGetItem, and freed by
cancellation, completion and a move, each in the order's own transaction."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from functions.common.wiring import dependencies
from functions.dal.orders import OrdersTable
from functions.dal.technicians import busy_blocks
from functions.dal.visits import Visits
from functions.domain.errors import SlotTaken, StaleOrder
from functions.domain.learning import counts_key
from schemas.orders import OrderStatus, PartSource, RepairOrder, TimeWindow
from tests.factories import NOW, a_selected_part, present
from tests.functions.test_orders_table import a_booking, fresh, step
from tests.functions.test_visits import stock_seen


def booked_windows(technician_id: str) -> dict[str, TimeWindow]:
    _tech, bookings = present(dependencies().technicians.schedule(technician_id))
    return bookings


def blocks_held(technician_id: str) -> set[str]:
    client = dependencies().clients.dynamodb
    found = client.query(
        TableName=dependencies().settings.technicians_table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :busy)",
        ExpressionAttributeValues={":pk": {"S": f"TECH#{technician_id}"}, ":busy": {"S": "BUSY#"}},
    )
    return {i["sk"]["S"] for i in found["Items"]}


def moved(order: RepairOrder, start_offset: timedelta) -> RepairOrder:
    offer = present(order.offer)
    window = TimeWindow(
        start=offer.window.start + start_offset, end=offer.window.end + start_offset
    )
    return order.model_copy(update={"offer": offer.model_copy(update={"window": window})})


def test_a_window_is_two_hours_of_four_blocks():
    window = TimeWindow(start=NOW, end=NOW + timedelta(hours=2))
    assert busy_blocks(window) == [
        "BUSY#2026-03-02T09:00Z",
        "BUSY#2026-03-02T09:30Z",
        "BUSY#2026-03-02T10:00Z",
        "BUSY#2026-03-02T10:30Z",
    ]


def test_booking_holds_the_window_in_blocks_and_in_the_profile(
    orders: OrdersTable, visits: Visits
) -> None:
    # Given a technician with room for more orders
    first = a_booking(orders, [], max_active_orders=3)
    # When an order is booked with them
    visits.book_and_reserve(first.dispatched, expected_version=first.approved.version)
    # Then the window is in their bookings and its four blocks are held
    window = present(first.dispatched.offer).window
    assert booked_windows(first.technician_id) == {first.dispatched.order_id: window}
    assert blocks_held(first.technician_id) == set(busy_blocks(window))
    # And dispatch's batch read sees it
    state = dependencies().dispatcher.reads.read([first.technician_id], [])
    assert state.bookings[first.technician_id] == [window]


def test_two_bookings_of_one_slot_one_wins(orders: OrdersTable, visits: Visits) -> None:
    # Given one technician with room for many orders, and two orders offered the same hour
    first = a_booking(orders, [], max_active_orders=5)
    second = a_booking(orders, [], technician_id=first.technician_id)
    half_hour_later = moved(second.dispatched, timedelta(minutes=30))
    # When both are booked at once
    errors: list[Exception] = []

    def book(booking_order: RepairOrder, version: int) -> None:
        try:
            visits.book_and_reserve(booking_order, expected_version=version)
        except Exception as error:
            errors.append(error)

    threads = [
        threading.Thread(target=book, args=(first.dispatched, first.approved.version)),
        threading.Thread(target=book, args=(half_hour_later, second.approved.version)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly one is booked; the other is refused as the slot taken (or busy), and
    # wrote nothing: its order is still approved, the load is one
    assert len(errors) == 1, errors
    assert isinstance(errors[0], SlotTaken) or "concurrent" in str(errors[0])
    statuses = {present(orders.get(o.order_id)).status for o in (first.dispatched, half_hour_later)}
    assert statuses == {OrderStatus.APPROVED, OrderStatus.DISPATCHED}
    tech, bookings = present(dependencies().technicians.schedule(first.technician_id))
    assert tech.active_orders == 1 and len(bookings) == 1


def test_a_slot_taken_is_named_and_nothing_is_written(orders: OrdersTable, visits: Visits) -> None:
    # Given a technician booked 09:00-11:00
    first = a_booking(orders, [], max_active_orders=5)
    visits.book_and_reserve(first.dispatched, expected_version=first.approved.version)
    # When another order is booked with them 10:30-12:30
    second = a_booking(orders, [], technician_id=first.technician_id)
    overlapping = moved(second.dispatched, timedelta(minutes=90))
    with pytest.raises(SlotTaken) as taken:
        visits.book_and_reserve(overlapping, expected_version=second.approved.version)
    # Then the error names the held block, and the second order is untouched
    assert taken.value.block == "2026-03-02T10:30Z"
    assert present(orders.get(second.approved.order_id)).status is OrderStatus.APPROVED
    assert len(booked_windows(first.technician_id)) == 1
    # And right after the first window, it can be booked
    after = moved(second.dispatched, timedelta(hours=2))
    visits.book_and_reserve(after, expected_version=second.approved.version)
    assert len(booked_windows(first.technician_id)) == 2


def test_cancelling_a_booking_gives_back_the_window_the_slot_and_the_parts(
    orders: OrdersTable,
    visits: Visits,
) -> None:
    # Given a booking that took a warehouse part and a van part
    stock = dependencies().stock
    warehouse_part, van_part = fresh("pn"), fresh("pn")
    booking = a_booking(
        orders,
        [a_selected_part(warehouse_part, quantity=2), a_selected_part(van_part, PartSource.VAN)],
    )
    stock.put(warehouse_part, "WAREHOUSE", 5)
    stock.put(van_part, booking.technician_id, 1)
    visits.book_and_reserve(booking.dispatched, expected_version=booking.approved.version)
    assert stock_seen(booking.technician_id, [warehouse_part]).warehouse == {warehouse_part: 3}
    # When the homeowner cancels
    cancelled = step(booking.dispatched, OrderStatus.CANCELLED)
    visits.cancel_booked(cancelled, expected_version=booking.dispatched.version)
    # Then the parts are back where they came from, and the technician is free again
    after = stock_seen(booking.technician_id, [warehouse_part, van_part])
    assert after.warehouse[warehouse_part] == 5 and after.van[van_part] == 1
    tech, bookings = present(dependencies().technicians.schedule(booking.technician_id))
    assert tech.active_orders == 0 and bookings == {}
    assert blocks_held(booking.technician_id) == set()
    assert present(orders.get(cancelled.order_id)).status is OrderStatus.CANCELLED


def test_a_cancellation_on_an_old_version_releases_nothing(
    orders: OrdersTable, visits: Visits
) -> None:
    booking = a_booking(orders, [])
    visits.book_and_reserve(booking.dispatched, expected_version=booking.approved.version)
    cancelled = step(booking.dispatched, OrderStatus.CANCELLED)
    with pytest.raises(StaleOrder):
        visits.cancel_booked(cancelled, expected_version=booking.approved.version)
    assert len(booked_windows(booking.technician_id)) == 1
    assert len(blocks_held(booking.technician_id)) == 4


def test_moving_a_booking_frees_the_old_blocks_and_takes_the_new(
    orders: OrdersTable, visits: Visits
) -> None:
    # Given a booking 09:00-11:00
    booking = a_booking(orders, [])
    visits.book_and_reserve(booking.dispatched, expected_version=booking.approved.version)
    old = present(booking.dispatched.offer).window
    # When it moves an hour later (overlapping itself)
    later = moved(booking.dispatched, timedelta(hours=1))
    later = later.model_copy(update={"version": later.version + 1})
    visits.move_booking(later, expected_version=booking.dispatched.version, old_window=old)
    # Then it holds 10:00-12:00 only, and its load did not change
    new = present(later.offer).window
    assert blocks_held(booking.technician_id) == set(busy_blocks(new))
    tech, bookings = present(dependencies().technicians.schedule(booking.technician_id))
    assert bookings == {later.order_id: new} and tech.active_orders == 1


def test_moving_onto_someone_elses_window_is_refused(orders: OrdersTable, visits: Visits) -> None:
    first = a_booking(orders, [], max_active_orders=5)
    visits.book_and_reserve(first.dispatched, expected_version=first.approved.version)
    second = a_booking(orders, [], technician_id=first.technician_id)
    after = moved(second.dispatched, timedelta(hours=2))
    visits.book_and_reserve(after, expected_version=second.approved.version)
    onto_first = moved(after, timedelta(hours=-1)).model_copy(update={"version": after.version + 1})
    with pytest.raises(SlotTaken):
        visits.move_booking(
            onto_first, expected_version=after.version, old_window=present(after.offer).window
        )
    assert booked_windows(first.technician_id)[after.order_id] == present(after.offer).window


def test_completion_and_unresolved_free_the_window(orders: OrdersTable, visits: Visits) -> None:
    for ending in (OrderStatus.COMPLETED, OrderStatus.UNRESOLVED):
        booking = a_booking(orders, [])
        visits.book_and_reserve(booking.dispatched, expected_version=booking.approved.version)
        on_site = step(step(booking.dispatched, OrderStatus.EN_ROUTE), OrderStatus.ON_SITE)
        orders.save_order(on_site, expected_version=booking.dispatched.version)
        ended = step(on_site, ending)
        if ending is OrderStatus.COMPLETED:
            done = ended.model_copy(update={"confirmed_cause": "pump"})
            key = counts_key("Bosch", fresh("family"), "E18")
            visits.record_completion(done, expected_version=on_site.version, counts_key=key)
        else:
            visits.record_unresolved(ended, expected_version=on_site.version)
        assert booked_windows(booking.technician_id) == {}
        assert blocks_held(booking.technician_id) == set()
