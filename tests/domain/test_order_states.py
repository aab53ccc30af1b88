from datetime import UTC, datetime

import pytest

from functions.domain.errors import InvalidTransition
from functions.domain.orders import (
    ALLOWED_TRANSITIONS,
    TERMINAL_STATES,
    flag_for_triage,
    only_folded_into,
    transition,
)
from schemas.orders import CLOSED_STATUSES, OrderStatus, TriageFlag, TriageReason
from tests.factories import an_order

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_every_state_has_its_transitions_declared():
    assert set(ALLOWED_TRANSITIONS) == set(OrderStatus)
    assert {
        OrderStatus.COMPLETED,
        OrderStatus.UNRESOLVED,
        OrderStatus.DECLINED,
        OrderStatus.CANCELLED,
        OrderStatus.EXPIRED,
        OrderStatus.SELF_FIXED,
    } == TERMINAL_STATES


def test_the_schemas_closed_statuses_are_the_state_machines_terminal_states():
    # The schema's `is_open` and the data-access layer's conditions use CLOSED_STATUSES.
    assert CLOSED_STATUSES == TERMINAL_STATES
    for status in OrderStatus:
        assert an_order(status=status).is_open is (status not in TERMINAL_STATES)


def test_flagging_for_triage_adds_the_reason_and_bumps_the_version():
    earlier = TriageFlag(reason=TriageReason.UNKNOWN_CODE, detail="Z9")
    order = an_order(status=OrderStatus.APPROVED, triage_reasons=[earlier])
    nobody = TriageFlag(reason=TriageReason.NO_TECHNICIAN, detail="nobody free")

    flagged = flag_for_triage(order, nobody, at=NOW)

    assert flagged.needs_triage and flagged.triage_reasons == [earlier, nobody]
    assert (flagged.version, flagged.updated_at) == (order.version + 1, NOW)
    assert flagged.status is order.status  # triage is a flag, not a state


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


def test_only_a_fold_between_read_and_write_lets_a_writer_write_again() -> None:
    read = an_order()
    folded = read.model_copy(update={"occurrences": read.occurrences + 1})
    assert only_folded_into(folded, read)
    moved_on = folded.model_copy(update={"version": read.version + 1})
    assert not only_folded_into(moved_on, read)
    assert not only_folded_into(read, read)
    assert not only_folded_into(None, read)
