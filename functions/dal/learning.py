"""LearningTable: confirmed causes counted per (manufacturer, family, fault code).

Items:
  LEARNED / {counts_key}     one per fault code; one number attribute `c_{cause_id}` per cause,
                             and `o_{telemetry}={signature}|{cause_id}` counting the
                             confirmations of that cause whose reading showed that signature;
                             `self_fixed` counts faults the homeowner's self-fix guide fixed

Every count lives in the one partition, so a single (paginated) Query reads the whole
snapshot that diagnosis blends into its priors. Completions add with `ADD`, which is atomic
and creates the item and the attribute when missing, so concurrent completions never lose
a count. Writes are rare (one per completed repair), far below one partition's limits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.dal.items import key as item_key
from functions.dal.transactions import TransactItem
from functions.domain.learning import LearnedCounts, add_evidence, record_outcome

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)

PARTITION = "LEARNED"
CAUSE_PREFIX = "c_"
EVIDENCE_PREFIX = "o_"
# Faults the homeowner fixed with the self-fix guide (no cause confirmed, no visit).
SELF_FIXED = "self_fixed"
DEFAULT_MAX_AGE_SECONDS = 300.0
# After a failed read, wait this long before trying again: each failed read can cost
# seconds of client retries, which every diagnosis in the meantime would otherwise pay.
DEFAULT_RETRY_AFTER_ERROR_SECONDS = 30.0


def evidence_attribute(telemetry: str, signature: str, cause_id: str) -> str:
    return f"{EVIDENCE_PREFIX}{telemetry}={signature}|{cause_id}"


def parse_evidence_attribute(name: str) -> tuple[str, str, str] | None:
    """(telemetry, signature, cause_id), or None for any other attribute."""
    if not name.startswith(EVIDENCE_PREFIX):
        return None
    reading, _, cause_id = name[len(EVIDENCE_PREFIX) :].rpartition("|")
    telemetry, _, signature = reading.partition("=")
    if not (telemetry and signature and cause_id):
        return None
    return telemetry, signature, cause_id


class LearningTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def record_outcome_item(
        self, key: str, cause_id: str, observations: Mapping[str, str] | None = None
    ) -> TransactItem:
        """Counting one confirmed occurrence of `cause_id` under `key` (see `counts_key`),
        and what each reading showed (`Diagnosis.observations`), as a transact item to
        count exactly once with the completion (functions.dal.visits)."""
        added = self._add(key, cause_id, observations or {})
        return TransactItem(
            "Update", {"TableName": self._table, **added}, what=f"learned counts of {key}"
        )

    def record_self_fix_item(self, key: str) -> TransactItem:
        """Counting a fault the homeowner fixed with its self-fix guide, under `key`, as a
        transact item to count exactly once with the order's closing."""
        return TransactItem(
            "Update",
            {
                "TableName": self._table,
                "Key": item_key(PARTITION, key),
                "UpdateExpression": "ADD #s :n",
                "ExpressionAttributeNames": {"#s": SELF_FIXED},
                "ExpressionAttributeValues": {":n": {"N": "1"}},
            },
            what=f"learned counts of {key}",
        )

    @staticmethod
    def _add(key: str, cause_id: str, observations: Mapping[str, str]) -> dict[str, Any]:
        # Name placeholders: ids and signatures hold characters and words DynamoDB reserves.
        names = {"#c": f"{CAUSE_PREFIX}{cause_id}"}
        for i, (telemetry, signature) in enumerate(sorted(observations.items())):
            names[f"#o{i}"] = evidence_attribute(telemetry, signature, cause_id)
        return {
            "Key": item_key(PARTITION, key),
            "UpdateExpression": "ADD " + ", ".join(f"{name} :n" for name in names),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {":n": {"N": "1"}},
        }

    def snapshot(self) -> LearnedCounts:
        """Every count, read with one Query of the partition (following its pages)."""
        counts = LearnedCounts()
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": PARTITION}},
        }
        while True:
            response = self._client.query(**request)
            for item in response.get("Items", []):
                key = item["sk"]["S"]
                for name, value in item.items():
                    if "N" not in value:
                        continue
                    if name == SELF_FIXED:
                        counts.self_fixed[key] = int(value["N"])
                    elif name.startswith(CAUSE_PREFIX):
                        record_outcome(counts, key, name[len(CAUSE_PREFIX) :], int(value["N"]))
                    elif parsed := parse_evidence_attribute(name):
                        add_evidence(counts, key, *parsed, n=int(value["N"]))
            if "LastEvaluatedKey" not in response:
                return counts
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


class LearnedCountsCache:
    """The learned counts, re-read at most once per `max_age_seconds` per container.

    Diagnosis must never fail because learning is unavailable: on a read error the last
    snapshot is kept (or empty counts served, so the catalog priors alone decide) and the
    error is logged. The snapshot returned is shared: treat it as read-only.
    """

    def __init__(
        self,
        table: LearningTable,
        max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        retry_after_error_seconds: float = DEFAULT_RETRY_AFTER_ERROR_SECONDS,
    ) -> None:
        self._table = table
        self._max_age = max_age_seconds
        self._retry_after_error = min(retry_after_error_seconds, max_age_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: LearnedCounts | None = None
        self._next_read_at: float | None = None

    def get(self) -> LearnedCounts:
        with self._lock:
            # Under the lock, so concurrent callers share one Query instead of each running one.
            now = self._clock()
            if self._next_read_at is None or now >= self._next_read_at:
                self._refresh(now)
            return self._snapshot if self._snapshot is not None else LearnedCounts()

    def _refresh(self, now: float) -> None:
        try:
            self._snapshot = self._table.snapshot()
        except (ClientError, BotoCoreError):
            logger.exception(
                "learned counts unavailable; serving %s",
                "the last snapshot" if self._snapshot is not None else "catalog priors only",
            )
            self._next_read_at = now + self._retry_after_error
            return
        self._next_read_at = now + self._max_age
