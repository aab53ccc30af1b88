"""Dispatch an approved order to the best eligible technician, with its parts reserved."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from functions.dal.dispatch_reads import DispatchReads
from functions.dal.orders import OrdersTable
from functions.dal.registry import RegisteredAppliance
from functions.dal.technicians import TechniciansTable
from functions.domain.catalog import Catalog
from functions.domain.errors import ItemBusy, OutOfStock, TechnicianFullyBooked
from functions.domain.matching import Candidate, Job, rank
from functions.domain.orders import flag_for_triage, transition
from functions.domain.parts import VALUE_OF_FIRST_TIME_FIX, select_kit
from schemas.orders import Offer, OfferStatus, OrderStatus, RepairOrder, TriageFlag, TriageReason

NO_TECHNICIAN = TriageFlag(
    reason=TriageReason.NO_TECHNICIAN,
    detail="nobody eligible is free within the booking horizon",
)
MAX_ATTEMPTS = 3
# Ranked on the cell copies first; only this many get their live load read and re-ranked.
SHORTLIST = 5


@dataclass
class Dispatcher:
    orders: OrdersTable
    technicians: TechniciansTable
    reads: DispatchReads
    catalog: Callable[[], Catalog]
    clock: Callable[[], datetime]

    def dispatch(
        self,
        order: RepairOrder,
        registered: RegisteredAppliance,
        *,
        settle_event: tuple[str, str] | None = None,
    ) -> RepairOrder:
        """Offer the order to the best technician; book them when they accept automatically.

        Booking takes the technician's slot and reserves the kit (van first, then warehouse;
        backordered parts show their lead time) in the same transaction as the order.
        Raises StaleOrder when the order changed under us (the newer writer wins); a
        technician booked up or a part taken meanwhile moves on to the next candidate.
        """
        if order.status is not OrderStatus.APPROVED:
            return order
        now = self.clock()
        home = registered.home
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
        ids = [t.technician_id for t in shortlist]
        loads, stock = self.reads.read(ids, [p.part_number for p in order.parts.parts])
        current = [
            t.model_copy(update={"active_orders": loads[t.technician_id]})
            for t in shortlist
            if t.technician_id in loads
        ]
        for candidate in rank(current, job, now)[:MAX_ATTEMPTS]:
            tech_id = candidate.technician.technician_id
            kit = select_kit(
                self.catalog(),
                registered.appliance,
                order.diagnosis,
                stock[tech_id],
                value_of_fix=VALUE_OF_FIRST_TIME_FIX,
            )
            updated = self._offer(order.model_copy(update={"parts": kit}), candidate, now)
            if updated.status is not OrderStatus.DISPATCHED:  # an offer books nothing yet
                self.orders.save_order(
                    updated, expected_version=order.version, settle_event=settle_event
                )
                return updated
            try:
                self.orders.book_and_reserve(
                    updated, expected_version=order.version, settle_event=settle_event
                )
            except (TechnicianFullyBooked, OutOfStock, ItemBusy):
                continue  # booked up, or a part taken, by a concurrent dispatch: next candidate
            return updated
        flagged = flag_for_triage(order, NO_TECHNICIAN, at=now)
        self.orders.save_order(flagged, expected_version=order.version, settle_event=settle_event)
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
