"""RegistryTable: appliances and homes.

Items:
  APPLIANCE#{thing} / PROFILE      the appliance and, while it is paired, a copy of its home
                                   (`home`); an unpaired appliance (made, or unpaired by its
                                   homeowner) has no `home` and an empty `appliance.home_id`
  HOME#{home_id} / PROFILE         the home, with its approval policy
  HOME#{home_id} / APPLIANCE#{thing}
                                   the home's list of appliances (one Query finds the copies)

An appliance item carries a copy of its home, so the ingest path needs one GetItem (or none,
from the warm cache) to know the model, the home's location and its approval policy.
Writing a home rewrites that copy on each of its appliances. The cache lives per container
for CACHE_SECONDS: a write here forgets this container's entries at once, other containers
(ingest's) see a new policy, a pairing or an unpairing within CACHE_SECONDS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from functions.dal import transactions
from functions.dal.items import batch_get_keys, from_attributes, key, to_attributes, write_if
from functions.dal.transactions import TransactItem
from functions.domain.errors import ApplianceNotInHome, ApplianceTaken
from schemas.registry import Appliance, ApprovalPolicy, Home

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


def home_entry_key(home_id: str, thing_name: str) -> dict[str, Any]:
    """The home's list entry of one appliance."""
    return key(f"HOME#{home_id}", f"APPLIANCE#{thing_name}")


