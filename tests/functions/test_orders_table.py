"""OrdersTable's write operations against the emulator: each one transaction, each failed
condition raised as its own domain error, and nothing written when one fails. The writes
that span tables (bookings, completions) are in test_visits.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest

from functions.common.wiring import dependencies
from functions.dal.orders import MAX_LISTED_EVENT_IDS, OrdersTable
from functions.domain.errors import (
    DuplicateEvent,
    OpenOrderExists,
    StaleOrder,
)
from functions.domain.orders import transition
from schemas.orders import (
    CLOSED_STATUSES,
    Offer,
    OrderStatus,
    PartSelection,
    RepairOrder,
    SelectedPart,
    TimeWindow,
)
from tests.factories import NOW, a_technician, an_order, present


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
        offered_at=NOW,
    )
    offered = step(approved, OrderStatus.OFFERED).model_copy(update={"offer": offer})
    return Booking(approved, step(offered, OrderStatus.DISPATCHED), tech_id)


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
