"""Benchmark: first-time-fix rate and kit cost of diagnosis + kit selection on simulated faults.

The simulated world deliberately disagrees with the catalog: each code's true cause mix is a
seeded Dirichlet draw around the catalog priors. Telemetry is generated from the true cause
through the catalog's own rules (their likelihood ratios set how often each reading lands in
each rule's region), with sensor noise, missing readings and the odd garbage value.

    python -m bench.diagnosis [--faults N] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from functions.domain.catalog import (
    Catalog,
    CodeEntry,
    ModelFamily,
    Rule,
    TelemetrySpec,
    default_catalog,
    resolve_in_family,
)
from functions.domain.diagnosis import diagnose
from functions.domain.learning import LearnedCounts, counts_key, record_outcome
from functions.domain.parts import VALUE_OF_FIRST_TIME_FIX, select_kit
from schemas.device import FaultEvent
from schemas.registry import Appliance, Category

# Dirichlet concentration around the catalog prior: lower = the world disagrees more.
TRUTH_CONCENTRATION = 4.0
RULE_REGION_BASE = 0.25  # weight of a rule's region for a cause the rule does not mention
P_NO_TELEMETRY = 0.15  # the appliance sent no telemetry at all
P_READING_MISSING = 0.10
P_READING_NOISE = 0.10  # the reading lands in a random region regardless of the cause
P_READING_GARBAGE = 0.02  # physically impossible value: must be ignored, not believed
LEARNING_SIZES = (1_000, 10_000)
# Kit policy: a first-time fix is worth this much (second visit avoided); hard caps as in prod.
VALUE_OF_FIX = VALUE_OF_FIRST_TIME_FIX
MAX_COST = 250.0
VAN_SPACE = 6


@dataclass(frozen=True)
class Case:
    """One (model, fault code) the simulation can produce, with its hidden true cause mix."""

    manufacturer: str
    family: ModelFamily
    entry: CodeEntry
    appliance: Appliance
    truth: dict[str, float]
    needs: dict[str, frozenset[str]]
    costs: dict[str, float]

    @property
    def key(self) -> str:
        return counts_key(self.manufacturer, self.family.family, self.entry.code)


def _dirichlet(rng: random.Random, alphas: Sequence[float]) -> list[float]:
    draws = [rng.gammavariate(max(a, 1e-3), 1.0) for a in alphas]
    total = sum(draws) or 1.0
    return [d / total for d in draws]


def build_cases(catalog: Catalog, rng: random.Random) -> list[Case]:
    cases = []
    for maker_name in catalog.manufacturers:
        maker = catalog.manufacturer(maker_name)
        assert maker is not None
        for fam in maker.families:
            model = fam.models[0]
            appliance = Appliance(
                thing_name=f"bench-{fam.family}",
                home_id="bench-home",
                manufacturer=maker.manufacturer,
                model=model,
                category=Category(fam.category),
                serial="0",
                installed_on=date(2022, 1, 1),
            )
            for entry in fam.codes:
                probs = _dirichlet(rng, [c.prior * TRUTH_CONCENTRATION for c in entry.causes])
                needs, costs = {}, {}
                for cause in entry.causes:
                    parts = [resolve_in_family(fam, pn) for pn in cause.parts]
                    needs[cause.cause_id] = frozenset(p.part_number for p in parts if p)
                    costs[cause.cause_id] = sum(p.price for p in parts if p)
                truth = {c.cause_id: p for c, p in zip(entry.causes, probs, strict=True)}
                cases.append(Case(maker.manufacturer, fam, entry, appliance, truth, needs, costs))
    return cases


def _draw(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _value_in(rng: random.Random, rule: Rule, spec: TelemetrySpec) -> bool | float | str:
    cond = rule.when
    if cond.eq is not None:
        return cond.eq
    upper = cond.lt if cond.lt is not None else cond.le
    lower = cond.gt if cond.gt is not None else cond.ge
    if upper is not None:
        floor = spec.min if spec.min is not None else upper - 10
        return max(floor, upper - abs(rng.gauss(0, max(abs(upper) * 0.5, 0.02))))
    assert lower is not None
    ceiling = spec.max if spec.max is not None else lower + 10
    return min(ceiling, lower + abs(rng.gauss(0, max(abs(lower) * 0.5, 1.0))) + 1e-6)


def _value_outside(
    rng: random.Random, rules: list[Rule], spec: TelemetrySpec
) -> bool | float | str | None:
    """A reading that meets none of the rules (the 'nothing unusual' region)."""
    if spec.kind == "bool":
        fired = {r.when.eq for r in rules}
        return next((v for v in (True, False) if v not in fired), None)
    thresholds = [
        t for r in rules for t in (r.when.lt, r.when.le, r.when.gt, r.when.ge) if t is not None
    ]
    low, high = min(thresholds), max(thresholds)
    span = max(abs(high) * 0.6, 1.0)
    lo = low - span if spec.min is None else max(spec.min, low - span)
    hi = high + span if spec.max is None else min(spec.max, high + span)
    for _ in range(30):
        value = rng.uniform(lo, hi)
        if not any(r.when.holds(value) for r in rules):
            return value
    return None


def simulate_telemetry(
    rng: random.Random, catalog: Catalog, entry: CodeEntry, true_cause: str
) -> dict[str, bool | float | str]:
    if rng.random() < P_NO_TELEMETRY:
        return {}
    by_name: dict[str, list[Rule]] = {}
    for rule in entry.rules:
        by_name.setdefault(rule.telemetry, []).append(rule)
    telemetry: dict[str, bool | float | str] = {}
    for name, rules in by_name.items():
        spec = catalog.telemetry_spec(name)
        if spec is None or rng.random() < P_READING_MISSING:
            continue
        # Region weights follow the rules' likelihood ratios for the true cause.
        weights = {
            str(i): RULE_REGION_BASE * r.favours.get(true_cause, 1.0) for i, r in enumerate(rules)
        }
        quiet = 1.0
        for r in rules:
            quiet *= r.otherwise.get(true_cause, 1.0)
        weights["none"] = quiet
        if rng.random() < P_READING_NOISE:
            weights = dict.fromkeys(weights, 1.0)
        region = _draw(rng, weights)
        value = (
            _value_outside(rng, rules, spec)
            if region == "none"
            else _value_in(rng, rules[int(region)], spec)
        )
        if value is None:
            continue
        if spec.kind == "number" and rng.random() < P_READING_GARBAGE:
            value = (spec.max or 0) * 10 + 999
        telemetry[name] = value
    return telemetry


def _learn(rng: random.Random, cases: list[Case], n: int) -> LearnedCounts:
    counts = LearnedCounts()
    for _ in range(n):
        case = rng.choice(cases)
        record_outcome(counts, case.key, _draw(rng, case.truth))
    return counts


def run(n_faults: int = 5000, seed: int = 7, value_of_fix: float | None = None) -> dict:
    """Simulate `n_faults` faults and compare the baseline with telemetry + learning."""
    value_of_fix = VALUE_OF_FIX if value_of_fix is None else value_of_fix
    started = time.perf_counter()
    catalog = default_catalog()
    rng = random.Random(seed)
    cases = build_cases(catalog, rng)
    faults = []
    for i in range(n_faults):
        case = rng.choice(cases)
        cause = _draw(rng, case.truth)
        event = FaultEvent.model_validate(
            {
                "event_id": f"bench-{i}",
                "occurred_at": datetime(2025, 1, 1, tzinfo=UTC),
                "fault_code": case.entry.code,
                "firmware": "1.0",
                "telemetry": simulate_telemetry(rng, catalog, case.entry, cause),
            }
        )
        faults.append((case, cause, event))

    results: dict[str, dict] = {"baseline_top_prior": _baseline(faults)}
    learned_sets: list[tuple[str, LearnedCounts | None]] = [("telemetry", None)]
    learned_sets += [(f"telemetry_learned_{n}", _learn(rng, cases, n)) for n in LEARNING_SIZES]
    for label, learned in learned_sets:
        results[label] = _evaluate(catalog, faults, learned, value_of_fix)
    base_cost = results["baseline_top_prior"]["mean_kit_cost"]
    for figures in results.values():
        figures["cost_vs_baseline"] = (
            round(figures["mean_kit_cost"] / base_cost, 3) if base_cost else None
        )
    return {
        "faults": n_faults,
        "seed": seed,
        "codes": len(cases),
        "policy": {"value_of_fix": value_of_fix, "max_cost": MAX_COST, "van_space": VAN_SPACE},
        "results": results,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _baseline(faults: list[tuple[Case, str, FaultEvent]]) -> dict:
    fixed, cost = 0, 0.0
    for case, cause, _ in faults:
        top = max(case.entry.causes, key=lambda c: c.prior).cause_id
        fixed += case.needs[cause] <= case.needs[top]
        cost += case.costs[top]
    return _figures(fixed, cost, len(faults))


def _evaluate(
    catalog: Catalog,
    faults: list[tuple[Case, str, FaultEvent]],
    learned: LearnedCounts | None,
    value_of_fix: float,
) -> dict:
    fixed, cost, predicted, top_right = 0, 0.0, 0.0, 0
    for case, cause, event in faults:
        dx = diagnose(catalog, case.appliance, event, learned)
        kit = select_kit(
            catalog,
            case.appliance,
            dx,
            max_cost=MAX_COST,
            van_space=VAN_SPACE,
            value_of_fix=value_of_fix,
        )
        carried = {p.part_number for p in kit.parts}
        fixed += case.needs[cause] <= carried
        cost += kit.total_cost
        predicted += kit.fix_probability
        top_right += dx.causes[0].cause_id == cause
    figures = _figures(fixed, cost, len(faults))
    figures["predicted_fix_rate"] = round(predicted / len(faults), 4)
    figures["top_cause_accuracy"] = round(top_right / len(faults), 4)
    return figures


def _figures(fixed: int, cost: float, n: int) -> dict:
    return {"first_time_fix": round(fixed / n, 4), "mean_kit_cost": round(cost / n, 2)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--faults", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--value-of-fix",
        type=float,
        default=VALUE_OF_FIX,
        help="money a first-time fix saves: trades kit cost for fix rate",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    report = run(args.faults, args.seed, args.value_of_fix)
    if args.json:
        print(json.dumps(report, sort_keys=True))
        return 0
    print(
        f"{report['faults']} faults over {report['codes']} codes, seed {report['seed']}, "
        f"{report['seconds']} s, policy {report['policy']}"
    )
    header = f"{'strategy':<28}{'first-time fix':>16}{'mean kit cost':>15}{'x baseline':>12}"
    print(header)
    print("-" * len(header))
    for name, fig in report["results"].items():
        print(
            f"{name:<28}{fig['first_time_fix']:>16.1%}{fig['mean_kit_cost']:>15.2f}"
            f"{fig['cost_vs_baseline'] or 0:>12.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
