"""The ingest Lambda against the emulator: every outcome, the races and the retries."""

from __future__ import annotations

import json
import threading
import uuid
from contextvars import copy_context
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from functions.common.wiring import dependencies
from functions.domain.catalog import default_catalog
from functions.domain.diagnosis import diagnose
from functions.domain.parts import VALUE_OF_FIRST_TIME_FIX, select_kit
from schemas.device import FaultEvent
from schemas.orders import OrderStatus, RejectionReason, TriageReason
from tests.factories import present
from tests.functions.conftest import published_status
from tests.functions.events import codes_of, event_for, fault, invoke, waiting_codes


def rejections_of(thing: str):
    today = datetime.now(UTC).date()
    return [
        r for r in dependencies().rejections.list_day(today, limit=1000) if r.thing_name == thing
    ]


def test_a_new_fault_on_an_auto_approving_home_is_dispatched(household):
    # Given a home whose policy approves, with a technician nearby
    house = household()
    code = codes_of(house.appliance, self_fix=False)[0]
    # When the appliance reports a fault
    answer = invoke(event_for(house.thing, fault(code)))
    # Then the order is dispatched to that technician, with its history and parts
    assert answer["outcome"] == "dispatched"
    order = present(dependencies().orders.get(answer["order_id"]))
    assert order.status is OrderStatus.DISPATCHED
    assert present(order.offer).technician_id == house.technician_id
    assert [t.to_status for t in order.history] == [
        OrderStatus.AWAITING_APPROVAL,
        OrderStatus.APPROVED,
        OrderStatus.OFFERED,
        OrderStatus.DISPATCHED,
    ]
    assert order.parts.parts, "a known code pre-selects parts"
    assert present(dependencies().technicians.get(house.technician_id)).active_orders == 1
    # And the appliance was told when the order opened and when it was dispatched
    statuses = [json.loads(p)["status"] for p in published_status(house.thing)]
    assert statuses == ["approved", "dispatched"]


def test_a_home_without_a_policy_waits_for_approval(household):
    house = household(auto_approve=False)
    answer = invoke(event_for(house.thing, fault(waiting_codes(house.appliance)[0])))
    assert answer["outcome"] == "opened"
    assert (
        present(dependencies().orders.get(answer["order_id"])).status
        is OrderStatus.AWAITING_APPROVAL
    )
    assert [json.loads(p)["status"] for p in published_status(house.thing)] == ["awaiting_approval"]


def test_a_self_fixable_fault_sends_the_guide_and_holds_the_truck(household):
    house = household()
    answer = invoke(event_for(house.thing, fault(codes_of(house.appliance, self_fix=True)[0])))
    order = present(dependencies().orders.get(answer["order_id"]))
    assert order.status is OrderStatus.AWAITING_APPROVAL and order.offer is None
    assert "self-fix" in json.loads(published_status(house.thing)[0])["display"]


def test_a_duplicate_delivery_never_opens_a_second_order(household):
    house = household()
    event = event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0]))
    first = invoke(event)
    again = invoke(event)
    assert again == {"outcome": "duplicate", "order_id": first["order_id"]}
    assert len(dependencies().orders.list_by_home(house.home.home_id)) == 1
    assert len(published_status(house.thing)) == 2  # nothing more sent for the duplicate


def test_racing_deliveries_of_one_event_open_exactly_one_order(household):
    house = household()
    event = event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0]))
    answers: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=copy_context().run, args=(lambda: answers.append(invoke(event)),))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes = sorted(a["outcome"] for a in answers)
    assert outcomes.count("dispatched") == 1 and outcomes.count("duplicate") == 5
    assert len({a["order_id"] for a in answers}) == 1
    assert len(dependencies().orders.list_by_home(house.home.home_id)) == 1
    assert present(dependencies().technicians.get(house.technician_id)).active_orders == 1


def test_a_repeat_of_an_open_fault_counts_on_the_open_order(household):
    house = household(auto_approve=False)
    code = codes_of(house.appliance, self_fix=False)[0]
    first = invoke(event_for(house.thing, fault(code)))
    repeat = invoke(event_for(house.thing, fault(code)))
    assert repeat == {"outcome": "occurrence", "order_id": first["order_id"]}
    order = present(dependencies().orders.get(first["order_id"]))
    assert order.occurrences == 2 and len(order.event_ids) == 2


