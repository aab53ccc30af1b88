"""Visits: the writes of an order that change other tables' items in its transaction.

Booking a technician takes their slot and window and reserves the kit; cancelling or moving
a booking gives back or moves what it took; ending a visit frees the slot and counts the
confirmed cause for learning; a self-fix counts for learning too; a rating adds to the
technician's counters. Each is one transaction, all or nothing: the order's part
(OrdersTable.save_items: on the version read, so a second attempt finds it moved on) with
the items each table's module builds (TechniciansTable, StockTable, LearningTable), the way
functions.dal.dispatch_reads reads two tables in one round trip. A failed condition is
raised as its domain error (functions.domain.errors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.dal import transactions
from functions.dal.events import SettleEvent
from functions.dal.transactions import TransactItem
from schemas.orders import OrderStatus, RepairOrder, TimeWindow

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from functions.dal.learning import LearningTable
    from functions.dal.orders import OrdersTable
    from functions.dal.stock import StockTable
    from functions.dal.technicians import TechniciansTable


class Visits:
    def __init__(
        self,
        client: DynamoDBClient,
        *,
        orders: OrdersTable,
        technicians: TechniciansTable,
        stock: StockTable,
        learning: LearningTable,
    ) -> None:
        self._client = client
        self._orders = orders
        self._technicians = technicians
        self._stock = stock
        self._learning = learning

    def book_and_reserve(
        self,
        order: RepairOrder,
        *,
        expected_version: int,
        settle_event: SettleEvent | None = None,
    ) -> None:
        """Write the order dispatched, take one of its technician's slots and reserve its kit.

        Raises StaleOrder, TechnicianFullyBooked, or OutOfStock naming the part.
        """
        if order.status is not OrderStatus.DISPATCHED or order.offer is None:
            raise ValueError(f"order {order.order_id} is not dispatched to a technician")
        technician_id = order.offer.technician_id
        transactions.write(
            self._client,
            [
                *self._orders.save_items(
                    order, expected_version=expected_version, settle_event=settle_event
                ),
                *self._technicians.book_items(technician_id, order.order_id, order.offer.window),
                *self._stock.reserve_items(order.parts, technician_id),
            ],
        )

    def cancel_booked(self, order: RepairOrder, *, expected_version: int) -> None:
        """Write the order cancelled and give back what its booking took: the technician's
        slot, its window (map entry and busy blocks) and its reserved parts; else StaleOrder.
        """
        if order.status is not OrderStatus.CANCELLED or order.offer is None:
            raise ValueError(f"order {order.order_id} is not a cancelled booking")
        offer = order.offer
        transactions.write(
            self._client,
            [
                *self._orders.save_items(order, expected_version=expected_version),
                *self._technicians.release_items(offer.technician_id, order.order_id, offer.window),
                *self._stock.release_items(order.parts, offer.technician_id),
            ],
        )

    def move_booking(
        self, order: RepairOrder, *, expected_version: int, old_window: TimeWindow
    ) -> None:
        """Write the order with its booking moved from `old_window` to its offer's window:
        the new blocks taken (SlotTaken when someone holds one), the old ones freed."""
        if order.status is not OrderStatus.DISPATCHED or order.offer is None:
            raise ValueError(f"order {order.order_id} is not dispatched to a technician")
        offer = order.offer
        transactions.write(
            self._client,
            [
                *self._orders.save_items(order, expected_version=expected_version),
                *self._technicians.move_items(
                    offer.technician_id, order.order_id, old_window, offer.window
                ),
            ],
        )

    def record_completion(
        self, order: RepairOrder, *, expected_version: int, counts_key: str
    ) -> None:
        """Write the order completed, free its technician's slot and count its confirmed
        cause (with what the readings showed) under `counts_key` for learning.

        Exactly once: a second completion finds the version moved on (StaleOrder).
        """
        if order.status is not OrderStatus.COMPLETED or order.confirmed_cause is None:
            raise ValueError(f"order {order.order_id} is not completed with a cause")
        learned = self._learning.record_outcome_item(
            counts_key, order.confirmed_cause, observations=order.diagnosis.observations
        )
        transactions.write(self._client, [*self._ending_visit(order, expected_version), learned])

    def record_unresolved(self, order: RepairOrder, *, expected_version: int) -> None:
        """Write the order unresolved and free its technician's slot; else StaleOrder."""
        if order.status is not OrderStatus.UNRESOLVED:
            raise ValueError(f"order {order.order_id} is not unresolved")
        transactions.write(self._client, self._ending_visit(order, expected_version))

    def _ending_visit(self, order: RepairOrder, expected_version: int) -> list[TransactItem]:
        if order.offer is None:
            raise ValueError(f"order {order.order_id} has no technician to release")
        offer = order.offer
        return [
            *self._orders.save_items(order, expected_version=expected_version),
            *self._technicians.release_items(offer.technician_id, order.order_id, offer.window),
        ]

    def record_self_fix(
        self, order: RepairOrder, *, expected_version: int, counts_key: str | None
    ) -> None:
        """Write the order closed as self-fixed and count a self-fix success under
        `counts_key` for learning, in one transaction (exactly once: a second finds the
        version moved on). No count when the fault has no learning key."""
        if order.status is not OrderStatus.SELF_FIXED:
            raise ValueError(f"order {order.order_id} is not self-fixed")
        items = self._orders.save_items(order, expected_version=expected_version)
        if counts_key is not None:
            items.append(self._learning.record_self_fix_item(counts_key))
        transactions.write(self._client, items)

    def record_rating(self, order: RepairOrder, *, expected_version: int) -> None:
        """Write the order's rating and add it to its technician's profile counters, in
        one transaction: a rating counts exactly once (a second finds the version moved on).
        """
        if order.rating is None or order.offer is None:
            raise ValueError(f"order {order.order_id} has no rating of a technician's visit")
        transactions.write(
            self._client,
            [
                *self._orders.save_items(order, expected_version=expected_version),
                self._technicians.rating_item(order.offer.technician_id, order.rating.stars),
            ],
        )
