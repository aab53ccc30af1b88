"""Diagnose a fault: catalog priors times telemetry likelihood ratios, both blended with what
confirmed outcomes taught (see `learning`), plus the alarms that make any fault an emergency.

`confidence` is the top cause's posterior probability: it reads directly as "how likely the
leading explanation is", which is what the homeowner page and the kit selection care about.
It is lowered when the evidence contradicts itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from functions.domain.catalog import Catalog
from functions.domain.catalog.format import CodeEntry, Rule, TelemetrySpec
from functions.domain.catalog.telemetry import is_valid_number
from functions.domain.learning import (
    LearnedCounts,
    blended_prior,
    counts_key,
    learned_likelihood,
    usable_counts,
)
from schemas.device import FaultEvent, TelemetryValue
from schemas.orders import CauseEstimate, Diagnosis, TriageFlag, TriageReason, Urgency
from schemas.registry import Appliance, Category

UNKNOWN_CAUSE_ID = "unknown"
UNKNOWN_CAUSE_DESCRIPTION = "unknown — technician to inspect"
GENERIC_SAFETY_ADVICE = (
    "If you see water escaping, smoke or sparks, or smell gas or burning, switch the appliance "
    "off at the wall (and turn off its water or gas supply) and keep clear until it is checked."
)
# Two rules "strongly disagree" when each favours a different cause by at least this factor.
STRONG_RATIO = 2.0
CONTRADICTION_PENALTY = 0.6
EXPLAINED_READINGS = 3
FREEZING_C = 0.0
FREEZE_SENSITIVE = frozenset({Category.BOILER, Category.HEAT_PUMP})
GAS_SAFETY_ADVICE = (
    "Gas detected: do not use switches, flames or phones near the appliance. Open windows, "
    "turn off the gas at the meter, leave the house and call the gas emergency line."
)
LEAK_SAFETY_ADVICE = (
    "Water is escaping: switch the appliance off at the wall and turn off its water supply."
)
# Sensor readings that make any fault an emergency, whatever its code (or if it is unknown).
ALARMS: dict[str, tuple[str, str]] = {
    "gas_detected": ("gas detected at the appliance", GAS_SAFETY_ADVICE),
    "leak_sensor_wet": ("water detected under the appliance", LEAK_SAFETY_ADVICE),
}
OUTDOOR_TEMP = "outdoor_temp_c"


def diagnose(
    catalog: Catalog,
    appliance: Appliance,
    event: FaultEvent,
    learned: LearnedCounts | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> Diagnosis:
    """Rank the causes of `event` on `appliance`. Never raises: bad input becomes triage.

    An unexpected exception (a bug, bad catalog data) becomes triage too, and is handed to
    `on_error` so the caller logs and counts it: triage must not hide a failure.
    """
    notes: list[str] = []
    alarms: dict[str, bool | float | str] = {}
    try:
        alarms = usable_readings(catalog.telemetry, event.telemetry, set(ALARMS), notes)
        return _diagnose(catalog, appliance, event, learned, alarms, notes)
    except Exception as exc:  # the ingest path must always get an answer it can record
        if on_error is not None:
            on_error(exc)
        failed = TriageFlag(
            reason=TriageReason.DIAGNOSIS_FAILED, detail=f"{type(exc).__name__}: {exc}"
        )
        # A gas or leak alarm read before the failure still makes it an emergency.
        return _triage(appliance, event.fault_code, [failed], [], alarms)


def _diagnose(
    catalog: Catalog,
    appliance: Appliance,
    event: FaultEvent,
    learned: LearnedCounts | None,
    alarms: Mapping[str, bool | float | str],
    notes: list[str],
) -> Diagnosis:
    maker, model, code = appliance.manufacturer, appliance.model, event.fault_code
    info = catalog.find_model(maker, model)
    if info is None:
        reasons = []
        if catalog.manufacturer(maker) is None:
            reasons.append(TriageFlag(reason=TriageReason.UNKNOWN_MANUFACTURER, detail=maker))
        reasons.append(TriageFlag(reason=TriageReason.UNKNOWN_MODEL, detail=f"{maker} {model}"))
        return _triage(appliance, code, reasons, notes, alarms)
    family = catalog.family(maker, model)
    entry = family.code(code) if family else None
    if family is None or entry is None:
        unknown = TriageFlag(
            reason=TriageReason.UNKNOWN_CODE,
            detail=f"{code} is not listed for {info.manufacturer} {info.model}",
        )
        return _triage(appliance, code, [unknown], notes, alarms)

    if info.category != appliance.category:
        notes.append(
            f"registry says {appliance.category.value} but the catalog lists "
            f"{info.model} as {info.category.value}; using the catalog"
        )
    priors = {c.cause_id: c.prior for c in entry.causes}
    key = counts_key(info.manufacturer, family.family, entry.code)
    if learned is not None:
        learned = usable_counts(learned, key, set(priors), notes)
        observed = learned.for_key(key)
        if sum(observed.values()) > 0:
            priors = blended_prior(priors, observed, learned.pseudo_count)
            notes.append(f"prior blended with {sum(observed.values())} confirmed outcomes")

    wanted = {r.telemetry for r in entry.rules}
    if info.category in FREEZE_SENSITIVE and entry.no_heat:
        wanted.add(OUTDOOR_TEMP)
    readings = usable_readings(catalog.telemetry, event.telemetry, wanted - set(ALARMS), notes)
    readings.update({name: value for name, value in alarms.items() if name in wanted})

    weighed = _weigh_evidence(priors, entry.rules, readings, learned, key)
    posterior, evidence, applied = weighed.posterior, weighed.evidence, weighed.applied
    contradictory = _contradictions(applied, list(priors))
    if contradictory:
        notes.append("contradictory evidence: " + "; ".join(contradictory))

    order = {c.cause_id: i for i, c in enumerate(entry.causes)}
    ranked = sorted(entry.causes, key=lambda c: (-posterior[c.cause_id], order[c.cause_id]))
    causes = [
        CauseEstimate(
            cause_id=c.cause_id,
            description=c.description,
            probability=_clamp01(posterior[c.cause_id]),
            evidence=evidence[c.cause_id],
        )
        for c in ranked
    ]
    confidence = causes[0].probability * (CONTRADICTION_PENALTY if contradictory else 1.0)
    urgency = _urgency(entry, info.category, readings, notes)
    if _raised_by_alarms(alarms, notes):
        urgency = Urgency.EMERGENCY
    return Diagnosis(
        fault_code=entry.code,
        known_code=True,
        title=entry.title,
        causes=causes,
        confidence=_clamp01(confidence),
        required_skill=Category(entry.skill),
        certifications=list(entry.certifications),
        urgency=urgency,
        safety_advice=_with_alarm_advice(alarms, entry.safety_advice),
        self_fix=entry.self_fix,
        explanation=explain(causes, applied, bool(contradictory), bool(entry.self_fix)),
        observations=weighed.observations,
        notes=notes,
    )


def usable_readings(
    specs: Mapping[str, TelemetrySpec],
    telemetry: Mapping[str, TelemetryValue],
    wanted: set[str],
    notes: list[str],
) -> dict[str, bool | float | str]:
    """The wanted readings that are of the right type and physically possible.

    Anything else is dropped with a note: a broken sensor must not steer the diagnosis.
    """
    usable: dict[str, bool | float | str] = {}
    for name in sorted(wanted):
        if name not in telemetry:
            continue
        value, spec = telemetry[name], specs.get(name)
        if spec is None:
            continue
        problem = _reading_problem(value, spec)
        if problem:
            notes.append(f"ignored {name}={_shown(value)}: {problem}")
        else:
            usable[name] = value
    return usable


def _shown(value: TelemetryValue) -> str:
    """A reading as a note shows it: a huge integer by its size, not its 400 digits."""
    if isinstance(value, int) and not isinstance(value, bool) and not is_valid_number(value):
        return f"<a {len(str(abs(value)))}-digit integer>"
    return repr(value)


def _reading_problem(value: TelemetryValue, spec: TelemetrySpec) -> str | None:
    if spec.kind == "bool":
        return None if isinstance(value, bool) else "expected true/false"
    if spec.kind == "text":
        return None if isinstance(value, str) else "expected text"
    if not is_valid_number(value):
        return "expected a finite number"
    assert isinstance(value, int | float)
    low = -math.inf if spec.min is None else spec.min
    high = math.inf if spec.max is None else spec.max
    if not low <= value <= high:
        return f"outside the physical range {spec.min}..{spec.max} {spec.unit}".rstrip()
    return None


Applied = list[tuple[str, dict[str, float]]]  # (what was read, likelihood ratio per cause)
NO_RULE_HOLDS = "none"
SIGNATURE_JOIN = "+"


@dataclass
class _Weighed:
    posterior: dict[str, float]
    evidence: dict[str, list[str]]  # per cause: what moved it
    applied: Applied
    observations: dict[str, str]  # per reading: which rule regions it fell in


def _weigh_evidence(
    priors: Mapping[str, float],
    rules: list[Rule],
    readings: Mapping[str, bool | float | str],
    learned: LearnedCounts | None,
    key: str,
) -> _Weighed:
    """Priors times each reading's likelihood ratios: the catalog's, or learned ones where
    confirmed outcomes recorded what that reading showed."""
    by_telemetry: dict[str, list[Rule]] = {}
    for rule in rules:
        by_telemetry.setdefault(rule.telemetry, []).append(rule)
    weighed = _Weighed(dict(priors), {c: [] for c in priors}, [], {})
    for name, group in by_telemetry.items():
        if name not in readings:
            continue
        value = readings[name]
        held = [r for r in group if r.when.holds(value)]
        signature = SIGNATURE_JOIN.join(sorted({r.when.label for r in held})) or NO_RULE_HOLDS
        weighed.observations[name] = signature
        counts = _current(learned.evidence_for(key, name), group) if learned is not None else {}
        outcomes = sum(n for per_cause in counts.values() for n in per_cause.values())
        if learned is not None and outcomes:
            what = "; ".join(r.explain for r in held) or "not seen: " + "; ".join(
                r.explain for r in group
            )
            label = f"{what} ({name}={value}; learned from {outcomes} outcomes)"
            likelihood = learned_likelihood(
                signature,
                _catalog_likelihood(group, signature, priors),
                counts,
                learned.pseudo_count,
            )
            mean = sum(likelihood.values()) / len(likelihood)
            _apply(weighed, label, {c: p / mean for c, p in likelihood.items()})
            continue
        for rule in group:
            if rule in held:
                ratios, label = rule.favours, f"{rule.explain} ({name}={value})"
            else:
                ratios, label = rule.otherwise, f"not seen: {rule.explain} ({name}={value})"
            _apply(weighed, label, ratios)

    total = sum(weighed.posterior.values())
    if total <= 0 or not math.isfinite(total):
        # Every cause ruled out (or priors all zero): fall back to "no idea" rather than divide.
        weighed.posterior = {c: 1.0 / len(priors) for c in priors}
    else:
        weighed.posterior = {c: w / total for c, w in weighed.posterior.items()}
    return weighed


def _current(
    counts: Mapping[str, Mapping[str, int]], group: list[Rule]
) -> dict[str, Mapping[str, int]]:
    """Counts for signatures the rules can still produce: an edited threshold starts afresh."""
    labels = {r.when.label for r in group}
    return {
        signature: per_cause
        for signature, per_cause in counts.items()
        if signature == NO_RULE_HOLDS or set(signature.split(SIGNATURE_JOIN)) <= labels
    }


def _apply(weighed: _Weighed, label: str, ratios: Mapping[str, float]) -> None:
    moved = {c: r for c, r in ratios.items() if c in weighed.posterior and abs(r - 1.0) > 1e-9}
    if not moved:
        return
    for cause_id, ratio in moved.items():
        weighed.posterior[cause_id] *= ratio
        weighed.evidence[cause_id].append(f"{label}: x{ratio:.3g}")
    weighed.applied.append((label, moved))


def _catalog_likelihood(
    group: list[Rule], signature: str, causes: Iterable[str]
) -> dict[str, float]:
    """The catalog's likelihood ratio per cause for a reading with this signature."""
    labels = set(signature.split(SIGNATURE_JOIN))
    ratios = dict.fromkeys(causes, 1.0)
    for rule in group:
        given = rule.favours if rule.when.label in labels else rule.otherwise
        for cause_id in ratios:
            ratios[cause_id] *= given.get(cause_id, 1.0)
    return ratios