def test_an_unknown_code_opens_an_order_flagged_for_triage(household):
    house = household(auto_approve=False)
    answer = invoke(event_for(house.thing, fault("Z999")))
    order = present(dependencies().orders.get(answer["order_id"]))
    assert order.needs_triage
    [flag] = order.triage_reasons
    assert flag.reason is TriageReason.UNKNOWN_CODE and "Z999" in flag.detail


def test_no_eligible_technician_leaves_the_order_approved_for_triage(household):
    house = household(with_technician=False)
    answer = invoke(event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0])))
    assert answer["outcome"] == "no_technician"
    order = present(dependencies().orders.get(answer["order_id"]))
    assert order.status is OrderStatus.APPROVED and order.needs_triage
    assert [r.reason for r in order.triage_reasons] == [TriageReason.NO_TECHNICIAN]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"event_id": "x", "fault_co', RejectionReason.MALFORMED_JSON),
        (
            json.dumps({"event_id": "x", "fault_code": 17}).encode(),
            RejectionReason.SCHEMA_VIOLATION,
        ),
        (json.dumps(fault("E18")).encode() + b" " * 17000, RejectionReason.PAYLOAD_TOO_LARGE),
    ],
)
def test_bad_payloads_are_recorded_for_operators(household, payload, reason):
    house = household()
    answer = invoke(event_for(house.thing, payload))
    assert answer["outcome"] == "rejected" and answer["reason"] == reason.value
    [rejection] = rejections_of(house.thing)
    assert rejection.reason is reason and rejection.detail
    assert dependencies().orders.list_by_home(house.home.home_id) == []


def test_an_unknown_thing_is_recorded_for_operators(aws_stack):
    thing = f"ghost-{uuid.uuid4().hex[:6]}"
    answer = invoke(event_for(thing, fault("E18")))
    assert answer["reason"] == RejectionReason.UNKNOWN_THING.value
    assert [r.reason for r in rejections_of(thing)] == [RejectionReason.UNKNOWN_THING]


def test_a_retry_after_a_crash_finishes_the_dispatch(household, monkeypatch):
    # Given the first attempt crashes after opening the order (status publish fails)
    house = household()
    event = event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0]))
    ingestor = dependencies().fault_ingestor
    real_publisher = ingestor.publisher

    class Flaky:
        def publish(self, thing_name, message):
            raise ConnectionError("iot data plane unreachable")

    monkeypatch.setattr(ingestor, "publisher", Flaky())
    with pytest.raises(ConnectionError):
        invoke(event)
    # When Lambda retries the same event (a minute later, as Lambda does)
    monkeypatch.setattr(ingestor, "publisher", real_publisher)
    monkeypatch.setattr(ingestor, "clock", lambda: datetime.now(UTC) + timedelta(minutes=1))
    answer = invoke(event)
    # Then the retry finishes the work of the first attempt: one order, dispatched
    assert answer["outcome"] == "duplicate"
    [order] = dependencies().orders.list_by_home(house.home.home_id)
    assert order.status is OrderStatus.DISPATCHED
    assert [json.loads(p)["status"] for p in published_status(house.thing)] == [
        "approved",
        "dispatched",
    ]


def test_an_event_not_shaped_like_the_rule_output_fails_the_invocation(aws_stack):
    # A misconfigured rule is an infrastructure fault: Lambda retries, then dead-letters it.
    with pytest.raises(ValidationError):
        invoke({"unexpected": True})


def planned_kit(appliance, code: str) -> list[str]:
    """The part numbers ingest pre-selects for this fault (before stock is known)."""
    catalog = default_catalog()
    diagnosis = diagnose(catalog, appliance, FaultEvent.model_validate(fault(code)))
    kit = select_kit(catalog, appliance, diagnosis, value_of_fix=VALUE_OF_FIRST_TIME_FIX)
    return [p.part_number for p in kit.parts]


def kit_fault(house) -> tuple[str, list[str]]:
    for code in waiting_codes(house.appliance):
        parts = planned_kit(house.appliance, code)
        if parts:
            return code, parts
    raise AssertionError("no code of this model needs parts")


