"""A repeat folded while the order is being written elsewhere (found by `bench burst`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from functions.common.wiring import dependencies
from functions.domain.errors import StaleOrder
from schemas.orders import OrderStatus
from tests.factories import present
from tests.functions.conftest import Household
from tests.functions.events import codes_of, event_for, fault, invoke
from tests.functions.test_orders_table import fresh, new_order, step


def test_a_write_read_before_a_fold_cannot_put_the_old_count_back(aws_stack) -> None:
    # Found by `bench burst` (2 of 7,989 folds lost): a full-order put read before the fold
    # wrote occurrences/event_ids back. Such a write is refused now, and the fold kept.
    orders = dependencies().orders
    # Given an approved order that a dispatch has read
    order = new_order(status=OrderStatus.APPROVED)
    orders.open_order(order, settled=False)
    # When a repeat is folded into it before the dispatch writes its offer
    repeat = fresh("evt")
    orders.fold_repeat(order.order_id, order.thing_name, repeat)
    with pytest.raises(StaleOrder):
        orders.save_order(step(order, OrderStatus.OFFERED), expected_version=order.version)
    # Then the repeat still counts on the order
    stored = orders.get(order.order_id)
    assert stored is not None
    assert stored.occurrences == 2 and stored.event_ids == [*order.event_ids, repeat]


def test_a_fault_whose_order_gets_a_repeat_during_its_dispatch_is_still_dispatched(
    household: Callable[..., Household], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a home whose fault will be dispatched
    house = household()
    code = codes_of(house.appliance, self_fix=False)[0]
    deps = dependencies()
    reads = deps.dispatcher.reads
    real_read = reads.read
    repeat = fresh("evt")

    def read_while_a_repeat_arrives(*args: Any, **kwargs: Any) -> Any:
        # A repeat of the same fault is folded in while the dispatch reads its candidates.
        [order] = deps.orders.list_by_home(house.home.home_id)
        if order.occurrences == 1:
            deps.orders.fold_repeat(order.order_id, house.thing, repeat)
        return real_read(*args, **kwargs)

    monkeypatch.setattr(reads, "read", read_while_a_repeat_arrives)
    # When the fault arrives
    answer = invoke(event_for(house.thing, fault(code)))
    # Then the order is dispatched all the same, and the repeat counts on it
    assert answer["outcome"] == "dispatched"
    stored = present(deps.orders.get(answer["order_id"]))
    assert stored.status is OrderStatus.DISPATCHED and stored.occurrences == 2
    assert repeat in stored.event_ids