def explain(
    causes: list[CauseEstimate], applied: Applied, contradictory: bool, self_fix: bool
) -> str:
    """One short paragraph: the likeliest cause, the readings that point at it, the runner-up."""
    top = causes[0]
    text = f"Most likely: {top.description} ({top.probability:.0%})"
    others = [c.cause_id for c in causes[1:]]
    supporting = [
        label
        for label, ratios in applied
        if any(ratios.get(top.cause_id, 1.0) > ratios.get(other, 1.0) for other in others)
        and all(ratios.get(top.cause_id, 1.0) >= ratios.get(other, 1.0) for other in others)
    ]
    if supporting:
        text += ", because " + "; ".join(supporting[:EXPLAINED_READINGS])
    elif not applied:
        text += ", from how often this code has that cause (no telemetry pointed either way)"
    text += "."
    if len(causes) > 1:
        runner_up = causes[1]
        text += f" Also possible: {runner_up.description} ({runner_up.probability:.0%})."
    if contradictory:
        text += " The readings disagree with each other, so the technician will check."
    if self_fix:
        text += " Try the self-fix guide first: it often solves this without a visit."
    return text


def _contradictions(applied: Applied, causes: list[str]) -> list[str]:
    """Pairs of rules where each strongly favours a different cause over the other's."""
    found = []
    for i, (label_a, ra) in enumerate(applied):
        for label_b, rb in applied[i + 1 :]:
            for a in causes:
                for b in causes:
                    if a == b:
                        continue
                    a_over_b = ra.get(a, 1.0) / ra.get(b, 1.0)
                    b_over_a = rb.get(b, 1.0) / rb.get(a, 1.0)
                    if a_over_b >= STRONG_RATIO and b_over_a >= STRONG_RATIO:
                        found.append(f"'{label_a}' favours {a}, '{label_b}' favours {b}")
                        break
                else:
                    continue
                break
    return found


