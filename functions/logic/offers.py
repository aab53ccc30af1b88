"""Offers, the use cases: a technician accepts or declines the offer made to them, the
sweeper expires an offer nobody answered, an operator assigns a technician by hand.

A declined, expired or withdrawn offer is passed on in one transaction: the order moves on
(the next candidate's window held and offered, or the operators' queue) and what the last
offer held is given back (functions.logic.dispatch.Dispatcher.pass_on). Each write is
conditional on the version read, so two answers at once never both win: the loser gets 409.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from functions.dal.dispatch_reads import DispatchReads
from functions.dal.orders import OrdersTable
from functions.dal.registry import RegisteredAppliance, RegistryTable
from functions.dal.technicians import TechniciansTable
from functions.dal.visits import Released, Visits
from functions.domain import offers
from functions.domain.catalog import Catalog
from functions.domain.errors import (
    NotEligible,
    OfferExpired,
    OfferNotPending,
    SlotTaken,
    StaleOrder,
    WindowNotOffered,
    WindowTaken,
)
from functions.domain.geo import distance_km
from functions.domain.matching import can_serve, next_window, qualification_reason
from functions.domain.orders import only_folded_into
from functions.domain.parts import VALUE_OF_FIRST_TIME_FIX, select_kit
from functions.logic.announce import Announcer
from functions.logic.dispatch import Dispatcher
from functions.logic.errors import (
    NotAssigned,
    OrderClosed,
    OrderNotFound,
    RefusedChange,
    UnknownTechnician,
)
from schemas.orders import (
    CLOSED_STATUSES,
    OfferStatus,
    OrderStatus,
    RepairOrder,
    TimeWindow,
)


def _text(window: TimeWindow) -> str:
    return f"{window.start.isoformat()}/{window.end.isoformat()}"


@dataclass
class OfferDesk:
    orders: OrdersTable
    registry: RegistryTable
    technicians: TechniciansTable
    visits: Visits
    reads: DispatchReads
    dispatcher: Dispatcher
    announcer: Announcer
    catalog: Callable[[], Catalog]
    clock: Callable[[], datetime]

    # ------------------------------------------------------------ the technician

    def accept(self, order_id: str, technician_id: str) -> RepairOrder:
        """The technician accepts the offer made to them: the order is dispatched (the
        window they held is theirs) and the appliance shows "technician booked".

        Raises OrderNotFound / NotAssigned (no such order, or not offered to them: 404),
        OfferExpired or OfferNotPending (409), StaleOrder (another answer won: 409)."""

        def accept(order: RepairOrder) -> RepairOrder:
            self._offered_to(order, technician_id)
            accepted = offers.accepted(order, self.clock())
            self.orders.save_order(accepted, expected_version=order.version)
            return accepted

        accepted = self._on_current(order_id, accept)
        self.announcer.order_changed(accepted)
        return accepted

    def decline(self, order_id: str, technician_id: str, reason: str) -> RepairOrder:
        """The technician declines the offer made to them, saying why: the next candidate
        is offered it (or the operators' queue), in one write with freeing their window.

        Raises as accept does."""

        def decline(order: RepairOrder) -> RepairOrder:
            self._offered_to(order, technician_id)
            closed = offers.declined(order, reason, self.clock())
            return self._pass_on(order, closed)

        return self._announce_passed(self._on_current(order_id, decline))

    def _offered_to(self, order: RepairOrder, technician_id: str) -> None:
        """Refuse, with the answer the technician should get, an offer that is not theirs
        to answer: one they let expire or declined (409), someone else's or none (404)."""
        mine = [o for o in order.offer_history if o.technician_id == technician_id]
        current = order.offer
        if current is not None and current.technician_id == technician_id:
            return
        if mine:
            last = mine[-1]
            if last.status is OfferStatus.EXPIRED and last.deadline is not None:
                raise OfferExpired(order.order_id, last.deadline.isoformat())
            raise OfferNotPending(order.order_id, f"you {last.status.value} this offer already")
        raise NotAssigned(order.order_id, technician_id)

    # ------------------------------------------------------------ the sweeper

    def expire(self, order: RepairOrder, now: datetime) -> RepairOrder | None:
        """Pass on the order's pending offer if its deadline passed by `now` (the sweeper's
        clock: it found it in the `due` index); None when it is not due (answered
        meanwhile). The write is conditional on the version read: StaleOrder when the
        technician answered first."""
        if not offers.expiry_due(order, now):
            return None
        return self._announce_passed(self._pass_on(order, offers.expired(order, now)))

    # ------------------------------------------------------------ the operator

    def assign(
        self,
        order_id: str,
        technician_id: str,
        *,
        window: TimeWindow | None,
        force: bool,
        by: str,
    ) -> RepairOrder:
        """An operator books `technician_id` for an approved order (one in the operators'
        queue, or one whose offer is still pending: that offer is withdrawn), at `window`,
        else the approved window, else the technician's first free one.

        The technician must be qualified (skill, brand, certification, service area) and
        have room in their load, unless `force`; their time must be free (409 otherwise).
        Raises OrderNotFound, OrderClosed, RefusedChange (booked already), UnknownTechnician,
        NotEligible, WindowNotOffered, WindowTaken, TechnicianFullyBooked, StaleOrder."""
        order = self.orders.get(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        if order.status in CLOSED_STATUSES:
            raise OrderClosed(order.order_id, order.status, "assigned")
        if order.status not in (OrderStatus.APPROVED, OrderStatus.OFFERED):
            raise RefusedChange(
                f"order {order_id} is {order.status.value}: only an approved order, or one "
                "still offered, can be assigned by hand"
            )
        if order.offer is not None and order.offer.technician_id == technician_id:
            raise RefusedChange(
                f"order {order_id} is offered to {technician_id} already: they can accept it"
            )
        schedule = self.technicians.schedule(technician_id)
        if schedule is None:
            raise UnknownTechnician(technician_id)
        tech, bookings = schedule
        registered = self._registered(order)
        job = self.dispatcher.job_of(order, registered)
        now = self.clock()
        distance = distance_km(tech.home_base, job.location)
        why = qualification_reason(tech, job, distance)
        if why is None and tech.active_orders >= tech.max_active_orders:
            why = f"fully booked ({tech.active_orders} of {tech.max_active_orders} orders)"
        if why is not None and not force:
            raise NotEligible(technician_id, why)
        busy = [w for o, w in bookings.items() if o != order_id]
        chosen = window or (order.approval.window if order.approval else None)
        if chosen is None:
            chosen = next_window(tech, job, now, busy)
            if chosen is None:
                raise WindowTaken(order_id, "(any, within the booking horizon)")
        elif chosen.start <= now:
            raise WindowNotOffered(order_id, _text(chosen), "is in the past")
        elif any(b.start < chosen.end and chosen.start < b.end for b in busy):
            raise WindowTaken(order_id, _text(chosen))  # their time is booked
        elif not force and not can_serve(tech, job, now, chosen):
            raise WindowNotOffered(order_id, _text(chosen), f"is not one {tech.name} works")
        state = self.reads.read([technician_id], [p.part_number for p in order.parts.parts])
        kit = select_kit(
            self.catalog(),
            registered.appliance,
            order.diagnosis,
            state.stock[technician_id],
            value_of_fix=VALUE_OF_FIRST_TIME_FIX,
        )
        released = None
        base = order
        if order.status is OrderStatus.OFFERED and order.offer is not None:
            released = Released(order.offer, order.parts)
            base = offers.withdrawn(order, now, by)
        booked = offers.assigned(
            base.model_copy(update={"parts": kit}),
            tech,
            chosen,
            distance,
            now,
            by=by,
            forced=force and why is not None,
        )
        try:
            self.visits.book_and_reserve(
                booked,
                expected_version=order.version,
                released=released,
                beyond_load=force,
            )
        except SlotTaken as taken:
            raise WindowTaken(order_id, _text(chosen)) from taken
        self.announcer.order_changed(booked)
        return booked

    # ------------------------------------------------------------ shared

    def _pass_on(self, order: RepairOrder, closed: RepairOrder) -> RepairOrder:
        """`closed` (the order back to approved, its offer in its history) offered to the
        next candidate, giving back what `order`'s offer held, in one write."""
        if order.offer is None:
            raise OfferNotPending(order.order_id, "it has no offer")
        released = Released(order.offer, order.parts)
        registered = self.registry.get_appliance(order.thing_name)
        if registered is None:  # unpaired meanwhile: nobody can be sent; the operators decide
            stranded = offers.stranded(closed, self.clock(), "the appliance was unpaired")
            self.visits.release_hold(stranded, expected_version=order.version, released=released)
            return stranded
        return self.dispatcher.pass_on(
            closed, registered, expected_version=order.version, released=released
        )

    def _announce_passed(self, order: RepairOrder) -> RepairOrder:
        if order.status is OrderStatus.APPROVED:
            self.announcer.nobody_took(order)
        elif order.status is OrderStatus.DISPATCHED:  # the next one auto-accepts offers
            self.announcer.order_changed(order)
        return order

    def _registered(self, order: RepairOrder) -> RegisteredAppliance:
        registered = self.registry.get_appliance(order.thing_name)
        if registered is None:
            raise RefusedChange(f"order {order.order_id}: the appliance is unpaired")
        return registered

    def _on_current(self, order_id: str, act: Callable[[RepairOrder], RepairOrder]) -> RepairOrder:
        """`act` on the order as read; once more when the write lost only to a repeat of
        its fault folded in meanwhile (that must not refuse the technician)."""
        order = self.orders.get(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        try:
            return act(order)
        except StaleOrder:
            current = self.orders.get(order_id)
            if current is None or not only_folded_into(current, order):
                raise
            return act(current)
