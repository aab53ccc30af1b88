"""`faultline bench`: AWS round trips per fault, handler import cost, end-to-end latency.

Each figure with a target is checked against it (bench.targets): the command prints every
check and exits 1 when one misses, with --json as without. `faultline bench load` fails
when any published fault was lost.
"""

from __future__ import annotations

import argparse
import base64
import compileall
import contextlib
import gc
import json
import os
import py_compile
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from bench.targets import Check, check, finish
from functions.common.aws import AwsClients
from functions.common.topics import fault_topic
from functions.common.wiring import Dependencies
from functions.dal.items import key
from functions.domain.catalog import Catalog, default_catalog
from infra.demo import dispatch_latencies_ms
from infra.packaging import copy_code, function_closure
from infra.stack import LocalStack, StackOptions
from iot.faults import sim_appliances
from iot.simulator import Fleet, FleetProcess

FUNCTION = "IngestFaultFunction"
HANDLER = "functions.ingest_fault.app.handler"
WARM_UP_SECONDS = 3.0
TARGETS = {
    "round_trips_to_opened": "<= 2",
    "round_trips_duplicate": "<= 1",
    "import_ratio": "<= 1.3",
    "e2e_p99_ms": "< 250",
    "lost": "0",
}
# The new-fault rows whose requests up to the order's write are held to a target, and the
# duplicate held to its own (a cold container's duplicate also reads the registry: shown,
# without a target).
NEW_FAULT_ROWS = (
    "new_fault_cold",
    "new_fault_unseen_appliance",
    "new_fault_warm",
    "new_fault_awaiting_approval",
)


class CallRecorder:
    """Counts AWS API requests by hooking botocore's before-send event on the clients."""

    def __init__(self, clients: AwsClients) -> None:
        self.calls: list[str] = []
        for client in (clients.dynamodb, clients.iot_data, clients.sns):  # sns: notifications
            client.meta.events.register("before-send", self._record)

    def _record(self, event_name: str, **_: Any) -> None:
        # event_name is before-send.<service>.<Operation>
        self.calls.append(".".join(event_name.split(".")[1:]))

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


def _event(thing: str, code: str, event_id: str | None = None) -> dict[str, Any]:
    payload = {
        "schema": "fault/1",
        "event_id": event_id or uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC).isoformat(),
        "fault_code": code,
        "firmware": "1.0.0",
        "telemetry": {},
    }
    return {
        "raw": base64.b64encode(json.dumps(payload).encode()).decode(),
        "thing_name": thing,
        "client_id": thing,
        "topic": fault_topic(thing),
        "received_at": int(time.time() * 1000),
    }


def _until_opened(calls: list[str]) -> int:
    """Requests up to and including the write that opened the order."""
    for i, call in enumerate(calls):
        if call.endswith("TransactWriteItems"):
            return i + 1
    return len(calls)


def _needs_parts(catalog: Catalog, appliance: Any, code: str) -> bool:
    entry = catalog.code(appliance.manufacturer, appliance.model, code)
    return entry is not None and any(cause.parts for cause in entry.causes)


def _waits_with_parts(catalog: Catalog, appliance: Any, code: str) -> bool:
    """A code whose order waits for a hand approval (the default policy approves
    emergencies at once) and shows its parts' availability meanwhile."""
    entry = catalog.code(appliance.manufacturer, appliance.model, code)
    return (
        _needs_parts(catalog, appliance, code)
        and entry is not None
        and (entry.urgency != "emergency")
    )


