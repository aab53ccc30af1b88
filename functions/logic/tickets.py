"""The homeowner's actions on an order, all of them in one use case: read its ticket,
approve it with a window, decline, reschedule the booked visit, cancel, report what the
self-fix guide did, rate the completed visit.

Every action takes the order through one path (`_acting`): one read, one ownership rule
(the caller's `may_act`: an order they may not act on is answered like a missing one), and
one retry. Approval goes through the dispatcher: the approval and the booking are one
transaction (the dispatch's put is conditioned on the version read), so a window taken
meanwhile leaves the order as it was. Every write is conditioned on the version read: of an
approve and a decline racing, one wins and the other finds the order changed. A conflict
caused only by the appliance re-reporting its fault meanwhile is retried on the order as it
is now, whichever the action.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from functions.dal.orders import OrdersTable
from functions.dal.registry import RegisteredAppliance, RegistryTable
from functions.dal.stock import StockTable
from functions.dal.technicians import TechniciansTable
from functions.dal.visits import Visits
from functions.domain.approval import approval_decision
from functions.domain.catalog import Catalog
from functions.domain.deadlines import ApprovalTimings, answer_by
from functions.domain.errors import (
    SlotTaken,
    StaleOrder,
    TechnicianGone,
    WindowNotOffered,
    WindowTaken,
)
from functions.domain.learning import counts_key
from functions.domain.matching import can_serve, free_windows, is_free, preferred_first
from functions.domain.orders import only_folded_into, transition
from functions.domain.parts import Stock
from functions.domain.tickets import APPROVABLE, BOOKED, allowed_actions, estimate
from functions.logic.announce import Announcer
from functions.logic.dispatch import Dispatcher
from functions.logic.errors import (
    AlreadyApproved,
    NotBooked,
    OrderClosed,
    OrderNotFound,
    RefusedChange,
)
from schemas.orders import (
    CLOSED_STATUSES,
    Approval,
    OrderStatus,
    PartSource,
    RepairOrder,
    SelectedPart,
    TimeWindow,
    Transition,
    VisitRating,
)
from schemas.tickets import Booked, Ticket, TicketAppliance, TicketPart

logger = logging.getLogger(__name__)

# Who may act on an order: the API's caller check (own home, or an operator).
MayAct = Callable[[RepairOrder], bool]


def _same(a: TimeWindow | None, b: TimeWindow) -> bool:
    return a is not None and a.start == b.start and a.end == b.end


def _text(window: TimeWindow) -> str:
    return f"{window.start.isoformat()}/{window.end.isoformat()}"


@dataclass
class OrderActions:
    orders: OrdersTable
    visits: Visits
    registry: RegistryTable
    technicians: TechniciansTable
    stock: StockTable
    dispatcher: Dispatcher
    announcer: Announcer
    catalog: Callable[[], Catalog]
    clock: Callable[[], datetime]
    timings: ApprovalTimings

    # ------------------------------------------------------------------ reading

    def ticket(self, order_id: str, may_act: MayAct) -> Ticket:
        order = self.owned(order_id, may_act)
        registered = self.registry.get_appliance(order.thing_name)
        windows: list[TimeWindow] = []
        warehouse: Stock | None = None
        if registered is not None and order.status in APPROVABLE:
            windows, warehouse = self.dispatcher.proposals(order, registered)
        elif registered is not None and order.status is OrderStatus.DISPATCHED:
            windows = self._reschedule_windows(order, registered)
        if order.status in APPROVABLE and warehouse is None and order.parts.parts:
            warehouse = self.stock.read_warehouse([p.part_number for p in order.parts.parts])
        timezone = registered.home.timezone if registered is not None else "UTC"
        return self._ticket(order, windows, warehouse, timezone)

    def _ticket(
        self,
        order: RepairOrder,
        windows: list[TimeWindow],
        warehouse: Stock | None,
        timezone: str,
    ) -> Ticket:
        diagnosis = order.diagnosis
        booked = None
        if order.status in BOOKED and order.offer is not None:
            booked = Booked(technician_name=order.offer.technician_name, window=order.offer.window)
        return Ticket(
            order_id=order.order_id,
            status=order.status,
            title=diagnosis.title or f"Fault {order.fault_code}",
            urgency=diagnosis.urgency,
            safety_advice=diagnosis.safety_advice,
            explanation=diagnosis.explanation,
            self_fix=diagnosis.self_fix,
            appliance=TicketAppliance(
                manufacturer=order.manufacturer,
                model=order.model,
                category=order.category,
                thing_name=order.thing_name,
            ),
            parts=[self._part(p, warehouse) for p in order.parts.parts],
            cost=estimate(order),
            windows=windows,
            booked=booked,
            deadline=order.deadline,
            answer_by=answer_by(order, self.timings),
            timezone=timezone,
            rating=order.rating,
            actions=allowed_actions(order, windows_offered=bool(windows)),
        )

    @staticmethod
    def _part(part: SelectedPart, warehouse: Stock | None) -> TicketPart:
        if warehouse is None:  # reserved with the booking (or as chosen then)
            available = part.source is not PartSource.BACKORDER
            lead = 0 if available else part.lead_time_days
        else:
            available = warehouse.warehouse.get(part.part_number, 0) >= part.quantity
            lead = (
                0
                if available
                else warehouse.lead_time_days.get(
                    part.part_number, part.lead_time_days or warehouse.default_lead_time_days
                )
            )
        return TicketPart(
            part_number=part.part_number,
            description=part.description,
            quantity=part.quantity,
            unit_price=part.unit_price,
            available=available,
            lead_time_days=lead,
        )

    # ------------------------------------------------------------------ acting

    def approve(
        self, order_id: str, window: TimeWindow, *, by: str, may_act: MayAct
    ) -> RepairOrder:
        """Approve with the chosen window and book it. Idempotent for the same window.

        Raises OrderNotFound, OrderClosed, AlreadyApproved, WindowNotOffered (past, or not a
        window the schedules offer), WindowTaken, StaleOrder (another change won).
        """
        # After any change made meanwhile, approve answers as the order is now: the same
        # approval done by a double click is a success; a decline that won is a conflict.
        return self._acting(
            order_id,
            may_act,
            lambda order: self._approve(order, window, by),
            again_after_any_change=True,
        )

    def _approve(self, order: RepairOrder, window: TimeWindow, by: str) -> RepairOrder:
        if order.status in CLOSED_STATUSES:  # closed means closed, even for a repeat
            raise OrderClosed(order.order_id, order.status, "approved")
        approval = order.approval
        if (
            order.status not in APPROVABLE
            and approval is not None
            and _same(approval.window, window)
        ):
            return order  # approved with this window before and still open: the same answer
        if order.status not in APPROVABLE:
            raise AlreadyApproved(order.order_id, order.status)
        now = self.clock()
        if window.start <= now:
            raise WindowNotOffered(order.order_id, _text(window), "is in the past")
        registered = self._registered(order, window)
        approved = order.model_copy(
            update={"approval": Approval(by=by, at=now, window=window), "deadline": None}
        )
        if order.status is OrderStatus.AWAITING_APPROVAL:
            approved = transition(
                approved, OrderStatus.APPROVED, at=now, by=by, reason="approved by the homeowner"
            )
        dispatched = self.dispatcher.dispatch(
            approved, registered, window=window, expected_version=order.version
        )
        self.announcer.order_changed(dispatched)
        return dispatched

    def decline(self, order_id: str, reason: str, *, by: str, may_act: MayAct) -> RepairOrder:
        """Raises OrderNotFound, OrderClosed, InvalidTransition (approved already), StaleOrder."""

        def decline(order: RepairOrder) -> RepairOrder:
            if order.status in CLOSED_STATUSES:
                raise OrderClosed(order.order_id, order.status, "declined")
            declined = transition(
                order, OrderStatus.DECLINED, at=self.clock(), by=by, reason=reason
            ).model_copy(update={"deadline": None})
            self.orders.save_order(declined, expected_version=order.version)
            return declined

        return self._changed(self._acting(order_id, may_act, decline))

    def cancel(self, order_id: str, reason: str, *, by: str, may_act: MayAct) -> RepairOrder:
        """Cancel an open order before the technician is on site, giving back the booking
        (technician's slot and window) and the reserved parts in the same transaction.

        Raises OrderNotFound, OrderClosed, InvalidTransition (on site), StaleOrder.
        """

        def cancel(order: RepairOrder) -> RepairOrder:
            if order.status in CLOSED_STATUSES:
                raise OrderClosed(order.order_id, order.status, "cancelled")
            cancelled = transition(
                order,
                OrderStatus.CANCELLED,
                at=self.clock(),
                by=by,
                reason=reason or "cancelled by the homeowner",
            ).model_copy(update={"deadline": None})
            # A pending offer holds the window and the kit too (functions.domain.offers).
            booked = order.offer is not None and (
                order.status in BOOKED or order.status is OrderStatus.OFFERED
            )
            if booked:
                self.visits.cancel_booked(cancelled, expected_version=order.version)
            else:
                self.orders.save_order(cancelled, expected_version=order.version)
            return cancelled

        return self._changed(self._acting(order_id, may_act, cancel))

    def reschedule(
        self, order_id: str, window: TimeWindow, *, by: str, may_act: MayAct
    ) -> RepairOrder:
        """Move a dispatched visit to another window of the same technician; the old
        window is freed in the same transaction. Idempotent for the window it has.

        Raises OrderNotFound, OrderClosed, NotBooked, WindowNotOffered, WindowTaken,
        StaleOrder.
        """

        def reschedule(order: RepairOrder) -> RepairOrder:
            if order.status in CLOSED_STATUSES:
                raise OrderClosed(order.order_id, order.status, "rescheduled")
            offer = order.offer
            if order.status is not OrderStatus.DISPATCHED or offer is None:
                raise NotBooked(order.order_id, order.status)
            if _same(offer.window, window):
                return order
            now = self.clock()
            if window.start <= now:
                raise WindowNotOffered(order.order_id, _text(window), "is in the past")
            registered = self._registered(order, window)
            schedule = self.technicians.schedule(offer.technician_id)
            if schedule is None:
                raise WindowNotOffered(
                    order.order_id, _text(window), "cannot be booked: the technician left"
                )
            tech, bookings = schedule
            busy = [w for o, w in bookings.items() if o != order.order_id]
            job = self.dispatcher.job_of(order, registered)
            if not is_free(tech, job, now, window, busy):
                if can_serve(tech, job, now, window):
                    raise WindowTaken(order.order_id, _text(window))
                raise WindowNotOffered(
                    order.order_id, _text(window), f"is not one {tech.name} can offer"
                )
            moved = self._moved(order, window, by, now)
            try:
                self.visits.move_booking(
                    moved, expected_version=order.version, old_window=offer.window
                )
            except SlotTaken as taken:
                raise WindowTaken(order.order_id, _text(window)) from taken
            return moved

        return self._changed(self._acting(order_id, may_act, reschedule))

    def self_fix(
        self,
        order_id: str,
        result: Literal["fixed", "still_broken"],
        *,
        by: str,
        may_act: MayAct,
    ) -> RepairOrder:
        """The homeowner tried the order's self-fix guide.

        `fixed` closes the order as self_fixed and counts a self-fix success for learning,
        in one transaction. `still_broken` records the try and applies the home's policy
        again (the self-fix rule no longer holds it): approved, it is dispatched at once;
        otherwise it waits for the homeowner's approval. Saying `still_broken` twice
        answers the order as it is. Raises OrderNotFound, RefusedChange, StaleOrder.
        """
        # Runs again on the order as it is after any change: ingest writes the order once
        # more after telling the appliance (parts availability), and the result is decided
        # on the order's current state anyway.
        return self._acting(
            order_id,
            may_act,
            lambda order: self._self_fix(order, result, by),
            again_after_any_change=True,
        )

    def _self_fix(
        self, order: RepairOrder, result: Literal["fixed", "still_broken"], by: str
    ) -> RepairOrder:
        if order.status in CLOSED_STATUSES:  # a repeated "fixed" included
            raise OrderClosed(order.order_id, order.status, "given a self-fix result")
        if order.status is not OrderStatus.AWAITING_APPROVAL:
            raise RefusedChange(
                f"order {order.order_id} is {order.status.value}: a self-fix result is taken "
                "only while it awaits approval"
            )
        if not order.diagnosis.self_fix:
            raise RefusedChange(f"order {order.order_id} has no self-fix guide to try")
        now = self.clock()
        if result == "fixed":
            fixed = transition(
                order,
                OrderStatus.SELF_FIXED,
                at=now,
                by=by,
                reason="the homeowner fixed it with the self-fix guide",
            )
            self.visits.record_self_fix(
                fixed, expected_version=order.version, counts_key=self._learning_key(order)
            )
            return self._changed(fixed)
        if order.self_fix_tried:
            return order
        step = Transition(
            from_status=order.status,
            to_status=order.status,
            at=now,
            by=by,
            reason="the homeowner tried the self-fix guide: still broken",
        )
        tried = order.model_copy(
            update={
                "self_fix_tried": True,
                "history": [*order.history, step],
                "version": order.version + 1,
                "updated_at": now,
            }
        )
        registered = self.registry.get_appliance(order.thing_name)
        decision = (
            approval_decision(
                registered.home,
                order.diagnosis,
                order.parts,
                under_warranty=order.under_warranty,
                self_fix_tried=True,
            )
            if registered is not None
            else None  # unpaired meanwhile: no policy applies, the homeowner decides
        )
        if registered is None or decision is None:
            self.orders.save_order(tried, expected_version=order.version)
            return self._changed(tried)
        approved = transition(tried, OrderStatus.APPROVED, at=now, by="policy", reason=decision)
        self.orders.save_order(approved, expected_version=order.version)
        return self._changed(self.dispatcher.dispatch(approved, registered))

    def _learning_key(self, order: RepairOrder) -> str | None:
        family = self.catalog().family(order.manufacturer, order.model)
        if family is None:
            return None
        return counts_key(order.manufacturer, family.family, order.fault_code)

    def rate(
        self, order_id: str, stars: int, comment: str, *, by: str, may_act: MayAct
    ) -> RepairOrder:
        """Rate the order's completed visit, once; the technician's profile counts it in the
        same transaction. Raises OrderNotFound, RefusedChange, StaleOrder."""
        rated = self._acting(order_id, may_act, lambda order: self._rate(order, stars, comment))
        logger.info("visit rated", extra={"order_id": order_id, "by": by})
        return self._changed(rated)

    def _rate(self, order: RepairOrder, stars: int, comment: str) -> RepairOrder:
        if order.status in CLOSED_STATUSES and order.status is not OrderStatus.COMPLETED:
            raise OrderClosed(order.order_id, order.status, "rated")
        if order.status is not OrderStatus.COMPLETED or order.offer is None:
            raise RefusedChange(
                f"order {order.order_id} is {order.status.value}: only a completed visit "
                "can be rated"
            )
        if order.rating is not None:
            raise RefusedChange(f"order {order.order_id} is closed (completed) and rated already")
        now = self.clock()
        rated = order.model_copy(
            update={
                "rating": VisitRating(stars=stars, comment=comment, at=now),
                "version": order.version + 1,
                "updated_at": now,
            }
        )
        technician_id = order.offer.technician_id
        try:
            self.visits.record_rating(rated, expected_version=order.version)
        except TechnicianGone:
            self.orders.save_order(rated, expected_version=order.version)  # nobody to count on
        else:
            try:  # matching ranks on the cell copies: show them the new counts
                self.technicians.refresh_copies(technician_id)
            except Exception:
                logger.exception("copies of technician %s not refreshed", technician_id)
        return rated

    # ------------------------------------------------------------------ helpers

    def _reschedule_windows(
        self, order: RepairOrder, registered: RegisteredAppliance
    ) -> list[TimeWindow]:
        """The booked technician's free windows, their own booking not counted as busy."""
        assert order.offer is not None
        schedule = self.technicians.schedule(order.offer.technician_id)
        if schedule is None:
            return []
        tech, bookings = schedule
        busy = [w for o, w in bookings.items() if o != order.order_id]
        job = self.dispatcher.job_of(order, registered)
        now = self.clock()
        mine = order.offer.window
        windows = [w for w in free_windows(tech, job, now, busy) if not _same(mine, w)]
        return preferred_first(windows, job, registered.home.policy.preferred_windows)

    @staticmethod
    def _moved(order: RepairOrder, window: TimeWindow, by: str, now: datetime) -> RepairOrder:
        assert order.offer is not None
        old = order.offer.window
        step = Transition(
            from_status=order.status,
            to_status=order.status,
            at=now,
            by=by,
            reason=f"rescheduled from {old.start.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        )
        approval = order.approval or Approval(by=by, at=now)
        return order.model_copy(
            update={
                "offer": order.offer.model_copy(update={"window": window}),
                "approval": approval.model_copy(update={"window": window}),
                "history": [*order.history, step],
                "version": order.version + 1,
                "updated_at": now,
            }
        )

    def _registered(self, order: RepairOrder, window: TimeWindow) -> RegisteredAppliance:
        registered = self.registry.get_appliance(order.thing_name)
        if registered is None:
            raise WindowNotOffered(
                order.order_id, _text(window), "cannot be booked: the appliance is unpaired"
            )
        return registered

    def owned(self, order_id: str, may_act: MayAct) -> RepairOrder:
        """The order, if the caller may act on it; else OrderNotFound, as for a missing one."""
        order = self.orders.get(order_id)
        if order is None or not may_act(order):
            raise OrderNotFound(order_id)
        return order

    def _acting(
        self,
        order_id: str,
        may_act: MayAct,
        act: Callable[[RepairOrder], RepairOrder],
        *,
        again_after_any_change: bool = False,
    ) -> RepairOrder:
        """`act` on the order: every action's one read and retry.

        The order is read once (OrderNotFound when the caller may not act on it). When the
        write loses to a concurrent one (StaleOrder, or WindowTaken for a booking), it is
        read again and `act` runs once more on the order as it is, if only a repeat of its
        fault was folded in meanwhile: that must not refuse the homeowner. An action that
        answers any state of the order itself (approve) runs again after any change.
        """
        order = self.owned(order_id, may_act)
        try:
            return act(order)
        except (StaleOrder, WindowTaken):
            current = self.owned(order_id, may_act)
            changed = (current.version, current.occurrences) != (order.version, order.occurrences)
            if not (only_folded_into(current, order) or (again_after_any_change and changed)):
                raise  # nothing else changed: someone else holds the window, or won
            return act(current)

    def _changed(self, order: RepairOrder) -> RepairOrder:
        self.announcer.order_changed(order)
        return order


__all__ = ["OrderActions"]
