"""Learning from confirmed causes: counts per (manufacturer, family, fault code) shift the prior.

The blend is a Dirichlet-style update: the catalog prior acts as `pseudo_count` imaginary
observations, so it dominates until real confirmed outcomes accumulate.

Outcomes also count what the telemetry showed (per reading, which rule regions it fell in),
so a catalog rule that points the wrong way, or too weakly, is corrected the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_PSEUDO_COUNT = 20.0
# More confirmed outcomes than any fault code will see: a larger count is corruption.
MAX_LEARNED_COUNT = 10**9
KEY_SEPARATOR = "#"


def counts_key(manufacturer: str, family: str, code: str) -> str:
    """Stable key for one fault code's outcome counts (a DynamoDB partition key, say)."""
    return KEY_SEPARATOR.join(
        part.strip().lower() if i < 2 else part.strip().upper()
        for i, part in enumerate((manufacturer, family, code))
    )


@dataclass
class LearnedCounts:
    """Confirmed-cause counts: key (see `counts_key`) -> cause_id -> count.

    Mutable on purpose: the bench and the DAL build it incrementally; the persisted copy is
    updated with atomic ADDs, so this object is only ever a read view or a local tally.
    """

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    pseudo_count: float = DEFAULT_PSEUDO_COUNT
    # key -> telemetry name -> observed signature -> cause_id -> count
    evidence: dict[str, dict[str, dict[str, dict[str, int]]]] = field(default_factory=dict)
    # key -> faults the homeowner fixed with the self-fix guide (no visit, no cause confirmed)
    self_fixed: dict[str, int] = field(default_factory=dict)

    def for_key(self, key: str) -> Mapping[str, int]:
        return self.counts.get(key, {})

    def evidence_for(self, key: str, telemetry: str) -> Mapping[str, Mapping[str, int]]:
        """Confirmed causes per signature of one reading (see `Diagnosis.observations`)."""
        return self.evidence.get(key, {}).get(telemetry, {})


def record_outcome(
    counts: LearnedCounts,
    key: str,
    cause_id: str,
    n: int = 1,
    observations: Mapping[str, str] | None = None,
) -> LearnedCounts:
    """Add a confirmed cause, and what each reading showed (in place); returns `counts`."""
    per_code = counts.counts.setdefault(key, {})
    per_code[cause_id] = per_code.get(cause_id, 0) + n
    for telemetry, signature in (observations or {}).items():
        add_evidence(counts, key, telemetry, signature, cause_id, n)
    return counts


def add_evidence(
    counts: LearnedCounts, key: str, telemetry: str, signature: str, cause_id: str, n: int = 1
) -> None:
    """Count `n` confirmed `cause_id`s whose `telemetry` reading showed `signature` (in place)."""
    per_cause = (
        counts.evidence.setdefault(key, {}).setdefault(telemetry, {}).setdefault(signature, {})
    )
    per_cause[cause_id] = per_cause.get(cause_id, 0) + n


def blended_prior(
    priors: Mapping[str, float],
    observed: Mapping[str, int],
    pseudo_count: float = DEFAULT_PSEUDO_COUNT,
) -> dict[str, float]:
    """(prior * pseudo_count + count) / (pseudo_count + total) per known cause.

    Counts for causes the catalog does not list are ignored (they cannot be diagnosed or
    kitted), so the result always sums to 1 over the catalog's causes.
    """
    known = {c: max(0, observed.get(c, 0)) for c in priors}
    total = sum(known.values())
    denominator = pseudo_count + total
    if denominator <= 0:
        return dict(priors)
    return {c: (p * pseudo_count + known[c]) / denominator for c, p in priors.items()}


def learned_likelihood(
    observed: str,
    catalog_ratios: Mapping[str, float],
    counts: Mapping[str, Mapping[str, int]],
    pseudo_count: float = DEFAULT_PSEUDO_COUNT,
) -> dict[str, float]:
    """P(a reading shows `observed` | cause) up to one common factor, per cause.

    `catalog_ratios` are the catalog's likelihood ratios for `observed`; `counts` are the
    confirmed causes per signature seen. The catalog's estimate keeps its ratios between
    causes, scaled so that it predicts as many `observed` readings as were seen (add-one);
    it counts as `pseudo_count` imaginary outcomes per cause, blended with the real ones as
    for the priors. Without outcomes the result is the catalog's ratios, unchanged.
    """
    confirmed = {c: 0 for c in catalog_ratios}
    for per_cause in counts.values():
        for cause_id, n in per_cause.items():
            if cause_id in confirmed:
                confirmed[cause_id] += n
    hits = counts.get(observed, {})
    seen = sum(hits.get(c, 0) for c in catalog_ratios)
    expected = sum((confirmed[c] + 1) * r for c, r in catalog_ratios.items())
    scale = (seen + 1) / expected if expected > 0 else 0.0
    return {
        c: (pseudo_count * r * scale + hits.get(c, 0)) / (pseudo_count + confirmed[c])
        for c, r in catalog_ratios.items()
    }


def _sane(count: object) -> bool:
    return (
        isinstance(count, int) and not isinstance(count, bool) and 0 <= count <= MAX_LEARNED_COUNT
    )


def _kept(
    per_cause: Mapping[str, object], causes: set[str], where: str, notes: list[str]
) -> dict[str, int]:
    kept: dict[str, int] = {}
    for cause_id, n in per_cause.items():
        if cause_id not in causes:
            notes.append(f"ignored learned count {where}{cause_id}={n!r}: not a cause of this code")
        elif isinstance(n, int) and _sane(n):
            kept[cause_id] = n
        else:
            notes.append(
                f"ignored learned count {where}{cause_id}={n!r}: "
                f"not a whole number in 0..{MAX_LEARNED_COUNT}"
            )
    return kept


def usable_counts(
    learned: LearnedCounts, key: str, causes: set[str], notes: list[str]
) -> LearnedCounts:
    """`learned` for one fault code, with what corrupted data could hold dropped, each with
    a note: negative, huge, non-integer or non-finite counts, counts for causes the code
    does not list, a pseudo-count that is not a positive finite number (the default is
    used). Learned data never voids a diagnosis."""
    pseudo = learned.pseudo_count
    if (
        not (
            isinstance(pseudo, int | float)
            and not isinstance(pseudo, bool)
            and math.isfinite(pseudo)
        )
        or pseudo <= 0
    ):
        notes.append(f"ignored learned pseudo-count {pseudo!r}: using {DEFAULT_PSEUDO_COUNT}")
        pseudo = DEFAULT_PSEUDO_COUNT
    evidence = {
        telemetry: {
            signature: _kept(per_cause, causes, f"{telemetry}/{signature}: ", notes)
            for signature, per_cause in signatures.items()
        }
        for telemetry, signatures in learned.evidence.get(key, {}).items()
    }
    return LearnedCounts(
        counts={key: _kept(learned.for_key(key), causes, "", notes)},
        pseudo_count=pseudo,
        evidence={key: evidence},
        self_fixed={k: v for k, v in learned.self_fixed.items() if k == key and _sane(v)},
    )
