import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.domain.approval import approval_decision, open_order
from functions.domain.errors import RejectedInput
from functions.domain.intake import (
    MAX_CLOCK_SKEW,
    MAX_EVENT_AGE,
    parse_fault,
    payload_bytes,
)
from schemas.device import FaultEvent, IngestEvent
from schemas.orders import (
    OrderStatus,
    PartSelection,
    RejectionReason,
    TriageFlag,
    TriageReason,
    Urgency,
)
from schemas.registry import ApprovalPolicy
from tests.factories import NOW, a_diagnosis, a_fault, a_home, an_appliance

VALID = {
    "event_id": "evt-1",
    "occurred_at": "2026-03-02T09:00:00Z",
    "fault_code": "E18",
    "firmware": "1.0",
    "telemetry": {"drain_pump_current_a": 0.0},
}


# The broker received VALID a second after it occurred.
RECEIVED = datetime(2026, 3, 2, 9, 0, 1, tzinfo=UTC)


def ingest_of(
    raw: bytes,
    thing: str = "washer-1",
    client_id: str | None = "washer-1",
    received: datetime = RECEIVED,
) -> IngestEvent:
    return IngestEvent(
        raw=base64.b64encode(raw).decode(),
        thing_name=thing,
        client_id=client_id,
        topic=f"dt/repair/{thing}/fault",
        received_at=round(received.timestamp() * 1000),
    )


def parse(raw: bytes, **kw: Any) -> FaultEvent:
    ingest = ingest_of(raw, **kw)
    return parse_fault(ingest, payload_bytes(ingest))


def test_a_valid_payload_parses():
    event = parse(json.dumps(VALID).encode())
    assert event.fault_code == "E18" and event.telemetry["drain_pump_current_a"] == 0.0


@pytest.mark.parametrize(
    ("raw", "reason", "detail_part"),
    [
        (b'{"event_id": "e1", "fault', RejectionReason.MALFORMED_JSON, "not valid JSON"),
        (b"\xff\xfe", RejectionReason.MALFORMED_JSON, "not valid JSON"),
        (b"[1, 2]", RejectionReason.MALFORMED_JSON, "expected a JSON object"),
        # Found by the fuzzer: both used to escape as exceptions and fail the invocation.
        (b'{"event_id": ' + b"9" * 4301 + b"}", RejectionReason.MALFORMED_JSON, "4300 digits"),
        (b"[" * 2000 + b"]" * 2000, RejectionReason.MALFORMED_JSON, "recursion"),
        (
            json.dumps({**VALID, "fault_code": None}).encode(),
            RejectionReason.SCHEMA_VIOLATION,
            "fault_code",
        ),
        (
            json.dumps({k: v for k, v in VALID.items() if k != "occurred_at"}).encode(),
            RejectionReason.SCHEMA_VIOLATION,
            "occurred_at: Field required",
        ),
        (
            json.dumps({**VALID, "occurred_at": "2026-03-02T09:00:00"}).encode(),
            RejectionReason.SCHEMA_VIOLATION,
            "timezone",
        ),
        (
            json.dumps({**VALID, "manufacturer": "Spoof"}).encode(),
            RejectionReason.SCHEMA_VIOLATION,
            "manufacturer: Extra inputs are not permitted",
        ),
        (
            json.dumps({**VALID, "pad": "x" * 17000}).encode(),
            RejectionReason.PAYLOAD_TOO_LARGE,
            "16384-byte limit",
        ),
    ],
)
def test_bad_payloads_are_rejected_with_a_reason(raw, reason, detail_part):
    with pytest.raises(RejectedInput) as rejected:
        parse(raw)
    assert rejected.value.reason is reason
    assert detail_part in rejected.value.detail


def test_schema_violation_keeps_the_event_id_for_the_operator():
    with pytest.raises(RejectedInput) as rejected:
        parse(json.dumps({**VALID, "firmware": ""}).encode())
    assert rejected.value.event_id == "evt-1"


def test_a_lone_surrogate_is_kept_as_an_escape_so_the_rejection_can_be_stored():
    # Found by the fuzzer (see tests/functions/test_ingest_fuzz.py).
    raw = json.dumps({**VALID, "event_id": "\udfff", "telemetry": {"x\ud800": 1}}).encode()
    with pytest.raises(RejectedInput) as rejected:
        parse(raw)
    assert rejected.value.event_id == "\\udfff"
    assert "telemetry.x" in rejected.value.detail
    rejected.value.detail.encode("utf-8")  # no UnicodeEncodeError


def test_a_client_publishing_on_another_things_topic_is_rejected():
    with pytest.raises(RejectedInput) as rejected:
        parse(json.dumps(VALID).encode(), client_id="dryer-9")
    assert rejected.value.reason is RejectionReason.IDENTITY_MISMATCH


