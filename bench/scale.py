"""`faultline bench scale`: the busiest partition key of every table and index, against
DynamoDB's per-partition limits, for a steady day, a fault storm and three kinds of bad input;
what each operation reads and writes; and the cost per 1,000 faults.

Nothing is re-typed: what each operation reads, writes and sends (a new fault opened, a
duplicate, a repeat folded, the homeowner's ticket, list and approval with its booking, the
technician's steps, the sweeper's reminder and expiry...) is recorded from the functions' own
use cases against the in-process emulator (bench.recording), with item sizes and capacity
units by DynamoDB's rules (bench.capacity). Each recorded partition key becomes a template
("ORDER#{order}", "QUEUE#dispatched#{queue_shard}"), and the scenarios replay the operations
for every simulated fault with its own keys, counting units per key per second. A key scheme
that creates a hot spot shows up as a number; the exit status is 0 only if every key holds.

Two reads grow with the fleet rather than with a fault, and are scaled from the recording:
a dispatch reads every technician copy in its cell (the recorded copy's size times the
technicians of that trade in the busiest cell), and every ingest container reads the whole
learned snapshot when it starts (its size measured from the catalog).
"""

from __future__ import annotations

import argparse
import functools
import heapq
import math
import random
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TextIO

from bench.capacity import item_bytes, read_units
from bench.fleet import Fault, Fleet, busy_home, fleet_storm, repeat_storm, steady_day
from bench.recording import (
    REPEATS,
    TECHNICIANS,
    Operation,
    key_template,
    recorded_operations,
    recorded_parts,
    sample_order,
)
from bench.recording import (
    Fault as RecordedFault,
)
from bench.targets import Check, check, finish
from functions.dal.keys import (
    DUE_SHARDS,
    QUEUE_SHARDS,
    REJECTION_SHARDS,
    TRIAGE_SHARDS,
    UNSETTLED_SHARDS,
    shard_of,
)
from functions.dal.learning import DEFAULT_MAX_AGE_SECONDS, evidence_attribute
from functions.dal.learning import PARTITION as LEARNED_PARTITION
from functions.domain.catalog import Catalog, default_catalog
from functions.domain.learning import counts_key

WRITE_LIMIT = 1000.0  # write units per second per partition key (tables and indexes)
READ_LIMIT = 3000.0  # read units per second per partition key

# Lambda adds up to 1,000 execution environments per function every 10 seconds (AWS Lambda
# "scaling behavior", checked 2026-11): a storm cannot start more containers than this.
COLD_STARTS_PER_S = 100


@dataclass(frozen=True)
class Assumptions:
    """What the fleet does around a fault; printed with the figures."""

    auto_approved: float = 0.3  # share of homes whose policy approves at once
    unanswered: float = 0.05  # share of waiting orders nobody answers: reminded, then expired
    declined: float = 0.1  # share of the answering homeowners who decline
    redelivered: float = 0.01  # share of faults the broker delivers twice (MQTT QoS 1)
    approval_delay_s: float = 1800.0  # mean time to a homeowner's answer (or their look)
    reminder_s: float = 24 * 3600.0  # template parameters: ApprovalReminderSeconds,
    expiry_s: float = 72 * 3600.0  # ApprovalExpirySeconds
    visit_delay_s: float = 4 * 3600.0  # mean time from dispatch to en route
    visit_steps_s: float = 1800.0  # mean time between en route, on site and completed
    # Technicians whose service area touches a cell: each dispatch there reads all their
    # cell copies of its trade, and they take that many orders at once.
    technicians_per_cell: int = 400
    # A technician's copies sit under each of their skills' keys; most know ~3 of 8 trades.
    skill_share: float = 3 / 8
    max_active_orders: int = 4
    ingest_seconds: float = 0.3  # one ingest invocation, for the containers a storm warms
    learning_refresh_s: float = DEFAULT_MAX_AGE_SECONDS  # a container's snapshot lifetime
    learned_snapshot_bytes: int = 0  # measured from the catalog (run)

    @property
    def skilled_per_cell(self) -> int:
        return max(1, round(self.technicians_per_cell * self.skill_share))


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


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class KeyUse:
    """What one operation spends on one partition key template of one table or index."""

    target: str
    kind: str  # read | write
    template: str  # "ORDER#{order}": filled per fault
    units: float
    per_part: bool = False  # spent once per part of the fault's kit ("PART#{part}")
    cell_copy_bytes: float = 0.0  # a dispatch's cell read: one technician copy's size

    def units_at_scale(self, assumptions: Assumptions) -> float:
        """A cell read pays for every copy of the trade in the cell, not the recording's few."""
        if self.cell_copy_bytes:
            return read_units(round(self.cell_copy_bytes * assumptions.skilled_per_cell))
        return self.units


