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

from dataclasses import dataclass
from typing import TYPE_CHECKING

from functions.dal import transactions
from functions.dal.events import SettleEvent
from functions.dal.transactions import TransactItem
from schemas.orders import Offer, OrderStatus, PartSelection, RepairOrder, TimeWindow

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from functions.dal.learning import LearningTable
    from functions.dal.orders import OrdersTable
    from functions.dal.stock import StockTable
    from functions.dal.technicians import TechniciansTable


@dataclass(frozen=True)
class Released:
    """What an order's last offer held, to give back in the write that passes it on: the
    offer (its technician and window) and the kit reserved for that technician."""

    offer: Offer
    parts: PartSelection


# An order holds its technician's window and its kit from the offer on (pending or accepted).
HOLDING = frozenset({OrderStatus.OFFERED, OrderStatus.DISPATCHED})


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
        released: Released | None = None,
        beyond_load: bool = False,
    ) -> None:
        """Write the order offered (its window held while the technician answers) or
        dispatched, take one of its technician's slots and its window, and reserve its kit;
        with `released`, give back what the last offer held (another technician's window,
        the kit reserved for them: only the difference in stock is moved, since one
        transaction may not touch an item twice). `beyond_load`: an on-call technician
        takes it even with their usual load full.

        Raises StaleOrder, TechnicianFullyBooked, SlotTaken, or OutOfStock naming the part.
        """
        if order.status not in HOLDING or order.offer is None:
            raise ValueError(f"order {order.order_id} is not offered to a technician")
        technician_id = order.offer.technician_id
        items = [
            *self._orders.save_items(
                order, expected_version=expected_version, settle_event=settle_event
            ),
            *self._technicians.book_items(
                technician_id, order.order_id, order.offer.window, beyond_load=beyond_load
            ),
        ]
        if released is None:
            items += self._stock.reserve_items(order.parts, technician_id)
        else:
            old = released.offer
            items += self._technicians.release_items(old.technician_id, order.order_id, old.window)
            items += self._stock.move_items(
                released.parts, old.technician_id, order.parts, technician_id
            )
        transactions.write(self._client, items)

    def release_hold(
        self, order: RepairOrder, *, expected_version: int, released: Released
    ) -> None:
        """Write the order (its offer passed on to nobody: back in the operators' queue)
        and give back what its last offer held: the technician's slot and window, the kit."""
        if order.offer is not None:
            raise ValueError(f"order {order.order_id} still has an offer")
        old = released.offer
        transactions.write(
            self._client,
            [
                *self._orders.save_items(order, expected_version=expected_version),
                *self._technicians.release_items(old.technician_id, order.order_id, old.window),
                *self._stock.release_items(released.parts, old.technician_id),
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
