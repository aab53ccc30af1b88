"""A technician moves an order on: en route, on site, completed (with the cause) or unresolved.

Completing an order releases the technician's slot and counts the confirmed cause for
learning, in the same transaction as the order's change: exactly once, even when two
completions race (the second finds the order's version moved on).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from functions.dal.orders import OrdersTable
from functions.dal.visits import Visits
from functions.domain.catalog import Catalog
from functions.domain.errors import StaleOrder
from functions.domain.learning import counts_key
from functions.domain.orders import only_folded_into, transition
from functions.logic.announce import Announcer
from functions.logic.errors import NotAssigned, OrderNotFound, UnknownCause
from schemas.orders import OrderStatus, RepairOrder

TECHNICIAN_STEPS = frozenset(
    {OrderStatus.EN_ROUTE, OrderStatus.ON_SITE, OrderStatus.COMPLETED, OrderStatus.UNRESOLVED}
)


@dataclass
class OrderProgress:
    orders: OrdersTable
    visits: Visits
    catalog: Callable[[], Catalog]
    clock: Callable[[], datetime]
    # Tells the appliance and the homeowner of each step (en route, completed...).
    announcer: Announcer

    def advance(
        self,
        order_id: str,
        target: OrderStatus,
        *,
        technician_id: str,
        confirmed_cause: str | None = None,
        note: str = "",
    ) -> RepairOrder:
        """Raises OrderNotFound, NotAssigned, UnknownCause, InvalidTransition or StaleOrder."""
        order = self.orders.get(order_id)
        try:
            updated = self._advance(order_id, order, target, technician_id, confirmed_cause, note)
        except StaleOrder:
            # The appliance re-reporting its fault while the technician works on it must not
            # refuse their step: write again on the order as it is, if nothing else changed.
            current = self.orders.get(order_id)
            if order is None or not only_folded_into(current, order):
                raise
            updated = self._advance(order_id, current, target, technician_id, confirmed_cause, note)
        self.announcer.order_changed(updated)
        return updated

    def _advance(
        self,
        order_id: str,
        order: RepairOrder | None,
        target: OrderStatus,
        technician_id: str,
        confirmed_cause: str | None,
        note: str,
    ) -> RepairOrder:
        if order is None:
            raise OrderNotFound(order_id)
        if target not in TECHNICIAN_STEPS:
            raise ValueError(f"a technician cannot set {target.value}")
        if order.offer is None or order.offer.technician_id != technician_id:
            raise NotAssigned(order_id, technician_id)
        updated = transition(order, target, at=self.clock(), by=technician_id, reason=note)
        if target is OrderStatus.COMPLETED:
            key = self._learning_key(order, confirmed_cause)
            updated = updated.model_copy(update={"confirmed_cause": confirmed_cause})
            self.visits.record_completion(updated, expected_version=order.version, counts_key=key)
        elif target is OrderStatus.UNRESOLVED:
            self.visits.record_unresolved(updated, expected_version=order.version)
        else:
            self.orders.save_order(updated, expected_version=order.version)
        return updated

    def _learning_key(self, order: RepairOrder, cause: str | None) -> str:
        catalog = self.catalog()
        family = catalog.family(order.manufacturer, order.model)
        entry = catalog.code(order.manufacturer, order.model, order.fault_code)
        known = {c.cause_id for c in entry.causes} if entry else set()
        if family is None or cause not in known:
            raise UnknownCause(
                f"confirmed_cause must be one of: {', '.join(sorted(known)) or '(none known)'}"
            )
        return counts_key(order.manufacturer, family.family, order.fault_code)