@dataclass(frozen=True)
class Profile:
    """An operation as key templates, and the other things it bills."""

    name: str
    what: str
    function: str
    uses: tuple[KeyUse, ...]
    parts: int  # the recorded kit's parts (a per-part use is spent this often per kit)
    requests: Counter[str]  # "dynamodb.TransactWriteItems" -> count
    iot_messages: tuple[int, ...]  # bytes of each status message published
    sns_messages: tuple[int, ...]  # bytes of each notification published
    api_requests: int
    inbound_bytes: int

    def units(self, kind: str, assumptions: Assumptions, *, index: bool | None = None) -> float:
        """Units of `kind` the operation costs at scale (index: only, or only not, indexes)."""
        total = 0.0
        for use in self.uses:
            if use.kind != kind or (index is not None and ("/" in use.target) is not index):
                continue
            total += use.units_at_scale(assumptions) * (self.parts if use.per_part else 1)
        return total


def profile_of(operation: Operation) -> Profile:
    grouped: dict[tuple[str, str, str], list[Any]] = {}
    for access in operation.accesses():
        template = key_template(access.key, operation.ids)
        grouped.setdefault((access.target, access.kind, template), []).append(access)
    parts = max(recorded_parts(operation), 1)
    uses = []
    for (target, kind, template), accesses in grouped.items():
        units = sum(a.units for a in accesses)
        cell = kind == "read" and template.startswith("CELL#")
        uses.append(
            KeyUse(
                target,
                kind,
                template,
                units / parts if "{part}" in template else units,
                per_part="{part}" in template,
                cell_copy_bytes=(
                    sum(a.size for a in accesses) / max(sum(a.items for a in accesses), 1)
                    if cell
                    else 0.0
                ),
            )
        )
    return Profile(
        name=operation.name,
        what=operation.what,
        function=operation.function,
        uses=tuple(uses),
        parts=parts,
        requests=Counter(f"{r.service}.{r.operation}" for r in operation.requests),
        iot_messages=tuple(r.message_bytes for r in operation.requests if r.service == "iot-data"),
        sns_messages=tuple(r.message_bytes for r in operation.requests if r.service == "sns"),
        api_requests=operation.api_requests,
        inbound_bytes=operation.inbound_bytes,
    )


@functools.cache
def recorded_profiles() -> dict[str, Profile]:
    """Every operation, recorded once per process (a few seconds)."""
    return {name: profile_of(op) for name, op in recorded_operations().items()}


def repeat_profiles(profiles: dict[str, Profile]) -> list[Profile]:
    return [profiles[f"repeat_{n}"] for n in range(1, REPEATS + 1)]


def superseded(profiles: dict[str, Profile]) -> dict[str, Profile]:
    """The work queue as it was: one STATUS# key per status, every order in it (a lower
    bound: closed orders, which stayed in the index then, are not counted here)."""
    pattern = re.compile(r"^QUEUE#([^#]+)#\{queue_shard\}$")

    def old(use: KeyUse) -> KeyUse:
        if not use.target.endswith("/by_status"):
            return use
        return KeyUse(
            use.target,
            use.kind,
            pattern.sub(r"STATUS#\1", use.template),
            use.units,
            use.per_part,
            use.cell_copy_bytes,
        )

    return {
        name: Profile(**{**profile.__dict__, "uses": tuple(old(u) for u in profile.uses)})
        for name, profile in profiles.items()
    }


# --------------------------------------------------------------------------- the flow


@dataclass
class OpenOrder:
    values: dict[str, str]
    number: int = 0  # which order of the flow it is
    repeats: int = 0


@dataclass(frozen=True)
class Kit:
    skill: str
    parts: tuple[str, ...]


