"""The burst benchmark, small: every event published through the broker is accounted for."""

from __future__ import annotations

from collections import Counter

import pytest

from bench import burst
from iot.faults import SimAppliance

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def results() -> dict:
    return burst.run(events=300, broker="auto")


def test_a_burst_accounts_for_every_event_with_no_order_twice(results: dict) -> None:
    kinds = results["published_by_kind"]
    assert results["published"] == results["received_by_rules_engine"] == 300
    assert results["idle"] and results["failed_invocations"] == 0
    # orders + rejections + folded repeats + duplicates = published
    assert (
        results["orders"]
        + results["rejections"]
        + results["folded_repeats"]
        + results["duplicates"]
        == results["published"]
    )
    # Each kind lands where it should: a redelivery is a duplicate, a truncated payload a
    # rejection, a repeat folded (so are new faults that happen to hit an open order).
    assert results["duplicates"] == kinds["duplicate"] > 0
    assert results["rejections"] == kinds["malformed"] > 0
    assert results["folded_repeats"] >= kinds["repeat"] > 0
    assert results["events_in_two_orders"] == results["open_faults_with_two_orders"] == 0
    assert results["outcomes_agree"] and results["ok"]
    assert results["publish_per_s"] > 0 and results["complete_per_s"] > 0


APPLIANCE = SimAppliance("washer-1", "washer", "Bosch", "WAW28750GB", ["E18", "E21"])


def an_order(event_ids: list[str], status: str = "dispatched") -> dict:
    return {
        "thing_name": "washer-1",
        "fault_code": "E18",
        "event_ids": event_ids,
        "occurrences": len(event_ids),
        "status": status,
    }


def test_the_accounting_catches_an_event_in_two_orders_and_a_missing_one() -> None:
    messages = burst.burst_messages(3, [APPLIANCE], seed=1)
    doubled = burst.Tables(orders=[an_order(["e1"]), an_order(["e1"])], rejections=0)
    outcomes = Counter({"dispatched": 2})
    rows = burst.account(messages, outcomes, doubled, failed=0)
    assert rows["events_in_two_orders"] == 1 and rows["open_faults_with_two_orders"] == 1
    assert rows["unaccounted"] == 1  # three published, two answers
    assert not burst.ok(rows | {"idle": True})


def test_burst_messages_have_the_exact_shares_and_a_fault_first() -> None:
    messages = burst.burst_messages(1000, [APPLIANCE], seed=2)
    kinds = Counter(kind for _, _, kind in messages)
    assert kinds == {"new": 920, "duplicate": 50, "malformed": 20, "repeat": 10}
    assert messages[0][2] == "new"
    published = {payload for _, payload, kind in messages if kind in ("new", "repeat")}
    assert all(payload in published for _, payload, kind in messages if kind == "duplicate")
