"""Diagnosis under hostile telemetry, from the generators the ingest fuzz test uses: a reading
it cannot use changes nothing, and an alarm always makes an emergency with its advice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.domain.diagnosis import (
    ALARMS,
    _reading_problem,
    diagnose,
)
from schemas.device import FaultEvent
from schemas.orders import Urgency
from schemas.registry import Appliance
from tests.hostile import ALARM_NAMES, CATALOG, reading_values, telemetry_maps, valid_values

domain_settings = settings(max_examples=75, deadline=None, derandomize=True, database=None)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Every listed model with every code whose diagnosis reads telemetry.
CODES_WITH_RULES = [
    (info, code)
    for info in CATALOG.models()
    for code in sorted(info.codes)
    if CATALOG.code(info.manufacturer, info.model, code).rules  # type: ignore[union-attr]
]
CODES_READING_SENSORS = [
    (info, code)
    for info, code in CODES_WITH_RULES
    if {r.telemetry for r in CATALOG.code(info.manufacturer, info.model, code).rules} - set(ALARMS)  # type: ignore[union-attr]
]


def appliance_of(info: Any) -> Appliance:
    return Appliance(
        thing_name="t1",
        home_id="h1",
        manufacturer=info.manufacturer,
        model=info.model,
        category=info.category,
        serial="s1",
        installed_on=NOW.date(),
    )


def fault(code: str, telemetry: dict[str, Any]) -> FaultEvent:
    # model_construct: diagnose must hold up even for values the contract would refuse.
    return FaultEvent.model_construct(
        event_id="e1", occurred_at=NOW, fault_code=code, firmware="1", telemetry=telemetry
    )


@st.composite
def a_fault_with_one_unusable_reading(draw: st.DrawFn) -> tuple[Appliance, str, dict, str, Any]:
    info, code = draw(st.sampled_from(CODES_READING_SENSORS))
    entry = CATALOG.code(info.manufacturer, info.model, code)
    assert entry is not None
    sensors = sorted({rule.telemetry for rule in entry.rules} - set(ALARMS))
    readings = draw(st.fixed_dictionaries({}, optional={name: valid_values for name in sensors}))
    bad_name = draw(st.sampled_from(sensors))
    bad_value = draw(
        reading_values(bad_name).filter(
            lambda v: _reading_problem(v, CATALOG.telemetry[bad_name]) is not None
        )
    )
    return appliance_of(info), code, readings, bad_name, bad_value


@domain_settings
@given(a_fault_with_one_unusable_reading())
def test_one_unusable_reading_never_changes_the_diagnosis_from_the_others(case):
    appliance, code, readings, bad_name, bad_value = case
    others = {k: v for k, v in readings.items() if k != bad_name}
    without = diagnose(CATALOG, appliance, fault(code, others))
    with_bad = diagnose(CATALOG, appliance, fault(code, {**others, bad_name: bad_value}))
    assert with_bad.known_code and not with_bad.triage_reasons
    assert with_bad.causes[0].cause_id == without.causes[0].cause_id
    assert [c.probability for c in with_bad.causes] == [c.probability for c in without.causes]
    assert any(note.startswith(f"ignored {bad_name}=") for note in with_bad.notes)


ANY_APPLIANCE_AND_CODE = st.one_of(
    st.sampled_from(CODES_WITH_RULES),
    st.sampled_from(CATALOG.models()).map(lambda info: (info, "Z999")),  # unknown code
)


@domain_settings
@given(
    target=ANY_APPLIANCE_AND_CODE,
    alarm=st.sampled_from(ALARM_NAMES),
    rest=telemetry_maps,
    unknown_model=st.booleans(),
)
def test_an_alarm_stays_an_emergency_with_its_advice_whatever_else_the_payload_holds(
    target, alarm, rest, unknown_model
):
    info, code = target
    appliance = appliance_of(info)
    if unknown_model:
        appliance = appliance.model_copy(update={"model": "PROTOTYPE-9"})
    diagnosis = diagnose(CATALOG, appliance, fault(code, {**rest, alarm: True}))
    assert diagnosis.urgency is Urgency.EMERGENCY
    assert ALARMS[alarm][1] in diagnosis.safety_advice


@pytest.mark.parametrize("alarm", ALARM_NAMES)
def test_an_alarm_survives_a_diagnosis_that_fails(monkeypatch, alarm):
    # A bug further down must not cost the homeowner the gas or leak advice.
    def broken(*args, **kwargs):
        raise ZeroDivisionError("prior sums to zero")

    monkeypatch.setattr("functions.domain.diagnosis._diagnose", broken)
    info, code = CODES_WITH_RULES[0]
    diagnosis = diagnose(CATALOG, appliance_of(info), fault(code, {alarm: True}))
    assert diagnosis.triage_reasons and diagnosis.urgency is Urgency.EMERGENCY
    assert ALARMS[alarm][1] in diagnosis.safety_advice
