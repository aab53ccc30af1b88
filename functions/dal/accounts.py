"""AccountsTable: who owns what. A user (the pool's `sub`) -> homes, a technician profile,
a manufacturer. Written by us, never taken from a token claim a client could choose.

Items, all in the user's partition so one Query tells everything a user may touch:
  USER#{sub} / HOME#{home_id}
  USER#{sub} / TECHNICIAN#{technician_id}   at most one
  USER#{sub} / MANUFACTURER#{name}          at most one
  USER#{sub} / ATTEMPTS#{what}              attempts counted in the user's current window
                                            (`attempts`, `window_ends`); TTL `expires_at`
                                            removes it a window after it closed
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from functions.dal.items import key, write_if
from functions.domain.errors import AccountAlreadyLinked

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

HOME = "HOME#"
TECHNICIAN = "TECHNICIAN#"
MANUFACTURER = "MANUFACTURER#"
ATTEMPTS = "ATTEMPTS#"


@dataclass(frozen=True)
class Access:
    """What one user may touch."""

    home_ids: frozenset[str] = frozenset()
    technician_id: str | None = None
    manufacturer: str | None = None


def user_partition(user_id: str) -> str:
    return f"USER#{user_id}"


class AccountsTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def access_of(self, user_id: str) -> Access:
        """Everything `user_id` owns, in one Query (a user owns a handful of items)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :user",
            "ExpressionAttributeValues": {":user": {"S": user_partition(user_id)}},
            "ProjectionExpression": "sk",
        }
        sort_keys: list[str] = []
        while True:  # pages only past 1 MB, which a user's grants never reach
            response = self._client.query(**request)
            sort_keys += [item["sk"]["S"] for item in response["Items"]]
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        technicians = [sk.removeprefix(TECHNICIAN) for sk in sort_keys if sk.startswith(TECHNICIAN)]
        makers = [sk.removeprefix(MANUFACTURER) for sk in sort_keys if sk.startswith(MANUFACTURER)]
        return Access(
            home_ids=frozenset(sk.removeprefix(HOME) for sk in sort_keys if sk.startswith(HOME)),
            # More than one cannot be written (see _link_one); the first is as good as any.
            technician_id=technicians[0] if technicians else None,
            manufacturer=makers[0] if makers else None,
        )

    def grant_home(self, user_id: str, home_id: str) -> None:
        self._put(user_id, f"{HOME}{home_id}")

    def grant_technician(self, user_id: str, technician_id: str) -> None:
        """The user is this technician. Raises AccountAlreadyLinked if they are another."""
        linked = self.access_of(user_id).technician_id
        self._link_one(user_id, "technician", linked, TECHNICIAN, technician_id)

    def grant_manufacturer(self, user_id: str, name: str) -> None:
        """The user speaks for this manufacturer. Raises AccountAlreadyLinked if for another."""
        linked = self.access_of(user_id).manufacturer
        self._link_one(user_id, "manufacturer", linked, MANUFACTURER, name)

    def _link_one(
        self, user_id: str, what: str, linked: str | None, prefix: str, value: str
    ) -> None:
        # Read, then write: grants are made by administrators and seeding, one at a time,
        # so the read is enough to keep a user to one technician profile / manufacturer.
        if linked is not None and linked != value:
            raise AccountAlreadyLinked(user_id, what, linked)
        self._put(user_id, f"{prefix}{value}")

    def _put(self, user_id: str, sort_key: str) -> None:
        self._client.put_item(TableName=self._table, Item=key(user_partition(user_id), sort_key))

    def take_attempt(
        self, user_id: str, what: str, *, limit: int, window_seconds: int, now: int
    ) -> int | None:
        """Count one attempt at `what`, unless `limit` are counted in the user's current
        window already. A window opens at the first attempt after the last one closed and
        lasts `window_seconds`. Returns None when counted, else the epoch second the window
        closes (nothing counted). Atomic: concurrent attempts never exceed `limit`, and
        only one of them opens a new window."""
        item_key = key(user_partition(user_id), f"{ATTEMPTS}{what}")
        for _ in range(3):
            if self._conditional_update(
                item_key,
                "SET attempts = attempts + :one",
                "window_ends > :now AND attempts < :limit",
                {":one": {"N": "1"}, ":now": {"N": str(now)}, ":limit": {"N": str(limit)}},
            ):
                return None
            ends = now + window_seconds
            if self._conditional_update(
                item_key,
                "SET attempts = :one, window_ends = :ends, expires_at = :expires",
                "attribute_not_exists(window_ends) OR window_ends <= :now",
                {
                    ":one": {"N": "1"},
                    ":now": {"N": str(now)},
                    ":ends": {"N": str(ends)},
                    ":expires": {"N": str(ends + window_seconds)},
                },
            ):
                return None
            item = self._client.get_item(
                TableName=self._table, Key=item_key, ConsistentRead=True
            ).get("Item", {})
            window_ends = int(item.get("window_ends", {}).get("N", "0"))
            if window_ends > now and int(item.get("attempts", {}).get("N", "0")) >= limit:
                return window_ends
            # Changed between the writes and the read (a window opened, an attempt given
            # back): try again.
        return now + window_seconds

    def _conditional_update(
        self, item_key: dict[str, Any], update: str, condition: str, values: dict[str, Any]
    ) -> bool:
        written = write_if(
            self._client.update_item,
            TableName=self._table,
            Key=item_key,
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
        )
        return written is not None

    def give_back_attempt(self, user_id: str, what: str) -> None:
        """Uncount an attempt taken (it succeeded: only failures count)."""
        write_if(
            self._client.update_item,
            TableName=self._table,
            Key=key(user_partition(user_id), f"{ATTEMPTS}{what}"),
            UpdateExpression="ADD attempts :minus_one",
            ConditionExpression="attempts > :zero",
            ExpressionAttributeValues={":minus_one": {"N": "-1"}, ":zero": {"N": "0"}},
        )