def occurring(at: datetime) -> bytes:
    return json.dumps({**VALID, "occurred_at": at.isoformat()}).encode()


@pytest.mark.parametrize(
    "occurred",
    [RECEIVED + MAX_CLOCK_SKEW, RECEIVED - MAX_EVENT_AGE, RECEIVED],
    ids=["skew_at_the_limit", "age_at_the_limit", "on_time"],
)
def test_an_event_inside_the_time_window_parses(occurred):
    assert parse(occurring(occurred)).occurred_at == occurred


@pytest.mark.parametrize(
    ("occurred", "reason"),
    [
        (RECEIVED + MAX_CLOCK_SKEW + timedelta(milliseconds=1), RejectionReason.CLOCK_SKEW),
        (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), RejectionReason.CLOCK_SKEW),
        (RECEIVED - MAX_EVENT_AGE - timedelta(milliseconds=1), RejectionReason.STALE_EVENT),
        (datetime(1970, 1, 1, tzinfo=UTC), RejectionReason.STALE_EVENT),
    ],
    ids=["just_ahead", "far_future", "just_too_old", "clock_reset_to_epoch"],
)
def test_an_event_outside_the_time_window_is_rejected_with_its_event_id(occurred, reason):
    with pytest.raises(RejectedInput) as rejected:
        parse(occurring(occurred))
    assert rejected.value.reason is reason and rejected.value.event_id == "evt-1"


def test_the_time_window_is_measured_against_the_broker_not_a_later_retry():
    # The same delivery gets the same answer however late it is processed (retries, DLQ):
    # measured against today's clock, this March event would be long stale.
    late_retry = ingest_of(occurring(RECEIVED), received=RECEIVED)
    assert parse_fault(late_retry, payload_bytes(late_retry)).event_id == "evt-1"


def test_the_age_limit_stays_inside_the_event_markers_lifetime():
    # A redelivery after its marker expired must be rejected as stale, not open an order.
    from functions.dal.events import EVENT_MARKER_TTL_SECONDS

    assert timedelta(seconds=EVENT_MARKER_TTL_SECONDS) > MAX_EVENT_AGE


def test_payload_that_is_not_base64_is_rejected():
    ingest = IngestEvent(raw="%%%", thing_name="t", topic="dt/repair/t/fault", received_at=0)
    with pytest.raises(RejectedInput) as rejected:
        payload_bytes(ingest)
    assert rejected.value.reason is RejectionReason.MALFORMED_JSON


def open_for(home_policy: ApprovalPolicy, **diagnosis_fields):
    return open_order(
        appliance=an_appliance(),
        home=a_home(policy=home_policy),
        event=a_fault(),
        diagnosis=a_diagnosis(**diagnosis_fields),
        parts=PartSelection(total_cost=120.0),
        published_at=NOW,
        now=NOW,
    )


def test_auto_approval_policy_approves_and_says_so_in_the_history():
    order = open_for(ApprovalPolicy(auto_approve=True, max_auto_cost=200))
    assert order.status is OrderStatus.APPROVED
    assert [t.to_status for t in order.history] == [
        OrderStatus.AWAITING_APPROVAL,
        OrderStatus.APPROVED,
    ]
    assert order.history[-1].by == "policy"
    assert order.under_warranty


def test_without_a_policy_the_order_waits_for_the_homeowner():
    assert open_for(ApprovalPolicy(auto_approve=False)).status is OrderStatus.AWAITING_APPROVAL


def test_over_the_cost_limit_waits_unless_it_is_an_emergency():
    policy = ApprovalPolicy(auto_approve=True, max_auto_cost=100)
    assert open_for(policy).status is OrderStatus.AWAITING_APPROVAL
    assert open_for(policy, urgency=Urgency.EMERGENCY).status is OrderStatus.APPROVED


def test_a_self_fix_guide_holds_the_order_even_with_auto_approval():
    order = open_for(ApprovalPolicy(auto_approve=True), self_fix="Clean the drain filter")
    assert order.status is OrderStatus.AWAITING_APPROVAL
    assert "self-fix" in order.history[0].reason


def test_unknown_code_opens_an_order_flagged_for_triage():
    unknown = TriageFlag(reason=TriageReason.UNKNOWN_CODE, detail="Z9")
    order = open_for(ApprovalPolicy(auto_approve=False), known_code=False, triage_reasons=[unknown])
    assert order.needs_triage and order.triage_reasons == [unknown]


def test_approval_decision_explains_itself():
    reason = approval_decision(
        a_home(policy=ApprovalPolicy(auto_approve=True, max_auto_cost=500)),
        a_diagnosis(),
        PartSelection(total_cost=120.0),
    )
    assert reason == "auto-approval policy: estimate 120.00 <= 500.00"
