"""A repeat folded while the order is being written elsewhere (found by `bench burst`)."""

from __future__ import annotations

from functions.common.wiring import dependencies
from schemas.orders import OrderStatus
from tests.functions.test_orders_table import fresh, new_order, step


def test_a_repeat_folded_during_a_dispatch_is_kept(aws_stack) -> None:
    # Found by `bench burst` (2 of 7,989 folds lost): a full-order put read before the fold
    # wrote occurrences/event_ids back. Order writes now leave those two to fold_repeat.
    orders = dependencies().orders
    # Given an approved order that a dispatch has read
    order = new_order(status=OrderStatus.APPROVED)
    orders.open_order(order, settled=False)
    # When a repeat is folded into it before the dispatch writes its offer
    repeat = fresh("evt")
    orders.fold_repeat(order.order_id, order.thing_name, repeat)
    orders.save_order(step(order, OrderStatus.OFFERED), expected_version=order.version)
    # Then the repeat still counts on the order
    stored = orders.get(order.order_id)
    assert stored is not None
    assert stored.occurrences == 2 and stored.event_ids == [*order.event_ids, repeat]
