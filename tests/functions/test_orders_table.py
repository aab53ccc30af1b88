"""OrdersTable's write operations against the emulator: each one transaction, each failed
condition raised as its own domain error, and nothing written when one fails."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import pytest

from functions.common.wiring import dependencies
from functions.dal.orders import MAX_LISTED_EVENT_IDS, OrdersTable
from functions.domain.errors import (
    DuplicateEvent,
    OpenOrderExists,
    OutOfStock,
    StaleOrder,
    TechnicianFullyBooked,
)
from functions.domain.learning import counts_key
from functions.domain.orders import transition
from schemas.orders import (
    CLOSED_STATUSES,
    Offer,
    OrderStatus,
    PartSelection,
    PartSource,
    RepairOrder,
    SelectedPart,
    TimeWindow,
)
from tests.factories import NOW, a_selected_part, a_technician, an_order, present


@pytest.fixture
def orders(aws_stack) -> OrdersTable:
    return dependencies().orders


def fresh(prefix: str) -> str:
    # The tables are shared by the whole test package: every test uses ids of its own.
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_order(**overrides) -> RepairOrder:
    fields = {
        "order_id": fresh("ord"),
        "thing_name": fresh("washer"),
        "event_ids": [fresh("evt")],
        "status": OrderStatus.APPROVED,
    }
    return an_order(**(fields | overrides))


def step(order: RepairOrder, target: OrderStatus) -> RepairOrder:
    return transition(order, target, at=NOW + timedelta(minutes=order.version), by="test")


@dataclass
class Booking:
    """An approved order in the table, and the dispatched version of it to write."""

    approved: RepairOrder
    dispatched: RepairOrder
    technician_id: str


def a_booking(
    orders: OrdersTable,
    parts: list[SelectedPart],
    *,
    max_active_orders: int = 2,
    technician_id: str | None = None,
) -> Booking:
    """A new technician (or `technician_id`) to book for a new order needing `parts`."""
    tech_id = technician_id or fresh("tech")
    if technician_id is None:
        dependencies().technicians.put(
            a_technician(technician_id=tech_id, max_active_orders=max_active_orders)
        )
    approved = new_order(parts=PartSelection(parts=parts))
    orders.open_order(approved, settled=False)
    offer = Offer(
        offer_id=fresh("off"),
        order_id=approved.order_id,
        technician_id=tech_id,
        technician_name="Anouk A.",
        score=0.9,
        distance_km=1.0,
        window=TimeWindow(start=NOW, end=NOW + timedelta(hours=2)),
    )
    offered = step(approved, OrderStatus.OFFERED).model_copy(update={"offer": offer})
    return Booking(approved, step(offered, OrderStatus.DISPATCHED), tech_id)


def load_of(technician_id: str) -> int:
    technician = dependencies().technicians.get(technician_id)
    assert technician is not None
    return technician.active_orders


def warehouse(*part_numbers: str) -> Mapping[str, int]:
    return dependencies().stock.read_warehouse(list(part_numbers)).warehouse


# Opening and folding repeats


def test_opening_twice_with_one_event_is_a_duplicate(orders: OrdersTable) -> None:
    order = new_order()
    orders.open_order(order, settled=False)

    again = order.model_copy(update={"order_id": fresh("ord")})
    with pytest.raises(DuplicateEvent) as caught:
        orders.open_order(again, settled=True)

    assert (caught.value.order_id, caught.value.settled) == (order.order_id, False)
    assert orders.get(again.order_id) is None


def test_a_second_event_for_an_open_fault_finds_the_open_order(orders: OrdersTable) -> None:
    order = new_order()
    orders.open_order(order, settled=True)

    second = order.model_copy(update={"order_id": fresh("ord"), "event_ids": [fresh("evt")]})
    with pytest.raises(OpenOrderExists) as caught:
        orders.open_order(second, settled=True)

    assert caught.value.order_id == order.order_id


def test_a_repeat_is_counted_once_on_the_open_order(orders: OrdersTable) -> None:
    order = new_order()
    orders.open_order(order, settled=True)
    repeat = fresh("evt")

    orders.fold_repeat(order.order_id, order.thing_name, repeat)
    with pytest.raises(DuplicateEvent) as caught:
        orders.fold_repeat(order.order_id, order.thing_name, repeat)

    assert caught.value.order_id == order.order_id and caught.value.settled
    stored = orders.get(order.order_id)
    assert stored is not None
    assert stored.occurrences == 2 and stored.event_ids == [*order.event_ids, repeat]


def test_repeats_past_the_listed_event_ids_are_counted_but_not_listed(
    orders: OrdersTable,
) -> None:
    # Given an open order that lists as many event ids as it may
    listed = [fresh("evt") for _ in range(MAX_LISTED_EVENT_IDS)]
    order = new_order(event_ids=listed, occurrences=MAX_LISTED_EVENT_IDS)
    orders.open_order(order, settled=True)
    # When the appliance reports the fault again
    repeat = fresh("evt")
    orders.fold_repeat(order.order_id, order.thing_name, repeat)
    # Then the repeat is counted, the list stays bounded, and the repeat is still once only
    stored = orders.get(order.order_id)
    assert stored is not None
    assert stored.occurrences == MAX_LISTED_EVENT_IDS + 1 and stored.event_ids == listed
    with pytest.raises(DuplicateEvent):
        orders.fold_repeat(order.order_id, order.thing_name, repeat)


@pytest.mark.parametrize("closed", sorted(CLOSED_STATUSES))
def test_a_repeat_of_a_closed_order_is_stale(orders: OrdersTable, closed: OrderStatus) -> None:
    # Written directly in the closed status: the condition must know every closed status.
    order = new_order(status=closed)
    orders.open_order(order, settled=True)

    with pytest.raises(StaleOrder):
        orders.fold_repeat(order.order_id, order.thing_name, fresh("evt"))

    stored = orders.get(order.order_id)
    assert stored is not None and stored.occurrences == 1


def test_a_repeat_of_a_missing_order_is_stale(orders: OrdersTable) -> None:
    with pytest.raises(StaleOrder):
        orders.fold_repeat(fresh("ord"), fresh("washer"), fresh("evt"))


# Saving on a version


def test_a_save_removes_what_the_order_no_longer_has(orders: OrdersTable) -> None:
    # Given an order offered to a technician, in the work queue
    booking = a_booking(orders, [])
    offered = step(booking.approved, OrderStatus.OFFERED).model_copy(
        update={"offer": booking.dispatched.offer}
    )
    orders.save_order(offered, expected_version=booking.approved.version)
    # When the offer is withdrawn and then the order is cancelled
    withdrawn = step(offered, OrderStatus.APPROVED).model_copy(update={"offer": None})
    orders.save_order(withdrawn, expected_version=offered.version)
    assert present(orders.get(offered.order_id)).offer is None
    cancelled = step(withdrawn, OrderStatus.CANCELLED)
    orders.save_order(cancelled, expected_version=withdrawn.version)
    # Then the stored order says so, and it has left the work queue
    assert present(orders.get(offered.order_id)).status is OrderStatus.CANCELLED
    queued = orders.list_by_status(OrderStatus.APPROVED, limit=1000)
    assert offered.order_id not in {o.order_id for o in queued}


def test_saving_on_an_old_version_is_stale(orders: OrdersTable) -> None:
    order = new_order()
    orders.open_order(order, settled=True)
    offered = step(order, OrderStatus.OFFERED)
    orders.save_order(offered, expected_version=order.version)

    with pytest.raises(StaleOrder):
        orders.save_order(step(order, OrderStatus.CANCELLED), expected_version=order.version)

    stored = orders.get(order.order_id)
    assert stored is not None and stored.status is OrderStatus.OFFERED


def test_saving_settles_the_event_and_closing_frees_the_guard(orders: OrdersTable) -> None:
    order = new_order()
    orders.open_order(order, settled=False)
    cancelled = step(order, OrderStatus.CANCELLED)

    orders.save_order(
        cancelled,
        expected_version=order.version,
        settle_event=(order.thing_name, order.event_ids[0]),
    )

    with pytest.raises(DuplicateEvent) as caught:
        orders.open_order(order.model_copy(update={"order_id": fresh("ord")}), settled=True)
    assert caught.value.settled
    # The guard went with the closed order: the same fault may open a new one.
    orders.open_order(new_order(thing_name=order.thing_name), settled=True)


# Booking a technician and reserving the kit


def test_booking_takes_a_slot_and_the_parts_where_each_was_sourced(orders: OrdersTable) -> None:
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

    orders.book_and_reserve(
        booking.dispatched,
        expected_version=booking.approved.version,
        settle_event=(booking.approved.thing_name, booking.approved.event_ids[0]),
    )

    stored = orders.get(booking.approved.order_id)
    assert stored is not None and stored.status is OrderStatus.DISPATCHED
    assert load_of(booking.technician_id) == 1
    view = stock.read([from_van, from_warehouse], [booking.technician_id])[booking.technician_id]
    assert view.van == {from_van: 1}
    assert view.warehouse == {from_van: 7, from_warehouse: 1}  # backordered: nothing taken
    assert view.lead_time_days[from_warehouse] == 3  # the decrement keeps the other attributes


def test_booking_a_fully_booked_technician_writes_nothing(orders: OrdersTable) -> None:
    pump = fresh("P")
    dependencies().stock.put(pump, "WAREHOUSE", 5)
    first = a_booking(orders, [a_selected_part(pump, PartSource.WAREHOUSE)], max_active_orders=1)
    orders.book_and_reserve(first.dispatched, expected_version=first.approved.version)
    # The second order goes to the same technician, who has no slot left.
    second = a_booking(
        orders, [a_selected_part(pump, PartSource.WAREHOUSE)], technician_id=first.technician_id
    )

    with pytest.raises(TechnicianFullyBooked) as caught:
        orders.book_and_reserve(second.dispatched, expected_version=second.approved.version)

    assert caught.value.technician_id == first.technician_id
    stored = orders.get(second.approved.order_id)
    assert stored is not None and stored.status is OrderStatus.APPROVED
    assert load_of(first.technician_id) == 1
    assert warehouse(pump) == {pump: 4}


def test_a_part_out_of_stock_is_named_and_nothing_is_taken(orders: OrdersTable) -> None:
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
        orders.book_and_reserve(booking.dispatched, expected_version=booking.approved.version)

    error = caught.value
    assert (error.part_number, error.location, error.wanted, error.available) == (
        scarce,
        "WAREHOUSE",
        2,
        1,
    )
    assert warehouse(plenty, scarce) == {plenty: 5, scarce: 1}
    assert load_of(booking.technician_id) == 0


def test_a_part_never_stocked_in_the_van_is_out_of_stock(orders: OrdersTable) -> None:
    absent = fresh("P")
    booking = a_booking(orders, [a_selected_part(absent, PartSource.VAN)])

    with pytest.raises(OutOfStock) as caught:
        orders.book_and_reserve(booking.dispatched, expected_version=booking.approved.version)

    assert caught.value.part_number == absent and caught.value.available == 0
    assert booking.technician_id in caught.value.location


def test_a_stale_order_is_reported_before_any_other_failure(orders: OrdersTable) -> None:
    absent = fresh("P")
    booking = a_booking(
        orders, [a_selected_part(absent, PartSource.WAREHOUSE)], max_active_orders=1
    )
    orders.save_order(
        step(booking.approved, OrderStatus.CANCELLED), expected_version=booking.approved.version
    )

    with pytest.raises(StaleOrder):
        orders.book_and_reserve(booking.dispatched, expected_version=booking.approved.version)


def test_two_bookings_race_for_the_last_unit(orders: OrdersTable) -> None:
    last = fresh("P")
    dependencies().stock.put(last, "WAREHOUSE", 1)
    bookings = [a_booking(orders, [a_selected_part(last, PartSource.WAREHOUSE)]) for _ in range(2)]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def book(booking: Booking) -> None:
        start.wait()
        try:
            orders.book_and_reserve(booking.dispatched, expected_version=booking.approved.version)
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


def test_only_a_dispatched_order_can_be_booked(orders: OrdersTable) -> None:
    booking = a_booking(orders, [])
    with pytest.raises(ValueError):
        orders.book_and_reserve(booking.approved, expected_version=booking.approved.version)


# Ending the visit


def visited(orders: OrdersTable, booking: Booking) -> RepairOrder:
    """The booking written, then the technician on site."""
    orders.book_and_reserve(booking.dispatched, expected_version=booking.approved.version)
    on_site = step(step(booking.dispatched, OrderStatus.EN_ROUTE), OrderStatus.ON_SITE)
    orders.save_order(on_site, expected_version=booking.dispatched.version)
    return on_site


def test_a_completion_frees_the_slot_and_counts_the_cause_once(orders: OrdersTable) -> None:
    booking = a_booking(orders, [])
    on_site = visited(orders, booking)
    key = counts_key(fresh("maker"), "family", "E18")
    observations = {"drain_pump_current_a": "<0.1"}
    diagnosis = on_site.diagnosis.model_copy(update={"observations": observations})
    completed = step(on_site, OrderStatus.COMPLETED).model_copy(
        update={"confirmed_cause": "pump", "diagnosis": diagnosis}
    )

    orders.record_completion(completed, expected_version=on_site.version, counts_key=key)
    with pytest.raises(StaleOrder):
        orders.record_completion(completed, expected_version=on_site.version, counts_key=key)

    assert load_of(booking.technician_id) == 0
    learned = dependencies().learning.snapshot()
    assert learned.for_key(key) == {"pump": 1}
    assert learned.evidence_for(key, "drain_pump_current_a") == {"<0.1": {"pump": 1}}
    stored = orders.get(completed.order_id)
    assert stored is not None and stored.confirmed_cause == "pump"


def test_an_unresolved_visit_frees_the_slot(orders: OrdersTable) -> None:
    booking = a_booking(orders, [])
    on_site = visited(orders, booking)

    orders.record_unresolved(
        step(on_site, OrderStatus.UNRESOLVED), expected_version=on_site.version
    )

    assert load_of(booking.technician_id) == 0
    stored = orders.get(on_site.order_id)
    assert stored is not None and stored.status is OrderStatus.UNRESOLVED


def test_a_completion_needs_its_cause(orders: OrdersTable) -> None:
    on_site = visited(orders, a_booking(orders, []))
    with pytest.raises(ValueError):
        orders.record_completion(
            step(on_site, OrderStatus.COMPLETED), expected_version=on_site.version, counts_key="k"
        )
