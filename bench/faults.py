"""`faultline bench faults`: every injected failure kind ends in exactly one order per event.

Per kind: publish N faults through the broker while the fault is injected at the functions'
AWS client boundary; Lambda's retries and the dead-letter queue do what they do; then the
incident ends, the dead letters are replayed and the sweeper runs once a window later.
Printed per kind: published / ended correctly / in the DLQ / replayed / swept / lost /
duplicated. Exit 1 when anything is lost or duplicated.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from bench.targets import Check, check, finish
from functions.common.wiring import Dependencies
from functions.domain.catalog import default_catalog
from functions.logic.ingest import IN_FLIGHT
from functions.logic.sweeper import StuckOrderSweeper
from infra.faults import FaultKind, FaultPlan, FaultRule
from infra.stack import LocalStack, StackOptions
from iot.faults import SimAppliance, make_fault, sim_appliances
from iot.simulator import Fleet
from schemas.orders import OrderStatus, RepairOrder, TriageReason

SETTLE_TIMEOUT_S = 120.0


def fault_rules(kind: FaultKind, deps: Dependencies, rate: float) -> list[FaultRule]:
    """Where each kind strikes: the writes, the dispatch's reads, the status message, and
    the crash between the order's transaction and the dispatch (its first Query)."""
    technicians = deps.settings.technicians_table
    return {
        FaultKind.THROTTLE: [FaultRule(kind, "dynamodb.TransactWriteItems", rate)],
        FaultKind.INTERNAL_ERROR: [FaultRule(kind, "dynamodb.BatchGetItem", rate)],
        FaultKind.TIMEOUT: [FaultRule(kind, "dynamodb.Query", rate, table=technicians)],
        FaultKind.PUBLISH_FAILURE: [FaultRule(kind, "iot-data-plane.Publish", rate)],
        FaultKind.CRASH: [FaultRule(kind, "dynamodb.Query", rate, table=technicians)],
    }[kind]


@dataclass
class KindResult:
    kind: str
    published: int
    ended_correctly: int
    in_dlq: int
    replayed: int
    swept: int
    lost: int
    duplicated: int
    faults_injected: int


def _truck_faults(stack: LocalStack) -> list[tuple[SimAppliance, str]]:
    """(appliance, code) pairs of auto-approving homes whose code sends a technician, one
    per appliance first, so no event folds into another's open order."""
    assert stack.seed_data is not None
    catalog = default_catalog()
    auto_homes = {h.home_id for h in stack.seed_data.homes if h.policy.auto_approve}
    auto = {a.thing_name for a in stack.seed_data.appliances if a.home_id in auto_homes}
    members = [
        a for a in sim_appliances(stack.seed_data.appliances, catalog) if a.thing_name in auto
    ]
    per_appliance = [
        [
            (a, c)
            for c in a.fault_codes
            if (entry := catalog.code(a.manufacturer, a.model, c)) and not entry.self_fix
        ]
        for a in members
    ]
    rounds = max((len(p) for p in per_appliance), default=0)
    return [p[i] for i in range(rounds) for p in per_appliance if i < len(p)]


def _ended(order: RepairOrder | None, event_id: str, settled: bool, told: set[str]) -> bool:
    """One order, its follow-up settled, in a state ingest leaves it in, and the appliance
    told that state."""
    if order is None or not settled or event_id not in order.event_ids:
        return False
    waiting_for_triage = order.status is OrderStatus.APPROVED and any(
        f.reason is TriageReason.NO_TECHNICIAN for f in order.triage_reasons
    )
    final = order.status in (OrderStatus.DISPATCHED, OrderStatus.OFFERED) or waiting_for_triage
    return final and order.status.value in told


