"""Telemetry drawn from the catalog itself: readings consistent with a cause of a fault code.

A fault code's rules split each reading into regions (one per rule, plus "none" where no rule
holds). For a given true cause, a region is drawn with weight proportional to the likelihood
ratio its rule gives that cause, so readings point at the cause about as often as the catalog
says they should. Readings no rule of the code uses come from the healthy range of what the
appliance's category reports. The diagnosis benchmark draws its hidden world the same way.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from functions.domain.catalog.format import CodeEntry, Rule, TelemetrySpec
from functions.domain.catalog.telemetry import reported_by

Reading = bool | float | str
RULE_REGION_BASE = 0.25  # weight of a rule's region for a cause the rule does not mention
NO_REGION = "none"  # the reading meets none of the rules
MAX_DIGITS = 6


def rules_by_telemetry(entry: CodeEntry) -> dict[str, list[Rule]]:
    """The code's rules grouped by the reading they look at, in file order."""
    by_name: dict[str, list[Rule]] = {}
    for rule in entry.rules:
        by_name.setdefault(rule.telemetry, []).append(rule)
    return by_name


def region_weights(rules: list[Rule], cause_id: str) -> dict[str, float]:
    """Unnormalised weight of each rule's region (keyed by its index) and of NO_REGION."""
    weights = {str(i): RULE_REGION_BASE * r.favours.get(cause_id, 1.0) for i, r in enumerate(rules)}
    quiet = 1.0
    for rule in rules:
        quiet *= rule.otherwise.get(cause_id, 1.0)
    weights[NO_REGION] = quiet
    return weights


def draw(rng: random.Random, weights: Mapping[str, float]) -> str:
    """One key of `weights`, with probability proportional to its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def value_in(rng: random.Random, rule: Rule, spec: TelemetrySpec) -> Reading:
    """A reading that meets the rule's condition, near its threshold."""
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


def value_outside(rng: random.Random, rules: list[Rule], spec: TelemetrySpec) -> Reading | None:
    """A reading that meets none of the rules (the 'nothing unusual' region), if one is found."""
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


def value_in_region(
    rng: random.Random, rules: list[Rule], spec: TelemetrySpec, region: str
) -> Reading | None:
    """A reading in `region`: a rule's index (see `region_weights`) or NO_REGION."""
    if region == NO_REGION:
        return value_outside(rng, rules, spec)
    return value_in(rng, rules[int(region)], spec)


def draw_cause(rng: random.Random, entry: CodeEntry) -> str:
    """A cause of the code, drawn by the catalog's priors."""
    return draw(rng, {c.cause_id: c.prior for c in entry.causes})


def cause_readings(
    rng: random.Random, specs: Mapping[str, TelemetrySpec], entry: CodeEntry, cause_id: str
) -> dict[str, Reading]:
    """One reading per telemetry the code's rules use, drawn as the true cause would show it."""
    readings: dict[str, Reading] = {}
    for name, rules in rules_by_telemetry(entry).items():
        spec = specs.get(name)
        if spec is None:
            continue
        region = draw(rng, region_weights(rules, cause_id))
        value = value_in_region(rng, rules, spec, region)
        if value is not None:
            readings[name] = _tidy(value, rules)
    return readings


def healthy_readings(
    rng: random.Random, specs: Mapping[str, TelemetrySpec], category: str
) -> dict[str, Reading]:
    """What a healthy appliance of `category` reports: each reading from its normal range
    (its physical range when the catalog gives no normal one)."""
    readings: dict[str, Reading] = {}
    for name in reported_by(specs, category):
        spec = specs[name]
        if isinstance(spec.normal, bool):
            readings[name] = spec.normal
        elif spec.kind == "number":
            low, high = spec.normal or (spec.min, spec.max)
            if low is not None and high is not None:
                readings[name] = round(rng.uniform(low, high), _digits(high - low))
    return readings


def _digits(span: float) -> int:
    # Sensors report to a resolution that fits their range: rpm in whole numbers, amps in 0.01.
    return 0 if span >= 100 else 1 if span >= 1 else 2


def _tidy(value: Reading, rules: list[Rule]) -> Reading:
    """`value` with as few decimals as keep it in the same rules' regions."""
    if isinstance(value, bool | str):
        return value
    held = [r.when.holds(value) for r in rules]
    for digits in range(MAX_DIGITS):
        rounded = round(value, digits)
        if [r.when.holds(rounded) for r in rules] == held:
            return rounded
    return value
