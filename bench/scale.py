"""`faultline bench scale`: the busiest partition key of every table and index, against
DynamoDB's per-partition limits, for a steady day, a fault storm and three kinds of bad input.

No emulator: each fault becomes the reads and writes the code paths make (ingest, dispatch,
approval, progress), with keys computed by the real dal key functions and item sizes from
real orders, and the capacity units they cost are counted per key per second. A key scheme
that creates a hot spot shows up as a number; the exit status is 0 only if every key holds.

Units (DynamoDB on-demand): a write costs 1 unit per KB (2 inside a transaction), an index
write 1 per KB of the projected item (a moved key costs a delete and a put), a read 0.5 per
4 KB (eventually consistent; 1 strongly consistent, 2 inside a transaction). A conditional
write that fails still costs its units, so a repeat's failed open is counted.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TextIO

from bench.fleet import Fault, Fleet, busy_home, fleet_storm, repeat_storm, steady_day
from bench.targets import Check, as_json, check, exit_status
from functions.dal.items import to_attributes
from functions.dal.keys import (
    cell_partition,
    home_index_keys,
    home_partition,
    queue_index_keys,
    rejection_partition,
)
from functions.dal.learning import DEFAULT_MAX_AGE_SECONDS, evidence_attribute
from functions.dal.learning import PARTITION as LEARNED_PARTITION
from functions.dal.orders import event_key, open_guard_key, order_key
from functions.dal.registry import appliance_key
from functions.dal.stock import WAREHOUSE, stock_key
from functions.dal.technicians import profile_key
from functions.domain.approval import open_order
from functions.domain.catalog import Catalog, default_catalog
from functions.domain.diagnosis import diagnose
from functions.domain.learning import LearnedCounts, counts_key
from functions.domain.parts import VALUE_OF_FIRST_TIME_FIX, select_kit
from schemas.device import FaultEvent
from schemas.orders import OrderStatus, RepairOrder
from schemas.registry import Appliance, ApprovalPolicy, Category, GeoPoint, Home, Technician

WRITE_LIMIT = 1000.0  # write units per second per partition key (tables and indexes)
READ_LIMIT = 3000.0  # read units per second per partition key

# Lambda adds up to 1,000 execution environments per function every 10 seconds (AWS Lambda
# "scaling behavior", checked 2026-11): a storm cannot start more containers than this.
COLD_STARTS_PER_S = 100

Keys = dict[str, str]
IndexKeys = Callable[[RepairOrder], Keys]


@dataclass(frozen=True)
class Assumptions:
    """What the fleet does around a fault; printed with the figures."""

    auto_approved: float = 0.3  # share of homes whose policy approves at once
    declined: float = 0.1  # share of homeowners who decline
    approval_delay_s: float = 1800.0  # mean time to a homeowner's answer
    visit_delay_s: float = 4 * 3600.0  # mean time from dispatch to en route
    visit_steps_s: float = 1800.0  # mean time between en route, on site and completed
    # Technicians whose service area touches a cell: each dispatch there reads all their
    # cell copies (`tech_item_bytes` each, measured), and they take that many orders at once.
    technicians_per_cell: int = 400
    # A technician's copies sit under each of their skills' keys; most know ~3 of 8 trades.
    skill_share: float = 3 / 8
    max_active_orders: int = 4
    tech_item_bytes: int = 0
    ingest_seconds: float = 0.3  # one ingest invocation, for the containers a storm warms
    learning_refresh_s: float = DEFAULT_MAX_AGE_SECONDS  # a container's snapshot lifetime
    learned_snapshot_bytes: int = 0
    registry_item_bytes: int = 1200


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (numbers about 1 byte per 2 digits)."""

    def size(value: dict[str, Any]) -> int:
        ((kind, inner),) = value.items()
        if kind == "S":
            return len(inner.encode())
        if kind == "N":
            return len(inner) // 2 + 1
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + size(v) for k, v in inner.items())
        if kind == "L":
            return 3 + sum(1 + size(v) for v in inner)
        if kind == "SS":
            return sum(len(s.encode()) for s in inner)
        raise TypeError(kind)

    return sum(len(name.encode()) + size(value) for name, value in item.items())


