"""Dispatch an approved order to the best eligible technician, with its parts reserved."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from functions.dal.dispatch_reads import DispatchReads, ShortlistState
from functions.dal.orders import OrdersTable
from functions.dal.registry import RegisteredAppliance
from functions.dal.technicians import TechniciansTable
from functions.dal.visits import Visits
from functions.domain.catalog import Catalog
from functions.domain.errors import (
    ItemBusy,
    OutOfStock,
    SlotTaken,
    TechnicianFullyBooked,
    WindowNotOffered,
    WindowTaken,
)
from functions.domain.matching import Candidate, Job, can_serve, proposed_windows, rank
from functions.domain.orders import flag_for_triage, transition
from functions.domain.parts import VALUE_OF_FIRST_TIME_FIX, Stock, select_kit
from schemas.orders import (
    Offer,
    OfferStatus,
    OrderStatus,
    RepairOrder,
    TimeWindow,
    TriageFlag,
    TriageReason,
)
from schemas.registry import Technician

# The flag's words; the flag itself is made when raised (a model built at import would
# build its validator on every cold start, see schemas.contract).
NO_TECHNICIAN_DETAIL = "nobody eligible is free within the booking horizon"
MAX_ATTEMPTS = 3
# Ranked on the cell copies first; only this many get their live load read and re-ranked.
SHORTLIST = 5


@dataclass
class Dispatcher:
    orders: OrdersTable
    visits: Visits
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
        window: TimeWindow | None = None,
        expected_version: int | None = None,
    ) -> RepairOrder:
        """Offer the order to the best technician; book them when they accept automatically.

        Booking takes the technician's slot and window (busy blocks DynamoDB refuses to give
        twice) and reserves the kit (van first, then warehouse; backordered parts show their
        lead time) in the same transaction as the order. Raises StaleOrder when the order
        changed under us (the newer writer wins); a technician booked up, a window or a part
        taken meanwhile moves on to the next candidate.

        With `window` (the homeowner's choice) only a technician free at exactly that window
        is booked: WindowNotOffered when nobody's schedule offers it, WindowTaken when those
        who could are taken; either way nothing is written. `expected_version` is the version
        the order was read at, when `order` carries changes not yet written (an approval
        written in the booking's transaction).
        """
        if order.status is not OrderStatus.APPROVED:
            return order
        read_version = order.version if expected_version is None else expected_version
        now = self.clock()
        job = self.job_of(order, registered)
        current, state = self._shortlist(order, registered, job)
        if window is not None:
            candidates = rank(current, job, now, state.bookings, window=window)
            if not candidates:
                if not any(can_serve(t, job, now, window) for t in current):
                    raise WindowNotOffered(order.order_id, _text(window))
                raise WindowTaken(order.order_id, _text(window))
        else:
            candidates = rank(current, job, now, state.bookings)
        for candidate in candidates[:MAX_ATTEMPTS]:
            tech_id = candidate.technician.technician_id
            kit = select_kit(
                self.catalog(),
                registered.appliance,
                order.diagnosis,
                state.stock[tech_id],
                value_of_fix=VALUE_OF_FIRST_TIME_FIX,
            )
            updated = self._offer(order.model_copy(update={"parts": kit}), candidate, now)
            if updated.status is not OrderStatus.DISPATCHED:  # an offer books nothing yet
                self.orders.save_order(
                    updated, expected_version=read_version, settle_event=settle_event
                )
                return updated
            try:
                self.visits.book_and_reserve(
                    updated, expected_version=read_version, settle_event=settle_event
                )
            except (TechnicianFullyBooked, SlotTaken, OutOfStock, ItemBusy):
                continue  # booked up, or a window or part taken, meanwhile: next candidate
            return updated
        if window is not None:
            raise WindowTaken(order.order_id, _text(window))
        no_technician = TriageFlag(reason=TriageReason.NO_TECHNICIAN, detail=NO_TECHNICIAN_DETAIL)
        flagged = flag_for_triage(order, no_technician, at=now)
        self.orders.save_order(flagged, expected_version=read_version, settle_event=settle_event)
        return flagged

    def proposals(
        self, order: RepairOrder, registered: RegisteredAppliance
    ) -> tuple[list[TimeWindow], Stock | None]:
        """The windows a homeowner may choose for the order, from the schedules of the same
        technicians a dispatch would consider, and the warehouse stock of its parts (None
        when no technician was read): one Query and one BatchGetItem."""
        job = self.job_of(order, registered)
        current, state = self._shortlist(order, registered, job)
        windows = proposed_windows(
            current,
            job,
            self.clock(),
            state.bookings,
            preferred=registered.home.policy.preferred_windows,
        )
        warehouse = next(iter(state.stock.values()), None)
        return windows, warehouse

    @staticmethod
    def job_of(order: RepairOrder, registered: RegisteredAppliance) -> Job:
        home = registered.home
        return Job(
            category=order.diagnosis.required_skill,
            manufacturer=order.manufacturer,
            certifications=tuple(order.diagnosis.certifications),
            urgency=order.diagnosis.urgency,
            location=home.location,
            timezone=home.timezone,
        )

    def _shortlist(
        self, order: RepairOrder, registered: RegisteredAppliance, job: Job
    ) -> tuple[list[Technician], ShortlistState]:
        """The few best technicians near the home, with their live load, bookings and
        stock: ranked on the cell copies first, then read in one BatchGetItem."""
        nearby = self.technicians.candidates_near(registered.home.location, job.category)
        shortlist = [c.technician for c in rank(nearby, job, self.clock())[:SHORTLIST]]
        ids = [t.technician_id for t in shortlist]
        state = self.reads.read(ids, [p.part_number for p in order.parts.parts])
        current = [
            t.model_copy(update={"active_orders": state.loads[t.technician_id]})
            for t in shortlist
            if t.technician_id in state.loads
        ]
        return current, state

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


def _text(window: TimeWindow) -> str:
    return f"{window.start.isoformat()}/{window.end.isoformat()}"
