"""Learning from confirmed causes: counts per (manufacturer, family, fault code) shift the prior.

The blend is a Dirichlet-style update: the catalog prior acts as `pseudo_count` imaginary
observations, so it dominates until real confirmed outcomes accumulate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_PSEUDO_COUNT = 20.0
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

    def for_key(self, key: str) -> Mapping[str, int]:
        return self.counts.get(key, {})

    def total(self, key: str) -> int:
        return sum(self.for_key(key).values())


def record_outcome(counts: LearnedCounts, key: str, cause_id: str, n: int = 1) -> LearnedCounts:
    """Add a confirmed cause (in place) and return the same object for chaining."""
    per_code = counts.counts.setdefault(key, {})
    per_code[cause_id] = per_code.get(cause_id, 0) + n
    return counts


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