def write_units(size: int, transactional: bool = False) -> float:
    return max(1, math.ceil(size / 1024)) * (2 if transactional else 1)


def read_units(size: int, consistent: bool = False) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


@dataclass
class KeyLoad:
    """Units per (table or index, partition key, second), for writes and reads."""

    writes: dict[tuple[str, str], dict[int, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float))
    )
    reads: dict[tuple[str, str], dict[int, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float))
    )

    def write(self, target: str, pk: str, at: float, units: float) -> None:
        self.writes[(target, pk)][int(at)] += units

    def read(self, target: str, pk: str, at: float, units: float) -> None:
        self.reads[(target, pk)][int(at)] += units

    def totals(self) -> dict[str, float]:
        """Every unit the scenario cost, for the price per fault (docs/scale.md)."""
        return {
            "write_units": round(sum(sum(s.values()) for s in self.writes.values()), 1),
            "read_units": round(sum(sum(s.values()) for s in self.reads.values()), 1),
        }

    def report(self) -> dict[str, dict[str, Any]]:
        """Per target: the hottest key's peak per second, its share, and whether it holds."""
        targets: dict[str, dict[str, Any]] = {}
        for kind, table, limit in (
            ("write", self.writes, WRITE_LIMIT),
            ("read", self.reads, READ_LIMIT),
        ):
            per_target: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
            # The whole table's (or index's) busiest second: on-demand's warm throughput.
            whole: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
            for (target, pk), seconds in table.items():
                per_target[target].append((max(seconds.values()), sum(seconds.values()), pk))
                for second, units in seconds.items():
                    whole[target][second] += units
            for target, keys in per_target.items():
                peak, total_on_key, pk = max(keys)
                total = sum(k[1] for k in keys)
                row = targets.setdefault(target, {})
                row[kind] = {
                    "hottest_key": pk,
                    "peak_units_per_s": round(peak, 1),
                    "limit": limit,
                    "of_limit": round(peak / limit, 4),
                    "hottest_key_share": round(total_on_key / total, 4) if total else 0.0,
                    "keys": len(keys),
                    "all_keys_peak_units_per_s": round(max(whole[target].values()), 1),
                    "holds": peak <= limit,
                }
        return dict(sorted(targets.items()))


@dataclass
class TrackedOrder:
    """An order in flight: its current shape and where the work queue holds it."""

    order: RepairOrder
    queue_pk: str | None = None


