"""`faultline bench storm`: a burst of faults from neighbouring homes, dispatched while
eligible technicians are free.

Against the local stack (the AWS emulator with template.yaml deployed, the ingest function
run as Lambda runs it, several at once): N homes within a kilometre of each other, each
with a washer whose policy approves repairs, and enough qualified washer technicians
nearby, each taking at most a few orders, to serve them all (their cell copies say none is
busy: the stale copies a storm ranks on). Every home reports a fault at once. Printed:
orders offered (or dispatched) vs flagged `no_technician`, and the eligible technicians
still free at the end. Exit 1 when an order was flagged while an eligible technician
stayed free (or an order is missing).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

from functions.domain.catalog import default_catalog
from functions.domain.geo import distance_km
from functions.domain.matching import Job, qualification_reason
from infra.stack import LocalStack, StackOptions
from schemas.orders import OrderStatus, TriageReason, Urgency
from schemas.registry import (
    Appliance,
    ApprovalPolicy,
    Category,
    GeoPoint,
    Home,
    Technician,
    WorkingHours,
)

CENTRE = GeoPoint(lat=47.3769, lon=8.5417)  # away from the seeded city
PER_TECHNICIAN = 3  # each technician's maximum of active orders
SETTLE_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class StormResult:
    faults: int
    technicians: int
    offered: int  # offered (window held) or dispatched
    flagged: int  # no_technician
    other: int  # any other outcome (none expected)
    free_eligible_technicians: int  # with room left at the end, qualified for every order
    seconds: float

    @property
    def ok(self) -> bool:
        missing = self.faults - self.offered - self.flagged - self.other
        return missing == 0 and self.other == 0 and not (self.flagged and self.free_eligible)

    @property
    def free_eligible(self) -> int:
        return self.free_eligible_technicians


def _near(rng: random.Random, km: float) -> GeoPoint:
    # ~111 km per degree of latitude; longitude scaled at this latitude (about 75 km)
    return GeoPoint(
        lat=CENTRE.lat + rng.uniform(-km, km) / 111.0,
        lon=CENTRE.lon + rng.uniform(-km, km) / 75.0,
    )


def _event(thing: str, code: str) -> dict[str, object]:
    payload = {
        "schema": "fault/1",
        "event_id": uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC).isoformat(),
        "fault_code": code,
        "firmware": "2.1.0",
        "telemetry": {},
    }
    return {
        "raw": base64.b64encode(json.dumps(payload).encode()).decode(),
        "thing_name": thing,
        "client_id": thing,
        "topic": f"dt/repair/{thing}/fault",
        "received_at": int(time.time() * 1000),
    }


def run(faults: int, seed: int, spare: int) -> StormResult:
    rng = random.Random(seed)
    catalog = default_catalog()
    info = next(m for m in catalog.models() if m.category is Category.WASHER)
    code = next(
        c
        for c in info.codes
        if (entry := catalog.code(info.manufacturer, info.model, c)) is not None
        and not entry.self_fix
        and entry.urgency is not Urgency.EMERGENCY
    )
    technicians = -(-faults // PER_TECHNICIAN) + spare
    options = StackOptions(homes=4, technicians=4, seed=seed, schedules=False)
    with LocalStack(options) as stack:
        deps = stack.dependencies
        assert deps is not None and stack.invoker is not None
        things = []
        for n in range(faults):
            home = Home(
                home_id=f"storm-home-{n:04d}",
                location=_near(rng, 1.0),
                timezone="UTC",
                policy=ApprovalPolicy(auto_approve=True),
            )
            thing = f"storm-washer-{n:04d}"
            deps.registry.put_home(
                home,
                [
                    Appliance(
                        thing_name=thing,
                        home_id=home.home_id,
                        manufacturer=info.manufacturer,
                        model=info.model,
                        category=info.category,
                        serial=f"SN{n:08d}",
                        installed_on=date(2024, 1, 1),
                    )
                ],
            )
            things.append((thing, home))
        techs = [
            Technician(
                technician_id=f"storm-tech-{t:03d}",
                name=f"Storm {t}",
                skills=[Category.WASHER],
                brands=[],
                certifications=["electrical", "gas_safe", "refrigerant_handling"],
                home_base=_near(rng, 3.0),
                service_radius_km=30,
                working_hours=WorkingHours(weekdays=list(range(7))),
                max_active_orders=PER_TECHNICIAN,
                auto_accept_offers=t % 2 == 0,  # half accept by hand: their offers are held
            )
            for t in range(technicians)
        ]
        for tech in techs:
            deps.technicians.put(tech)
        started = time.monotonic()
        futures = [
            stack.invoker.invoke_async("IngestFaultFunction", _event(thing, code))
            for thing, _home in things
        ]
        stack.invoker.wait_idle(SETTLE_TIMEOUT_S)
        seconds = time.monotonic() - started
        outcomes: Counter[str] = Counter()
        for future in futures:
            result = future.result().result
            outcomes[str(result.get("outcome")) if isinstance(result, dict) else "error"] += 1
        flagged = offered = other = 0
        for _thing, home in things:
            [order] = deps.orders.list_by_home(home.home_id)
            if order.status in (OrderStatus.OFFERED, OrderStatus.DISPATCHED):
                offered += 1
            elif any(f.reason is TriageReason.NO_TECHNICIAN for f in order.triage_reasons):
                flagged += 1
            else:
                other += 1
        jobs = [
            Job(Category.WASHER, info.manufacturer, (), Urgency.NORMAL, home.location)
            for _thing, home in things
        ]
        free = 0
        for tech in techs:
            live = deps.technicians.get(tech.technician_id)
            if live is None or live.active_orders >= live.max_active_orders:
                continue
            if all(
                qualification_reason(live, job, distance_km(live.home_base, job.location)) is None
                for job in jobs
            ):
                free += 1
        print(f"invocation outcomes: {dict(outcomes)}", file=sys.stderr)
    return StormResult(faults, technicians, offered, flagged, other, free, round(seconds, 2))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="faultline bench storm",
        description="A burst of faults from neighbouring homes against the local stack: "
        "orders offered vs flagged no_technician, and free eligible technicians at the end",
    )
    parser.add_argument("--faults", type=int, default=60)
    parser.add_argument(
        "--spare", type=int, default=4, help="technicians beyond what the faults need"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.faults < 1:
        parser.error("--faults must be at least 1")
    with contextlib.redirect_stdout(sys.stderr):  # the functions' logs; stdout is the result
        result = run(args.faults, args.seed, args.spare)
    if args.json:
        print(json.dumps({**asdict(result), "ok": result.ok}))
    else:
        print(
            f"storm: {result.faults} faults from neighbouring homes, {result.technicians} "
            f"technicians (at most {PER_TECHNICIAN} orders each), {result.seconds} s\n"
            f"  offered or dispatched: {result.offered}\n"
            f"  flagged no_technician: {result.flagged}\n"
            f"  other outcomes:        {result.other}\n"
            f"  free eligible technicians at the end: {result.free_eligible_technicians}\n"
            f"  {'OK' if result.ok else 'MISS: an order was flagged while one was free'}"
        )
    return 0 if result.ok else 1
