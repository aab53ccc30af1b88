"""Fault injection at the AWS client boundary of a local stack.

A `FaultPlan` hooks botocore's `before-send` event on a stack's `AwsClients`, so the
functions meet real botocore errors (parsed from an error response, or raised by the HTTP
layer) and botocore's own retries, then Lambda's, do what they would in AWS. Nothing of ours
is patched.

Kinds: DynamoDB throttling (ProvisionedThroughputExceededException), a 500
(InternalServerError), a read timeout, an IoT data-plane Publish failure (503) or an SNS
Publish failure (500, "sns.Publish"), and a crash:
an exception no retry absorbs, as when the process dies mid-invocation (aimed, e.g., at the
dispatch's first Query: between the order's transaction and the dispatch).
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ReadTimeoutError

from functions.common.aws import AwsClients


class FaultKind(StrEnum):
    THROTTLE = "throttle"
    INTERNAL_ERROR = "500"
    TIMEOUT = "timeout"
    PUBLISH_FAILURE = "publish_failure"
    CRASH = "crash"


class InjectedCrash(RuntimeError):
    """The invocation dies here (no SDK retry applies): what a killed process leaves."""


@dataclass(frozen=True)
class FaultRule:
    """Fail `operation` with `kind`: "dynamodb.Query", "iot-data-plane.Publish" (botocore's
    service id and operation name).

    `calls`: which of the matching calls may fail (1-based, counting every HTTP attempt,
    SDK retries included); None for all. `rate`: the chance that one of those fails.
    `table`: only requests naming this table.
    """

    kind: FaultKind
    operation: str
    rate: float = 1.0
    calls: range | None = None
    table: str | None = None


class _Body:
    """The raw stream an AWSResponse reads its content from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterable[bytes]:
        yield self._data


def _response(status: int, headers: dict[str, str], body: dict[str, str]) -> AWSResponse:
    http_headers = HTTPHeaders()
    for name, value in {**headers, "x-amzn-RequestId": "injected"}.items():
        http_headers[name] = value
    return AWSResponse("", status, http_headers, _Body(json.dumps(body).encode()))


def _dynamodb_error(status: int, code: str) -> AWSResponse:
    """An error as DynamoDB's JSON 1.0 protocol answers it."""
    return _response(
        status,
        {"Content-Type": "application/x-amz-json-1.0"},
        {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"},
    )


def _rest_json_error(status: int, code: str) -> AWSResponse:
    """An error as a REST-JSON service (the IoT data plane) answers it."""
    return _response(
        status,
        {"Content-Type": "application/json", "x-amzn-ErrorType": code},
        {"message": "injected"},
    )


def _query_error(status: int, code: str) -> AWSResponse:
    """An error as a query-protocol service (SNS) answers it."""
    body = (
        "<ErrorResponse><Error><Type>Receiver</Type>"
        f"<Code>{code}</Code><Message>injected</Message></Error>"
        "<RequestId>injected</RequestId></ErrorResponse>"
    )
    headers = HTTPHeaders()
    headers["Content-Type"] = "text/xml"
    headers["x-amzn-RequestId"] = "injected"
    return AWSResponse("", status, headers, _Body(body.encode()))


class FaultPlan:
    """Rules applied to every request of the clients it is installed on; seedable."""

    def __init__(self, rules: Iterable[FaultRule] = (), *, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._rules: list[FaultRule] = list(rules)
        self._seen: Counter[FaultRule] = Counter()
        self.injected: Counter[str] = Counter()  # "kind operation" -> faults injected

    def install(self, clients: AwsClients) -> FaultPlan:
        for client in (clients.dynamodb, clients.iot_data, clients.sns):
            hook: Any = self._before_send  # botocore types hooks as returning None
            client.meta.events.register("before-send", hook)
        return self

    def set_rules(self, rules: Iterable[FaultRule]) -> None:
        """Replace the rules (an empty list ends the incident); call counts start again."""
        with self._lock:
            self._rules = list(rules)
            self._seen.clear()

    def _before_send(
        self, event_name: str, request: AWSPreparedRequest, **_: Any
    ) -> AWSResponse | None:
        operation = ".".join(event_name.split(".")[1:3])  # before-send.<service>.<Operation>
        rule = self._chosen(operation, request)
        if rule is None:
            return None
        self.injected[f"{rule.kind.value} {operation}"] += 1
        if rule.kind is FaultKind.TIMEOUT:
            raise ReadTimeoutError(endpoint_url=request.url)
        if rule.kind is FaultKind.CRASH:
            raise InjectedCrash(f"injected crash at {operation}")
        if rule.kind is FaultKind.PUBLISH_FAILURE:
            if operation.startswith("sns."):
                return _query_error(500, "InternalError")
            return _rest_json_error(503, "ServiceUnavailableException")
        if rule.kind is FaultKind.THROTTLE:
            return _dynamodb_error(400, "ProvisionedThroughputExceededException")
        return _dynamodb_error(500, "InternalServerError")

    def _chosen(self, operation: str, request: AWSPreparedRequest) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.operation != operation:
                    continue
                if rule.table is not None and rule.table not in _tables(request):
                    continue
                self._seen[rule] += 1
                if rule.calls is not None and self._seen[rule] not in rule.calls:
                    continue
                if self._random.random() < rule.rate:
                    return rule
        return None


def _tables(request: AWSPreparedRequest) -> set[str]:
    """The tables a DynamoDB request names (TableName, or a transaction's or batch's)."""
    raw = request.body
    if not isinstance(raw, str | bytes):
        return set()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return set()
    tables = {body["TableName"]} if "TableName" in body else set()
    tables.update(body.get("RequestItems", {}))
    for item in body.get("TransactItems", []):
        tables.update(action["TableName"] for action in item.values())
    return tables
