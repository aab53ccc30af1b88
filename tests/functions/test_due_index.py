"""The orders table's sparse, sharded `due` index: orders with a deadline and retry items
are found by a Query per shard for `due_at <= now`; orders without one are not in it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from functions.dal.due import DueIndex
from functions.dal.keys import DUE_SHARDS, due_index_keys
from functions.dal.orders import OrdersTable
from functions.domain.orders import transition
from schemas.orders import Deadline, DeadlineAction, OrderStatus, RepairOrder
from tests.factories import NOW, an_order, present

# The tables are shared by the test package: these deadlines lie months before any order
# opened with the real clock, so a Query up to NOW + a day sees only this module's.
DUE = NOW - timedelta(days=30)


def waiting(due_at=DUE, action=DeadlineAction.REMIND) -> RepairOrder:
    suffix = uuid.uuid4().hex[:10]
    return an_order(
        order_id=f"ord-{suffix}",
        thing_name=f"washer-{suffix}",
        event_ids=[f"evt-{suffix}"],
        deadline=Deadline(action=action, due_at=due_at),
    )


def due_ids(due: DueIndex, now=DUE, retry=False) -> set[str]:
    return {w.order_id for w in due.due_work(now, limit=1000) if w.retry is retry}


def test_the_index_spreads_over_its_shards():
    shards = {due_index_keys(f"ord-{i}", NOW)["due_pk"] for i in range(200)}
    assert len(shards) == DUE_SHARDS


def test_an_order_is_due_once_its_deadline_passed(orders: OrdersTable, due: DueIndex) -> None:
    first, later = waiting(), waiting(due_at=DUE + timedelta(hours=1))
    for order in (first, later):
        orders.open_order(order, settled=True)
    found = due_ids(due)
    assert first.order_id in found
    assert later.order_id not in found  # not yet
    assert later.order_id in due_ids(due, now=DUE + timedelta(hours=1))


def test_an_order_that_left_awaiting_approval_leaves_the_index(
    orders: OrdersTable, due: DueIndex
) -> None:
    order = waiting()
    orders.open_order(order, settled=True)
    approved = transition(order, OrderStatus.APPROVED, at=DUE, by="homeowner")
    orders.save_order(approved, expected_version=order.version)
    assert order.order_id not in due_ids(due)


def test_a_closed_order_is_never_due_even_with_a_deadline_left_on_it(
    orders: OrdersTable, due: DueIndex
) -> None:
    order = waiting()
    orders.open_order(order, settled=True)
    # written without the state machine, deadline and all: the index still drops it
    closed = order.model_copy(update={"status": OrderStatus.CANCELLED, "version": 2})
    orders.save_order(closed, expected_version=1)
    assert order.order_id not in due_ids(due)
    assert present(orders.get(order.order_id)).deadline is not None  # the model is intact


def test_failures_add_up_in_one_retry_item_due_at_the_earliest_time(due: DueIndex) -> None:
    order_id = f"ord-{uuid.uuid4().hex[:10]}"
    due.record_retry(order_id, {"status"}, due_at=DUE)
    due.record_retry(order_id, {"notification:dispatched"}, due_at=DUE + timedelta(hours=1))
    retry = present(due.pending_retry(order_id))
    assert retry.pending == {"status", "notification:dispatched"}
    assert retry.failures == 2
    assert retry.attempts == 0
    assert order_id in due_ids(due, retry=True)
    assert order_id not in due_ids(due)  # not an order's deadline


def test_a_finished_retry_is_deleted_unless_something_failed_since_it_was_read(
    due: DueIndex,
) -> None:
    order_id = f"ord-{uuid.uuid4().hex[:10]}"
    due.record_retry(order_id, {"status"}, due_at=DUE)
    read = present(due.pending_retry(order_id))
    due.record_retry(order_id, {"notification:completed"}, due_at=DUE)  # meanwhile
    assert not due.retry_done(read)
    assert due.pending_retry(order_id) is not None
    assert due.retry_done(present(due.pending_retry(order_id)))
    assert due.pending_retry(order_id) is None
    assert order_id not in due_ids(due, retry=True)


def test_a_retry_that_failed_again_waits_until_later(due: DueIndex) -> None:
    order_id = f"ord-{uuid.uuid4().hex[:10]}"
    due.record_retry(order_id, {"status", "notification:en_route"}, due_at=DUE)
    read = present(due.pending_retry(order_id))
    assert due.retry_later(read, {"status"}, due_at=DUE + timedelta(minutes=2))
    again = present(due.pending_retry(order_id))
    assert again.pending == {"status"}
    assert again.attempts == 1
    assert order_id not in due_ids(due, retry=True)
    assert order_id in due_ids(due, now=DUE + timedelta(minutes=2), retry=True)
