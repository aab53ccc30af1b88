"""RejectionsTable: every fault event that opened no order, listable per day by operators.

Items: DAY#{yyyy-mm-dd}#{shard} / {received_at}#{rejection_id}, kept 90 days (TTL).
A storm of malformed input lands on one day, so each day is spread over a few shards
(functions.dal.keys); listing a day queries each and merges them, newest first.
"""

from __future__ import annotations

import time
from datetime import date
from typing import TYPE_CHECKING

from functions.dal.items import from_attributes, key, to_attributes
from functions.dal.keys import newest_first, rejection_partition, rejection_partitions
from schemas.orders import Rejection

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RETENTION_SECONDS = 90 * 24 * 3600


class RejectionsTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def record(self, rejection: Rejection) -> None:
        doc = rejection.model_dump(mode="json", by_alias=True)
        doc["expires_at"] = int(time.time()) + RETENTION_SECONDS
        item_key = key(
            rejection_partition(rejection.received_at.date(), rejection.rejection_id),
            f"{rejection.received_at.isoformat()}#{rejection.rejection_id}",
        )
        self._client.put_item(TableName=self._table, Item={**item_key, **to_attributes(doc)})

    def list_day(self, day: date, limit: int = 200) -> list[Rejection]:
        """The day's rejections, newest first."""
        pages = [self._newest_first(partition, limit) for partition in rejection_partitions(day)]
        return newest_first(pages, limit)

    def _newest_first(self, partition: str, limit: int) -> list[tuple[str, Rejection]]:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :day",
            ExpressionAttributeValues={":day": {"S": partition}},
            ScanIndexForward=False,
            Limit=limit,
        )
        rejections = []
        for item in response.get("Items", []):
            doc = from_attributes(item)
            for extra in ("pk", "sk", "expires_at"):
                doc.pop(extra, None)
            rejections.append((item["sk"]["S"], Rejection.model_validate(doc)))
        return rejections
