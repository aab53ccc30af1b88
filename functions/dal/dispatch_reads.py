"""What dispatch reads about its shortlist: live load, bookings and part stock, in one
BatchGetItem.

Two tables, one round trip: the technicians' `active_orders` and booked windows
(TechniciansTable) and the warehouse and van stock of the kit's parts (StockTable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from functions.dal.items import batch_get
from functions.dal.stock import StockTable, keys_for, stock_from_items
from functions.dal.technicians import TechniciansTable
from functions.domain.parts import Stock
from schemas.orders import TimeWindow

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class ShortlistState:
    """What one BatchGetItem read about the shortlist (technicians missing are not in it)."""

    loads: dict[str, int]  # active_orders per technician
    stock: dict[str, Stock]  # per technician: warehouse + their van
    bookings: dict[str, list[TimeWindow]]  # booked windows per technician


class DispatchReads:
    def __init__(
        self, client: DynamoDBClient, technicians: TechniciansTable, stock: StockTable
    ) -> None:
        self._client = client
        self._technicians = technicians
        self._stock = stock

    def read(self, technician_ids: list[str], part_numbers: list[str]) -> ShortlistState:
        """Loads, bookings and stock (warehouse + van) of each technician."""
        request = self._technicians.load_request(technician_ids)
        request[self._stock.table_name] = {"Keys": keys_for(part_numbers, technician_ids)}
        found = batch_get(self._client, request)
        stock_items = found[self._stock.table_name]
        stock = {t: stock_from_items(stock_items, t) for t in technician_ids}
        return ShortlistState(
            self._technicians.loads_from(found), stock, self._technicians.bookings_from(found)
        )
