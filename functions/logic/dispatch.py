"""Dispatch an approved order: its window held and offered to the best eligible technician,
with the kit reserved; the next candidate when an offer is declined or expires; on-call
technicians for an emergency nobody else takes; then the operators' queue."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from functions.dal.dispatch_reads import DispatchReads, ShortlistState
from functions.dal.orders import OrdersTable
from functions.dal.registry import RegisteredAppliance
from functions.dal.technicians import TechniciansTable
from functions.dal.visits import Released, Visits
from functions.domain.catalog import Catalog
from functions.domain.errors import (
    ItemBusy,
    OutOfStock,
    SlotTaken,
    TechnicianFullyBooked,
    WindowNotOffered,
    WindowTaken,
)
from functions.domain.matching import Job, can_serve, proposed_windows, rank
from functions.domain.offers import DEFAULT_OFFER_TIMINGS, OfferTimings, offered, stranded, tried
from functions.domain.parts import VALUE_OF_FIRST_TIME_FIX, Stock, select_kit
from schemas.orders import OrderStatus, RepairOrder, TimeWindow, Urgency
from schemas.registry import Technician

NO_ONE_FREE = "nobody eligible is free within the booking horizon"
NO_ONE_LEFT = "every eligible technician declined the offer or let it expire"
# Ranked on the cell copies first (their load is stale, so not counted); this many at a time
# get their live load, bookings and stock read (one BatchGetItem) and re-ranked. The first
# page is the normal case; under a storm, when a page's technicians are full or taken, the
# next page is read, until the cell's candidates are exhausted.
SHORTLIST = 5


@dataclass
class Dispatcher:
    orders: OrdersTable
    visits: Visits
    technicians: TechniciansTable
    reads: DispatchReads
    catalog: Callable[[], Catalog]
    clock: Callable[[], datetime]
    timings: OfferTimings = field(default=DEFAULT_OFFER_TIMINGS)

    def dispatch(
        self,
        order: RepairOrder,
        registered: RegisteredAppliance,
        *,
        settle_event: tuple[str, str] | None = None,
        window: TimeWindow | None = None,
        expected_version: int | None = None,
    ) -> RepairOrder:
        """Hold the best technician's window for the order and offer it to them (booked at
        once when they auto-accept offers); flag it for the operators when nobody can.

        Holding takes the technician's slot and window (busy blocks DynamoDB refuses to give
        twice) and reserves the kit (van first, then warehouse; backordered parts show their
        lead time) in the same transaction as the order. Raises StaleOrder when the order
        changed under us (the newer writer wins); a technician booked up, a window or a part
        taken meanwhile moves on to the next candidate.

        With `window` (the homeowner's choice) only a technician free at exactly that window
        is offered it: WindowNotOffered when nobody's schedule offers it, WindowTaken when
        those who could are taken; either way nothing is written. `expected_version` is the
        version the order was read at, when `order` carries changes not yet written (an
        approval written in the offer's transaction).
        """
        if order.status is not OrderStatus.APPROVED:
            return order
        return self._place(
            order,
            registered,
            read_version=order.version if expected_version is None else expected_version,
            settle_event=settle_event,
            window=window,
            released=None,
        )

    def pass_on(
        self,
        order: RepairOrder,
        registered: RegisteredAppliance,
        *,
        expected_version: int,
        released: Released,
    ) -> RepairOrder:
        """Offer the order, whose pending offer was just declined, expired or withdrawn
        (`order` is back to approved, not yet written), to the next candidate at the same
        window, in one transaction with giving back what the last offer held (`released`);
        to the operators' queue when nobody is left."""
        window = order.approval.window if order.approval is not None else None
        return self._place(
            order,
            registered,
            read_version=expected_version,
            settle_event=None,
            window=window,
            released=released,
        )

    def _place(
        self,
        order: RepairOrder,
        registered: RegisteredAppliance,
        *,
        read_version: int,
        settle_event: tuple[str, str] | None,
        window: TimeWindow | None,
        released: Released | None,
    ) -> RepairOrder:
        now = self.clock()
        job = self.job_of(order, registered)
        nearby = self.technicians.candidates_near(registered.home.location, job.category)
        excluded = set(tried(order))
        serves_window = False
        stages = [("best match", False)]
        if job.urgency is Urgency.EMERGENCY:
            stages.append(("on call", True))
        for stage, on_call in stages:
            pool = [t for t in nearby if t.technician_id not in excluded]
            if on_call:  # on duty for emergencies: asked even when their usual load is full
                pool = [t for t in pool if t.on_call]
            for current, state in self._pages(order, job, pool, beyond_load=on_call):
                if window is not None:
                    serves_window = serves_window or any(
                        can_serve(t, job, now, window) for t in current
                    )
                for candidate in rank(current, job, now, state.bookings, window=window):
                    tech_id = candidate.technician.technician_id
                    excluded.add(tech_id)  # asked once: not again at the on-call stage
                    kit = select_kit(
                        self.catalog(),
                        registered.appliance,
                        order.diagnosis,
                        state.stock[tech_id],
                        value_of_fix=VALUE_OF_FIRST_TIME_FIX,
                    )
                    updated = offered(
                        order.model_copy(update={"parts": kit}),
                        candidate,
                        now,
                        self.timings,
                        stage=stage,
                    )
                    try:
                        self.visits.book_and_reserve(
                            updated,
                            expected_version=read_version,
                            settle_event=settle_event,
                            released=released,
                            beyond_load=on_call,
                        )
                    except (TechnicianFullyBooked, SlotTaken, OutOfStock, ItemBusy):
                        continue  # booked up, or a window or part taken, meanwhile: next
                    return updated
        if window is not None and released is None:
            if not serves_window:
                raise WindowNotOffered(order.order_id, _text(window))
            raise WindowTaken(order.order_id, _text(window))
        flagged = stranded(order, now, NO_ONE_LEFT if order.offer_history else NO_ONE_FREE)
        if released is not None:
            self.visits.release_hold(flagged, expected_version=read_version, released=released)
        else:
            self.orders.save_order(
                flagged, expected_version=read_version, settle_event=settle_event
            )
        return flagged

    def proposals(
        self, order: RepairOrder, registered: RegisteredAppliance
    ) -> tuple[list[TimeWindow], Stock | None]:
        """The windows a homeowner may choose for the order, from the schedules of the same
        technicians a dispatch would consider first, and the warehouse stock of its parts
        (None when no technician was read): one Query and one BatchGetItem."""
        job = self.job_of(order, registered)
        nearby = self.technicians.candidates_near(registered.home.location, job.category)
        first = next(self._pages(order, job, nearby), None)
        if first is None:
            return [], None
        current, state = first
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

    def _pages(
        self,
        order: RepairOrder,
        job: Job,
        nearby: list[Technician],
        *,
        beyond_load: bool = False,
    ) -> Iterator[tuple[list[Technician], ShortlistState]]:
        """The technicians near the home, SHORTLIST at a time, best first, each page with
        their live load, bookings and stock (one BatchGetItem a page; the caller reads the
        next page only when this one had nobody to take the order).

        Ranked on the cell copies with their (stale) load left out, so a technician the
        copies think full is still read; the page is then ranked on the live load, which
        skips those really full and spreads neighbouring orders by load. `beyond_load`
        (on-call duty) lets a full technician be asked all the same."""
        now = self.clock()
        unloaded = [t.model_copy(update={"active_orders": 0}) for t in nearby]
        ranked = [c.technician.technician_id for c in rank(unloaded, job, now)]
        by_id = {t.technician_id: t for t in nearby}
        parts = [p.part_number for p in order.parts.parts]
        for start in range(0, len(ranked), SHORTLIST):
            ids = ranked[start : start + SHORTLIST]
            state = self.reads.read(ids, parts)
            current = []
            for tech_id in ids:
                if tech_id not in state.loads:
                    continue  # the profile is gone: the copy is stale
                load = state.loads[tech_id]
                update: dict[str, int] = {"active_orders": load}
                if beyond_load:
                    update["max_active_orders"] = max(by_id[tech_id].max_active_orders, load + 1)
                current.append(by_id[tech_id].model_copy(update=update))
            yield current, state


def _text(window: TimeWindow) -> str:
    return f"{window.start.isoformat()}/{window.end.isoformat()}"
