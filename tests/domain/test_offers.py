"""The offer decisions, without an emulator: an approved order offered with its deadline,
accepted in time (or refused late, or twice), declined with a reason or expired (back to
approved, the technician not asked again), withdrawn, assigned by hand, stranded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.domain import offers
from functions.domain.errors import OfferExpired, OfferNotPending
from functions.domain.matching import Candidate
from schemas.orders import (
    DeadlineAction,
    OfferStatus,
    OrderStatus,
    RepairOrder,
    TimeWindow,
    TriageReason,
    Urgency,
)
from tests.factories import a_diagnosis, a_technician, an_order, present

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
WINDOW = TimeWindow(start=NOW + timedelta(hours=4), end=NOW + timedelta(hours=6))
TIMINGS = offers.OfferTimings.of_seconds(600, 120)


def approved(urgency: Urgency = Urgency.NORMAL) -> RepairOrder:
    return an_order(status=OrderStatus.APPROVED, diagnosis=a_diagnosis(urgency=urgency))


def candidate(tech_id: str = "tech-1", *, auto_accept: bool = False) -> Candidate:
    tech = a_technician(technician_id=tech_id, name=f"T {tech_id}", auto_accept_offers=auto_accept)
    return Candidate(tech, 0.8, 2.5, WINDOW)


def offered(tech_id: str = "tech-1", urgency: Urgency = Urgency.NORMAL) -> RepairOrder:
    return offers.offered(approved(urgency), candidate(tech_id), NOW, TIMINGS)


@pytest.mark.parametrize(
    ("urgency", "seconds"), [(Urgency.NORMAL, 600), (Urgency.HIGH, 600), (Urgency.EMERGENCY, 120)]
)
def test_an_offer_is_pending_with_its_deadline_on_the_order(urgency, seconds) -> None:
    order = offered(urgency=urgency)
    offer = present(order.offer)
    assert order.status is OrderStatus.OFFERED
    assert (offer.status, offer.offered_at, offer.window) == (OfferStatus.PENDING, NOW, WINDOW)
    assert offer.deadline == NOW + timedelta(seconds=seconds)
    deadline = present(order.deadline)
    assert (deadline.action, deadline.due_at) == (DeadlineAction.OFFER_EXPIRY, offer.deadline)
    assert order.history[-1].reason.startswith("offered to T tech-1: best match")


def test_a_technician_who_auto_accepts_is_dispatched_at_once() -> None:
    order = offers.offered(approved(), candidate(auto_accept=True), NOW, TIMINGS)
    assert order.status is OrderStatus.DISPATCHED
    assert present(order.offer).status is OfferStatus.ACCEPTED
    assert order.deadline is None
    assert [t.to_status for t in order.history[-2:]] == [
        OrderStatus.OFFERED,
        OrderStatus.DISPATCHED,
    ]


def test_accepting_in_time_dispatches_and_drops_the_deadline() -> None:
    order = offers.accepted(offered(), NOW + timedelta(seconds=599))
    assert order.status is OrderStatus.DISPATCHED
    assert present(order.offer).status is OfferStatus.ACCEPTED
    assert order.deadline is None
    assert order.history[-1].by == "tech-1"
    assert "offer accepted by T tech-1" in order.history[-1].reason


def test_accepting_late_or_twice_is_refused() -> None:
    with pytest.raises(OfferExpired, match="expired at"):
        offers.accepted(offered(), NOW + timedelta(seconds=600))
    once = offers.accepted(offered(), NOW)
    with pytest.raises(OfferNotPending, match="accepted already"):
        offers.accepted(once, NOW)


def test_declining_returns_the_order_for_the_next_candidate() -> None:
    order = offers.declined(offered(), "van broke down", NOW + timedelta(minutes=1))
    assert (order.status, order.offer, order.deadline) == (OrderStatus.APPROVED, None, None)
    [past] = order.offer_history
    assert (past.technician_id, past.status, past.decline_reason) == (
        "tech-1",
        OfferStatus.DECLINED,
        "van broke down",
    )
    assert order.history[-1].reason == "offer declined by T tech-1: van broke down"
    assert offers.tried(order) == {"tech-1"}
    again = offers.offered(order, candidate("tech-2"), NOW, TIMINGS)
    assert offers.tried(again) == {"tech-1", "tech-2"}


def test_an_offer_expires_only_once_its_deadline_passed() -> None:
    order = offered()
    assert not offers.expiry_due(order, NOW + timedelta(seconds=599))
    assert offers.expiry_due(order, NOW + timedelta(seconds=600))
    expired = offers.expired(order, NOW + timedelta(seconds=660))
    assert expired.status is OrderStatus.APPROVED
    assert [o.status for o in expired.offer_history] == [OfferStatus.EXPIRED]
    assert expired.history[-1].reason == "offer to T tech-1 expired unanswered after 660 s"
    assert not offers.expiry_due(offers.accepted(order, NOW), NOW + timedelta(hours=1))


def test_a_decline_of_nothing_pending_is_refused() -> None:
    with pytest.raises(OfferNotPending):
        offers.declined(approved(), "no", NOW)


def test_an_operator_assigns_by_hand_and_clears_the_triage_flag() -> None:
    stranded = offers.stranded(approved(), NOW, "nobody free")
    assert stranded.needs_triage and stranded.offer is None
    assert [f.reason for f in stranded.triage_reasons] == [TriageReason.NO_TECHNICIAN]
    tech = a_technician(technician_id="tech-9", name="Nina")
    order = offers.assigned(stranded, tech, WINDOW, 3.0, NOW, by="op-1", forced=True)
    assert order.status is OrderStatus.DISPATCHED and not order.needs_triage
    offer = present(order.offer)
    assert (offer.technician_id, offer.status, offer.window) == (
        "tech-9",
        OfferStatus.ACCEPTED,
        WINDOW,
    )
    assert order.history[-2].reason == "assigned to Nina by hand, eligibility overridden"
    assert order.history[-1].by == "op-1"


def test_withdrawing_a_pending_offer_keeps_it_in_the_history() -> None:
    order = offers.withdrawn(offered(), NOW, "op-1")
    assert order.status is OrderStatus.APPROVED and order.offer is None
    assert order.offer_history[0].decline_reason == "withdrawn"