def measure_round_trips(stack: LocalStack) -> dict[str, Any]:
    assert stack.seed_data is not None and stack.invoker is not None
    catalog = default_catalog()
    auto_homes = {h.home_id for h in stack.seed_data.homes if h.policy.auto_approve}

    def truck_codes(appliance: Any) -> list[str]:
        """Codes that send a technician (no self-fix guide first)."""
        info = catalog.find_model(appliance.manufacturer, appliance.model)
        entries = (
            [(c, catalog.code(appliance.manufacturer, appliance.model, c)) for c in info.codes]
            if info
            else []
        )
        return sorted(c for c, entry in entries if entry is not None and not entry.self_fix)

    appliance, other = [
        a for a in stack.seed_data.appliances if a.home_id in auto_homes and len(truck_codes(a)) > 1
    ][:2]
    codes = truck_codes(appliance)
    assert stack.dependencies is not None
    recorder = CallRecorder(stack.dependencies.clients)
    invoker = stack.invoker

    def invoke(event: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        # Through the stack's runtime, as the rule would: its logs go to the function log.
        invocation = invoker.invoke_async("IngestFaultFunction", event).result()
        return invocation.result, recorder.take()

    first = _event(appliance.thing_name, codes[0])
    new_cold, calls_cold = invoke(first)
    _, calls_duplicate = invoke(first)
    new_warm, calls_warm = invoke(_event(appliance.thing_name, codes[1 % len(codes)]))
    _, calls_repeat = invoke(_event(appliance.thing_name, codes[0]))
    # A warm container, but an appliance it has not seen (registry not cached).
    new_unseen, calls_unseen = invoke(_event(other.thing_name, truck_codes(other)[0]))
    # A home that approves by hand: the order waits, with its parts' availability read.
    waiting = next(
        a
        for a in stack.seed_data.appliances
        if a.home_id not in auto_homes
        and any(_waits_with_parts(catalog, a, c) for c in truck_codes(a))
    )
    waiting_code = next(c for c in truck_codes(waiting) if _waits_with_parts(catalog, waiting, c))
    new_waiting, calls_waiting = invoke(_event(waiting.thing_name, waiting_code))
    recorder = CallRecorder(stack.cold_containers().clients)
    _, calls_duplicate_cold = invoke(first)
    return {
        "new_fault_cold": {
            "outcome": new_cold["outcome"],
            "calls": calls_cold,
            "to_opened": _until_opened(calls_cold),
            "to_outcome": len(calls_cold),
        },
        "new_fault_unseen_appliance": {
            "outcome": new_unseen["outcome"],
            "calls": calls_unseen,
            "to_opened": _until_opened(calls_unseen),
            "to_outcome": len(calls_unseen),
        },
        "new_fault_warm": {
            "outcome": new_warm["outcome"],
            "calls": calls_warm,
            "to_opened": _until_opened(calls_warm),
            "to_outcome": len(calls_warm),
        },
        "new_fault_awaiting_approval": {
            "outcome": new_waiting["outcome"],
            "calls": calls_waiting,
            "to_opened": _until_opened(calls_waiting),
            "to_outcome": len(calls_waiting),
        },
        "duplicate_warm": {"calls": calls_duplicate, "count": len(calls_duplicate)},
        "duplicate_cold": {"calls": calls_duplicate_cold, "count": len(calls_duplicate_cold)},
        "repeat_of_open_fault": {"calls": calls_repeat, "count": len(calls_repeat)},
    }


APPROVALS = 30


def measure_approvals(
    stack: LocalStack, api_dependencies: Dependencies, count: int = APPROVALS
) -> dict[str, Any]:
    """Homeowners approving waiting orders through the HTTP API, each with the first window
    of its ticket: the AWS round trips from the approve request to the order dispatched
    (counted on the clients, token verification's key fetch aside), and the latency from
    sending the approve request to the appliance receiving "dispatched" over MQTT.

    Orders are opened by invoking ingest directly (their MQTT path is measured elsewhere);
    appliances are taken from the end of the seed list, away from those measure_round_trips
    takes from the start. `api_dependencies`: those the stack's API serves with.
    """
    assert stack.seed_data is not None and stack.invoker is not None
    assert stack.broker is not None and stack.dependencies is not None
    catalog = default_catalog()
    by_hand = {h.home_id for h in stack.seed_data.homes if not h.policy.auto_approve}
    chosen: list[tuple[Any, str]] = []
    for appliance in reversed(stack.seed_data.appliances):
        if appliance.home_id not in by_hand:
            continue
        info = catalog.find_model(appliance.manufacturer, appliance.model)
        codes = [
            c
            for c in (info.codes if info else [])
            if (entry := catalog.code(appliance.manufacturer, appliance.model, c)) is not None
            and not entry.self_fix
            and entry.urgency != "emergency"  # the default policy dispatches those at once
        ]
        if codes:
            chosen.append((appliance, sorted(codes)[0]))
        if len(chosen) == count:
            break
    received: dict[str, float] = {}

    def on_status(_thing: str, message: dict[str, Any]) -> None:
        if message.get("status") == "dispatched":
            received.setdefault(str(message.get("order_id")), time.perf_counter())

    recorder = CallRecorder(api_dependencies.clients)  # the API's: no ingest call counted
    members = sim_appliances([a for a, _ in chosen], catalog)
    latencies: list[float] = []
    calls_first: list[str] = []
    refused: list[str] = []
    owners: dict[str, Any] = {}
    with Fleet(stack.broker.host, stack.broker.port, members, on_status=on_status):
        for appliance, code in chosen:
            opened = stack.invoker.invoke_async(
                FUNCTION, _event(appliance.thing_name, code)
            ).result()
            order_id = opened.result["order_id"]
            if opened.result["outcome"] != "opened":
                refused.append(f"{order_id}: {opened.result['outcome']}")
                continue
            api = owners.get(appliance.home_id) or stack.api_as(f"owner-{appliance.home_id}")
            owners[appliance.home_id] = api
            status, ticket = api.get(f"/orders/{order_id}/ticket")
            if status != 200 or not ticket["windows"]:
                refused.append(f"{order_id}: no window ({status})")
                continue
            recorder.take()
            sent = time.perf_counter()
            status, body = api.post(f"/orders/{order_id}/approve", {"window": ticket["windows"][0]})
            calls = recorder.take()
            if status != 200 or body.get("status") != "dispatched":
                refused.append(f"{order_id}: {status} {body.get('message', body.get('status'))}")
                continue
            if not calls_first:
                calls_first = calls
            deadline = time.monotonic() + 10
            while order_id not in received and time.monotonic() < deadline:
                time.sleep(0.002)
            if order_id in received:
                latencies.append((received[order_id] - sent) * 1000)
    return {
        "approved": len(latencies),
        "refused": refused,
        "calls": calls_first,
        "round_trips": len(calls_first),
        "median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
    }


def measure_idempotency_alternative() -> dict[str, Any]:
    """What Powertools Idempotency would add, counted on its own against moto.

    The alternative to our conditional transaction: the idempotency record (put while in
    progress, updated when done) wrapped around the same work.
    """
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        calls: list[str] = []
        client.meta.events.register(
            "before-send", lambda event_name, **_: calls.append(event_name.split(".")[-1])
        )
        persistence = DynamoDBPersistenceLayer(table_name="idempotency", boto3_client=client)

        @idempotent_function(
            data_keyword_argument="event",
            persistence_store=persistence,
            config=IdempotencyConfig(event_key_jmespath="event_id"),
        )
        def apply_fault(event: dict[str, Any]) -> dict[str, Any]:
            return {"order_id": "ord_x"}

        with warnings.catch_warnings():  # it warns that no Lambda context was registered
            warnings.simplefilter("ignore")
            apply_fault(event={"event_id": "evt-1"})
            new, calls[:] = list(calls), []
            apply_fault(event={"event_id": "evt-1"})
        duplicate = list(calls)
    return {
        "new_fault_extra": len(new),
        "new_fault_extra_calls": new,
        "duplicate": len(duplicate),
        "duplicate_calls": duplicate,
    }


def _import_seconds(module: str, path: Path | None = None) -> float:
    """One fresh interpreter's time to import `module` (from `path` first, when given)."""
    code = (
        "import time; t = time.perf_counter(); "
        f"import {module}; elapsed = time.perf_counter() - t; "
        f"print(elapsed, {module}.__file__)"
    )
    # As on Lambda, whose /var/task is read-only: an import writes no bytecode.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if path:
        env["PYTHONPATH"] = str(path)
    # Started in the artifact's folder (or the temp folder), never in the checkout, which
    # `python -c` would put first on sys.path.
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=path or tempfile.gettempdir(),
    )
    seconds, _, source = done.stdout.strip().partition(" ")
    if path and not Path(source).is_relative_to(path):
        raise RuntimeError(f"{module} was imported from {source}, not from the artifact {path}")
    return float(seconds)


