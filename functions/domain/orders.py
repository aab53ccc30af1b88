"""The repair-order state machine: the one place that knows which transitions are allowed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.domain.errors import InvalidTransition
from schemas.orders import CLOSED_STATUSES, OrderStatus, RepairOrder, Transition, TriageFlag

S = OrderStatus

ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.AWAITING_APPROVAL: frozenset({S.APPROVED, S.DECLINED, S.CANCELLED, S.EXPIRED, S.SELF_FIXED}),
    S.APPROVED: frozenset({S.OFFERED, S.CANCELLED}),
    S.OFFERED: frozenset({S.DISPATCHED, S.APPROVED, S.CANCELLED}),
    S.DISPATCHED: frozenset({S.EN_ROUTE, S.APPROVED, S.CANCELLED}),
    S.EN_ROUTE: frozenset({S.ON_SITE, S.CANCELLED}),
    S.ON_SITE: frozenset({S.COMPLETED, S.UNRESOLVED}),
    S.COMPLETED: frozenset(),
    S.UNRESOLVED: frozenset(),
    S.DECLINED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
    S.SELF_FIXED: frozenset(),
}

# The states with no way out. They must be the schema's CLOSED_STATUSES, which the schema's
# `is_open` and the data-access layer's conditions use (tests/domain/test_order_states.py).
TERMINAL_STATES = frozenset(s for s, nxt in ALLOWED_TRANSITIONS.items() if not nxt)
if TERMINAL_STATES != CLOSED_STATUSES:  # fail at import, never write a wrong guard or condition
    raise RuntimeError(
        f"state machine ends in {sorted(TERMINAL_STATES)}, schema says {sorted(CLOSED_STATUSES)}"
    )


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return target in ALLOWED_TRANSITIONS[current]


def transition(
    order: RepairOrder, target: OrderStatus, *, at: datetime, by: str, reason: str = ""
) -> RepairOrder:
    """Return the order moved to `target`, with the change in its history and version bumped.

    The caller persists it with a condition on the previous version, so two writers never both win.
    A deadline belongs to the state it was set in (functions.domain.deadlines): every
    transition drops it, so an order that left `awaiting_approval` is never reminded or expired.
    """
    if not can_transition(order.status, target):
        raise InvalidTransition(order.order_id, order.status, target)
    step = Transition(from_status=order.status, to_status=target, at=at, by=by, reason=reason)
    return _next_version(order, at, status=target, history=[*order.history, step], deadline=None)


def flag_for_triage(order: RepairOrder, flag: TriageFlag, *, at: datetime) -> RepairOrder:
    """Return the order flagged for an operator's look, with `flag` added and version bumped."""
    return _next_version(order, at, needs_triage=True, triage_reasons=[*order.triage_reasons, flag])


def _next_version(order: RepairOrder, at: datetime, **changes: Any) -> RepairOrder:
    return order.model_copy(update={**changes, "version": order.version + 1, "updated_at": at})


def only_folded_into(current: RepairOrder | None, read: RepairOrder) -> bool:
    """Whether `current` differs from the order as `read` only by repeats folded into it
    (folding a repeat counts it without a new version): a writer refused for that may
    write again on `current`."""
    return (
        current is not None
        and current.version == read.version
        and current.occurrences > read.occurrences
    )
