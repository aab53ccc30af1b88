"""Ingest one fault event: validate, dedupe, diagnose, open (or fold into) an order, dispatch."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from functions.dal.events import EventMarkers
from functions.dal.orders import OrdersTable
from functions.dal.registry import RegisteredAppliance, RegistryTable
from functions.dal.rejections import RejectionsTable
from functions.dal.stock import StockTable
from functions.domain.approval import open_order
from functions.domain.catalog import Catalog
from functions.domain.deadlines import DEFAULT_TIMINGS, ApprovalTimings
from functions.domain.diagnosis import diagnose
from functions.domain.errors import DuplicateEvent, OpenOrderExists, RejectedInput, StaleOrder
from functions.domain.intake import parse_fault, payload_bytes, received_at
from functions.domain.learning import LearnedCounts
from functions.domain.notifications import KIND_OF_STATUS, opening_kind
from functions.domain.orders import only_folded_into
from functions.domain.parts import VALUE_OF_FIRST_TIME_FIX, select_kit, with_sources
from functions.logic.announce import Announcer, home_timezone
from functions.logic.dispatch import Dispatcher
from functions.logic.notify import StatusPublisher, status_message
from schemas.device import FaultEvent, IngestEvent
from schemas.notifications import NotificationKind, Recipient
from schemas.orders import OrderStatus, Rejection, RejectionReason, RepairOrder

logger = logging.getLogger(__name__)

EXCERPT_BYTES = 256
# Longer than the function's timeout (template.yaml: 10 s): an unsettled event younger than
# this may still be in the hands of another invocation, so a redelivery (a new request) leaves
# it alone. A retry of the invocation that applied it (Lambda's async retries keep the request
# id) or a dead letter's replay knows every earlier attempt ended, and finishes at once.
IN_FLIGHT = timedelta(seconds=15)


class Outcome(StrEnum):
    OPENED = "opened"  # waiting for the homeowner (or a self-fix)
    DISPATCHED = "dispatched"
    OFFERED = "offered"
    NO_TECHNICIAN = "no_technician"
    OCCURRENCE = "occurrence"  # folded into the appliance's open order for the same code
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


_OUTCOME_OF_STATUS = {
    OrderStatus.DISPATCHED: Outcome.DISPATCHED,
    OrderStatus.OFFERED: Outcome.OFFERED,
    OrderStatus.APPROVED: Outcome.NO_TECHNICIAN,
}


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    order_id: str | None = None
    reason: RejectionReason | None = None
    detail: str = ""
    # Diagnosis raised (logged here): the order went to triage; the handler counts it.
    diagnosis_failed: bool = False


@dataclass
class FaultIngestor:
    registry: RegistryTable
    orders: OrdersTable
    events: EventMarkers
    rejections: RejectionsTable
    dispatcher: Dispatcher
    stock: StockTable
    publisher: StatusPublisher
    catalog: Callable[[], Catalog]
    learned: Callable[[], LearnedCounts]
    clock: Callable[[], datetime]
    # Tells the homeowner (opened / awaiting approval, dispatched).
    announcer: Announcer
    timings: ApprovalTimings = DEFAULT_TIMINGS

    def ingest(
        self, ingest: IngestEvent, *, request_id: str = "", attempts_over: bool = False
    ) -> IngestResult:
        """Apply one delivery. `request_id` is the invocation's; `attempts_over` says every
        earlier attempt at this event has ended (a dead letter being replayed)."""
        raw = b""
        try:
            raw = payload_bytes(ingest)
            event = parse_fault(ingest, raw)
        except RejectedInput as rejected:
            excerpt = raw[:EXCERPT_BYTES].decode("utf-8", "replace") or ingest.raw[:EXCERPT_BYTES]
            return self._reject(ingest, rejected, excerpt=excerpt)
        registered = self.registry.get_appliance(ingest.thing_name)
        if registered is None:
            return self._reject(ingest, self._not_in_a_home(ingest.thing_name, event.event_id))

        now = self.clock()
        catalog = self.catalog()
        failures: list[Exception] = []
        diagnosis = diagnose(
            catalog, registered.appliance, event, self.learned(), on_error=failures.append
        )
        for error in failures:
            logger.error(
                "diagnosis failed; the order goes to triage",
                exc_info=error,
                extra={"thing_name": ingest.thing_name, "event_id": event.event_id},
            )
        parts = select_kit(
            catalog, registered.appliance, diagnosis, value_of_fix=VALUE_OF_FIRST_TIME_FIX
        )
        order = open_order(
            appliance=registered.appliance,
            home=registered.home,
            event=event,
            diagnosis=diagnosis,
            parts=parts,
            published_at=received_at(ingest),
            now=now,
            timings=self.timings,
        )
        result = self._apply(order, ingest, event, registered, request_id, attempts_over)
        return replace(result, diagnosis_failed=bool(failures))

    def _not_in_a_home(self, thing_name: str, event_id: str) -> RejectedInput:
        """Why an appliance with no home opens no order: never registered, or unpaired by
        its homeowner (no home's policy, nobody to approve: recorded for operators)."""
        if self.registry.is_unpaired(thing_name):
            return RejectedInput(
                RejectionReason.UNPAIRED_THING,
                f"appliance {thing_name!r} is paired to no home (its homeowner unpaired it)",
                event_id=event_id,
            )
        return RejectedInput(
            RejectionReason.UNKNOWN_THING,
            f"no appliance {thing_name!r} in the registry",
            event_id=event_id,
        )

    def _apply(
        self,
        order: RepairOrder,
        ingest: IngestEvent,
        event: FaultEvent,
        registered: RegisteredAppliance,
        request_id: str,
        attempts_over: bool,
    ) -> IngestResult:
        """Open the order (or find the event applied, or fold it into the open order) and
        do the follow-up work."""
        try:
            self.orders.open_order(
                order, settled=order.status is not OrderStatus.APPROVED, request_id=request_id
            )
        except DuplicateEvent as duplicate:
            retry = attempts_over or bool(request_id and duplicate.request_id == request_id)
            return self._resume(duplicate, event.event_id, registered, earlier_ended=retry)
        except OpenOrderExists as existing:
            return self._fold_repeat(existing.order_id, ingest, event)
        self._notify(order, event.event_id)
        try:
            return self._follow_up(order, event.event_id, registered)
        except StaleOrder:
            current = self.orders.get(order.order_id)
            if only_folded_into(current, order):
                # A repeat was counted on the order meanwhile (no new version): the follow-up
                # is still ours to do, on the order as it is now. Should that race too, the
                # event stays unsettled for Lambda's retry or the sweeper.
                assert current is not None
                with contextlib.suppress(StaleOrder):
                    return self._follow_up(current, event.event_id, registered)
                current = self.orders.get(order.order_id)
            # A redelivery finished the dispatch first: report where the order is now.
            status = current.status if current else order.status
            return IngestResult(_OUTCOME_OF_STATUS.get(status, Outcome.OPENED), order.order_id)

    def _follow_up(
        self, order: RepairOrder, event_id: str, registered: RegisteredAppliance
    ) -> IngestResult:
        if order.status is not OrderStatus.APPROVED:
            self._show_availability(order)
            return IngestResult(Outcome.OPENED, order.order_id)
        dispatched = self.dispatcher.dispatch(
            order, registered, settle_event=(order.thing_name, event_id)
        )
        if dispatched.status is not OrderStatus.APPROVED:  # approved still: nobody to send
            self._notify(dispatched, event_id)
        if dispatched.status is OrderStatus.APPROVED and self.announcer is not None:
            self.announcer.notify(dispatched, NotificationKind.NO_TECHNICIAN, Recipient.HOMEOWNER)
            self.announcer.notify(dispatched, NotificationKind.NO_TECHNICIAN, Recipient.OPERATOR)
        elif dispatched.status is not OrderStatus.DISPATCHED:  # offered: booked on acceptance
            self._tell_homeowner(dispatched, NotificationKind.OPENED)
        return IngestResult(_OUTCOME_OF_STATUS[dispatched.status], order.order_id)

    def _show_availability(self, order: RepairOrder) -> None:
        """An order that waits (for approval, or for a self-fix) shows where its parts would
        come from, so the homeowner approves knowing a part is on backorder for N days.

        The kit was chosen without stock, to keep the order's own write at two round trips;
        dispatch re-chooses it against the chosen technician's van.
        """
        if not order.parts.parts:
            return
        stock = self.stock.read_warehouse([p.part_number for p in order.parts.parts])
        parts = with_sources(order.parts, stock)
        if parts == order.parts:
            return
        for attempt in range(2):
            updated = order.model_copy(
                update={"parts": parts, "version": order.version + 1, "updated_at": self.clock()}
            )
            try:
                self.orders.save_order(updated, expected_version=order.version)
                return
            except StaleOrder:
                current = self.orders.get(order.order_id)
                if attempt or not only_folded_into(current, order):
                    return  # changed meanwhile: the newer writer wins
                assert current is not None
                order = current  # only a repeat counted meanwhile: show it on the order as it is

    def _resume(
        self,
        duplicate: DuplicateEvent,
        event_id: str,
        registered: RegisteredAppliance,
        *,
        earlier_ended: bool,
    ) -> IngestResult:
        """A redelivery. If an earlier attempt stopped before its dispatch or its status
        message, finish that work."""
        if duplicate.settled:
            return IngestResult(Outcome.DUPLICATE, duplicate.order_id)
        order = self.orders.get(duplicate.order_id)
        if order is None:
            return IngestResult(Outcome.DUPLICATE, duplicate.order_id)
        if not earlier_ended and self.clock() - order.updated_at < IN_FLIGHT:
            return IngestResult(Outcome.DUPLICATE, duplicate.order_id)  # the first may still run
        self._finish(order, event_id, registered)
        return IngestResult(Outcome.DUPLICATE, duplicate.order_id)

    def finish_unsettled(self, thing_name: str, event_id: str, order_id: str) -> bool:
        """Finish an event's follow-up work found unsettled long after its attempts (the
        sweeper's job). False when there was nothing left to do but mark it settled."""
        order = self.orders.get(order_id)
        registered = self.registry.get_appliance(thing_name)
        if order is None or registered is None:
            self.events.settle_event(thing_name, event_id)  # nothing left to finish
            return False
        self._finish(order, event_id, registered)
        return True

    def _finish(self, order: RepairOrder, event_id: str, registered: RegisteredAppliance) -> None:
        """Tell the appliance where its order is (again: status messages are at least once),
        then dispatch an order still approved, or mark the event settled."""
        self._notify(order, event_id)
        if order.status is OrderStatus.APPROVED:
            with contextlib.suppress(StaleOrder):  # a concurrent delivery finished it
                self._follow_up(order, event_id, registered)
            return
        if order.status is OrderStatus.AWAITING_APPROVAL:
            self._show_availability(order)
        self.events.settle_event(order.thing_name, event_id)

    def _fold_repeat(self, order_id: str, ingest: IngestEvent, event: FaultEvent) -> IngestResult:
        try:
            self.orders.fold_repeat(order_id, ingest.thing_name, event.event_id)
        except DuplicateEvent as duplicate:
            return IngestResult(Outcome.DUPLICATE, duplicate.order_id)
        except StaleOrder:
            # The open order closed between our two writes: this fault deserves a new order.
            return self.ingest(ingest)
        return IngestResult(Outcome.OCCURRENCE, order_id)

    def _notify(self, order: RepairOrder, event_id: str) -> None:
        try:
            zone = home_timezone(self.registry)(order)
            message = status_message(order, event_id, self.clock(), timezone=zone)
            self.publisher.publish(order.thing_name, message)
        except Exception:
            # The order is written but the appliance was not told: mark the event unsettled,
            # so Lambda's retry (or the sweeper) sends it, then fail the invocation.
            try:
                self.events.unsettle_event(order.thing_name, event_id, since=self.clock())
            except Exception:
                logger.exception("could not mark event %s unsettled", event_id)
            raise
        finally:
            # Then the homeowner, whatever the display's fate (after it: the display's
            # latency is the one measured). An approved order is about to be dispatched:
            # its news comes after the dispatch (_follow_up).
            if order.status is not OrderStatus.APPROVED:
                self._tell_homeowner(order, KIND_OF_STATUS.get(order.status))

    def _tell_homeowner(self, order: RepairOrder, kind: NotificationKind | None) -> None:
        """A failed notification is recorded for the sweeper to send again, never failing
        the invocation; a retried invocation sends it again with the same notification id
        (recipients drop repeats)."""
        kind = kind or opening_kind(order)
        if kind is not None:
            self.announcer.notify(order, kind)

    def _reject(
        self, ingest: IngestEvent, rejected: RejectedInput, excerpt: str = ""
    ) -> IngestResult:
        # The id comes from the delivery itself, so a retried invocation rewrites the same
        # record instead of adding a second one.
        delivery = f"{ingest.topic}|{ingest.received_at}|{ingest.raw}".encode()
        self.rejections.record(
            Rejection(
                rejection_id=f"rej_{hashlib.sha256(delivery).hexdigest()[:20]}",
                received_at=received_at(ingest),
                thing_name=ingest.thing_name,
                topic=ingest.topic,
                reason=rejected.reason,
                detail=rejected.detail,
                event_id=rejected.event_id,
                payload_excerpt=excerpt,
            )
        )
        return IngestResult(Outcome.REJECTED, reason=rejected.reason, detail=rejected.detail)