def build_artifact_code(function: str, destination: Path, *, bytecode: bool) -> Path:
    """The function's code as its Lambda artifact holds it (the Makefile's build target),
    with the bytecode the build ships when `bytecode` (see the Makefile), else sources only."""
    copy_code(function_closure(function), destination)
    if bytecode:
        compileall.compile_dir(
            destination, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
        )
    return destination


def measure_import(runs: int = 15) -> dict[str, float]:
    """Median import time of the ingest handler from its built artifact, and of bare boto3
    (the runtime's own, byte-compiled), in fresh interpreters sampled alternately so that
    the machine's load drifts over all alike. The handler is timed with the bytecode the
    build ships and, for comparison, from sources alone (what a build without bytecode
    makes Lambda compile on every cold start)."""
    handler_module = HANDLER.rsplit(".", 1)[0]
    samples: dict[str, list[float]] = {"boto3": [], "handler": [], "handler_sources": []}
    with tempfile.TemporaryDirectory() as tmp:
        compiled = build_artifact_code(FUNCTION, Path(tmp) / "compiled", bytecode=True)
        sources = build_artifact_code(FUNCTION, Path(tmp) / "sources", bytecode=False)
        for _ in range(runs):
            samples["boto3"].append(_import_seconds("boto3"))
            samples["handler"].append(_import_seconds(handler_module, compiled))
            samples["handler_sources"].append(_import_seconds(handler_module, sources))
    boto3_s, handler_s, sources_s = (statistics.median(samples[k]) for k in samples)
    return {
        "boto3_ms": round(boto3_s * 1000, 1),
        "handler_ms": round(handler_s * 1000, 1),
        "ratio": round(handler_s / boto3_s, 2),
        "handler_from_sources_ms": round(sources_s * 1000, 1),
        "ratio_from_sources": round(sources_s / boto3_s, 2),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


@contextlib.contextmanager
def running_fleet(broker: str, *, tls: bool = False) -> Iterator[tuple[LocalStack, FleetProcess]]:
    """A seeded local stack and its appliances, in a process of their own as devices would
    be: in this one their client threads would compete with the rules engine and handlers."""
    options = StackOptions(broker=broker, homes=120, technicians=48, seed=3, tls=tls)
    with LocalStack(options) as stack:
        assert stack.broker is not None and stack.seed_data is not None
        members = sim_appliances(stack.seed_data.appliances, default_catalog())
        certificates = stack.device_certificates if tls else None
        with FleetProcess(
            stack.broker.host, stack.broker.port, members, seed=5, certificates=certificates
        ) as fleet:
            yield stack, fleet


def measure_at_rate(
    stack: LocalStack, fleet: FleetProcess, rate: float, duration: float
) -> dict[str, Any]:
    """Publish `normal` faults at `rate` for `duration`; publish -> dispatched latencies,
    and every published fault accounted for (lost: no event marker, so no order and no
    repeat)."""
    assert stack.invoker is not None and stack.dependencies is not None
    failed_before = sum(1 for i in stack.invoker.invocations if i.error)
    records = fleet.run(rate, duration, "normal")
    stack.invoker.wait_idle(60)
    time.sleep(0.5)
    latencies = dispatch_latencies_ms(records, fleet.status_log())
    client = stack.dependencies.clients.dynamodb
    lost = 0
    for record in records:
        got = client.get_item(
            TableName=stack.dependencies.settings.orders_table,
            Key=key(f"EVENT#{record.thing_name}#{record.event_id}", "EVENT"),
        )
        lost += "Item" not in got
    failed = sum(1 for i in stack.invoker.invocations if i.error) - failed_before
    return {
        "rate_per_s": rate,
        "duration_s": duration,
        "published": len(records),
        "dispatched": len(latencies),
        "median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "lost": lost,
        "failed_invocations": failed,
    }


def _warm_up(stack: LocalStack, fleet: FleetProcess, rate: float) -> None:
    """Load the handler and catalog in every 'container' before measuring, then freeze what
    lives as long as the process, so full collections stop re-walking it mid-measurement."""
    assert stack.invoker is not None
    fleet.run(rate, WARM_UP_SECONDS, "normal")
    stack.invoker.wait_idle(30)
    gc.collect()
    gc.freeze()


def measure_end_to_end(rate: float, duration: float, broker: str) -> dict[str, Any]:
    with running_fleet(broker) as (stack, fleet):
        _warm_up(stack, fleet, rate)
        assert stack.broker is not None
        return {"broker": stack.broker.kind, **measure_at_rate(stack, fleet, rate, duration)}


SATURATED_P99_MS = 1000.0


def measure_load(
    rates: Sequence[float], duration: float, broker: str, *, tls: bool, saturate: bool
) -> dict[str, Any]:
    """Latency at each rate on one stack; with `saturate`, keep raising the rate by half
    until p99 passes a second (or nothing is dispatched any more)."""
    steps: list[dict[str, Any]] = []
    with running_fleet(broker, tls=tls) as (stack, fleet):
        assert stack.broker is not None
        _warm_up(stack, fleet, rates[0])
        pending = list(rates)
        while pending:
            step = measure_at_rate(stack, fleet, pending.pop(0), duration)
            steps.append(step)
            if saturate and not pending:
                p99 = step["p99_ms"]
                if p99 is not None and p99 <= SATURATED_P99_MS:
                    pending.append(round(step["rate_per_s"] * 1.5))
        kind = f"{stack.broker.kind}{' mutual TLS' if stack.broker.tls else ''}"
    saturated = next(
        (s["rate_per_s"] for s in steps if (s["p99_ms"] or 0) > SATURATED_P99_MS), None
    )
    return {"broker": kind, "steps": steps, "saturated_at_per_s": saturated}


def load_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="faultline bench load",
        description="Publish -> dispatched latency through the local stack at several rates "
        "(mutual TLS by default), and the rate at which it saturates (p99 above 1 s). "
        "Exit 1 when a published fault was lost (--json too).",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rates", default="20,50", help="faults per second, comma-separated")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per rate")
    parser.add_argument("--broker", choices=["auto", "mosquitto"], default="mosquitto")
    parser.add_argument("--plain", action="store_true", help="plain TCP instead of mutual TLS")
    parser.add_argument(
        "--no-saturate", action="store_true", help="only the given rates, no search upwards"
    )
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")]
    with contextlib.redirect_stdout(sys.stderr):
        results = measure_load(
            rates, args.duration, args.broker, tls=not args.plain, saturate=not args.no_saturate
        )
    return finish(
        results, load_checks(results), json_mode=args.json, print_text=lambda: print_load(results)
    )


