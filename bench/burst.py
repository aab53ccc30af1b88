"""`faultline bench burst`: events through the local stack's broker as fast as it takes them,
with duplicates, malformed payloads and repeats of open faults, then every event accounted for.

Published = orders + rejections + folded repeats + duplicates, counted from the tables (and
the duplicates from the invocations' outcomes, which the tables cannot show), with at most
one order per event id and per open appliance + fault code. Exit status 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from botocore.config import Config

from bench.targets import Check, check, exit_status, finish
from functions.dal.items import from_attributes
from functions.domain.catalog import default_catalog
from infra.stack import LocalStack, StackOptions
from iot.faults import SimAppliance, encode, make_fault, sim_appliances
from iot.simulator import Fleet
from schemas.orders import CLOSED_STATUSES, OrderStatus

DUPLICATE_SHARE = 0.05  # redeliveries of an event id already published
MALFORMED_SHARE = 0.02  # truncated JSON
REPEAT_SHARE = 0.01  # the same appliance and fault code again, a new event id
PUBLISHERS = 8  # publishing threads in the fleet's process, each for its own appliances
ORDER_OUTCOMES = frozenset({"opened", "dispatched", "offered", "no_technician"})
STALL_TIMEOUT_S = 60.0  # no message received and no invocation finished for this long
INGEST_FUNCTION = "IngestFaultFunction"
AUDIT_TIMEOUT_S = 600

Message = tuple[str, bytes, str]  # (thing name, payload, kind)


def burst_messages(count: int, appliances: Sequence[SimAppliance], seed: int) -> list[Message]:
    """`count` messages: new faults, and in a shuffled order the exact shares of duplicates,
    malformed payloads and repeats (a duplicate or repeat needs a fault before it)."""
    rng = random.Random(seed)
    catalog = default_catalog()
    kinds = (
        ["duplicate"] * round(count * DUPLICATE_SHARE)
        + ["malformed"] * round(count * MALFORMED_SHARE)
        + ["repeat"] * round(count * REPEAT_SHARE)
    )
    kinds += ["new"] * (count - len(kinds))
    rng.shuffle(kinds)
    first_new = kinds.index("new")
    kinds.insert(0, kinds.pop(first_new))
    sent: list[tuple[str, bytes]] = []  # valid faults published so far
    faults: list[tuple[SimAppliance, str]] = []  # their appliance and code
    messages: list[Message] = []
    for kind in kinds:
        if kind == "duplicate":
            thing, payload = rng.choice(sent)
            messages.append((thing, payload, kind))
            continue
        if kind == "repeat":
            appliance, code = rng.choice(faults)
            payload = encode(make_fault(appliance, rng, fault_code=code, catalog=catalog))
            sent.append((appliance.thing_name, payload))
            messages.append((appliance.thing_name, payload, kind))
            continue
        appliance = rng.choice(appliances)
        fault = make_fault(appliance, rng, catalog=catalog)
        payload = encode(fault)
        if kind == "malformed":
            messages.append((appliance.thing_name, payload[: len(payload) // 2], kind))
            continue
        sent.append((appliance.thing_name, payload))
        faults.append((appliance, fault["fault_code"]))
        messages.append((appliance.thing_name, payload, kind))
    return messages


# --------------------------------------------------------------------------- publishing


def _publish_all(
    conn: Connection, host: str, port: int, appliances: list[SimAppliance], timeout: float
) -> None:
    """The fleet's process: connect, publish what the parent sends, answer with the times.

    Each thread publishes for its own appliances, so an appliance's messages (and an event
    and its redelivery) keep their order, as one device's would.
    """
    with Fleet(host, port, appliances, timeout=timeout) as fleet:
        conn.send(("connected", None))
        messages: list[Message] = conn.recv()
        shards: list[list[Message]] = [[] for _ in range(PUBLISHERS)]
        index = {a.thing_name: i % PUBLISHERS for i, a in enumerate(appliances)}
        for message in messages:
            shards[index[message[0]]].append(message)
        errors: list[str] = []

        def publish(shard: list[Message]) -> None:
            try:
                for thing, payload, kind in shard:
                    fleet.publish(thing, payload, kind=kind)
            except Exception as exc:  # reported to the parent, which fails the run
                errors.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=publish, args=(shard,)) for shard in shards]
        started = time.time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        conn.send(("published", (started, time.time(), errors)))


def publish_burst(
    host: str, port: int, appliances: list[SimAppliance], messages: list[Message]
) -> tuple[float, float]:
    """Publish `messages` from a fleet in a process of its own; (start, end) wall times."""
    context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
    parent, child = context.Pipe()
    process = context.Process(
        target=_publish_all, args=(child, host, port, appliances, 60.0), name="burst-fleet"
    )
    process.start()
    child.close()
    try:
        if not parent.poll(120):
            raise RuntimeError("the fleet did not connect within 120 s")
        parent.recv()
        parent.send(messages)
        _, (started, ended, errors) = parent.recv()
    finally:
        process.join(30)
        if process.is_alive():
            process.terminate()
    if errors:
        raise RuntimeError(f"{len(errors)} publishers failed: {errors[0]}")
    return started, ended


# --------------------------------------------------------------------------- accounting


@dataclass
class Tables:
    orders: list[dict[str, Any]]
    rejections: int


def read_tables(stack: LocalStack, things: set[str], since: datetime) -> Tables:
    """Every order and rejection of the burst's appliances. A Scan, as this is an audit: with
    only the fields it counts, and a client that waits for the emulator to read it all."""
    assert stack.dependencies is not None and stack.deployed is not None
    deps, deployed = stack.dependencies, stack.deployed
    client = deployed.session().client(
        "dynamodb", endpoint_url=deployed.endpoint_url, config=Config(read_timeout=AUDIT_TIMEOUT_S)
    )
    orders: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(
        TableName=deps.settings.orders_table,
        FilterExpression="sk = :order",
        ProjectionExpression="thing_name, fault_code, event_ids, occurrences, #status",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":order": {"S": "ORDER"}},
    ):
        orders.extend(
            doc for doc in map(from_attributes, page["Items"]) if doc["thing_name"] in things
        )
    rejections = 0
    day = since.date()
    while day <= datetime.now(UTC).date():
        listed = deps.rejections.list_day(day, limit=1_000_000)
        rejections += sum(1 for r in listed if r.thing_name in things)
        day += timedelta(days=1)
    return Tables(orders=orders, rejections=rejections)


def account(
    messages: list[Message], outcomes: Counter[str], tables: Tables, failed: int
) -> dict[str, Any]:
    """The accounting rows, and what is unaccounted for or doubled."""
    published = Counter(kind for _, _, kind in messages)
    orders = len(tables.orders)
    folded = sum(int(o["occurrences"]) - 1 for o in tables.orders)
    duplicates = outcomes["duplicate"]
    total = orders + tables.rejections + folded + duplicates
    per_event = Counter(
        (o["thing_name"], event_id) for o in tables.orders for event_id in o["event_ids"]
    )
    per_open_fault = Counter(
        (o["thing_name"], o["fault_code"])
        for o in tables.orders
        if OrderStatus(o["status"]) not in CLOSED_STATUSES
    )
    return {
        "published": len(messages),
        "published_by_kind": dict(published),
        "orders": orders,
        "rejections": tables.rejections,
        "folded_repeats": folded,
        "duplicates": duplicates,
        "accounted": total,
        "unaccounted": len(messages) - total,
        "events_in_two_orders": sum(1 for n in per_event.values() if n > 1),
        "open_faults_with_two_orders": sum(1 for n in per_open_fault.values() if n > 1),
        "outcomes": dict(outcomes),
        # The tables and the invocations must tell the same story.
        "outcomes_agree": (
            sum(outcomes[o] for o in ORDER_OUTCOMES) == orders
            and outcomes["rejected"] == tables.rejections
            and outcomes["occurrence"] == folded
        ),
        "failed_invocations": failed,
    }


def wait_until_done(stack: LocalStack, received: int) -> bool:
    """Wait until the rules engine has received `received` messages and every invocation
    finished; False when nothing moved for STALL_TIMEOUT_S (messages lost on the way)."""
    assert stack.bridge is not None and stack.invoker is not None
    bridge, invoker = stack.bridge, stack.invoker
    progress, moved_at = (-1, -1), time.monotonic()
    while not (bridge.received >= received and invoker.wait_idle(0.5)):
        finished = sum(1 for i in invoker.invocations if i.result is not None or i.dead_lettered)
        now = (bridge.received, finished)
        if now != progress:
            progress, moved_at = now, time.monotonic()
        elif time.monotonic() - moved_at > STALL_TIMEOUT_S:
            return False
        time.sleep(0.2)
    return True


def run(events: int, broker: str, seed: int = 11) -> dict[str, Any]:
    options = StackOptions(broker=broker, homes=120, technicians=48, seed=seed)
    with LocalStack(options) as stack:
        assert stack.broker is not None and stack.seed_data is not None
        assert stack.invoker is not None and stack.bridge is not None
        appliances = sim_appliances(stack.seed_data.appliances, default_catalog())
        messages = burst_messages(events, appliances, seed)
        since = datetime.now(UTC)
        received_before = stack.bridge.received
        started, published_at = publish_burst(
            stack.broker.host, stack.broker.port, appliances, messages
        )
        idle = wait_until_done(stack, received_before + len(messages))
        done_at = time.time()
        invocations = [i for i in stack.invoker.invocations if i.function == INGEST_FUNCTION]
        outcomes = Counter(i.result["outcome"] for i in invocations if isinstance(i.result, dict))
        failed = sum(1 for i in invocations if i.error)
        # On stderr at once: the figures survive an audit that fails.
        print(
            f"published {len(messages)} in {published_at - started:.1f} s, idle after "
            f"{done_at - started:.1f} s; {dict(outcomes)}; failed {failed}",
            file=sys.stderr,
            flush=True,
        )
        tables = read_tables(stack, {a.thing_name for a in appliances}, since)
        results = account(messages, outcomes, tables, failed)
        results |= {
            "broker": stack.broker.kind,
            "received_by_rules_engine": stack.bridge.received - received_before,
            "idle": idle,
            "publish_s": round(published_at - started, 2),
            "publish_per_s": round(len(messages) / (published_at - started), 1),
            "complete_s": round(done_at - started, 2),
            "complete_per_s": round(len(messages) / (done_at - started), 1),
        }
    results["ok"] = ok(results)
    return results


def checks(results: dict[str, Any]) -> list[Check]:
    """Every event accounted for once: the burst's targets."""
    return [
        check("unaccounted", results["unaccounted"], "0"),
        check("events in two orders", results["events_in_two_orders"], "0"),
        check("open faults with two orders", results["open_faults_with_two_orders"], "0"),
        check("tables agree with outcomes", results["outcomes_agree"], "yes"),
        check("failed invocations", results["failed_invocations"], "0"),
        check("stack idle at the end", results["idle"], "yes"),
    ]


