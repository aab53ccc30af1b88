"""Offers: an approved order's window held for one technician at a time, until they accept,
decline or let the deadline pass; then the next candidate. Plain Python: what each step
makes of the order (functions.logic.offers writes it, with the hold, in one transaction).

An order in `offered` has one pending offer: the technician's window and the kit are held
(booked, functions.dal.visits), so nobody else takes them meanwhile, and the order's
`deadline` (offer_expiry) puts it in the sweeper's `due` index. Accepting moves it to
`dispatched`; declining or expiring moves the offer to `offer_history` (its technician is
not asked again) and the order back to `approved`, from where the next candidate is offered
in the same write. Every step is a transition with its reason, so the order's history says
offered / accepted / declined / expired offer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from functions.domain.errors import OfferExpired, OfferNotPending
from functions.domain.matching import Candidate
from functions.domain.orders import flag_for_triage, transition
from schemas.orders import (
    Deadline,
    DeadlineAction,
    Offer,
    OfferStatus,
    OrderStatus,
    RepairOrder,
    TimeWindow,
    TriageFlag,
    TriageReason,
    Urgency,
)
from schemas.registry import Technician


@dataclass(frozen=True)
class OfferTimings:
    """How long a technician has to accept an offer. Settings (template parameters
    OfferAcceptSeconds, EmergencyOfferAcceptSeconds)."""

    accept_within: timedelta = timedelta(minutes=10)
    emergency_accept_within: timedelta = timedelta(minutes=2)

    @classmethod
    def of_seconds(cls, accept: int, emergency: int) -> OfferTimings:
        return cls(timedelta(seconds=accept), timedelta(seconds=emergency))

    def deadline(self, urgency: Urgency, offered_at: datetime) -> datetime:
        within = (
            self.emergency_accept_within if urgency is Urgency.EMERGENCY else self.accept_within
        )
        return offered_at + within


DEFAULT_OFFER_TIMINGS = OfferTimings()


def tried(order: RepairOrder) -> frozenset[str]:
    """The technicians the order was offered to before (declined or let it expire), and the
    one it is offered to now: none of them is offered it again."""
    ids = {o.technician_id for o in order.offer_history}
    if order.offer is not None:
        ids.add(order.offer.technician_id)
    return frozenset(ids)


def offered(
    order: RepairOrder,
    candidate: Candidate,
    now: datetime,
    timings: OfferTimings = DEFAULT_OFFER_TIMINGS,
    *,
    stage: str = "best match",
) -> RepairOrder:
    """The approved order offered to `candidate`: `offered` with a pending offer and its
    acceptance deadline (the order's offer_expiry deadline); a technician who auto-accepts
    offers takes it at once (`dispatched`, no deadline)."""
    tech = candidate.technician
    deadline = timings.deadline(order.diagnosis.urgency, now)
    offer = Offer(
        offer_id=f"off_{uuid.uuid4().hex[:16]}",
        order_id=order.order_id,
        technician_id=tech.technician_id,
        technician_name=tech.name,
        score=candidate.score,
        distance_km=candidate.distance_km,
        window=candidate.window,
        offered_at=now,
        deadline=deadline,
    )
    result = transition(
        order,
        OrderStatus.OFFERED,
        at=now,
        by="system",
        reason=f"offered to {tech.name}: {stage} (score {candidate.score:.3f}, "
        f"{candidate.distance_km:.1f} km), to accept by {deadline:%H:%M:%S} UTC",
    ).model_copy(
        update={
            "offer": offer,
            "deadline": Deadline(action=DeadlineAction.OFFER_EXPIRY, due_at=deadline),
        }
    )
    if not tech.auto_accept_offers:
        return result
    return _accepted(result, offer, now, by=tech.technician_id, why="technician auto-accepts")


def accepted(order: RepairOrder, now: datetime) -> RepairOrder:
    """The order with its pending offer accepted by its technician: `dispatched`.

    Raises OfferNotPending (nothing to accept: accepted already, passed on) or OfferExpired
    (its deadline passed; the sweeper passes it on). The caller checked that the offer is
    the caller's."""
    offer = pending_offer(order)
    if offer.deadline is not None and offer.deadline <= now:
        raise OfferExpired(order.order_id, offer.deadline.isoformat())
    return _accepted(order, offer, now, by=offer.technician_id, why="accepted")


def _accepted(order: RepairOrder, offer: Offer, now: datetime, *, by: str, why: str) -> RepairOrder:
    waited = int((now - offer.offered_at).total_seconds())
    return transition(
        order,
        OrderStatus.DISPATCHED,
        at=now,
        by=by,
        reason=f"offer accepted by {offer.technician_name} ({why}, after {waited} s)",
    ).model_copy(update={"offer": offer.model_copy(update={"status": OfferStatus.ACCEPTED})})


def pending_offer(order: RepairOrder) -> Offer:
    """The order's pending offer; OfferNotPending when it has none."""
    offer = order.offer
    if offer is not None and offer.status is not OfferStatus.PENDING:
        raise OfferNotPending(
            order.order_id, f"the offer is {offer.status.value} already ({order.status.value})"
        )
    if order.status is not OrderStatus.OFFERED or offer is None:
        raise OfferNotPending(order.order_id, f"it is {order.status.value}, not offered")
    return offer


def declined(order: RepairOrder, reason: str, now: datetime) -> RepairOrder:
    """The order with its pending offer declined by its technician, for `reason`: back to
    `approved`, the offer in its history, for the next candidate."""
    offer = pending_offer(order)
    return _passed_on(
        order,
        offer.model_copy(update={"status": OfferStatus.DECLINED, "decline_reason": reason}),
        now,
        by=offer.technician_id,
        why=f"offer declined by {offer.technician_name}: {reason}",
    )


def expiry_due(order: RepairOrder, now: datetime) -> bool:
    """Whether the order's pending offer is past its deadline."""
    offer = order.offer
    return (
        order.status is OrderStatus.OFFERED
        and offer is not None
        and offer.status is OfferStatus.PENDING
        and offer.deadline is not None
        and offer.deadline <= now
    )


def expired(order: RepairOrder, now: datetime) -> RepairOrder:
    """The order with its pending offer expired unanswered: back to `approved`, the offer
    in its history, for the next candidate."""
    offer = pending_offer(order)
    waited = int((now - offer.offered_at).total_seconds())
    return _passed_on(
        order,
        offer.model_copy(update={"status": OfferStatus.EXPIRED}),
        now,
        by="system",
        why=f"offer to {offer.technician_name} expired unanswered after {waited} s",
    )


def withdrawn(order: RepairOrder, now: datetime, by: str) -> RepairOrder:
    """The order with its pending offer taken back by an operator who assigns it by hand:
    back to `approved`, the offer in its history."""
    offer = pending_offer(order)
    return _passed_on(
        order,
        offer.model_copy(update={"status": OfferStatus.EXPIRED, "decline_reason": "withdrawn"}),
        now,
        by=by,
        why=f"offer to {offer.technician_name} withdrawn: assigned by an operator",
    )


def _passed_on(
    order: RepairOrder, closed: Offer, now: datetime, *, by: str, why: str
) -> RepairOrder:
    return transition(order, OrderStatus.APPROVED, at=now, by=by, reason=why).model_copy(
        update={"offer": None, "offer_history": [*order.offer_history, closed]}
    )


def assigned(
    order: RepairOrder,
    tech: Technician,
    window: TimeWindow,
    distance_km: float,
    now: datetime,
    *,
    by: str,
    forced: bool,
) -> RepairOrder:
    """The approved order assigned by an operator to `tech` at `window`: `dispatched` (the
    operator agreed it with the technician), through an offer accepted on their behalf."""
    offer = Offer(
        offer_id=f"off_{uuid.uuid4().hex[:16]}",
        order_id=order.order_id,
        technician_id=tech.technician_id,
        technician_name=tech.name,
        score=0.0,
        distance_km=round(distance_km, 2),
        window=window,
        status=OfferStatus.ACCEPTED,
        offered_at=now,
    )
    how = "by hand, eligibility overridden" if forced else "by hand"
    return transition(
        transition(
            order, OrderStatus.OFFERED, at=now, by=by, reason=f"assigned to {tech.name} {how}"
        ),
        OrderStatus.DISPATCHED,
        at=now,
        by=by,
        reason=f"offer accepted for {tech.name} by an operator",
    ).model_copy(update={"offer": offer, "needs_triage": False})


def stranded(order: RepairOrder, now: datetime, detail: str) -> RepairOrder:
    """The approved order nobody (more) can take: flagged for the operators' queue
    (no_technician), waiting approved with no offer for an operator to assign it."""
    flag = TriageFlag(reason=TriageReason.NO_TECHNICIAN, detail=detail)
    return flag_for_triage(order.model_copy(update={"offer": None, "deadline": None}), flag, at=now)