#: An unpaired appliance's `home_id`.
UNPAIRED = ""
# Placeholders: `home` and the nested names are used in update and condition expressions.
_NAMES = {"#a": "appliance", "#h": "home", "#hid": "home_id", "#share": "share_outcomes"}


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
        if "Item" not in response or "home" not in response["Item"]:
            return None  # never cached: a newly registered or paired appliance works at once
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

    def is_unpaired(self, thing_name: str) -> bool:
        """Whether the appliance is registered but paired to no home (a key read)."""
        response = self._client.get_item(
            TableName=self._table,
            Key=appliance_key(thing_name),
            ProjectionExpression="pk, #h",
            ExpressionAttributeNames={"#h": "home"},
        )
        item = response.get("Item")
        return item is not None and "home" not in item

    def appliance(self, thing_name: str) -> Appliance | None:
        """The appliance as registered, paired or not (read consistently, never cached)."""
        stored = self._stored(appliance_key(thing_name), "appliance")
        return None if stored is None else Appliance.model_validate(stored)

    def get_home(self, home_id: str) -> Home | None:
        stored = self._stored(home_key(home_id), "home")
        return None if stored is None else Home.model_validate(stored)

    def _stored(self, item_key: dict[str, Any], document: str) -> Any:
        """One document attribute of an item, read consistently; None without the item."""
        response = self._client.get_item(TableName=self._table, Key=item_key, ConsistentRead=True)
        return from_attributes(response["Item"])[document] if "Item" in response else None

    def home_with_appliances(self, home_id: str) -> tuple[Home, list[Appliance]] | None:
        """The home and its paired appliances (thing name order): one Query of the home's
        partition, one BatchGetItem of its appliances. None for an unknown home."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :home",
            "ExpressionAttributeValues": {":home": {"S": f"HOME#{home_id}"}},
            "ConsistentRead": True,
        }
        home: Home | None = None
        things: list[str] = []
        while True:
            response = self._client.query(**request)
            for item in response.get("Items", []):
                sort_key = item["sk"]["S"]
                if sort_key == "PROFILE":
                    home = Home.model_validate(from_attributes(item)["home"])
                elif sort_key.startswith("APPLIANCE#"):
                    things.append(sort_key.removeprefix("APPLIANCE#"))
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        if home is None:
            return None
        items = batch_get_keys(self._client, self._table, [appliance_key(t) for t in things])
        appliances = [
            Appliance.model_validate(from_attributes(item)["appliance"])
            for item in items
            if from_attributes(item).get("home", {}).get("home_id") == home_id
        ]
        return home, sorted(appliances, key=lambda a: a.thing_name)

    def put_policy(self, home_id: str, policy: ApprovalPolicy) -> Home | None:
        """Write the home's approval policy, then its copy on each of the home's
        appliances (the copy ingest reads). None for an unknown home."""
        policy_doc = to_attributes({"p": policy.model_dump(mode="json", by_alias=True)})["p"]
        response = write_if(
            self._client.update_item,
            TableName=self._table,
            Key=home_key(home_id),
            UpdateExpression="SET #h.#policy = :policy",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#h": "home", "#policy": "policy"},
            ExpressionAttributeValues={":policy": policy_doc},
            ReturnValues="ALL_NEW",
        )
        if response is None:
            return None
        home = Home.model_validate(from_attributes(response["Attributes"])["home"])
        listed = self.home_with_appliances(home_id)
        for appliance in listed[1] if listed else []:
            self._copy_home(appliance.thing_name, home)
        return home

    def _copy_home(self, thing_name: str, home: Home) -> None:
        """The home's copy on one of its appliances; none when it left the home meanwhile."""
        home_doc = to_attributes({"h": home.model_dump(mode="json", by_alias=True)})["h"]
        write_if(
            self._client.update_item,
            TableName=self._table,
            Key=appliance_key(thing_name),
            UpdateExpression="SET #h = :home",
            ConditionExpression="#h.#hid = :home_id",
            ExpressionAttributeNames={"#h": "home", "#hid": "home_id"},
            ExpressionAttributeValues={":home": home_doc, ":home_id": {"S": home.home_id}},
        )
        self._cache.pop(thing_name, None)

    def pair(self, thing_name: str, home: Home) -> Appliance:
        """Move an unpaired appliance into the home, with the home's copy, and list it
        there, in one transaction. Raises ApplianceTaken when it is paired already (to
        this home or another) or not registered."""
        home_doc = to_attributes({"h": home.model_dump(mode="json", by_alias=True)})["h"]
        transactions.write(
            self._client,
            [
                TransactItem(
                    "Update",
                    {
                        "TableName": self._table,
                        "Key": appliance_key(thing_name),
                        "UpdateExpression": "SET #a.#hid = :home_id, #h = :home",
                        "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(#h)",
                        "ExpressionAttributeNames": {k: _NAMES[k] for k in ("#a", "#h", "#hid")},
                        "ExpressionAttributeValues": {
                            ":home_id": {"S": home.home_id},
                            ":home": home_doc,
                        },
                    },
                    what=f"appliance {thing_name}",
                    condition_failed=lambda _old: ApplianceTaken(thing_name),
                ),
                TransactItem(
                    "Put",
                    {"TableName": self._table, "Item": home_entry_key(home.home_id, thing_name)},
                    what=f"home {home.home_id}'s list of appliances",
                ),
            ],
        )
        self._cache.pop(thing_name, None)
        paired = self.appliance(thing_name)
        if paired is None:  # unregistered meanwhile: as good as never paired
            raise ApplianceTaken(thing_name)
        return paired

    def unpair(self, thing_name: str, home_id: str) -> None:
        """Take the appliance out of the home (it keeps its serial, loses the home's copy
        and its consent), in one transaction. Raises ApplianceNotInHome."""
        transactions.write(
            self._client,
            [
                TransactItem(
                    "Update",
                    {
                        "TableName": self._table,
                        "Key": appliance_key(thing_name),
                        "UpdateExpression": "SET #a.#hid = :unpaired, #a.#share = :no REMOVE #h",
                        "ConditionExpression": "#h.#hid = :home_id",
                        "ExpressionAttributeNames": _NAMES,
                        "ExpressionAttributeValues": {
                            ":unpaired": {"S": UNPAIRED},
                            ":no": {"BOOL": False},
                            ":home_id": {"S": home_id},
                        },
                    },
                    what=f"appliance {thing_name}",
                    condition_failed=lambda _old: ApplianceNotInHome(thing_name, home_id),
                ),
                TransactItem(
                    "Delete",
                    {"TableName": self._table, "Key": home_entry_key(home_id, thing_name)},
                    what=f"home {home_id}'s list of appliances",
                ),
            ],
        )
        self._cache.pop(thing_name, None)

    def set_consent(self, thing_name: str, home_id: str, share_outcomes: bool) -> Appliance:
        """Whether the appliance's repair outcomes may be shared with its manufacturer.
        Raises ApplianceNotInHome."""
        response = write_if(
            self._client.update_item,
            TableName=self._table,
            Key=appliance_key(thing_name),
            UpdateExpression="SET #a.#share = :share",
            ConditionExpression="#h.#hid = :home_id",
            ExpressionAttributeNames=_NAMES,
            ExpressionAttributeValues={
                ":share": {"BOOL": share_outcomes},
                ":home_id": {"S": home_id},
            },
            ReturnValues="ALL_NEW",
        )
        if response is None:
            raise ApplianceNotInHome(thing_name, home_id)
        self._cache.pop(thing_name, None)
        return Appliance.model_validate(from_attributes(response["Attributes"])["appliance"])
