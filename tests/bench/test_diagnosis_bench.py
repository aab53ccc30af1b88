"""The diagnosis benchmark's own machinery: the simulated world and the budget search."""

from __future__ import annotations

import json
import random

import pytest

from bench import diagnosis as bench
from functions.domain.catalog import default_catalog
from iot.readings import rules_by_telemetry


@pytest.fixture(scope="module")
def report() -> dict:
    return bench.run(n_faults=300, seed=3)


def test_given_a_run_then_every_strategy_is_reported_against_the_baseline(report: dict) -> None:
    results = report["results"]
    assert list(results) == [
        "baseline_top_prior",
        "telemetry",
        "telemetry_learned_1000",
        "telemetry_learned_10000",
        bench.ORACLE,
    ]
    assert results["baseline_top_prior"]["cost_vs_baseline"] == 1.0
    for figures in results.values():
        assert 0.0 <= figures["first_time_fix"] <= 1.0


def test_given_a_budget_then_the_within_budget_figures_respect_it(report: dict) -> None:
    base_cost = report["results"]["baseline_top_prior"]["mean_kit_cost"]
    for name, figures in report["results"].items():
        if name == "baseline_top_prior":
            continue
        best = figures["within_budget"]
        assert best["mean_kit_cost"] <= base_cost * report["budget_vs_baseline"] + 1e-9
        assert (
            bench.BUDGET_SEARCH_MIN_VALUE <= best["value_of_fix"] <= (bench.BUDGET_SEARCH_MAX_VALUE)
        )


def test_given_the_hidden_world_then_region_likelihoods_are_distributions() -> None:
    catalog = default_catalog()
    case = next(c for c in bench.build_cases(catalog, random.Random(1)) if c.entry.rules)
    for rules in rules_by_telemetry(case.entry).values():
        for cause_id in case.truth:
            assert sum(bench.region_likelihoods(rules, cause_id).values()) == pytest.approx(1.0)
    assert bench.oracle_posterior(case, {}) == pytest.approx(case.truth)  # no evidence: the mix


def test_given_json_then_one_object_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--faults", "100", "--seed", "1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["faults"] == 100 and bench.ORACLE in printed["results"]
