"""Synthetic fleets and fault storms, as the cloud would receive them.

Reusable on purpose: `faultline bench scale` turns these faults into key traffic, and the
manufacturers' fleet-storm alert (issue 12, item 4) needs the same storms as its input.
Every generator is deterministic for a seed and yields faults in time order.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import random
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate

from functions.domain.catalog import Catalog, ModelInfo

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
DAY_SECONDS = 24 * 3600
# Share of a day's faults per hour (UTC), a weekday: people find faults in the morning and
# evening. The peak hour carries about 1.7 times the mean; `faultline bench scale` reads
# the peak second from the faults themselves, so the shape's exact values matter little.
HOURLY_WEIGHTS = (
    1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 6, 5, 5, 5, 5, 5, 6, 6, 6, 5, 4, 3, 2, 1,
)  # fmt: skip


@dataclass(frozen=True)
class FleetShape:
    """The fleet the capacity model is about (issue 12)."""

    appliances: int = 10_000_000
    appliances_per_home: float = 2.5
    daily_fault_rate: float = 0.01
    # Geohash precision-4 cells (about 39 x 20 km) with homes in them, and how unevenly:
    # cell k holds a share proportional to 1 / (k + 1) (a few big cities, many villages).
    cells: int = 5_000
    region_cells: int = 32  # a region: the precision-4 cells under one precision-3 cell


@dataclass(frozen=True)
class Fault:
    """One fault report as ingest sees it, with the registry facts the keys depend on."""

    at: float  # seconds from the scenario's start
    thing_name: str
    home_id: str
    manufacturer: str
    model: str
    fault_code: str
    cell: str  # the home's geohash cell (precision 4)
    event_id: str


class Fleet:
    """Appliance i of the fleet: its home, model and cell follow from i alone."""

    def __init__(self, catalog: Catalog, shape: FleetShape | None = None) -> None:
        self.shape = shape or FleetShape()
        self.models: list[ModelInfo] = catalog.models()
        self._cells = [_cell_name(k) for k in range(self.shape.cells)]
        self._cumulative = _harmonic_shares(self.shape.cells)
        self._region_cumulative = _harmonic_shares(self.shape.region_cells)

    def appliance(self, i: int, model: ModelInfo | None = None) -> tuple[str, str, ModelInfo]:
        """(thing_name, home_id, model) of appliance i."""
        home = int(i / self.shape.appliances_per_home)
        return f"appl-{i:09d}", f"home-{home:09d}", model or self.models[i % len(self.models)]

    def cell_of(self, home_id: str, region: int | None = None) -> str:
        """A home's cell: big cities more often; within one region when `region` is given."""
        draw = random.Random(home_id).random()
        if region is None:
            return self._cells[bisect_left(self._cumulative, draw)]
        # Within a region the same unevenness: its first cell is the city.
        k = bisect_left(self._region_cumulative, draw)
        return self._cells[(region * self.shape.region_cells + k) % len(self._cells)]

    def fault(
        self,
        i: int,
        at: float,
        *,
        code: str | None = None,
        seq: int = 0,
        model: ModelInfo | None = None,
        region: int | None = None,
    ) -> Fault:
        """Appliance i's fault at `at`; its `seq`-th report when it repeats."""
        thing, home, info = self.appliance(i, model)
        return Fault(
            at=at,
            thing_name=thing,
            home_id=home,
            manufacturer=info.manufacturer,
            model=info.model,
            fault_code=code or info.codes[i % len(info.codes)],
            cell=self.cell_of(home, region),
            event_id=f"evt-{i:09d}-{seq}",
        )


def steady_day(fleet: Fleet, seed: int = 1) -> Iterator[Fault]:
    """An average weekday: 1 % of the fleet faults once, on the hourly shape."""
    rng = random.Random(seed)
    n = round(fleet.shape.appliances * fleet.shape.daily_fault_rate)
    hours = list(range(24))
    times = sorted(
        3600 * rng.choices(hours, weights=HOURLY_WEIGHTS)[0] + 3600 * rng.random() for _ in range(n)
    )
    for at in times:
        yield fleet.fault(rng.randrange(fleet.shape.appliances), at)


def fleet_storm(
    fleet: Fleet,
    faults: int = 100_000,
    seconds: float = 600.0,
    model: ModelInfo | None = None,
    region: int = 0,
    seed: int = 2,
) -> Iterator[Fault]:
    """`faults` distinct appliances of one model in one region fault within `seconds`
    (a bad firmware push, a heatwave), all with the model's first code."""
    rng = random.Random(seed)
    info = model or fleet.models[0]
    times = sorted(rng.uniform(0, seconds) for _ in range(faults))
    for n, at in enumerate(times):
        yield fleet.fault(n, at, code=info.codes[0], model=info, region=region)


def repeat_storm(
    fleet: Fleet,
    appliances: int = 3_000,
    every_seconds: float = 3.0,
    seconds: float = 600.0,
    seed: int = 3,
) -> Iterator[Fault]:
    """`appliances` re-reporting the same fault every few seconds (new event ids each time)."""
    rng = random.Random(seed)
    queue = [(rng.uniform(0, every_seconds), i, 0) for i in range(appliances)]
    heapq.heapify(queue)
    while queue:
        at, i, seq = heapq.heappop(queue)
        if at >= seconds:
            continue
        yield fleet.fault(i, at, seq=seq, region=0)
        heapq.heappush(queue, (at + every_seconds, i, seq + 1))


def busy_home(
    fleet: Fleet, appliances: int = 300, seconds: float = 60.0, seed: int = 4
) -> Iterator[Fault]:
    """One home (a block of flats on one account) whose hundreds of appliances all fault."""
    rng = random.Random(seed)
    times = sorted(rng.uniform(0, seconds) for _ in range(appliances))
    for n, at in enumerate(times):
        fault = fleet.fault(n, at, region=0)
        yield dataclasses.replace(fault, home_id="home-block-of-flats")


def _cell_name(k: int) -> str:
    """A distinct precision-4 geohash; consecutive k share their precision-3 parent."""
    digits = []
    for _ in range(4):
        digits.append(_BASE32[k % 32])
        k //= 32
    return "".join(reversed(digits))


def _harmonic_shares(n: int) -> list[float]:
    """Cumulative shares of n places where place k weighs 1 / (k + 1)."""
    weights = [1 / (k + 1) for k in range(n)]
    total = sum(weights)
    return list(accumulate(w / total for w in weights))


def peak_per_second(faults: Iterator[Fault]) -> int:
    """The most faults in any one second: what a fleet-storm alert would watch."""
    counts: dict[int, int] = {}
    for fault in faults:
        second = math.floor(fault.at)
        counts[second] = counts.get(second, 0) + 1
    return max(counts.values(), default=0)
