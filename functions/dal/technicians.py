"""TechniciansTable: technician profiles and the geo-cell index.

Items:
  TECH#{id} / PROFILE         the profile, with the live `active_orders` counter
  CELL#{geohash} / TECH#{id}  one per cell the technician's service area touches
Finding candidates for a home is one Query on the home's cell, then one BatchGetItem for
the live profiles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions.dal.items import from_attributes, key, to_attributes
from functions.domain.geo import cells_covering, geohash
from schemas.registry import GeoPoint, Technician

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def profile_key(technician_id: str) -> dict[str, Any]:
    return key(f"TECH#{technician_id}", "PROFILE")


class FullyBooked(Exception):
    """The technician reached max_active_orders before this booking."""


class TechniciansTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def put(self, tech: Technician) -> None:
        doc = tech.model_dump(mode="json", by_alias=True)
        self._client.put_item(
            TableName=self._table, Item={**profile_key(tech.technician_id), **to_attributes(doc)}
        )
        cells = sorted(cells_covering(tech.home_base, tech.service_radius_km))
        requests = [
            {"PutRequest": {"Item": key(f"CELL#{cell}", f"TECH#{tech.technician_id}")}}
            for cell in cells
        ]
        for start in range(0, len(requests), 25):
            batch: dict[str, Any] = {self._table: requests[start : start + 25]}
            while batch:
                response = self._client.batch_write_item(RequestItems=batch)
                batch = response.get("UnprocessedItems", {})  # type: ignore[assignment]

    def candidates_near(self, location: GeoPoint) -> list[Technician]:
        """Technicians whose service area touches the cell of `location` (live profiles)."""
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :cell",
            ExpressionAttributeValues={":cell": {"S": f"CELL#{geohash(location)}"}},
            ProjectionExpression="sk",
        )
        ids = [item["sk"]["S"].removeprefix("TECH#") for item in response.get("Items", [])]
        return self.get_many(ids)

    def get_many(self, technician_ids: list[str]) -> list[Technician]:
        found: list[Technician] = []
        for start in range(0, len(technician_ids), 100):
            keys = [profile_key(t) for t in technician_ids[start : start + 100]]
            request: dict[str, Any] = {self._table: {"Keys": keys}}
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    doc = from_attributes(item)
                    doc.pop("pk", None)
                    doc.pop("sk", None)
                    found.append(Technician.model_validate(doc))
                request = response.get("UnprocessedKeys", {})  # type: ignore[assignment]
        return found

    def get(self, technician_id: str) -> Technician | None:
        found = self.get_many([technician_id])
        return found[0] if found else None

    def book_item(self, technician_id: str) -> dict[str, Any]:
        """A transact item taking one more active order, only while under the maximum."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": profile_key(technician_id),
                "UpdateExpression": "SET active_orders = active_orders + :one",
                "ConditionExpression": "active_orders < max_active_orders",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