class RepairFlow:
    """Every simulated fault's operations, replayed on its own keys (see the module
    docstring); `counts` tells how often each operation ran."""

    def __init__(
        self,
        catalog: Catalog,
        profiles: dict[str, Profile],
        assumptions: Assumptions,
        seed: int = 7,
    ) -> None:
        self.catalog = catalog
        self.profiles = profiles
        self.repeats = repeat_profiles(profiles)
        self.a = assumptions
        self.rng = random.Random(seed)
        self.load = KeyLoad()
        self.counts: Counter[str] = Counter()
        self._kits: dict[tuple[str, str, str], Kit] = {}
        self._open: dict[tuple[str, str], OpenOrder] = {}  # by (thing, code)
        self._booked: dict[str, int] = defaultdict(int)  # cell -> visits booked and not done
        self._bookings: dict[str, int] = defaultdict(int)  # cell -> visits ever booked
        self._done: list[tuple[float, str]] = []  # (when a visit ends, its cell)
        self._closing: list[tuple[float, int, tuple[str, str]]] = []  # (when, n, thing+code)
        self._orders = 0

    # -- keys
    def _kit(self, fault: Fault) -> Kit:
        found = self._kits.get((fault.manufacturer, fault.model, fault.fault_code))
        if found is None:
            info = self.catalog.find_model(fault.manufacturer, fault.model)
            assert info is not None
            recorded = RecordedFault(
                fault.manufacturer, fault.model, info.category.value, fault.fault_code
            )
            order = sample_order(self.catalog, recorded, fault.thing_name, fault.home_id)
            found = Kit(
                order.diagnosis.required_skill.value,
                tuple(p.part_number for p in order.parts.parts),
            )
            self._kits[(fault.manufacturer, fault.model, fault.fault_code)] = found
        return found

    def _values(self, fault: Fault) -> dict[str, str]:
        order = f"ord_{fault.thing_name}_{fault.event_id}"
        return {
            "thing": fault.thing_name,
            "home": fault.home_id,
            "event": fault.event_id,
            "order": order,
            "new_order": order,
            "code": fault.fault_code,
            "cell": fault.cell,
            "skill": self._kit(fault).skill,
            "user": f"user-{fault.home_id}",
            "queue_shard": f"{shard_of(order, QUEUE_SHARDS):02d}",
            "due_shard": f"{shard_of(order, DUE_SHARDS):02d}",
            "triage_shard": f"{shard_of(order, TRIAGE_SHARDS):02d}",
            "unsettled_shard": str(shard_of(fault.thing_name, UNSETTLED_SHARDS)),
            **self._technicians(fault.cell, self._bookings[fault.cell]),
        }

    def _technicians(self, cell: str, first: int) -> dict[str, str]:
        techs = {
            f"tech{i}": f"tech-{cell}-{(first + i) % self.a.technicians_per_cell}"
            for i in range(TECHNICIANS)
        }
        return {**techs, "tech_user": f"user-{techs['tech0']}"}

    def apply(self, name: str, values: dict[str, str], at: float, parts: Sequence[str]) -> None:
        self.apply_profile(self.profiles[name], values, at, parts)

    def apply_profile(
        self, profile: Profile, values: dict[str, str], at: float, parts: Sequence[str]
    ) -> None:
        self.counts[profile.name] += 1
        load = self.load
        for use in profile.uses:
            add = load.write if use.kind == "write" else load.read
            units = use.units_at_scale(self.a)
            if use.per_part:
                for part in parts:
                    add(use.target, use.template.format_map({**values, "part": part}), at, units)
            else:
                add(use.target, use.template.format_map(values), at, units)

    # -- bookings
    def _book(self, fault: Fault, at: float) -> dict[str, str] | None:
        """Book a technician of the fault's cell, when one is free: their keys."""
        while self._done and self._done[0][0] <= at:
            self._booked[heapq.heappop(self._done)[1]] -= 1
        capacity = self.a.technicians_per_cell * self.a.max_active_orders
        if self._booked[fault.cell] >= capacity:
            return None
        self._booked[fault.cell] += 1
        self._bookings[fault.cell] += 1
        return self._technicians(fault.cell, self._bookings[fault.cell])

    # -- the flow
    def fault(self, fault: Fault) -> None:
        """The fault's operations, each at its time; orders close when their last step
        comes (a repeat until then folds into the open order)."""
        at = fault.at
        while self._closing and self._closing[0][0] <= at:
            _, n, key = heapq.heappop(self._closing)
            if self._open.get(key, OpenOrder({})).number == n:
                del self._open[key]
        kit = self._kit(fault)
        values = self._values(fault)
        tracked = self._open.get((fault.thing_name, fault.fault_code))
        if tracked is not None:
            tracked.repeats += 1
            profile = self.repeats[min(tracked.repeats, len(self.repeats)) - 1]
            repeat = {**tracked.values, "event": fault.event_id, "new_order": values["order"]}
            self.apply_profile(profile, repeat, at, kit.parts)
            return
        self._orders += 1
        self._open[(fault.thing_name, fault.fault_code)] = OpenOrder(values, self._orders)
        if self.rng.random() < self.a.redelivered:
            self.apply("duplicate", values, at + 1, kit.parts)
        if self.rng.random() < self.a.auto_approved:
            booked = self._book(fault, at)
            if booked is None:
                self.apply("fault_no_technician", values, at, kit.parts)
                return  # approved, for the operators to place: it stays open
            self.apply("fault_auto", {**values, **booked}, at, kit.parts)
            self._visit(fault, {**values, **booked}, at, kit.parts)
            return
        self.apply("fault_waiting", values, at, kit.parts)
        if self.rng.random() < self.a.unanswered:
            self.apply("reminder", values, at + self.a.reminder_s, kit.parts)
            self.apply("expiry", values, at + self.a.expiry_s, kit.parts)
            self._close(fault, at + self.a.expiry_s)
            return
        answer_at = at + self.rng.expovariate(1 / self.a.approval_delay_s)
        self.apply("my_orders", values, answer_at, kit.parts)
        self.apply("ticket", values, answer_at, kit.parts)
        if self.rng.random() < self.a.declined:
            self.apply("decline", values, answer_at, kit.parts)
            self._close(fault, answer_at)
            return
        booked = self._book(fault, answer_at)
        if booked is None:
            return  # the ticket offered no window: the order waits
        self.apply("approve", {**values, **booked}, answer_at, kit.parts)
        self._visit(fault, {**values, **booked}, answer_at, kit.parts)

    def _visit(self, fault: Fault, values: dict[str, str], at: float, parts: Sequence[str]) -> None:
        """The homeowner's look at the booked ticket, the technician's three steps."""
        self.apply(
            "ticket_booked", values, at + self.rng.expovariate(1 / self.a.approval_delay_s), parts
        )
        step_at = at + self.rng.expovariate(1 / self.a.visit_delay_s)
        for name in ("en_route", "on_site", "completed"):
            self.apply(name, values, step_at, parts)
            step_at += self.rng.expovariate(1 / self.a.visit_steps_s)
        heapq.heappush(self._done, (step_at, fault.cell))
        self._close(fault, step_at)

    def _close(self, fault: Fault, at: float) -> None:
        key = (fault.thing_name, fault.fault_code)
        heapq.heappush(self._closing, (at, self._open[key].number, key))

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

    def reject(self, fault: Fault, day: date) -> None:
        """A malformed report: its rejection, on the day's shards."""
        rejection = f"rej_{fault.thing_name}_{fault.event_id}"
        values = {
            "day": day.isoformat(),
            "rejection_shard": f"{shard_of(rejection, REJECTION_SHARDS):02d}",
        }
        self.apply("rejected", values, fault.at, ())


