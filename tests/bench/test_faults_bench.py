"""`faultline bench faults`, small: every injected failure kind still ends each published
fault in exactly one order, through Lambda's retries, the dead-letter replay and the sweeper."""

from __future__ import annotations

import pytest

from bench import faults as bench
from infra.faults import FaultKind

pytestmark = pytest.mark.e2e


def test_every_fault_kind_ends_every_event_in_one_order() -> None:
    # Every targeted call fails while the incident lasts: each event exhausts Lambda's
    # retries, lands in the dead-letter queue and is replayed once the incident is over.
    results = bench.run(per_kind=2, rate=1.0, seed=1, broker="amqtt", homes=12)
    assert [r.kind for r in results] == [k.value for k in FaultKind]
    for r in results:
        assert r.faults_injected > 0, r
        assert (r.published, r.ended_correctly, r.lost, r.duplicated) == (2, 2, 0, 0), r
        assert r.replayed == r.in_dlq, r