def _urgency(
    entry: CodeEntry,
    category: Category,
    readings: Mapping[str, bool | float | str],
    notes: list[str],
) -> Urgency:
    if entry.water_leak:
        return Urgency.EMERGENCY
    outdoor = readings.get(OUTDOOR_TEMP)
    if (
        entry.no_heat
        and category in FREEZE_SENSITIVE
        and is_valid_number(outdoor)
        and isinstance(outdoor, int | float)
        and outdoor < FREEZING_C
    ):
        notes.append(f"no heat while it is {outdoor} °C outside: raised to emergency")
        return Urgency.EMERGENCY
    return entry.urgency


def _raised_by_alarms(alarms: Mapping[str, bool | float | str], notes: list[str]) -> bool:
    raised = [ALARMS[name][0] for name, value in alarms.items() if value is True]
    notes.extend(f"{what}: raised to emergency" for what in raised)
    return bool(raised)


def _with_alarm_advice(alarms: Mapping[str, bool | float | str], advice: str) -> str:
    urgent = [ALARMS[name][1] for name, value in alarms.items() if value is True]
    return " ".join([*urgent, advice]).strip()


def _triage(
    appliance: Appliance,
    fault_code: str,
    reasons: list[TriageFlag],
    notes: list[str],
    alarms: Mapping[str, bool | float | str],
) -> Diagnosis:
    urgency = Urgency.EMERGENCY if _raised_by_alarms(alarms, notes) else Urgency.NORMAL
    return Diagnosis(
        fault_code=fault_code,
        known_code=False,
        title=f"Unrecognised fault {fault_code} on {appliance.manufacturer} {appliance.model}",
        causes=[
            CauseEstimate(
                cause_id=UNKNOWN_CAUSE_ID, description=UNKNOWN_CAUSE_DESCRIPTION, probability=1.0
            )
        ],
        confidence=0.0,
        required_skill=appliance.category,
        explanation=(
            f"We do not recognise fault {fault_code} on this {appliance.category.value}: "
            "a technician will inspect it."
        ),
        urgency=urgency,
        safety_advice=_with_alarm_advice(alarms, GENERIC_SAFETY_ADVICE),
        notes=notes,
        triage_reasons=reasons,
    )


def _clamp01(x: float) -> float:
    return min(1.0, max(0.0, x))