def learned_snapshot_bytes(catalog: Catalog) -> int:
    """The whole learned snapshot once every cause of the catalog is confirmed."""
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
    return learned


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
    profiles: dict[str, Profile],
) -> dict[str, Any]:
    fleet = Fleet(catalog)
    flow = RepairFlow(catalog, profiles, assumptions)
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
        "operations": dict(sorted(flow.counts.items())),
        "units": flow.load.totals(),
        "tables": flow.load.report(),
    }


def with_measured(assumptions: Assumptions | None, catalog: Catalog) -> Assumptions:
    base = assumptions or Assumptions()
    return Assumptions(
        **{**base.__dict__, "learned_snapshot_bytes": learned_snapshot_bytes(catalog)}
    )


def run(
    scenarios: Sequence[Scenario] = SCENARIOS,
    assumptions: Assumptions | None = None,
    *,
    profiles: dict[str, Profile] | None = None,
) -> dict[str, Any]:
    catalog = default_catalog()
    assumptions = with_measured(assumptions, catalog)
    profiles = profiles or recorded_profiles()
    results = {s.name: run_scenario(s, catalog, assumptions, profiles) for s in scenarios}
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


def operations_table(
    profiles: dict[str, Profile], assumptions: Assumptions
) -> dict[str, dict[str, Any]]:
    """Per operation: its requests, read and write units at scale (the table's, the indexes'),
    and the messages it sends; the repeats as their first and their past-the-list cost."""
    shown = [n for n in profiles if not n.startswith("repeat_")]
    shown[shown.index("duplicate") + 1 : shown.index("duplicate") + 1] = [
        "repeat_1",
        f"repeat_{REPEATS}",
    ]
    rows = {}
    for name in shown:
        p = profiles[name]
        rows[name] = {
            "what": p.what,
            "function": p.function,
            "requests": sum(p.requests.values()),
            "calls": dict(p.requests),
            "read_units": round(p.units("read", assumptions), 1),
            "write_units_table": round(p.units("write", assumptions, index=False), 1),
            "write_units_indexes": round(p.units("write", assumptions, index=True), 1),
            "iot_messages_out": len(p.iot_messages),
            "notifications": len(p.sns_messages),
        }
    return rows


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
            f"for comparison, the superseded STATUS# key under '{name}': "
            f"{figures['hottest_key']} peaks at {figures['peak_units_per_s']:,.0f} write "
            f"units/s ({figures['of_limit']:.0%} of the limit)",
            file=out,
        )
    print(f"all keys hold: {'yes' if report['all_hold'] else 'NO'}", file=out)