def print_load(results: dict[str, Any]) -> None:
    print(f"Publish -> dispatched through the local stack ({results['broker']})")
    for step in results["steps"]:
        print(
            f"  {step['rate_per_s']:>6g}/s for {step['duration_s']:g} s: published "
            f"{step['published']}, dispatched {step['dispatched']}, median "
            f"{step['median_ms']} ms, p99 {step['p99_ms']} ms, max {step['max_ms']} ms, "
            f"lost {step['lost']}, failed invocations {step['failed_invocations']}"
        )
    saturated = results["saturated_at_per_s"]
    print(
        f"  saturates (p99 > {SATURATED_P99_MS:g} ms) at {saturated:g}/s"
        if saturated is not None
        else "  did not saturate within the rates tried"
    )


def load_checks(results: dict[str, Any]) -> list[Check]:
    """Every published fault accounted for, at each rate (the saturation rate is a finding,
    not a target)."""
    return [
        check(f"lost at {step['rate_per_s']:g}/s", step["lost"], TARGETS["lost"])
        for step in results["steps"]
    ]


def checks(results: dict[str, Any]) -> list[Check]:
    """The targets `faultline bench` prints, against what it measured (figures absent from
    `results`, e.g. with --only-import, are not checked)."""
    found: list[Check] = []
    round_trips = results.get("round_trips")
    if round_trips is not None:
        found += [
            check(
                f"round trips to opened ({name})",
                round_trips[name]["to_opened"],
                TARGETS["round_trips_to_opened"],
            )
            for name in NEW_FAULT_ROWS
        ]
        found.append(
            check(
                "round trips per duplicate (duplicate_warm)",
                round_trips["duplicate_warm"]["count"],
                TARGETS["round_trips_duplicate"],
            )
        )
    if "import" in results:
        found.append(check("import ratio", results["import"]["ratio"], TARGETS["import_ratio"]))
    e2e = results.get("end_to_end")
    if e2e is not None:
        found.append(check("end to end p99 ms", e2e["p99_ms"], TARGETS["e2e_p99_ms"]))
        found.append(check("end to end lost", e2e["lost"], TARGETS["lost"]))
    return found