def run_kind(
    stack: LocalStack,
    fleet: Fleet,
    plan: FaultPlan,
    kind: FaultKind,
    faults: list[tuple[SimAppliance, str]],
    rate: float,
) -> KindResult:
    assert stack.dependencies is not None and stack.invoker is not None
    assert stack.bridge is not None
    deps = stack.dependencies
    rng = random.Random(kind.value)
    before = stack.bridge.received
    plan.set_rules(fault_rules(kind, deps, rate))
    injected_before = sum(plan.injected.values())
    sent = [
        (a.thing_name, fleet.publish(a.thing_name, make_fault(a, rng, fault_code=code)).event_id)
        for a, code in faults
    ]
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while stack.bridge.received < before + len(sent) and time.monotonic() < deadline:
        time.sleep(0.05)
    stack.invoker.wait_idle(max(deadline - time.monotonic(), 1))
    injected = sum(plan.injected.values()) - injected_before
    plan.set_rules([])  # the incident is over
    in_dlq = len(stack.list_dead_letters())
    replay = stack.replay_dead_letters()
    # The sweeper's run a window later: what is still unsettled then is stuck.
    later: Callable[[], datetime] = lambda: datetime.now(UTC) + IN_FLIGHT  # noqa: E731
    sweeper = StuckOrderSweeper(
        deps.orders,
        deps.events,
        deps.due,
        deps.fault_ingestor,
        later,
        deps.announcer,
        offers=deps.offer_desk,
    )
    swept = sweeper.sweep().finished
    time.sleep(0.5)  # status messages on their way to the appliances
    ended = duplicated = 0
    for thing, event_id in sent:
        assert event_id is not None
        marker = deps.events.event_marker(thing, event_id)
        order = deps.orders.get(marker.order_id) if marker else None
        told = {
            str(m.get("status"))
            for m in fleet.status_messages(thing)
            if order is not None and m.get("order_id") == order.order_id
        }
        ended += _ended(order, event_id, bool(marker and marker.settled), told)
        if order is not None:
            holders = [
                o for o in deps.orders.list_by_home(order.home_id) if event_id in o.event_ids
            ]
            duplicated += len(holders) > 1
    return KindResult(
        kind=kind.value,
        published=len(sent),
        ended_correctly=ended,
        in_dlq=in_dlq,
        replayed=len(replay.replayed),
        swept=swept,
        lost=len(sent) - ended,
        duplicated=duplicated,
        faults_injected=injected,
    )


def run(
    per_kind: int, rate: float, seed: int, broker: str = "auto", homes: int = 40
) -> list[KindResult]:
    kinds = list(FaultKind)
    # The sweeper runs once per kind, explicitly, rather than on its schedule.
    options = StackOptions(
        broker=broker, homes=max(homes, per_kind * 3), technicians=16, seed=seed, schedules=False
    )
    with LocalStack(options) as stack:
        assert stack.broker is not None and stack.dependencies is not None
        faults = _truck_faults(stack)
        if len(faults) < per_kind * len(kinds):
            raise SystemExit(f"the seed data has {len(faults)} distinct faults, fewer than needed")
        plan = FaultPlan(seed=seed).install(stack.dependencies.clients)
        members = sorted({a.thing_name: a for a, _ in faults}.values(), key=lambda a: a.thing_name)
        with Fleet(stack.broker.host, stack.broker.port, members, seed=seed) as fleet:
            return [
                run_kind(stack, fleet, plan, kind, faults[i * per_kind : (i + 1) * per_kind], rate)
                for i, kind in enumerate(kinds)
            ]


def print_table(results: list[KindResult]) -> None:
    columns = ("published", "ended_correctly", "in_dlq", "replayed", "swept", "lost")
    print(
        f"{'kind':<16}"
        + "".join(f"{c.replace('_', ' '):>17}" for c in columns)
        + f"{'duplicated':>12}{'faults injected':>17}"
    )
    for r in results:
        row = asdict(r)
        print(
            f"{r.kind:<16}"
            + "".join(f"{row[c]:>17}" for c in columns)
            + f"{r.duplicated:>12}{r.faults_injected:>17}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="faultline bench faults",
        description="Inject each failure kind (throttle, 500, timeout, publish failure, crash "
        "before dispatch) and account for every published fault. Exit 1 if any is lost or "
        "duplicated.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--events", type=int, default=20, help="faults published per kind")
    parser.add_argument("--rate", type=float, default=0.6, help="share of targeted calls failed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--broker", choices=["auto", "amqtt", "mosquitto"], default="auto")
    args = parser.parse_args(argv)
    with contextlib.redirect_stdout(sys.stderr):  # the functions' logs; stdout is the result
        results = run(args.events, args.rate, args.seed, args.broker)
    return finish(
        {"kinds": [asdict(r) for r in results]},
        checks(results),
        json_mode=args.json,
        print_text=lambda: print_table(results),
    )


def checks(results: list[KindResult]) -> list[Check]:
    """Per failure kind: nothing lost, nothing duplicated."""
    found: list[Check] = []
    for r in results:
        found.append(check(f"{r.kind} lost", r.lost, "0"))
        found.append(check(f"{r.kind} duplicated", r.duplicated, "0"))
    return found