def test_dispatch_reserves_the_kit_from_the_technicians_van(household):
    # Given the technician's van holds two of each part the kit needs
    house = household()
    code, parts = kit_fault(house)
    stock = dependencies().stock
    for part in parts:
        stock.put(part, house.technician_id, 2)
    # When the fault is dispatched
    answer = invoke(event_for(house.thing, fault(code)))
    # Then the kit comes from the van, and one of each is taken out of it
    order = present(dependencies().orders.get(answer["order_id"]))
    assert {p.source.value for p in order.parts.parts} == {"van"}
    seen = dependencies().dispatch_reads.read([house.technician_id], parts)
    van = seen.stock[house.technician_id].van
    assert {part: van[part] for part in parts} == dict.fromkeys(parts, 1)


def test_parts_nobody_has_show_their_lead_time(household):
    house = household()
    code, parts = kit_fault(house)
    dependencies().stock.put(parts[0], "WAREHOUSE", 0, lead_time_days=9)
    answer = invoke(event_for(house.thing, fault(code)))
    order = present(dependencies().orders.get(answer["order_id"]))
    assert order.status is OrderStatus.DISPATCHED
    first = next(p for p in order.parts.parts if p.part_number == parts[0])
    assert first.source.value == "backorder" and first.lead_time_days == 9
    assert order.parts.lead_time_days >= 9


def test_an_order_awaiting_approval_shows_where_its_parts_would_come_from(household):
    # Given a home that approves by hand, and a warehouse out of the kit's first part
    house = household(auto_approve=False)
    code, parts = kit_fault(house)
    stock = dependencies().stock
    stock.put(parts[0], "WAREHOUSE", 0, lead_time_days=6)
    for part in parts[1:]:
        stock.put(part, "WAREHOUSE", 3)
    # When the fault opens an order that waits for the homeowner
    answer = invoke(event_for(house.thing, fault(code)))
    # Then the order already shows the backorder and its lead time, and nothing is reserved
    order = present(dependencies().orders.get(answer["order_id"]))
    assert order.status is OrderStatus.AWAITING_APPROVAL
    sources = {p.part_number: (p.source.value, p.lead_time_days) for p in order.parts.parts}
    assert sources == {
        parts[0]: ("backorder", 6),
        **{part: ("warehouse", 0) for part in parts[1:]},
    }
    assert order.parts.lead_time_days == 6
    warehouse = stock.read_warehouse(parts).warehouse
    assert {part: warehouse.get(part, 0) for part in parts[1:]} == dict.fromkeys(parts[1:], 3)


def test_a_retried_rejection_is_recorded_once(household):
    house = household()
    event = event_for(house.thing, b"definitely not json")
    assert invoke(event)["reason"] == invoke(event)["reason"] == "malformed_json"
    assert len(rejections_of(house.thing)) == 1


@pytest.mark.parametrize("bad_value", ["high", -99999.0], ids=["wrong_type", "out_of_range"])
def test_telemetry_of_the_wrong_type_or_range_is_ignored_with_a_note(household, bad_value):
    # Given a fault code whose diagnosis reads a numeric sensor
    house = household(auto_approve=False)
    catalog = default_catalog()
    appliance = house.appliance
    code, sensor = next(
        (c, rule.telemetry)
        for c in codes_of(appliance, self_fix=False) + codes_of(appliance, self_fix=True)
        for rule in present(catalog.code(appliance.manufacturer, appliance.model, c)).rules
        if present(catalog.telemetry_spec(rule.telemetry)).kind != "bool"
    )
    # When that sensor reports nonsense
    answer = invoke(event_for(house.thing, fault(code, **{sensor: bad_value})))
    # Then the order still opens, and the diagnosis says what it ignored and why
    assert answer["outcome"] == "opened"
    notes = present(dependencies().orders.get(answer["order_id"])).diagnosis.notes
    assert any(note.startswith(f"ignored {sensor}=") for note in notes)


