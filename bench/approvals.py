"""`faultline bench approvals`: a homeowner's approval, through the HTTP API, until the
appliance shows "dispatched": the AWS round trips of the approve request, and the latency
from sending the request to the appliance receiving its status over MQTT (median, p99).

Figures, not pass/fail. Faults are published over MQTT by real appliances of homes that
approve by hand; each order is approved by its own homeowner, signed in, with the first
window its ticket proposes.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.flow import CallRecorder, percentile
from functions.domain.catalog import Catalog, default_catalog
from infra.api_client import ApiClient
from infra.stack import LocalStack, StackOptions
from iot.faults import make_fault, sim_appliances
from iot.simulator import Fleet
from schemas.orders import OrderStatus, Urgency
from schemas.registry import Appliance

STATUS_TIMEOUT_SECONDS = 10.0


def waiting_code(catalog: Catalog, appliance: Appliance) -> str | None:
    """A code whose order waits for its homeowner: a visit (no self-fix guide first) that
    is no emergency (the default policy dispatches those at once) and needs parts."""
    info = catalog.find_model(appliance.manufacturer, appliance.model)
    for code in sorted(info.codes) if info else []:
        entry = catalog.code(appliance.manufacturer, appliance.model, code)
        if (
            entry is not None
            and not entry.self_fix
            and entry.urgency is not Urgency.EMERGENCY
            and any(cause.parts for cause in entry.causes)
        ):
            return code
    return None


def _waiting_order(api: ApiClient, home_id: str, thing_name: str) -> dict[str, Any] | None:
    status, body = api.get(f"/homes/{home_id}/orders")
    if status != 200:
        raise RuntimeError(f"GET /homes/{home_id}/orders answered {status}: {body}")
    return next(
        (
            o
            for o in body["orders"]
            if o["thing_name"] == thing_name and o["status"] == OrderStatus.AWAITING_APPROVAL
        ),
        None,
    )


def _shows_dispatched(order_id: str) -> Callable[[str, dict[str, Any]], bool]:
    def matches(_thing: str, message: dict[str, Any]) -> bool:
        return (
            message.get("order_id") == order_id
            and message.get("status") == OrderStatus.DISPATCHED.value
        )

    return matches


def measure_approvals(count: int = 30, broker: str = "auto") -> dict[str, Any]:
    options = StackOptions(broker=broker, homes=120, technicians=48, seed=3)
    with LocalStack(options) as stack:
        assert stack.broker is not None and stack.seed_data is not None
        assert stack.invoker is not None and stack.dependencies is not None
        catalog = default_catalog()
        by_hand = {h.home_id for h in stack.seed_data.homes if not h.policy.auto_approve}
        chosen: list[tuple[Appliance, str]] = []
        homes_used: set[str] = set()
        for appliance in stack.seed_data.appliances:
            code = waiting_code(catalog, appliance)
            if code and appliance.home_id in by_hand and appliance.home_id not in homes_used:
                chosen.append((appliance, code))
                homes_used.add(appliance.home_id)
        chosen = chosen[:count]
        members = sim_appliances([a for a, _ in chosen], catalog)
        rng = random.Random(11)
        certificates = stack.device_certificates or None
        with Fleet(
            stack.broker.host, stack.broker.port, members, seed=7, certificates=certificates
        ) as fleet:
            for member, (_appliance, code) in zip(members, chosen, strict=True):
                fleet.publish(member.thing_name, make_fault(member, rng, fault_code=code))
            stack.invoker.wait_idle(60)
            recorder = CallRecorder(stack.dependencies.clients)
            latencies: list[float] = []
            answers: list[float] = []
            calls: list[list[str]] = []
            refused: list[str] = []
            for appliance, _code in chosen:
                api = stack.api_as(f"owner-{appliance.home_id}")
                order = _waiting_order(api, appliance.home_id, appliance.thing_name)
                if order is None:
                    refused.append(f"{appliance.thing_name}: no order awaiting approval")
                    continue
                order_id = order["order_id"]
                status, ticket = api.get(f"/orders/{order_id}/ticket")
                if status != 200 or not ticket.get("windows"):
                    refused.append(f"{order_id}: ticket {status}, no window offered")
                    continue
                recorder.take()
                sent = time.time()
                status, answer = api.post(
                    f"/orders/{order_id}/approve", {"window": ticket["windows"][0]}
                )
                answered = time.time()
                approve_calls = recorder.take()
                if status != 200:
                    refused.append(f"{order_id}: approve {status} {answer.get('message')}")
                    continue
                got = fleet.wait_for_status(_shows_dispatched(order_id), STATUS_TIMEOUT_SECONDS)
                if got is None:
                    refused.append(f"{order_id}: appliance never showed dispatched")
                    continue
                latencies.append((got[1]["_received_at"] - sent) * 1000)
                answers.append((answered - sent) * 1000)
                calls.append(approve_calls)
        trips = sorted(len(c) for c in calls)
        return {
            "broker": stack.broker.kind,
            "approvals": len(chosen),
            "dispatched": len(latencies),
            "not_dispatched": refused,
            "round_trips_median": statistics.median(trips) if trips else None,
            "round_trips_max": trips[-1] if trips else None,
            "round_trips_example": calls[len(calls) // 2] if calls else [],
            "answer_median_ms": round(statistics.median(answers), 1) if answers else None,
            "to_appliance_median_ms": round(statistics.median(latencies), 1) if latencies else None,
            "to_appliance_p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
            "to_appliance_max_ms": round(max(latencies), 1) if latencies else None,
        }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="faultline bench approvals", description=__doc__)
    parser.add_argument("--count", type=int, default=30, help="orders to approve")
    parser.add_argument("--broker", default="auto", choices=("auto", "amqtt", "mosquitto"))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    results = measure_approvals(args.count, args.broker)
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"Approve -> dispatched, {results['approvals']} orders ({results['broker']} broker)")
    print(
        f"  AWS round trips of the approve request: median {results['round_trips_median']}, "
        f"max {results['round_trips_max']}"
    )
    print(f"    e.g. {' '.join(results['round_trips_example'])}")
    print(f"  approve answered: median {results['answer_median_ms']} ms")
    print(
        f"  approve sent -> appliance shows dispatched: median "
        f"{results['to_appliance_median_ms']} ms, p99 {results['to_appliance_p99_ms']} ms, "
        f"max {results['to_appliance_max_ms']} ms (n={results['dispatched']})"
    )
    for line in results["not_dispatched"]:
        print(f"  not dispatched: {line}")
    return 0 if results["dispatched"] else 1
