"""Learning from confirmed outcomes."""

from __future__ import annotations

import pytest

from functions.domain.learning import (
    LearnedCounts,
    blended_prior,
    counts_key,
    learned_likelihood,
    record_outcome,
)


def test_counts_key_is_stable_across_spelling() -> None:
    assert counts_key("Bosch ", "serie6_washer", "e18") == counts_key(
        "bosch", "SERIE6_WASHER", "E18"
    )
    assert counts_key("Bosch", "serie6_washer", "E18") == "bosch#serie6_washer#E18"


def test_given_no_outcomes_then_the_catalog_prior_stands() -> None:
    priors = {"a": 0.7, "b": 0.3}
    assert blended_prior(priors, {}) == pytest.approx(priors)


def test_given_outcomes_then_the_prior_shifts_towards_them_gradually() -> None:
    priors = {"a": 0.7, "b": 0.3}
    counts = LearnedCounts()
    key = counts_key("Bosch", "f", "E1")
    for _ in range(20):
        record_outcome(counts, key, "b")
    # (0.3 * 20 + 20) / (20 + 20): half-way from the catalog to the evidence
    blended = blended_prior(priors, counts.for_key(key), counts.pseudo_count)
    assert blended["b"] == pytest.approx(0.65)
    assert sum(blended.values()) == pytest.approx(1.0)
    record_outcome(counts, key, "b", n=1000)
    assert blended_prior(priors, counts.for_key(key))["b"] > 0.98


def test_given_counts_for_a_cause_the_catalog_lacks_then_they_are_ignored() -> None:
    blended = blended_prior({"a": 0.5, "b": 0.5}, {"ghost": 50, "a": 10})
    assert blended["a"] == pytest.approx((10 + 10) / 30)
    assert sum(blended.values()) == pytest.approx(1.0)


# One rule "low": the catalog says it favours `pump` x4 over `filter` when it holds.
LOW = {"pump": 4.0, "filter": 1.0}


def test_given_no_outcomes_then_the_learned_likelihood_keeps_the_catalog_ratio() -> None:
    likelihood = learned_likelihood("low", LOW, {})
    assert likelihood["pump"] / likelihood["filter"] == pytest.approx(4.0)


def test_given_many_outcomes_then_the_likelihood_follows_them() -> None:
    # The outcomes say "low" points at the filter: 80 % of filter repairs read low, 10 % of pumps.
    counts = {"low": {"filter": 800, "pump": 100}, "none": {"filter": 200, "pump": 900}}
    likelihood = learned_likelihood("low", LOW, counts)
    assert likelihood["filter"] == pytest.approx(0.8, abs=0.02)
    assert likelihood["pump"] == pytest.approx(0.1, abs=0.02)


def test_given_outcomes_for_one_cause_only_then_the_other_keeps_the_catalog_shape() -> None:
    likelihood = learned_likelihood("low", LOW, {"low": {"filter": 50}}, pseudo_count=10)
    # filter: (10 * 1 * s + 50) / 60, pump: 10 * 4 * s / 10, with s = 51 / (51 * 1 + 1 * 4):
    # the pump, never confirmed, keeps the catalog's 4:1 shape
    scale = 51 / 55
    assert likelihood["filter"] == pytest.approx((10 * scale + 50) / 60)
    assert likelihood["pump"] == pytest.approx(4 * scale)


def test_recorded_observations_are_counted_per_reading_and_signature() -> None:
    counts = LearnedCounts()
    record_outcome(counts, "k", "pump", observations={"current": "<0.1", "door": "==true"})
    record_outcome(counts, "k", "pump", n=2, observations={"current": "<0.1"})
    assert counts.evidence_for("k", "current") == {"<0.1": {"pump": 3}}
    assert counts.evidence_for("k", "door") == {"==true": {"pump": 1}}
    assert counts.evidence_for("k", "missing") == {}