class RepairFlow:
    """What the code does for a fault, as key traffic (see the module docstring for units)."""

    def __init__(
        self,
        catalog: Catalog,
        assumptions: Assumptions,
        work_queue_keys: IndexKeys = queue_index_keys,
        seed: int = 7,
    ) -> None:
        self.catalog = catalog
        self.a = assumptions
        self.work_queue_keys = work_queue_keys
        self.rng = random.Random(seed)
        self.load = KeyLoad()
        self._templates: dict[tuple[str, str, str], RepairOrder] = {}
        self._sizes: dict[tuple[str, str, str, OrderStatus], int] = {}
        self._open: dict[tuple[str, str], TrackedOrder] = {}  # by (thing, code)
        self._bookings: dict[str, int] = defaultdict(int)  # cell -> orders booked there

    # -- orders and their index entries
    def _new_order(self, fault: Fault, status: OrderStatus) -> RepairOrder:
        template_key = (fault.manufacturer, fault.model, fault.fault_code)
        template = self._templates.get(template_key)
        if template is None:
            template = self._templates[template_key] = _sample_order(self.catalog, fault)
        return template.model_copy(
            update={
                "order_id": f"ord_{fault.thing_name}_{fault.event_id}",
                "thing_name": fault.thing_name,
                "home_id": fault.home_id,
                "status": status,
            }
        )

    def _size(self, order: RepairOrder) -> int:
        """The stored item's bytes, measured once per model, code and status."""
        size_key = (order.manufacturer, order.model, order.fault_code, order.status)
        if size_key not in self._sizes:
            doc = order.model_dump(mode="json", by_alias=True)
            doc.update(self.work_queue_keys(order))
            doc.update(home_index_keys(order.home_id, doc["created_at"], order.order_id))
            self._sizes[size_key] = item_bytes({**order_key(order.order_id), **to_attributes(doc)})
        return self._sizes[size_key]

    def _write(self, tracked: TrackedOrder, at: float, status: OrderStatus | None = None) -> None:
        """A transactional Put of the order (in `status`), and what it does to both indexes."""
        before_size = self._size(tracked.order)
        if status is not None and status is not tracked.order.status:
            tracked.order = tracked.order.model_copy(update={"status": status})
        order = tracked.order
        size = self._size(order)
        self.load.write(
            "OrdersTable", order_key(order.order_id)["pk"]["S"], at, write_units(size, True)
        )
        new_pk = self.work_queue_keys(order).get("gsi1pk")
        if tracked.queue_pk is not None and tracked.queue_pk != new_pk:
            self.load.write("OrdersTable/by_status", tracked.queue_pk, at, write_units(before_size))
        if new_pk is not None:
            self.load.write("OrdersTable/by_status", new_pk, at, write_units(size))
        tracked.queue_pk = new_pk
        self.load.write("OrdersTable/by_home", home_partition(order.home_id), at, write_units(size))

    def _read(self, tracked: TrackedOrder, at: float) -> None:
        """The strongly consistent GetItem before every change."""
        pk = order_key(tracked.order.order_id)["pk"]["S"]
        self.load.read(
            "OrdersTable", pk, at, read_units(self._size(tracked.order), consistent=True)
        )

    # -- the flow
    def fault(self, fault: Fault) -> None:
        at = fault.at
        appliance = appliance_key(fault.thing_name)["pk"]["S"]
        self.load.read("RegistryTable", appliance, at, read_units(self.a.registry_item_bytes))
        # The open transaction: event marker, open guard, order (all charged even when the
        # guard's condition fails, as it does for a repeat).
        self._marker(fault, at)
        guard = open_guard_key(fault.thing_name, fault.fault_code)["pk"]["S"]
        self.load.write("OrdersTable", guard, at, write_units(100, transactional=True))
        tracked = self._open.get((fault.thing_name, fault.fault_code))
        if tracked is not None:
            self._repeat(fault, tracked, at)
            return
        auto = self.rng.random() < self.a.auto_approved
        status = OrderStatus.APPROVED if auto else OrderStatus.AWAITING_APPROVAL
        tracked = TrackedOrder(self._new_order(fault, status))
        self._open[(fault.thing_name, fault.fault_code)] = tracked
        self._write(tracked, at)
        if auto:
            self._dispatch(fault, tracked, at)
            return
        # The waiting order shows where its parts would come from: warehouse read, one save.
        self._read_warehouse(tracked.order, at)
        self._write(tracked, at)
        answer_at = at + self.rng.expovariate(1 / self.a.approval_delay_s)
        self._read(tracked, answer_at)
        if self.rng.random() < self.a.declined:
            self._write(tracked, answer_at, OrderStatus.DECLINED)
            self._close(fault, tracked, answer_at)
            return
        self._write(tracked, answer_at, OrderStatus.APPROVED)
        self._dispatch(fault, tracked, answer_at)

    def _marker(self, fault: Fault, at: float) -> None:
        marker = event_key(fault.thing_name, fault.event_id)["pk"]["S"]
        self.load.write("OrdersTable", marker, at, write_units(100, transactional=True))

    def _repeat(self, fault: Fault, tracked: TrackedOrder, at: float) -> None:
        """The failed open's order Put, then add_occurrence: a new marker and the order's
        counters in a second transaction (both indexes rewrite their copy)."""
        pk = order_key(tracked.order.order_id)["pk"]["S"]
        self.load.write("OrdersTable", pk, at, write_units(self._size(tracked.order), True))
        self._marker(fault, at)
        self._write(tracked, at)

    def _read_warehouse(self, order: RepairOrder, at: float) -> None:
        for part in order.parts.parts:
            pk = stock_key(part.part_number, WAREHOUSE)["pk"]["S"]
            self.load.read("StockTable", pk, at, read_units(60))

    def _dispatch(self, fault: Fault, tracked: TrackedOrder, at: float) -> None:
        """Query the cell, read the shortlist's load and stock, then book (or flag)."""
        skilled = self.a.technicians_per_cell * self.a.skill_share
        cell = cell_partition(fault.cell, tracked.order.diagnosis.required_skill)
        self.load.read(
            "TechniciansTable", cell, at, read_units(int(skilled * self.a.tech_item_bytes))
        )
        self._read_warehouse(tracked.order, at)
        capacity = self.a.technicians_per_cell * self.a.max_active_orders
        if self._bookings[fault.cell] >= capacity:
            self._write(tracked, at)  # still approved, flagged for triage: nobody free
            return
        self._bookings[fault.cell] += 1
        tech = f"tech-{fault.cell}-{self._bookings[fault.cell] % self.a.technicians_per_cell}"
        self._write(tracked, at, OrderStatus.DISPATCHED)
        self.load.write(
            "TechniciansTable", profile_key(tech)["pk"]["S"], at, write_units(100, True)
        )
        for part in tracked.order.parts.parts:
            pk = stock_key(part.part_number, WAREHOUSE)["pk"]["S"]
            self.load.write("StockTable", pk, at, write_units(60, transactional=True))
        self._marker(fault, at)  # settled in the same transaction
        self._visit(fault, tracked, tech, at)

    def _visit(self, fault: Fault, tracked: TrackedOrder, tech: str, at: float) -> None:
        """The technician's progress: en route, on site, completed (learning counts it)."""
        step_at = at + self.rng.expovariate(1 / self.a.visit_delay_s)
        for status in (OrderStatus.EN_ROUTE, OrderStatus.ON_SITE, OrderStatus.COMPLETED):
            self._read(tracked, step_at)
            self._write(tracked, step_at, status)
            step_at += self.rng.expovariate(1 / self.a.visit_steps_s)
        done_at = step_at
        self.load.write(
            "TechniciansTable", profile_key(tech)["pk"]["S"], done_at, write_units(100, True)
        )
        self.load.write("LearningTable", LEARNED_PARTITION, done_at, write_units(400, True))
        self._close(fault, tracked, done_at)

    def _close(self, fault: Fault, tracked: TrackedOrder, at: float) -> None:
        guard = open_guard_key(fault.thing_name, fault.fault_code)["pk"]["S"]
        self.load.write("OrdersTable", guard, at, write_units(100, transactional=True))
        self._open.pop((fault.thing_name, fault.fault_code), None)

    def reject(self, fault: Fault, day: date) -> None:
        """A malformed report: one Put on the day's rejections."""
        rejection_id = f"rej_{fault.thing_name}_{fault.event_id}"
        partition = rejection_partition(day, rejection_id)
        self.load.write("RejectionsTable", partition, fault.at, write_units(700))

    def learning_reads(self, peak_faults_per_s: float, seconds: float) -> None:
        """Each ingest container reads the learned snapshot when it starts, then once per
        refresh period. Lambda starts at most `COLD_STARTS_PER_S` per function."""
        containers = max(1, math.ceil(peak_faults_per_s * self.a.ingest_seconds))
        units = read_units(self.a.learned_snapshot_bytes)
        started = 0
        for second in range(int(seconds) + 1):
            starting = min(COLD_STARTS_PER_S, containers - started)
            started += starting
            refreshing = started / self.a.learning_refresh_s
            self.load.read(
                "LearningTable", LEARNED_PARTITION, second, (starting + refreshing) * units
            )