def ok(results: dict[str, Any]) -> bool:
    return exit_status(checks(results)) == 0


def print_table(r: dict[str, Any]) -> None:
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(r["published_by_kind"].items()))
    print(f"Burst through {r['broker']}: published {r['published']} ({kinds})")
    print(
        f"  publish   {r['publish_s']:>8} s  {r['publish_per_s']:>8} events/s\n"
        f"  complete  {r['complete_s']:>8} s  {r['complete_per_s']:>8} events/s "
        "(until the stack is idle)"
    )
    print(
        f"  orders {r['orders']} + rejections {r['rejections']} + folded repeats "
        f"{r['folded_repeats']} + duplicates {r['duplicates']} = {r['accounted']} "
        f"(unaccounted {r['unaccounted']})"
    )
    print(
        f"  events in two orders {r['events_in_two_orders']}, open faults with two orders "
        f"{r['open_faults_with_two_orders']}, failed invocations {r['failed_invocations']}, "
        f"tables agree with outcomes: {r['outcomes_agree']}"
    )
    print("  OK" if r["ok"] else "  FAILED: events unaccounted for or doubled")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="faultline bench burst",
        description="Publish events through the local stack's broker as fast as it takes "
        f"them ({DUPLICATE_SHARE:.0%} duplicates, {MALFORMED_SHARE:.0%} malformed, "
        f"{REPEAT_SHARE:.0%} repeats of open faults) and account for every one.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--events", type=int, default=10_000, help="events to publish")
    parser.add_argument("--broker", choices=["auto", "amqtt", "mosquitto"], default="auto")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    with contextlib.redirect_stdout(sys.stderr):  # --json: one object on stdout
        results = run(args.events, args.broker, args.seed)
    return finish(
        results, checks(results), json_mode=args.json, print_text=lambda: print_table(results)
    )
