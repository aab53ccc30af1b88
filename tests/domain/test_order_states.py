from datetime import UTC, datetime

import pytest

from functions.domain.orders import (
    ALLOWED_TRANSITIONS,
    TERMINAL_STATES,
    InvalidTransition,
    transition,
)
from schemas.orders import OrderStatus
from tests.factories import an_order

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_every_state_has_its_transitions_declared():
    assert set(ALLOWED_TRANSITIONS) == set(OrderStatus)
    assert {
        OrderStatus.COMPLETED,
        OrderStatus.UNRESOLVED,
        OrderStatus.DECLINED,
        OrderStatus.CANCELLED,
    } == TERMINAL_STATES


def test_transition_appends_history_and_bumps_version():
    # Given an order awaiting approval
    order = an_order(status=OrderStatus.AWAITING_APPROVAL)
    # When the homeowner approves it
    approved = transition(order, OrderStatus.APPROVED, at=NOW, by="homeowner", reason="ok")
    # Then the change is recorded with who, when and why
    assert approved.status is OrderStatus.APPROVED
    assert approved.version == order.version + 1
    last = approved.history[-1]
    assert (last.from_status, last.to_status, last.by, last.at) == (
        OrderStatus.AWAITING_APPROVAL,
        OrderStatus.APPROVED,
        "homeowner",
        NOW,
    )
    assert order.status is OrderStatus.AWAITING_APPROVAL  # the original is untouched


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (OrderStatus.AWAITING_APPROVAL, OrderStatus.DISPATCHED),
        (OrderStatus.COMPLETED, OrderStatus.APPROVED),
        (OrderStatus.DECLINED, OrderStatus.APPROVED),
        (OrderStatus.ON_SITE, OrderStatus.CANCELLED),
    ],
)
def test_disallowed_transitions_raise_a_typed_error(current, target):
    order = an_order(status=current)
    with pytest.raises(InvalidTransition) as raised:
        transition(order, target, at=NOW, by="system")
    assert (raised.value.current, raised.value.requested) == (current, target)