def _sample_order(catalog: Catalog, fault: Fault) -> RepairOrder:
    """A real order for this model and code (diagnosis and kit from the catalog)."""
    info = catalog.find_model(fault.manufacturer, fault.model)
    assert info is not None
    appliance = Appliance(
        thing_name=fault.thing_name,
        home_id=fault.home_id,
        manufacturer=fault.manufacturer,
        model=fault.model,
        category=info.category,
        serial="SN0000000000",
        installed_on=date(2024, 1, 1),
        warranty_until=date(2027, 1, 1),
    )
    home = Home(
        home_id=fault.home_id, location=GeoPoint(lat=52.1, lon=5.1), policy=ApprovalPolicy()
    )
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    event = FaultEvent(
        event_id=fault.event_id,
        occurred_at=now,
        fault_code=fault.fault_code,
        firmware="1.2.3",
        telemetry={},
    )
    diagnosis = diagnose(catalog, appliance, event, LearnedCounts())
    parts = select_kit(catalog, appliance, diagnosis, value_of_fix=VALUE_OF_FIRST_TIME_FIX)
    return open_order(
        appliance=appliance,
        home=home,
        event=event,
        diagnosis=diagnosis,
        parts=parts,
        published_at=now,
        now=now,
    )


def old_status_keys(order: RepairOrder) -> Keys:
    """The scheme this bench replaced: one partition per status, every order in it."""
    return {
        "gsi1pk": f"STATUS#{order.status.value}",
        "gsi1sk": f"{order.updated_at}#{order.order_id}",
    }


