"""What dispatch reads about its shortlist: live load and part stock, in one BatchGetItem.

Two tables, one round trip: the technicians' `active_orders` (TechniciansTable) and the
warehouse and van stock of the kit's parts (StockTable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.dal.items import batch_get
from functions.dal.stock import StockTable, keys_for, stock_from_items
from functions.dal.technicians import TechniciansTable
from functions.domain.parts import Stock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DispatchReads:
    def __init__(
        self, client: DynamoDBClient, technicians: TechniciansTable, stock: StockTable
    ) -> None:
        self._client = client
        self._technicians = technicians
        self._stock = stock

    def read(
        self, technician_ids: list[str], part_numbers: list[str]
    ) -> tuple[dict[str, int], dict[str, Stock]]:
        """(active_orders per technician, Stock per technician: warehouse + their van)."""
        request = self._technicians.load_request(technician_ids)
        request[self._stock.table_name] = {"Keys": keys_for(part_numbers, technician_ids)}
        found = batch_get(self._client, request)
        stock_items = found[self._stock.table_name]
        stock = {t: stock_from_items(stock_items, t) for t in technician_ids}
        return self._technicians.loads_from(found), stock
