"""TechniciansTable: technician profiles and the geo-cell index.

Items:
  TECH#{id} / PROFILE         the profile, with the live `active_orders` counter
  CELL#{geohash}#{skill} / TECH#{id}
                              one per cell the technician's service area touches and per
                              skill, with a copy of the profile
Finding candidates for a home is one Query on the home's cell for the job's skill, then
one small BatchGetItem for the live load of the few best.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions.dal.items import batch_get_keys, from_attributes, key, to_attributes
from functions.dal.keys import cell_partition
from functions.dal.transactions import TransactItem
from functions.domain.errors import TechnicianFullyBooked, TechnicianGone
from functions.domain.geo import cells_covering, geohash
from schemas.registry import Category, GeoPoint, Technician

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def profile_key(technician_id: str) -> dict[str, Any]:
    return key(f"TECH#{technician_id}", "PROFILE")


class TechniciansTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def put(self, tech: Technician) -> None:
        doc = tech.model_dump(mode="json", by_alias=True)
        self._client.put_item(
            TableName=self._table, Item={**profile_key(tech.technician_id), **to_attributes(doc)}
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
        return {self._table: {"Keys": keys, "ProjectionExpression": "technician_id, active_orders"}}

    def loads_from(self, found: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
        """Current active_orders per technician, from a batch_get answer."""
        loads = {}
        for item in found.get(self._table, []):
            doc = from_attributes(item)
            loads[str(doc["technician_id"])] = int(doc["active_orders"])
        return loads

    def get_many(self, technician_ids: list[str]) -> list[Technician]:
        keys = [profile_key(t) for t in dict.fromkeys(technician_ids)]
        found: list[Technician] = []
        for item in batch_get_keys(self._client, self._table, keys):
            doc = from_attributes(item)
            doc.pop("pk", None)
            doc.pop("sk", None)
            found.append(Technician.model_validate(doc))
        return found

    def get(self, technician_id: str) -> Technician | None:
        found = self.get_many([technician_id])
        return found[0] if found else None

    def release_item(self, technician_id: str) -> TransactItem:
        """Giving back one active order, for a transaction that ends a visit.

        No condition: a wrong counter must never block a completion from being recorded.
        """
        return TransactItem(
            "Update",
            {
                "TableName": self._table,
                "Key": profile_key(technician_id),
                "UpdateExpression": "SET active_orders = active_orders - :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            },
            what=f"technician {technician_id}",
        )

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

    def book_item(self, technician_id: str) -> TransactItem:
        """Taking one more active order, only while under the technician's maximum."""
        return TransactItem(
            "Update",
            {
                "TableName": self._table,
                "Key": profile_key(technician_id),
                "UpdateExpression": "SET active_orders = active_orders + :one",
                "ConditionExpression": "active_orders < max_active_orders",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            },
            what=f"technician {technician_id}",
            condition_failed=lambda _old: TechnicianFullyBooked(technician_id),
        )