def measured_sizes(catalog: Catalog) -> tuple[int, int]:
    """(a technician's cell copy, the whole learned snapshot once every cause is confirmed)."""
    tech = Technician(
        technician_id="tech-00000000",
        name="Firstname Lastname",
        skills=[Category.WASHER, Category.DRYER, Category.DISHWASHER],
        brands=["Bosch", "Samsung"],
        certifications=["gas-safe"],
        home_base=GeoPoint(lat=52.1, lon=5.1),
        service_radius_km=25,
    )
    copy: dict[str, Any] = {
        "pk": {"S": cell_partition("u178", Category.WASHER)},
        "sk": {"S": f"TECH#{tech.technician_id}"},
    }
    copy["profile"] = {"S": tech.model_dump_json(by_alias=True)}
    learned = 0
    for maker in catalog.manufacturers:
        found = catalog.manufacturer(maker)
        assert found is not None
        for family in found.families:
            for entry in family.codes:
                item: dict[str, Any] = {
                    "pk": {"S": LEARNED_PARTITION},
                    "sk": {"S": counts_key(maker, family.family, entry.code)},
                }
                for cause in entry.causes:
                    item[f"c_{cause.cause_id}"] = {"N": "12345"}
                    for rule in entry.rules:
                        # A reading is counted per condition signature; assume three each.
                        for signature in ("none", "high", "high+low"):
                            item[evidence_attribute(rule.telemetry, signature, cause.cause_id)] = {
                                "N": "12345"
                            }
                learned += item_bytes(item)
    return item_bytes(copy), learned


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    faults: Callable[[Fleet], Iterable[Fault]]
    rejected: bool = False


SCENARIOS = (
    Scenario("steady_day", "10M appliances, 1 % fault in a day (hourly shape)", steady_day),
    Scenario("storm", "100,000 distinct appliances, one model, one region, 10 min", fleet_storm),
    Scenario(
        "repeats",
        "3,000 appliances re-reporting every 3 s for 10 min",
        repeat_storm,
    ),
    Scenario("busy_home", "one home, 300 appliances faulting within a minute", busy_home),
    Scenario(
        "malformed_storm", "the storm's 100,000 reports, all rejected", fleet_storm, rejected=True
    ),
)


def run_scenario(
    scenario: Scenario,
    catalog: Catalog,
    assumptions: Assumptions,
    work_queue_keys: IndexKeys = queue_index_keys,
) -> dict[str, Any]:
    fleet = Fleet(catalog)
    flow = RepairFlow(catalog, assumptions, work_queue_keys)
    per_second: dict[int, int] = defaultdict(int)
    day = date(2026, 3, 2)
    last = 0.0
    for fault in scenario.faults(fleet):
        per_second[int(fault.at)] += 1
        last = fault.at
        if scenario.rejected:
            flow.reject(fault, day)
        else:
            flow.fault(fault)
    peak = max(per_second.values(), default=0)
    if not scenario.rejected:
        flow.learning_reads(peak, last + 1)
    return {
        "what": scenario.what,
        "faults": sum(per_second.values()),
        "peak_faults_per_s": peak,
        "units": flow.load.totals(),
        "tables": flow.load.report(),
    }


