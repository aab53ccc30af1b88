"""TechniciansTable: technician profiles and the geo-cell index.

Items:
  TECH#{id} / PROFILE         the profile, with the live `active_orders` counter
  CELL#{geohash}#{skill} / TECH#{id}
                              one per cell the technician's service area touches and per
                              skill, with a copy of the profile
  TECH#{id} / BUSY#{utc start}  one per 30-minute block of a booked visit, put only if absent
                              (attribute_not_exists) in the booking's transaction: DynamoDB,
                              not a read, keeps a technician from being booked twice

The profile's map `bookings` {order_id: {start, end}} lists the booked windows, so the
dispatch's one BatchGetItem reads each shortlisted technician's load and schedule together.
Booking, moving and releasing a visit change the blocks and the map entry in the same
transaction as the order. Finding candidates for a home is one Query on the home's cell
for the job's skill, then that one small BatchGetItem for the few best.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.dal.items import batch_get_keys, from_attributes, key, to_attributes
from functions.dal.keys import cell_partition
from functions.dal.transactions import TransactItem, put_new
from functions.domain.errors import SlotTaken, TechnicianFullyBooked, TechnicianGone
from functions.domain.geo import cells_covering, geohash
from functions.domain.matching import SLOT
from schemas.orders import TimeWindow
from schemas.registry import Category, GeoPoint, Technician

# A busy block stays this long after its visit ended (TTL), for the record.
BUSY_BLOCK_TTL = timedelta(days=30)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def profile_key(technician_id: str) -> dict[str, Any]:
    return key(f"TECH#{technician_id}", "PROFILE")


def busy_blocks(window: TimeWindow) -> list[str]:
    """The sort keys of the 30-minute blocks a window occupies (UTC starts)."""
    step = int(SLOT.total_seconds())
    first = int(window.start.timestamp()) // step * step
    end = math.ceil(window.end.timestamp())
    return [
        f"BUSY#{datetime.fromtimestamp(t, UTC):%Y-%m-%dT%H:%MZ}" for t in range(first, end, step)
    ]


def _window_attribute(window: TimeWindow) -> dict[str, Any]:
    return {"M": {"start": {"S": window.start.isoformat()}, "end": {"S": window.end.isoformat()}}}


def _window_of(attribute: Any) -> TimeWindow:
    return TimeWindow.model_validate(attribute)


class TechniciansTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def put(self, tech: Technician) -> None:
        doc = tech.model_dump(mode="json", by_alias=True)
        # A profile written anew has no bookings (its busy blocks, if any, stay): the map
        # must exist for a booking's `SET bookings.#order`.
        self._client.put_item(
            TableName=self._table,
            Item={
                **profile_key(tech.technician_id),
                **to_attributes(doc),
                "bookings": {"M": {}},
            },
        )
        self._put_copies(tech)

    def _put_copies(self, tech: Technician) -> None:
        # One string attribute, not a map: the copy is read whole, never queried into.
        in_cell: dict[str, Any] = {"profile": {"S": tech.model_dump_json(by_alias=True)}}
        cells = sorted(cells_covering(tech.home_base, tech.service_radius_km))
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        **key(cell_partition(cell, skill), f"TECH#{tech.technician_id}"),
                        **in_cell,
                    }
                }
            }
            for cell in cells
            for skill in dict.fromkeys(tech.skills)
        ]
        for start in range(0, len(requests), 25):
            batch: dict[str, Any] = {self._table: requests[start : start + 25]}
            while batch:
                response = self._client.batch_write_item(RequestItems=batch)
                batch = response.get("UnprocessedItems", {})

    def candidates_near(self, location: GeoPoint, skill: Category) -> list[Technician]:
        """Technicians with `skill` whose service area touches the cell of `location`.

        Profiles come from the cell copies, so `active_orders` may be stale: refresh the
        few that matter with `load_request` (see functions.dal.dispatch_reads).
        """
        found: list[Technician] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :cell",
            "ExpressionAttributeValues": {":cell": {"S": cell_partition(geohash(location), skill)}},
            "ProjectionExpression": "profile",
        }
        while True:
            response = self._client.query(**request)
            found += [Technician.model_validate_json(i["profile"]["S"]) for i in response["Items"]]
            if "LastEvaluatedKey" not in response:
                return found
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def load_request(self, technician_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The BatchGetItem request part reading these technicians' live load."""
        keys = [profile_key(t) for t in dict.fromkeys(technician_ids)]
        return {
            self._table: {
                "Keys": keys,
                "ProjectionExpression": "technician_id, active_orders, bookings",
            }
        }

    def loads_from(self, found: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
        """Current active_orders per technician, from a batch_get answer."""
        loads = {}
        for item in found.get(self._table, []):
            doc = from_attributes(item)
            loads[str(doc["technician_id"])] = int(doc["active_orders"])
        return loads

    def bookings_from(self, found: dict[str, list[dict[str, Any]]]) -> dict[str, list[TimeWindow]]:
        """Each technician's booked windows, from a batch_get answer of `load_request`."""
        booked: dict[str, list[TimeWindow]] = {}
        for item in found.get(self._table, []):
            doc = from_attributes(item)
            windows = doc.get("bookings") or {}
            booked[str(doc["technician_id"])] = [_window_of(w) for w in windows.values()]
        return booked

    def schedule(self, technician_id: str) -> tuple[Technician, dict[str, TimeWindow]] | None:
        """The technician and their bookings {order_id: window}, read consistently."""
        response = self._client.get_item(
            TableName=self._table, Key=profile_key(technician_id), ConsistentRead=True
        )
        if "Item" not in response:
            return None
        doc = from_attributes(response["Item"])
        for extra in ("pk", "sk"):
            doc.pop(extra, None)
        bookings = {str(o): _window_of(w) for o, w in (doc.pop("bookings", None) or {}).items()}
        return Technician.model_validate(doc), bookings

    def get_many(self, technician_ids: list[str]) -> list[Technician]:
        keys = [profile_key(t) for t in dict.fromkeys(technician_ids)]
        found: list[Technician] = []
        for item in batch_get_keys(self._client, self._table, keys):
            doc = from_attributes(item)
            doc.pop("pk", None)
            doc.pop("sk", None)
            doc.pop("bookings", None)
            found.append(Technician.model_validate(doc))
        return found

    def get(self, technician_id: str) -> Technician | None:
        found = self.get_many([technician_id])
        return found[0] if found else None

    def release_items(
        self, technician_id: str, order_id: str, window: TimeWindow
    ) -> list[TransactItem]:
        """Giving back one active order and the order's booking: the map entry and the busy
        blocks of its window. No conditions: a wrong counter or a block gone must never
        block a completion or a cancellation from being recorded."""
        release = TransactItem(
            "Update",
            {
                "TableName": self._table,
                "Key": profile_key(technician_id),
                "UpdateExpression": "SET active_orders = active_orders - :one "
                "REMOVE bookings.#order",
                "ExpressionAttributeNames": {"#order": order_id},
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            },
            what=f"technician {technician_id}",
        )
        return [release, *(self._free(technician_id, block) for block in busy_blocks(window))]

    def rating_item(self, technician_id: str, stars: int) -> TransactItem:
        """Adding one homeowner's rating to the profile's counters, for the transaction
        that records it on the order (ADD: atomic, and creates a missing counter)."""
        return TransactItem(
            "Update",
            {
                "TableName": self._table,
                "Key": profile_key(technician_id),
                "UpdateExpression": "ADD ratings_count :one, ratings_total :stars",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":stars": {"N": str(stars)}},
            },
            what=f"technician {technician_id}",
            condition_failed=lambda _old: TechnicianGone(technician_id),
        )

    def refresh_copies(self, technician_id: str) -> Technician | None:
        """Rewrite the cell copies from the profile as it is (matching ranks on the
        copies), e.g. after its rating counters moved. The profile itself is not written,
        so its live `active_orders` is never put back. None when there is no profile."""
        profile = self.get(technician_id)
        if profile is not None:
            self._put_copies(profile)
        return profile

    def book_items(
        self, technician_id: str, order_id: str, window: TimeWindow, *, beyond_load: bool = False
    ) -> list[TransactItem]:
        """Taking one more active order, only while under the technician's maximum (unless
        `beyond_load`: on call for an emergency), and the order's window: its entry in the
        profile's bookings and one busy block per 30 minutes, each put only if absent
        (SlotTaken otherwise)."""
        book = TransactItem(
            "Update",
            {
                "TableName": self._table,
                "Key": profile_key(technician_id),
                "ConditionExpression": "attribute_exists(pk)"
                if beyond_load
                else "active_orders < max_active_orders",
                "UpdateExpression": "SET active_orders = active_orders + :one, "
                "bookings.#order = :window",
                "ExpressionAttributeNames": {"#order": order_id},
                "ExpressionAttributeValues": {
                    ":one": {"N": "1"},
                    ":window": _window_attribute(window),
                },
            },
            what=f"technician {technician_id}",
            condition_failed=lambda _old: TechnicianFullyBooked(technician_id),
        )
        return [
            book,
            *(self._take(technician_id, order_id, b, window) for b in busy_blocks(window)),
        ]

    def move_items(
        self, technician_id: str, order_id: str, old: TimeWindow, new: TimeWindow
    ) -> list[TransactItem]:
        """Moving an order's booking to another window: the blocks only the new window needs
        are taken (SlotTaken when held), those only the old one had are freed."""
        before, after = busy_blocks(old), busy_blocks(new)
        return [
            TransactItem(
                "Update",
                {
                    "TableName": self._table,
                    "Key": profile_key(technician_id),
                    "UpdateExpression": "SET bookings.#order = :window",
                    "ExpressionAttributeNames": {"#order": order_id},
                    "ExpressionAttributeValues": {":window": _window_attribute(new)},
                },
                what=f"technician {technician_id}",
            ),
            *(self._free(technician_id, b) for b in before if b not in after),
            *(self._take(technician_id, order_id, b, new) for b in after if b not in before),
        ]

    def _take(
        self, technician_id: str, order_id: str, block: str, window: TimeWindow
    ) -> TransactItem:
        expires = int(window.end.timestamp() + BUSY_BLOCK_TTL.total_seconds())
        return put_new(
            self._table,
            {
                **key(f"TECH#{technician_id}", block),
                "order_id": {"S": order_id},
                "expires_at": {"N": str(max(expires, int(time.time())))},
            },
            what=f"technician {technician_id} at {block}",
            condition_failed=lambda _old: SlotTaken(technician_id, block.removeprefix("BUSY#")),
        )

    def _free(self, technician_id: str, block: str) -> TransactItem:
        return TransactItem(
            "Delete",
            {"TableName": self._table, "Key": key(f"TECH#{technician_id}", block)},
            what=f"technician {technician_id} at {block}",
        )
