"""StockTable: part stock per location.

Items:
  PART#{part_number} / WAREHOUSE        `quantity`, `lead_time_days` (supplier lead time when
                                        the warehouse is out)
  PART#{part_number} / VAN#{tech_id}    `quantity` in that technician's van

Reads are keyed (`keys_for`), so they can ride in the same BatchGetItem as other tables'
items; `stock_from_items` turns the raw items into the domain's `Stock`. Reservations are
transact items (`reserve_items`) for the dispatch transaction: each one is conditional on
enough units being there, so two dispatches can never both take the last unit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from functions.dal.items import batch_get_keys, key
from functions.dal.transactions import TransactItem
from functions.domain.errors import OutOfStock
from functions.domain.parts import Stock
from schemas.orders import PartSelection, PartSource

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

WAREHOUSE = "WAREHOUSE"
VAN_PREFIX = "VAN#"
PART_PREFIX = "PART#"


def location_sk(location: str) -> str:
    """The sort key: the warehouse for "WAREHOUSE", else the van of that technician id."""
    return WAREHOUSE if location == WAREHOUSE else f"{VAN_PREFIX}{location}"


def stock_key(part_number: str, location: str) -> dict[str, Any]:
    return key(f"{PART_PREFIX}{part_number}", location_sk(location))


def keys_for(part_numbers: Iterable[str], technician_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The keys to read: each part's warehouse item and its item in each technician's van.

    Duplicates are dropped (BatchGetItem rejects a request naming one key twice).
    """
    parts = list(dict.fromkeys(part_numbers))
    locations = [WAREHOUSE, *dict.fromkeys(technician_ids)]
    return [stock_key(pn, loc) for pn in parts for loc in locations]


def stock_from_items(items: Iterable[dict[str, Any]], technician_id: str | None) -> Stock:
    """The domain `Stock` from raw items; van quantities are `technician_id`'s only.

    Items of other tables or other vans may be passed in and are ignored. A part with no
    warehouse item counts as out of stock with the default lead time.
    """
    van_sk = f"{VAN_PREFIX}{technician_id}" if technician_id is not None else None
    warehouse: dict[str, int] = {}
    van: dict[str, int] = {}
    lead_time: dict[str, int] = {}
    for item in items:
        pk, sk = item.get("pk", {}).get("S", ""), item.get("sk", {}).get("S", "")
        if not pk.startswith(PART_PREFIX):
            continue
        part_number = pk[len(PART_PREFIX) :]
        quantity = int(item["quantity"]["N"]) if "quantity" in item else 0
        if sk == WAREHOUSE:
            warehouse[part_number] = quantity
            if "lead_time_days" in item:
                lead_time[part_number] = int(item["lead_time_days"]["N"])
        elif sk == van_sk:
            van[part_number] = quantity
    return Stock(warehouse=warehouse, van=van, lead_time_days=lead_time)


class StockTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    @property
    def table_name(self) -> str:
        """For merging `keys_for` into a multi-table BatchGetItem request."""
        return self._table

    def put(
        self,
        part_number: str,
        location: str,
        quantity: int,
        lead_time_days: int | None = None,
    ) -> None:
        """Set the stock of a part at "WAREHOUSE" or in a technician's van (by their id)."""
        if quantity < 0:
            raise ValueError("quantity must not be negative")
        item: dict[str, Any] = {
            **stock_key(part_number, location),
            "quantity": {"N": str(quantity)},
        }
        if lead_time_days is not None:
            if location != WAREHOUSE:
                raise ValueError("lead_time_days belongs on the warehouse item")
            item["lead_time_days"] = {"N": str(lead_time_days)}
        self._client.put_item(TableName=self._table, Item=item)

    def read_warehouse(self, part_numbers: list[str]) -> Stock:
        """The warehouse alone (no technician chosen yet)."""
        items = batch_get_keys(self._client, self._table, keys_for(part_numbers, []))
        return stock_from_items(items, None)

    def reserve_items(self, selection: PartSelection, technician_id: str) -> list[TransactItem]:
        """Taking the selected parts from where they were sourced, one item per part and place.

        Each decrement is conditional on enough units (a missing item has none), so the
        enclosing transaction fails with OutOfStock rather than oversell. Backordered parts
        take nothing.
        """
        wanted = _units_by_place(selection, technician_id)
        return [self._take(pn, location, n) for (pn, location), n in wanted.items()]

    def move_items(
        self,
        old: PartSelection,
        old_technician_id: str,
        new: PartSelection,
        new_technician_id: str,
    ) -> list[TransactItem]:
        """Giving back `old` (reserved for one technician) and taking `new` (for another),
        as one net change per item: a part both take from the warehouse is touched once
        (a transaction may not touch an item twice), taken only for what is missing."""
        given = _units_by_place(old, old_technician_id)
        taken = _units_by_place(new, new_technician_id)
        items = []
        for place in dict.fromkeys([*given, *taken]):
            net = taken.get(place, 0) - given.get(place, 0)
            if net > 0:
                items.append(self._take(*place, net))
            elif net < 0:
                items.append(self._give(*place, -net))
        return items

    def release_items(self, selection: PartSelection, technician_id: str) -> list[TransactItem]:
        """Giving back the parts `reserve_items` took (a cancelled booking), to where each
        was sourced. No condition: returned units are never refused; backordered parts took
        nothing and give nothing back."""
        wanted = _units_by_place(selection, technician_id)
        return [self._give(pn, location, n) for (pn, location), n in wanted.items()]

    def _give(self, part_number: str, location: str, n: int) -> TransactItem:
        return TransactItem(
            "Update",
            {
                "TableName": self._table,
                "Key": stock_key(part_number, location),
                "UpdateExpression": "ADD quantity :n",
                "ExpressionAttributeValues": {":n": {"N": str(n)}},
            },
            what=f"part {part_number} in {location}",
        )

    def _take(self, part_number: str, location: str, n: int) -> TransactItem:
        place = WAREHOUSE if location == WAREHOUSE else f"van of {location}"

        def out_of_stock(old: dict[str, Any]) -> OutOfStock:
            return OutOfStock(part_number, place, wanted=n, available=int(old.get("quantity", 0)))

        return TransactItem(
            "Update",
            {
                "TableName": self._table,
                "Key": stock_key(part_number, location),
                "UpdateExpression": "SET quantity = quantity - :n",
                "ConditionExpression": "quantity >= :n",
                "ExpressionAttributeValues": {":n": {"N": str(n)}},
            },
            what=f"part {part_number} in {place}",
            condition_failed=out_of_stock,
        )


def _units_by_place(selection: PartSelection, technician_id: str) -> dict[tuple[str, str], int]:
    """Units per (part number, place) the selection takes: the technician's van or the
    warehouse, as each part was sourced; backordered parts take nothing. One entry per
    item, since a transaction may not touch the same item twice."""
    wanted: dict[tuple[str, str], int] = {}
    for part in selection.parts:
        if part.source is PartSource.BACKORDER or part.quantity <= 0:
            continue
        location = technician_id if part.source is PartSource.VAN else WAREHOUSE
        slot = (part.part_number, location)
        wanted[slot] = wanted.get(slot, 0) + part.quantity
    return wanted