def test_contradictory_readings_are_noted_on_the_order_with_lower_confidence(household):
    # Given a boiler whose F28 readings point at different causes (gas supply vs frozen trap)
    house = household(auto_approve=False, model_category="boiler")
    boiler = house.appliance.model_copy(
        update={"manufacturer": "Vaillant", "model": "ecoTEC plus 832"}
    )
    dependencies().registry.put_home(house.home, [boiler])
    readings: dict[str, Any] = {"gas_pressure_mbar": 5.0, "condensate_blocked": True}
    # When the fault arrives
    answer = invoke(event_for(house.thing, fault("F28", **readings)))
    # Then the order opens, says the evidence disagrees, and trusts its top cause less
    diagnosis = present(dependencies().orders.get(answer["order_id"])).diagnosis
    assert answer["outcome"] == "opened"
    assert any(note.startswith("contradictory evidence") for note in diagnosis.notes)
    assert diagnosis.confidence < diagnosis.causes[0].probability
    assert "readings disagree" in diagnosis.explanation


def test_a_gas_alarm_makes_the_order_an_emergency(household):
    house = household(auto_approve=False)
    code = codes_of(house.appliance, self_fix=False)[0]
    answer = invoke(event_for(house.thing, fault(code, gas_detected=True)))
    diagnosis = present(dependencies().orders.get(answer["order_id"])).diagnosis
    assert diagnosis.urgency.value == "emergency"
    assert diagnosis.safety_advice.startswith("Gas detected")


def test_an_appliance_of_an_unknown_model_gets_an_order_for_triage(household):
    house = household(auto_approve=False)
    odd = house.appliance.model_copy(update={"model": "PROTOTYPE-9"})
    dependencies().registry.put_home(house.home, [odd])
    answer = invoke(event_for(house.thing, fault("E18")))
    order = present(dependencies().orders.get(answer["order_id"]))
    assert order.needs_triage
    assert TriageReason.UNKNOWN_MODEL in [r.reason for r in order.triage_reasons]


def test_a_failing_diagnosis_is_logged_counted_and_sent_to_triage(
    household, monkeypatch, caplog, capsys
):
    # Given diagnosis breaks (a bug, or catalog data it cannot handle)
    def broken(*args, **kwargs):
        raise ZeroDivisionError("prior sums to zero")

    monkeypatch.setattr("functions.domain.diagnosis._diagnose", broken)
    house = household(auto_approve=False)
    # When a fault arrives
    answer = invoke(event_for(house.thing, fault("E18")))
    # Then an order still opens, flagged for triage with what went wrong
    order = present(dependencies().orders.get(answer["order_id"]))
    [flag] = order.triage_reasons
    assert flag.reason is TriageReason.DIAGNOSIS_FAILED and "prior sums to zero" in flag.detail
    # And the failure is logged with its stack trace
    [record] = [r for r in caplog.records if r.message.startswith("diagnosis failed")]
    assert record.levelname == "ERROR" and record.exc_info is not None
    assert "ZeroDivisionError" in caplog.text and "in broken" in caplog.text
    # And counted in a metric (Powertools prints its EMF document when the handler returns)
    emitted = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    counted = {
        metric["Name"]
        for doc in emitted
        for directive in doc["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }
    assert "DiagnosisFailed" in counted and emitted[-1]["DiagnosisFailed"] == [1.0]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 400])
def test_a_non_standard_number_from_a_device_is_a_reading_ignored_with_a_note(household, number):
    # Given a fault whose rules read a sensor, reported with a number no float holds
    house = household(auto_approve=False, with_technician=False)
    catalog = default_catalog()
    code, sensor = next(
        (c, rule.telemetry)
        for c in waiting_codes(house.appliance)
        for rule in present(
            catalog.code(house.appliance.manufacturer, house.appliance.model, c)
        ).rules
        if rule.telemetry not in ("gas_detected", "leak_sensor_wet")
    )
    raw = json.dumps(fault(code, **{sensor: "PLACEHOLDER"})).replace('"PLACEHOLDER"', number)
    # When the device publishes it (non-standard JSON: the documented answer is to accept it)
    answer = invoke(event_for(house.thing, raw.encode()))
    # Then the order opens with a diagnosis of the code, the reading ignored with a note
    assert answer["outcome"] == "opened", answer
    order = present(dependencies().orders.get(answer["order_id"]))
    assert order.diagnosis.known_code and not order.diagnosis.triage_reasons
    assert any(
        n.startswith(f"ignored {sensor}=") and n.endswith("expected a finite number")
        for n in order.diagnosis.notes
    ), order.diagnosis.notes
