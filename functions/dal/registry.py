"""RegistryTable: appliances and homes.

An appliance item carries a copy of its home, so the ingest path needs one GetItem (or none,
from the warm cache) to know the model, the home's location and its approval policy.
Writing a home rewrites that copy on each of its appliances.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from functions.dal.items import from_attributes, key, to_attributes
from schemas.registry import Appliance, Home

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class RegisteredAppliance:
    appliance: Appliance
    home: Home


def appliance_key(thing_name: str) -> dict[str, Any]:
    return key(f"APPLIANCE#{thing_name}", "PROFILE")


def home_key(home_id: str) -> dict[str, Any]:
    return key(f"HOME#{home_id}", "PROFILE")


class RegistryTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._cache: dict[str, tuple[float, RegisteredAppliance]] = {}

    def get_appliance(self, thing_name: str) -> RegisteredAppliance | None:
        """The appliance and its home; cached for a minute (IoT redeliveries come in seconds)."""
        hit = self._cache.get(thing_name)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        response = self._client.get_item(TableName=self._table, Key=appliance_key(thing_name))
        if "Item" not in response:
            return None  # never cached: a newly registered appliance works at once
        item = from_attributes(response["Item"])
        found = RegisteredAppliance(
            appliance=Appliance.model_validate(item["appliance"]),
            home=Home.model_validate(item["home"]),
        )
        self._cache[thing_name] = (time.monotonic() + CACHE_SECONDS, found)
        return found

    def home_exists(self, home_id: str) -> bool:
        """Whether the home is registered (a key read of its item, no attributes)."""
        response = self._client.get_item(
            TableName=self._table, Key=home_key(home_id), ProjectionExpression="pk"
        )
        return "Item" in response

    def put_home(self, home: Home, appliances: list[Appliance]) -> None:
        """Write a home and its appliances (each with the home's copy)."""
        home_doc = home.model_dump(mode="json", by_alias=True)
        self._client.put_item(
            TableName=self._table,
            Item={**home_key(home.home_id), **to_attributes({"home": home_doc})},
        )
        for appliance in appliances:
            doc = {
                "appliance": appliance.model_dump(mode="json", by_alias=True),
                "home": home_doc,
            }
            self._client.put_item(
                TableName=self._table,
                Item={**appliance_key(appliance.thing_name), **to_attributes(doc)},
            )
            # The home's list of appliances: a Query on the home finds the copies to rewrite.
            self._client.put_item(
                TableName=self._table,
                Item=key(f"HOME#{home.home_id}", f"APPLIANCE#{appliance.thing_name}"),
            )
            self._cache.pop(appliance.thing_name, None)
