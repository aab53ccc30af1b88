"""Fuzzing the ingest Lambda, invoked as IoT invokes it, against the emulator: whatever a
device sends, the invocation succeeds and leaves exactly one recorded answer (an order or a
rejection with its reason), and a redelivery adds nothing.

Examples are few and derandomized (no example database), so CI runs the same inputs.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.common.wiring import dependencies
from functions.dal.keys import event_key
from schemas.device import MAX_PAYLOAD_BYTES
from schemas.orders import RejectionReason
from tests.functions.events import invoke
from tests.hostile import KINDS, hostile_payloads

# A fixed broker receive time: generated timestamps (window edges included) are relative
# to it, so a derandomized run is the same run on any day.
RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORDER_OUTCOMES = {"opened", "dispatched", "offered", "no_technician"}
# Per kind; FAULTLINE_FUZZ_EXAMPLES=200 fuzzes deeper, locally.
EXAMPLES_PER_KIND = int(os.environ.get("FAULTLINE_FUZZ_EXAMPLES", "12"))

fuzz_settings = settings(
    max_examples=EXAMPLES_PER_KIND,
    deadline=None,
    derandomize=True,
    database=None,
    # One household per example, from the (factory) fixture: nothing is shared between them.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def rule_event(thing: str, raw: bytes, client_id: str | None = None) -> dict[str, Any]:
    return {
        "raw": base64.b64encode(raw).decode(),
        "thing_name": thing,
        "client_id": thing if client_id is None else client_id,
        "topic": f"dt/repair/{thing}/fault",
        "received_at": int(RECEIVED.timestamp() * 1000),
    }


def rejections_of(thing: str) -> list[Any]:
    rejections = dependencies().rejections.list_day(RECEIVED.date(), limit=1000)
    return [r for r in rejections if r.thing_name == thing]


def event_marker(thing: str, event_id: str) -> dict[str, Any] | None:
    deps = dependencies()
    got = deps.clients.dynamodb.get_item(
        TableName=deps.settings.orders_table, Key=event_key(thing, event_id)
    )
    return got.get("Item")


def assert_storable(document: Any) -> None:
    """DynamoDB strings are UTF-8: a lone surrogate from a JSON escape must not reach one
    (moto stores it anyway; DynamoDB would refuse the write)."""
    json.dumps(document, ensure_ascii=False).encode("utf-8")


def assert_one_recorded_answer(
    event: dict[str, Any], home_id: str | None, raw: bytes
) -> dict[str, Any]:
    """Invoke twice (a redelivery); exactly one order or one rejection either way."""
    thing = event["thing_name"]
    answer = invoke(event)  # raises, and fails the test, if the payload breaks the function
    orders = dependencies().orders.list_by_home(home_id) if home_id else []
    rejections = rejections_of(thing)
    if answer["outcome"] == "rejected":
        assert RejectionReason(answer["reason"]) and answer["detail"]
        [rejection] = rejections
        assert rejection.reason.value == answer["reason"] and rejection.detail
        assert_storable(rejection.model_dump(mode="json"))
        assert orders == []
    else:
        assert answer["outcome"] in ORDER_OUTCOMES, answer
        [order] = orders
        event_id = json.loads(raw)["event_id"]
        assert order.order_id == answer["order_id"] and order.event_ids == [event_id]
        marker = event_marker(thing, event_id)
        assert marker is not None and marker["order_id"]["S"] == order.order_id
        assert_storable(order.model_dump(mode="json"))
        assert rejections == []

    again = invoke(event)
    if answer["outcome"] == "rejected":
        assert again["outcome"] == "rejected" and again["reason"] == answer["reason"]
        assert len(rejections_of(thing)) == 1
    else:
        assert again == {"outcome": "duplicate", "order_id": answer["order_id"]}
        assert len(dependencies().orders.list_by_home(home_id or "")) == 1
    return answer


@pytest.mark.parametrize("kind", KINDS)
def test_every_payload_gets_exactly_one_recorded_answer(household, kind):
    @fuzz_settings
    @given(raw=hostile_payloads(RECEIVED, kind))
    def check(raw: bytes) -> None:
        house = household(auto_approve=False, with_technician=False)
        answer = assert_one_recorded_answer(rule_event(house.thing, raw), house.home.home_id, raw)
        if kind == "valid":
            assert answer["outcome"] == "opened"
        if len(raw) > MAX_PAYLOAD_BYTES:
            assert answer["reason"] == RejectionReason.PAYLOAD_TOO_LARGE.value

    check()


envelope_problems = st.sampled_from(["other_client", "not_base64", "unknown_thing", "no_client"])


@fuzz_settings
@given(problem=envelope_problems, raw=hostile_payloads(RECEIVED, "valid"))
def test_envelope_problems_get_exactly_one_recorded_answer(household, problem, raw):
    house = household(auto_approve=False, with_technician=False)
    event = rule_event(house.thing, raw)
    home_id: str | None = house.home.home_id
    expected = {
        "other_client": RejectionReason.IDENTITY_MISMATCH,
        "not_base64": RejectionReason.MALFORMED_JSON,
        "unknown_thing": RejectionReason.UNKNOWN_THING,
    }.get(problem)
    if problem == "other_client":
        event["client_id"] = f"{house.thing}-impostor"
    elif problem == "not_base64":
        event["raw"] = raw.decode()  # JSON text where the rule puts base64
    elif problem == "unknown_thing":
        ghost = f"ghost-{uuid.uuid4().hex[:8]}"
        event = rule_event(ghost, raw)
        home_id = None
    else:
        event["client_id"] = None  # a rule without clientid(): identity from the topic alone
    answer = assert_one_recorded_answer(event, home_id, raw)
    if expected is None:
        assert answer["outcome"] == "opened"
    else:
        assert answer["reason"] == expected.value


def test_a_lone_surrogate_in_the_event_id_is_recorded_as_a_rejection(household):
    # Found by the fuzzer: the JSON escape decodes to a lone surrogate, which the rejection
    # record then carried (event id, detail) into a store that takes UTF-8 only.
    house = household(auto_approve=False, with_technician=False)
    raw = (
        b'{"schema": "fault/1", "event_id": "\\udfff", "occurred_at": "2026-03-02T09:00:00Z",'
        b' "fault_code": "E18", "firmware": "1.0", "telemetry": {}}'
    )
    answer = assert_one_recorded_answer(rule_event(house.thing, raw), house.home.home_id, raw)
    assert answer["reason"] == RejectionReason.SCHEMA_VIOLATION.value
    [rejection] = rejections_of(house.thing)
    assert rejection.event_id == "\\udfff"