def print_operations(rows: dict[str, dict[str, Any]], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    print(
        "\nPer operation (recorded from the code; units at scale: a dispatch's cell read "
        "counts every technician of the trade in the busiest cell)",
        file=out,
    )
    print(
        f"{'operation':<22}{'requests':>9}{'read':>7}{'write':>7}{'index w':>9}"
        f"{'IoT out':>9}{'SNS':>5}  what",
        file=out,
    )
    for name, r in rows.items():
        print(
            f"{name:<22}{r['requests']:>9}{r['read_units']:>7g}{r['write_units_table']:>7g}"
            f"{r['write_units_indexes']:>9g}{r['iot_messages_out']:>9}{r['notifications']:>5}  "
            f"{r['what']}",
            file=out,
        )


def old_scheme_figures(names: Sequence[str] = ("storm", "repeats")) -> dict[str, Any]:
    """The work queue's busiest key had it stayed one STATUS# key per status (the superseded
    scheme, computed only when asked: it runs those scenarios a second time)."""
    scenarios = [s for s in SCENARIOS if s.name in names]
    old = run(scenarios, profiles=superseded(recorded_profiles()))["scenarios"]
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


def print_cost(report: dict[str, Any], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    per_fault, fixed = report["cost_per_1000_faults"], report["fixed_per_month"]
    for title, part, total in (
        ("Cost per 1,000 faults (prices: bench/cost.py)", per_fault, per_fault["total_dollars"]),
        ("Fixed per month, whatever faults", fixed, fixed["total_dollars"]),
    ):
        print(f"\n{title}", file=out)
        for line in part["lines"]:
            print(
                f"  {line['item']:<52}{line['quantity']:>16,.1f}  ${line['dollars']:>12,.4f}",
                file=out,
            )
        print(f"  {'total':<52}{'':>16}  ${total:>12,.4f}", file=out)
    print(
        f"without Cognito ${per_fault['without_cognito_dollars']:,.4f} per 1,000 faults; the "
        f"fixed costs add ${fixed['per_1000_faults_dollars']:,.2f} per 1,000 faults",
        file=out,
    )


def main(argv: Sequence[str] | None = None) -> int:
    from bench import cost, scale_doc

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
    parser.add_argument(
        "--write-doc",
        action="store_true",
        help=f"write the figures into {scale_doc.DOC.relative_to(scale_doc.DOC.parents[1])} "
        "(with the superseded comparison)",
    )
    args = parser.parse_args(argv)
    profiles = recorded_profiles()
    report = run(profiles=profiles)
    if args.compare_superseded or args.write_doc:
        report["old_scheme"] = old_scheme_figures()
    assumptions = Assumptions(**report["assumptions"])
    usage = cost.usage_from_template()
    report["operations"] = operations_table(profiles, assumptions)
    report["cost_per_1000_faults"] = cost.per_thousand_faults(profiles, assumptions, usage)
    report["fixed_per_month"] = cost.fixed_per_month(profiles, assumptions, usage)
    report["prices"] = {
        "read_on": cost.PRICES_READ_ON,
        **{name: price.__dict__ for name, price in cost.PRICES.items()},
    }
    if args.write_doc:
        scale_doc.write_doc(report, profiles, assumptions)
        print(f"wrote {scale_doc.DOC}", file=sys.stderr)

    def print_text() -> None:
        print_report(report)
        print_operations(report["operations"])
        print_cost(report)

    return finish(report, checks(report), json_mode=args.json, print_text=print_text, indent=2)


if __name__ == "__main__":
    sys.exit(main())
