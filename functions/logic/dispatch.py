"""Dispatch an approved order to the best eligible technician."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from functions.dal.orders import ExtraConditionFailed, OrdersTable
from functions.dal.technicians import TechniciansTable
from functions.domain.matching import Candidate, Job, rank
from functions.domain.orders import transition
from schemas.orders import Offer, OfferStatus, OrderStatus, RepairOrder
from schemas.registry import Home

NO_TECHNICIAN = "no_technician: nobody eligible is free within the booking horizon"
MAX_ATTEMPTS = 3
# Ranked on the cell copies first; only this many get their live load read and re-ranked.
SHORTLIST = 5


@dataclass
class Dispatcher:
    orders: OrdersTable
    technicians: TechniciansTable
    clock: Callable[[], datetime]

    def dispatch(
        self, order: RepairOrder, home: Home, *, settle_event: tuple[str, str] | None = None
    ) -> RepairOrder:
        """Offer the order to the best technician; book them when they accept automatically.

        Raises StaleOrder when the order changed under us (the newer writer wins).
        """
        if order.status is not OrderStatus.APPROVED:
            return order
        now = self.clock()
        job = Job(
            category=order.diagnosis.required_skill,
            manufacturer=order.manufacturer,
            certifications=tuple(order.diagnosis.certifications),
            urgency=order.diagnosis.urgency,
            location=home.location,
            timezone=home.timezone,
        )
        nearby = self.technicians.candidates_near(home.location, job.category)
        shortlist = [c.technician for c in rank(nearby, job, now)[:SHORTLIST]]
        loads = (
            self.technicians.live_load([t.technician_id for t in shortlist]) if shortlist else {}
        )
        current = [
            t.model_copy(update={"active_orders": loads[t.technician_id]})
            for t in shortlist
            if t.technician_id in loads
        ]
        for candidate in rank(current, job, now)[:MAX_ATTEMPTS]:
            updated = self._offer(order, candidate, now)
            try:
                extra = []
                if updated.status is OrderStatus.DISPATCHED:
                    extra.append(self.technicians.book_item(candidate.technician.technician_id))
                self.orders.save(
                    updated, expected_version=order.version, settle_event=settle_event, extra=extra
                )
            except ExtraConditionFailed:
                continue  # booked up by a concurrent dispatch: next candidate
            return updated
        flagged = order.model_copy(
            update={
                "needs_triage": True,
                "triage_reasons": [*order.triage_reasons, NO_TECHNICIAN],
                "version": order.version + 1,
                "updated_at": now,
            }
        )
        self.orders.save(flagged, expected_version=order.version, settle_event=settle_event)
        return flagged

    @staticmethod
    def _offer(order: RepairOrder, candidate: Candidate, now: datetime) -> RepairOrder:
        tech = candidate.technician
        offer = Offer(
            offer_id=f"off_{uuid.uuid4().hex[:16]}",
            order_id=order.order_id,
            technician_id=tech.technician_id,
            technician_name=tech.name,
            score=candidate.score,
            distance_km=candidate.distance_km,
            window=candidate.window,
        )
        offered = transition(
            order,
            OrderStatus.OFFERED,
            at=now,
            by="system",
            reason=f"best match {tech.name} (score {candidate.score:.3f}, "
            f"{candidate.distance_km:.1f} km)",
        ).model_copy(update={"offer": offer})
        if not tech.auto_accept_offers:
            return offered
        accepted = offer.model_copy(update={"status": OfferStatus.ACCEPTED})
        return transition(
            offered,
            OrderStatus.DISPATCHED,
            at=now,
            by=tech.technician_id,
            reason="offer accepted (technician auto-accepts offers)",
        ).model_copy(update={"offer": accepted})
