"""The scheduled sweeper's work (rate(1 minute) in template.yaml; fired locally by
infra/scheduler.py):

- finish fault events whose follow-up work got stuck: approved orders never dispatched,
  orders whose status message never reached the appliance;
- run the approval timers that are due (functions.domain.deadlines: remind, escalate,
  expire), found in the orders table's sparse `due` index, and the offers' deadlines
  (functions.domain.offers: an offer nobody answered goes to the next candidate);
- send again what an announcement failed to send (retry items in the same index).

Each timer is a conditional write on the version read: a homeowner approving at the same
moment wins or loses cleanly, never both, and a second sweep finds nothing left to do.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from functions.dal.due import DueIndex, DueWork
from functions.dal.events import EventMarkers
from functions.dal.orders import OrdersTable
from functions.domain.deadlines import DEFAULT_TIMINGS, ApprovalTimings, run_deadline
from functions.domain.errors import StaleOrder
from functions.logic.announce import Announcer
from functions.logic.ingest import IN_FLIGHT, FaultIngestor
from functions.logic.offers import OfferDesk
from schemas.notifications import NotificationKind, Recipient
from schemas.orders import DeadlineAction, RepairOrder

logger = logging.getLogger(__name__)

# A failed announcement is sent again after 1, 2, 4... minutes, at most this far apart, and
# given up (logged) once it is this old: the status it was about is long stale by then.
MAX_RETRY_INTERVAL = timedelta(minutes=30)
MAX_RETRY_AGE = timedelta(days=1)
OFFER_EXPIRY = DeadlineAction.OFFER_EXPIRY
OFFER_EXPIRED = "offers_expired"


@dataclass(frozen=True)
class SweepReport:
    stuck: int  # unsettled for longer than an invocation can run
    finished: int
    failed: int  # left for the next run (logged)
    reminded: int = 0
    escalated: int = 0
    expired: int = 0
    retried: int = 0  # retry items whose announcement went out
    due_failed: int = 0  # deadlines and retries left for the next run (logged)
    offers_expired: int = 0  # offers passed on to the next candidate (or the operators)
    # How late the oldest due item read was (0 when nothing was due): the backlog's age,
    # which the handler emits as a metric and an alarm watches.
    oldest_due_age: float = 0.0


def retry_interval(attempts: int) -> timedelta:
    return min(timedelta(minutes=2 ** min(attempts, 10)), MAX_RETRY_INTERVAL)


@dataclass
class StuckOrderSweeper:
    orders: OrdersTable
    events: EventMarkers
    due: DueIndex
    ingestor: FaultIngestor
    clock: Callable[[], datetime]
    announcer: Announcer
    batch: int = 100
    timings: ApprovalTimings = DEFAULT_TIMINGS
    # Passes on offers nobody answered (keyword: it follows the defaults above).
    offers: OfferDesk = field(kw_only=True)

    def sweep(self) -> SweepReport:
        """Finish the oldest events unsettled for longer than IN_FLIGHT (younger ones may
        still be in the hands of their invocation), then run what is due."""
        stuck = self.events.unsettled_events(self.clock() - IN_FLIGHT, limit=self.batch)
        finished = failed = 0
        for event in stuck:
            try:
                self.ingestor.finish_unsettled(event.thing_name, event.event_id, event.order_id)
            except Exception:
                failed += 1
                logger.exception(
                    "could not finish a stuck event; the next sweep tries again",
                    extra={"event_id": event.event_id, "order_id": event.order_id},
                )
            else:
                finished += 1
        now = self.clock()
        due = self.due.due_work(now, limit=self.batch)
        done = self.run_due(due)
        return SweepReport(
            stuck=len(stuck),
            finished=finished,
            failed=failed,
            reminded=done[DeadlineAction.REMIND.value],
            escalated=done[DeadlineAction.ESCALATE.value],
            expired=done[DeadlineAction.EXPIRE.value],
            retried=done["retried"],
            due_failed=done["failed"],
            offers_expired=done[OFFER_EXPIRED],
            oldest_due_age=(now - due[0].due_at).total_seconds() if due else 0.0,
        )

    def run_due(self, due: list[DueWork] | None = None) -> Counter[str]:
        """Run every deadline and retry due now (or `due`, as read), earliest first; count
        what was done."""
        done: Counter[str] = Counter()
        for work in due if due is not None else self.due.due_work(self.clock(), self.batch):
            try:
                outcome = self._retry(work) if work.retry else self._run_deadline(work)
            except Exception:
                done["failed"] += 1
                logger.exception(
                    "could not run due work; the next sweep tries again",
                    extra={"order_id": work.order_id, "retry": work.retry},
                )
            else:
                if outcome:
                    done[outcome] += 1
        return done

    def _run_deadline(self, work: DueWork) -> str | None:
        """Run the order's deadline if it is (still) due: the index is eventually
        consistent and another writer may have moved the order on, so the order itself,
        read consistently, decides; a lost race reads it again once."""
        for _attempt in range(2):
            order = self.orders.get(work.order_id)
            if order is None:
                return None
            if order.deadline is not None and order.deadline.action is OFFER_EXPIRY:
                try:
                    passed = self.offers.expire(order, self.clock())
                except StaleOrder:
                    continue  # the technician answered meanwhile: the order decides again
                return OFFER_EXPIRED if passed is not None else None
            step = run_deadline(order, self.clock(), self.timings)
            if step is None:
                return None  # approved, declined... or run by a concurrent sweep
            try:
                self.orders.save_order(step.order, expected_version=order.version)
            except StaleOrder:
                continue  # written meanwhile (an approval, a repeat): the order decides again
            if step.action is not None:
                self._announce(step.order, step.action)
                return step.action.value
            return None
        return None

    def _announce(self, order: RepairOrder, action: DeadlineAction) -> None:
        if action is DeadlineAction.EXPIRE:
            self.announcer.order_changed(order)  # the display and the homeowner
        elif action is DeadlineAction.REMIND:
            self.announcer.notify(order, NotificationKind.REMINDER)
        else:
            self.announcer.notify(order, NotificationKind.ESCALATED, Recipient.HOMEOWNER)
            self.announcer.notify(order, NotificationKind.ESCALATED, Recipient.OPERATOR)

    def _retry(self, work: DueWork) -> str | None:
        """Send again what an announcement failed to send, about the order as it is now."""
        retry = self.due.pending_retry(work.order_id)
        if retry is None:
            return None
        order = self.orders.get(work.order_id)
        if order is None:
            self.due.retry_done(retry)
            return None
        failed = self.announcer.resend(order, sorted(retry.pending))
        now = self.clock()
        if not failed:
            self.due.retry_done(retry)
            return "retried"
        if now - retry.since > MAX_RETRY_AGE:
            logger.error(
                "order %s: giving up on %s after %d attempts",
                order.order_id,
                sorted(failed),
                retry.attempts + 1,
            )
            self.due.retry_done(retry)
            return None
        self.due.retry_later(retry, failed, now + retry_interval(retry.attempts))
        logger.warning("order %s: %s failed again", order.order_id, sorted(failed))
        return "failed"