def run(
    scenarios: Sequence[Scenario] = SCENARIOS,
    assumptions: Assumptions | None = None,
    work_queue_keys: IndexKeys = queue_index_keys,
) -> dict[str, Any]:
    catalog = default_catalog()
    tech_bytes, learned_bytes = measured_sizes(catalog)
    base = assumptions or Assumptions()
    assumptions = Assumptions(
        **{**base.__dict__, "tech_item_bytes": tech_bytes, "learned_snapshot_bytes": learned_bytes}
    )
    results = {s.name: run_scenario(s, catalog, assumptions, work_queue_keys) for s in scenarios}
    return {
        "limits": {"write_units_per_s": WRITE_LIMIT, "read_units_per_s": READ_LIMIT},
        "assumptions": assumptions.__dict__,
        "scenarios": results,
        "all_hold": all_hold(results),
    }


def all_hold(results: dict[str, Any]) -> bool:
    return all(
        figures["holds"]
        for scenario in results.values()
        for row in scenario["tables"].values()
        for figures in row.values()
    )


def print_report(report: dict[str, Any], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    print("Hottest partition key per table and index (units per second, on-demand)", file=out)
    print(
        f"limits: {WRITE_LIMIT:,.0f} write / {READ_LIMIT:,.0f} read units per second per key\n",
        file=out,
    )
    header = (
        f"{'table / index':<24}{'kind':<7}{'hottest key':<34}"
        f"{'peak/s':>9}{'of limit':>10}{'share':>8}  holds"
    )
    for name, scenario in report["scenarios"].items():
        print(
            f"{name}: {scenario['what']} - {scenario['faults']:,} reports, "
            f"peak {scenario['peak_faults_per_s']}/s",
            file=out,
        )
        print(header, file=out)
        for target, row in scenario["tables"].items():
            for kind, f in row.items():
                key = (
                    f["hottest_key"]
                    if len(f["hottest_key"]) <= 32
                    else f["hottest_key"][:29] + "..."
                )
                print(
                    f"{target:<24}{kind:<7}{key:<34}{f['peak_units_per_s']:>9,.1f}{f['of_limit']:>10.1%}"
                    f"{f['hottest_key_share']:>8.1%}  {'yes' if f['holds'] else 'NO'}",
                    file=out,
                )
        print(file=out)
    for name, figures in report.get("old_scheme", {}).items():
        print(
            f"for comparison, the old STATUS# key under '{name}': {figures['hottest_key']} "
            f"peaks at {figures['peak_units_per_s']:,.0f} write units/s "
            f"({figures['of_limit']:.0%} of the limit)",
            file=out,
        )
    print(f"all keys hold: {'yes' if report['all_hold'] else 'NO'}", file=out)


def old_scheme_figures(names: Sequence[str] = ("storm", "repeats")) -> dict[str, Any]:
    """The work queue's busiest key had it stayed one STATUS# key per status (the superseded
    scheme, computed only when asked: it runs those scenarios a second time)."""
    scenarios = [s for s in SCENARIOS if s.name in names]
    old = run(scenarios, work_queue_keys=old_status_keys)["scenarios"]
    return {name: old[name]["tables"]["OrdersTable/by_status"]["write"] for name in old}


def checks(report: dict[str, Any]) -> list[Check]:
    """Every table's and index's hottest key against its per-key limit, per scenario."""
    found = []
    for name, scenario in report["scenarios"].items():
        for target, row in scenario["tables"].items():
            for kind, figures in row.items():
                found.append(
                    check(
                        f"{name} {target} {kind} units/s on the hottest key",
                        figures["peak_units_per_s"],
                        f"<= {figures['limit']:g}",
                    )
                )
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="faultline bench scale", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--compare-superseded",
        action="store_true",
        help="also compute the superseded work-queue key (one STATUS# key per status) under "
        "the storm and the repeats, for comparison (runs those scenarios again)",
    )
    args = parser.parse_args(argv)
    report = run()
    if args.compare_superseded:
        report["old_scheme"] = old_scheme_figures()
    found = checks(report)
    if args.json:
        print(json.dumps({**report, **as_json(found)}, indent=2))
    else:
        print_report(report)
    return exit_status(found)


if __name__ == "__main__":
    sys.exit(main())
