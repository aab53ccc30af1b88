"""Learning from confirmed outcomes."""

from __future__ import annotations

import pytest

from functions.domain.learning import LearnedCounts, blended_prior, counts_key, record_outcome


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