def run(rate: float, duration: float, broker: str) -> dict[str, Any]:
    results: dict[str, Any] = {"targets": TARGETS}
    results["import"] = measure_import()
    results["idempotency_alternative"] = measure_idempotency_alternative()
    with LocalStack(StackOptions(broker=broker)) as stack:
        # The API keeps serving with the dependencies the stack started with (the round
        # trips' cold-container step gives the functions new ones): count on those.
        api_dependencies = stack.dependencies
        assert api_dependencies is not None
        results["round_trips"] = measure_round_trips(stack)
        results["approvals"] = measure_approvals(stack, api_dependencies)
    results["end_to_end"] = measure_end_to_end(rate, duration, broker)
    return results


def print_table(results: dict[str, Any]) -> None:
    rt = results["round_trips"]
    imp = results["import"]
    e2e = results["end_to_end"]
    print("AWS API round trips per fault (DynamoDB + IoT data plane)")
    for name in NEW_FAULT_ROWS:
        row = rt[name]
        print(
            f"  {name:<28} to opened {row['to_opened']}, to {row['outcome']} "
            f"{row['to_outcome']}: {' '.join(row['calls'])}"
        )
    for name in ("duplicate_warm", "duplicate_cold", "repeat_of_open_fault"):
        row = rt[name]
        print(f"  {name:<28} {row['count']}: {' '.join(row['calls'])}")
    alt = results["idempotency_alternative"]
    print(
        f"  Powertools Idempotency instead: +{alt['new_fault_extra']} per new fault "
        f"({' '.join(alt['new_fault_extra_calls'])}) on top of the order write; "
        f"{alt['duplicate']} per duplicate ({' '.join(alt['duplicate_calls'])})"
    )
    approvals = results["approvals"]
    print(
        f"Approve -> dispatched through the HTTP API ({approvals['approved']} approvals): "
        f"{approvals['round_trips']} round trips: "
        f"{' '.join(approvals['calls'])}; to the appliance over MQTT median "
        f"{approvals['median_ms']} ms, p99 {approvals['p99_ms']} ms, max {approvals['max_ms']} ms"
        + (f"; refused {len(approvals['refused'])}" if approvals["refused"] else "")
    )
    print(
        f"Import from the built artifact: handler {imp['handler_ms']} ms, bare boto3 "
        f"{imp['boto3_ms']} ms, ratio {imp['ratio']} (target {TARGETS['import_ratio']}); "
        f"without shipped bytecode {imp['handler_from_sources_ms']} ms, "
        f"ratio {imp['ratio_from_sources']}"
    )
    print(
        f"End to end ({e2e['broker']}, {e2e['rate_per_s']:g}/s for {e2e['duration_s']:g} s): "
        f"published {e2e['published']}, dispatched {e2e['dispatched']}, "
        f"median {e2e['median_ms']} ms, p99 {e2e['p99_ms']} ms (target {TARGETS['e2e_p99_ms']}), "
        f"max {e2e['max_ms']} ms, lost {e2e['lost']}, failed invocations "
        f"{e2e['failed_invocations']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="faultline bench",
        description="Measure AWS round trips per fault, handler import time against bare "
        "boto3, and publish-to-dispatched latency through the local stack. Each figure with "
        "a target is checked; exit 1 when one misses (--json too).",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rate", type=float, default=20.0, help="faults per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of publishing")
    parser.add_argument("--broker", choices=["auto", "amqtt", "mosquitto"], default="auto")
    parser.add_argument(
        "--only-import", action="store_true", help="only the handler's import time (no stack)"
    )
    args = parser.parse_args(argv)
    if args.only_import:
        imported = measure_import()
        found = checks({"import": imported})
        return finish(imported, found, json_mode=args.json, print_text=lambda: print(imported))
    # --json promises one JSON object on stdout: whatever else is printed meanwhile
    # (libraries, the functions' logs) goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        results = run(args.rate, args.duration, args.broker)
    return finish(
        results, checks(results), json_mode=args.json, print_text=lambda: print_table(results)
    )
