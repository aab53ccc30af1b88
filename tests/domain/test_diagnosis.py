"""Diagnosis: priors x telemetry likelihood ratios, and triage of bad input."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from functions.domain.catalog import Catalog, default_catalog
from functions.domain.diagnosis import UNKNOWN_CAUSE_DESCRIPTION, diagnose
from functions.domain.learning import LearnedCounts, counts_key, record_outcome
from schemas.orders import TriageFlag, TriageReason, Urgency
from schemas.registry import Appliance, Category
from tests.factories import fault_event as event
from tests.factories import present


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


def appliance(
    maker: str = "Bosch", model: str = "WAT28401GB", category: Category = Category.WASHER
) -> Appliance:
    return Appliance(
        thing_name="t1",
        home_id="h1",
        manufacturer=maker,
        model=model,
        category=category,
        serial="s1",
        installed_on=date(2023, 1, 1),
    )


def boiler() -> Appliance:
    return appliance("Vaillant", "ecoTEC plus 832", Category.BOILER)


def test_given_no_telemetry_then_causes_follow_the_catalog_prior(catalog: Catalog) -> None:
    dx = diagnose(catalog, appliance(), event())
    assert dx.known_code and dx.title == "Water does not drain"
    assert dx.causes[0].cause_id == "filter_blocked"
    assert sum(c.probability for c in dx.causes) == pytest.approx(1.0)
    assert dx.confidence == pytest.approx(dx.causes[0].probability)
    assert dx.self_fix and dx.safety_advice and dx.required_skill is Category.WASHER


def test_given_a_dead_drain_pump_then_pump_failure_ranks_first_with_evidence(
    catalog: Catalog,
) -> None:
    dx = diagnose(catalog, appliance(), event(drain_pump_current_a=0.0))
    top = dx.causes[0]
    assert top.cause_id == "pump_failed"
    assert any("drain pump draws no current" in e for e in top.evidence)


def test_given_evidence_then_the_explanation_names_the_cause_the_reading_and_the_runner_up(
    catalog: Catalog,
) -> None:
    dx = diagnose(catalog, appliance(), event(drain_pump_current_a=0.0))
    first, second = dx.causes[0], dx.causes[1]
    assert dx.explanation.startswith(f"Most likely: {first.description} ({first.probability:.0%})")
    assert "because drain pump draws no current (drain_pump_current_a=0.0)" in dx.explanation
    assert f"Also possible: {second.description}" in dx.explanation
    assert "self-fix guide" in dx.explanation  # E18 has one


def test_given_no_telemetry_then_the_explanation_says_the_prior_decided(catalog: Catalog) -> None:
    dx = diagnose(catalog, appliance(), event())
    assert "no telemetry pointed either way" in dx.explanation


def test_given_contradictory_readings_then_the_explanation_says_so(catalog: Catalog) -> None:
    dx = diagnose(catalog, boiler(), event("F28", gas_pressure_mbar=5.0, condensate_blocked=True))
    assert "readings disagree" in dx.explanation


def test_given_an_unknown_code_then_the_explanation_promises_an_inspection(
    catalog: Catalog,
) -> None:
    dx = diagnose(catalog, appliance(), event("E99"))
    assert (
        dx.explanation
        == "We do not recognise fault E99 on this washer: a technician will inspect it."
    )


def test_given_readings_then_the_diagnosis_records_which_conditions_they_met(
    catalog: Catalog,
) -> None:
    dx = diagnose(catalog, appliance(), event(drain_pump_current_a=0.0))
    rules = [r for r in present(catalog.code("Bosch", "WAT28401GB", "E18")).rules]
    assert dx.observations == {
        "drain_pump_current_a": "+".join(sorted({r.when.label for r in rules if r.when.holds(0.0)}))
    }
    assert diagnose(catalog, appliance(), event()).observations == {}


def test_given_outcomes_that_contradict_a_rule_then_its_learned_weight_wins(
    catalog: Catalog,
) -> None:
    # The catalog says a dead drain pump current means the pump failed. Suppose the repairs
    # say otherwise: 60 filters found with exactly that reading, and the pump only when the
    # current looked normal.
    dead = diagnose(catalog, appliance(), event(drain_pump_current_a=0.0))
    normal = diagnose(catalog, appliance(), event(drain_pump_current_a=1.2))
    assert dead.causes[0].cause_id == "pump_failed"
    learned = LearnedCounts()
    key = counts_key("Bosch", present(catalog.family("Bosch", "WAT28401GB")).family, "E18")
    record_outcome(learned, key, "filter_blocked", n=60, observations=dead.observations)
    record_outcome(learned, key, "pump_failed", n=60, observations=normal.observations)

    relearned = diagnose(catalog, appliance(), event(drain_pump_current_a=0.0), learned)

    assert relearned.causes[0].cause_id == "filter_blocked"
    assert any("learned from 120 outcomes" in e for e in relearned.causes[0].evidence)


@pytest.mark.parametrize(
    ("alarm", "said"),
    [
        ("gas_detected", "gas detected at the appliance"),
        ("leak_sensor_wet", "water detected under the appliance"),
    ],
)
@pytest.mark.parametrize("code", ["E18", "E99"], ids=["known_code", "unknown_code"])
def test_given_a_gas_or_leak_alarm_then_any_fault_is_an_emergency(
    catalog: Catalog, alarm: str, said: str, code: str
) -> None:
    assert diagnose(catalog, appliance(), event(code)).urgency is not Urgency.EMERGENCY
    dx = diagnose(catalog, appliance(), event(code, **{alarm: True}))
    assert dx.urgency is Urgency.EMERGENCY
    assert f"{said}: raised to emergency" in dx.notes
    assert dx.safety_advice.startswith(said.split()[0].capitalize())


def test_given_an_alarm_that_is_not_a_bool_then_it_is_ignored_with_one_note(
    catalog: Catalog,
) -> None:
    dx = diagnose(catalog, appliance(), event("E18", leak_sensor_wet="yes", gas_detected=False))
    assert dx.urgency is not Urgency.EMERGENCY
    assert [n for n in dx.notes if "leak_sensor_wet" in n] == [
        "ignored leak_sensor_wet='yes': expected true/false"
    ]


def test_given_outcomes_counted_against_an_old_threshold_then_they_are_not_used(
    catalog: Catalog,
) -> None:
    learned = LearnedCounts()
    key = counts_key("Bosch", present(catalog.family("Bosch", "WAT28401GB")).family, "E18")
    stale = {"drain_pump_current_a": "<0.3"}  # a threshold the catalog no longer has
    record_outcome(learned, key, "filter_blocked", n=500, observations=stale)
    dx = diagnose(catalog, appliance(), event(drain_pump_current_a=0.0), learned)
    evidence = [e for c in dx.causes for e in c.evidence]
    assert not any("learned from" in e for e in evidence)
    assert "drain pump draws no current (drain_pump_current_a=0.0): x6" in evidence


def test_given_telemetry_of_the_wrong_type_then_it_is_ignored_with_a_note(catalog: Catalog) -> None:
    plain = diagnose(catalog, appliance(), event())
    dx = diagnose(catalog, appliance(), event(drain_pump_current_a="zero"))
    assert [c.probability for c in dx.causes] == [c.probability for c in plain.causes]
    assert any("drain_pump_current_a" in n and "number" in n for n in dx.notes)


def test_given_a_physically_impossible_reading_then_it_is_ignored_with_a_note(
    catalog: Catalog,
) -> None:
    dx = diagnose(catalog, appliance(), event(drain_pump_current_a=900.0))
    assert dx.causes[0].cause_id == "filter_blocked"
    assert any("physical range" in n for n in dx.notes)


def test_given_a_bool_where_a_number_is_expected_then_it_is_ignored(catalog: Catalog) -> None:
    dx = diagnose(catalog, appliance(), event(drain_pump_current_a=True))
    assert any("drain_pump_current_a" in n for n in dx.notes)


def test_given_contradictory_rules_then_noted_and_confidence_lowered(catalog: Catalog) -> None:
    # F28: low gas pressure points at the supply, a blocked condensate trap at frost.
    dx = diagnose(catalog, boiler(), event("F28", gas_pressure_mbar=5.0, condensate_blocked=True))
    assert any(n.startswith("contradictory evidence") for n in dx.notes)
    assert dx.confidence < dx.causes[0].probability


def test_given_an_unknown_model_then_triage_with_generic_cause(catalog: Catalog) -> None:
    dx = diagnose(catalog, appliance(model="ZZ999"), event())
    assert not dx.known_code
    assert dx.causes[0].description == UNKNOWN_CAUSE_DESCRIPTION
    assert dx.urgency is Urgency.NORMAL and dx.required_skill is Category.WASHER
    assert dx.triage_reasons == [
        TriageFlag(reason=TriageReason.UNKNOWN_MODEL, detail="Bosch ZZ999")
    ]


def test_given_an_unknown_manufacturer_then_both_reasons_are_given(catalog: Catalog) -> None:
    dx = diagnose(catalog, appliance(maker="Acme", model="X1"), event())
    assert [(t.reason, t.detail) for t in dx.triage_reasons] == [
        (TriageReason.UNKNOWN_MANUFACTURER, "Acme"),
        (TriageReason.UNKNOWN_MODEL, "Acme X1"),
    ]


def test_given_an_unknown_code_then_triage(catalog: Catalog) -> None:
    dx = diagnose(catalog, appliance(), event("E99"))
    assert not dx.known_code
    [flag] = dx.triage_reasons
    assert flag.reason is TriageReason.UNKNOWN_CODE and "E99" in flag.detail


def test_given_a_water_leak_code_then_emergency(catalog: Catalog) -> None:
    dx = diagnose(catalog, appliance(), event("E23"))
    assert dx.urgency is Urgency.EMERGENCY


def test_given_no_heat_in_freezing_weather_then_emergency(catalog: Catalog) -> None:
    mild = diagnose(catalog, boiler(), event("F28", outdoor_temp_c=8.0))
    frost = diagnose(catalog, boiler(), event("F28", outdoor_temp_c=-4.0))
    assert mild.urgency is Urgency.HIGH
    assert frost.urgency is Urgency.EMERGENCY
    assert dx_certs_copied(frost)


def dx_certs_copied(dx: Any) -> bool:
    return "gas_safe" in dx.certifications


def test_given_learned_outcomes_then_the_ranking_follows_them(catalog: Catalog) -> None:
    learned = LearnedCounts()
    record_outcome(learned, counts_key("Bosch", "serie6_washer", "E18"), "hose_kinked", n=200)
    dx = diagnose(catalog, appliance(), event(), learned)
    assert dx.causes[0].cause_id == "hose_kinked"
    assert any("200 confirmed outcomes" in n for n in dx.notes)


def test_given_a_broken_catalog_object_then_diagnose_still_answers() -> None:
    dx = diagnose(None, appliance(), event())  # type: ignore[arg-type]
    assert not dx.known_code
    assert [t.reason for t in dx.triage_reasons] == [TriageReason.DIAGNOSIS_FAILED]


def test_a_failed_diagnosis_is_handed_to_the_caller_not_hidden() -> None:
    failures: list[Exception] = []
    dx = diagnose(None, appliance(), event(), on_error=failures.append)  # type: ignore[arg-type]
    [error] = failures
    assert isinstance(error, AttributeError) and error.__traceback__ is not None
    assert dx.triage_reasons[0].detail.startswith("AttributeError")


def test_a_diagnosis_that_works_reports_no_error(catalog: Catalog) -> None:
    failures: list[Exception] = []
    diagnose(catalog, appliance(model="ZZ999"), event(), on_error=failures.append)
    assert failures == []  # an unknown model is triage, not a failure


@pytest.mark.parametrize(
    "reading",
    [10**400, -(10**400), float("inf"), float("nan")],
    ids=["huge", "-huge", "inf", "nan"],
)
def test_given_a_reading_no_float_holds_then_it_is_ignored_with_a_note(
    catalog: Catalog, reading: Any
) -> None:
    dx = diagnose(catalog, appliance(), event(drain_pump_current_a=reading))
    plain = diagnose(catalog, appliance(), event())
    assert dx.known_code and not dx.triage_reasons
    assert [c.cause_id for c in dx.causes] == [c.cause_id for c in plain.causes]
    [note] = [n for n in dx.notes if "drain_pump_current_a" in n]
    assert note.endswith("expected a finite number")
    if isinstance(reading, int):
        assert "401-digit integer" in note


@pytest.mark.parametrize(
    "corrupt",
    [-5, 10**400, 10**10, float("inf"), float("nan"), 2.5, True, "7"],
    ids=["negative", "huge", "over-cap", "inf", "nan", "fraction", "bool", "text"],
)
def test_given_corrupted_learned_counts_then_they_are_ignored_with_a_note(
    catalog: Catalog, corrupt: Any
) -> None:
    key = counts_key("Bosch", present(catalog.family("Bosch", "WAT28401GB")).family, "E18")
    learned = LearnedCounts(
        counts={key: {"pump_failed": corrupt, "no_such_cause": 3}},
        evidence={key: {"drain_pump_current_a": {"none": {"filter_blocked": corrupt}}}},
    )
    dx = diagnose(catalog, appliance(), event(drain_pump_current_a=1.2), learned)
    plain = diagnose(catalog, appliance(), event(drain_pump_current_a=1.2))
    assert dx.known_code and not dx.triage_reasons
    assert [c.cause_id for c in dx.causes] == [c.cause_id for c in plain.causes]
    ignored = [n for n in dx.notes if n.startswith("ignored learned count")]
    assert any("pump_failed" in n and "not a whole number" in n for n in ignored)
    assert any("filter_blocked" in n for n in ignored)
    assert any("no_such_cause=3: not a cause of this code" in n for n in ignored)


@pytest.mark.parametrize("pseudo", [float("nan"), float("inf"), -1.0, 0.0])
def test_given_a_corrupted_pseudo_count_then_the_default_is_used(
    catalog: Catalog, pseudo: float
) -> None:
    key = counts_key("Bosch", present(catalog.family("Bosch", "WAT28401GB")).family, "E18")
    learned = LearnedCounts(counts={key: {"pump_failed": 5}}, pseudo_count=pseudo)
    dx = diagnose(catalog, appliance(), event(drain_pump_current_a=1.2), learned)
    assert dx.known_code and not dx.triage_reasons
    assert any("ignored learned pseudo-count" in n for n in dx.notes)
    assert abs(sum(c.probability for c in dx.causes) - 1) < 1e-9
