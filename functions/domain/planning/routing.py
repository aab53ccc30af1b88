"""A vehicle routing problem with time windows, in plain numbers, and its own checker.

This is the one shape every planning question is put in before a solver sees it: a region's
technician day (see `day`) and a standard VRPTW benchmark instance (see
`functions.common.vrptw`) both become a `RoutingProblem`, and the one solver adapter
(`functions.common.routing_solver`) solves it. `check` recomputes a solution's schedule,
loads and distance from the problem alone, so nothing a solver claims about its own answer is
taken on trust.

Units are the caller's: whole numbers of distance and of time (metres and seconds for a
technician's day; tenths of a unit for a DIMACS benchmark instance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

#: Later than any time a problem uses: "no upper bound".
NO_LIMIT = 1 << 50


@dataclass(frozen=True)
class Stop:
    """A place to serve: service starts within [early, late], takes `service`. An optional
    stop (not `required`) may be left out; leaving it out costs its `prize`."""

    service: int
    early: int
    late: int
    demand: int = 0
    prize: int = 0
    required: bool = True
    name: str = ""


@dataclass(frozen=True)
class Fleet:
    """`count` identical vehicles: each leaves depot `start` no earlier than `early` and is
    back at depot `end` no later than `late`, carrying at most `capacity` (None: no limit),
    and serves only the stops in `may_serve` (None: any stop)."""

    start: int
    end: int
    early: int
    late: int
    count: int = 1
    capacity: int | None = None
    may_serve: frozenset[int] | None = None
    name: str = ""


@dataclass(frozen=True)
class RoutingProblem:
    """Locations are the depots first (0 .. depots-1), then one per stop: stop i is at
    location `depots + i`. `distance` and `duration` are square over the locations."""

    depots: int
    stops: Sequence[Stop]
    fleets: Sequence[Fleet]
    distance: Sequence[Sequence[int]]
    duration: Sequence[Sequence[int]]
    coordinates: Sequence[tuple[float, float]] = ()
    name: str = ""

    def location(self, stop: int) -> int:
        return self.depots + stop

    def __post_init__(self) -> None:
        size = self.depots + len(self.stops)
        if self.depots < 1 or not self.fleets:
            raise ValueError("a routing problem needs a depot and a fleet")
        for matrix in (self.distance, self.duration):
            if len(matrix) != size or any(len(row) != size for row in matrix):
                raise ValueError(f"the matrices must be {size} x {size}")
        for fleet in self.fleets:
            if not (0 <= fleet.start < self.depots and 0 <= fleet.end < self.depots):
                raise ValueError(f"fleet {fleet.name!r} starts or ends at no depot")
        if self.coordinates and len(self.coordinates) != size:
            raise ValueError(f"{len(self.coordinates)} coordinates for {size} locations")


@dataclass(frozen=True)
class Trip:
    """One vehicle of fleet `fleet` serving `stops` in this order."""

    fleet: int
    stops: tuple[int, ...]


@dataclass(frozen=True)
class RoutingSolution:
    trips: tuple[Trip, ...]
    iterations: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class Timed:
    """When a stop is reached and served in a trip's earliest schedule."""

    stop: int
    arrive: int
    start: int
    end: int
    distance: int  # from the previous place
    drive: int  # time from the previous place


@dataclass(frozen=True)
class CheckedTrip:
    trip: Trip
    leave: int
    back: int
    visits: tuple[Timed, ...]
    distance: int
    drive: int
    load: int
    issues: tuple[str, ...]


@dataclass(frozen=True)
class Checked:
    """A solution as the problem's own numbers see it."""

    trips: tuple[CheckedTrip, ...]
    served: frozenset[int]
    issues: tuple[str, ...] = field(default=())

    @property
    def feasible(self) -> bool:
        return not self.issues

    @property
    def distance(self) -> int:
        return sum(t.distance for t in self.trips)

    def missing(self, problem: RoutingProblem) -> list[int]:
        """The stops no trip serves."""
        return [i for i in range(len(problem.stops)) if i not in self.served]


def check_trip(problem: RoutingProblem, trip: Trip) -> CheckedTrip:
    """A trip's earliest schedule (it leaves as early as it may and waits where it must),
    with every broken rule named: a closed window, capacity, a stop its fleet may not serve,
    back too late."""
    if not 0 <= trip.fleet < len(problem.fleets):
        return CheckedTrip(trip, 0, 0, (), 0, 0, 0, (f"fleet {trip.fleet} does not exist",))
    fleet = problem.fleets[trip.fleet]
    issues: list[str] = []
    timed: list[Timed] = []
    here, clock, distance, drive, load = fleet.start, fleet.early, 0, 0, 0
    for index in trip.stops:
        if not 0 <= index < len(problem.stops):
            issues.append(f"stop {index} does not exist")
            continue
        stop = problem.stops[index]
        where = problem.location(index)
        if fleet.may_serve is not None and index not in fleet.may_serve:
            issues.append(f"stop {index} may not be served by {fleet.name or trip.fleet}")
        leg, leg_time = problem.distance[here][where], problem.duration[here][where]
        arrive = clock + leg_time
        start = max(arrive, stop.early)
        if start > stop.late:
            issues.append(f"stop {index} starts at {start}, after its window closed at {stop.late}")
        clock = start + stop.service
        distance, drive, load = distance + leg, drive + leg_time, load + stop.demand
        timed.append(Timed(index, arrive, start, clock, leg, leg_time))
        here = where
    distance += problem.distance[here][fleet.end]
    drive += problem.duration[here][fleet.end]
    back = clock + problem.duration[here][fleet.end]
    if back > fleet.late:
        issues.append(f"back at {back}, after the vehicle's end at {fleet.late}")
    if fleet.capacity is not None and load > fleet.capacity:
        issues.append(f"load {load} over the capacity {fleet.capacity}")
    # Leave no earlier than needed to reach the first stop as it opens (no wait there).
    leave = fleet.early
    if timed:
        leave = max(fleet.early, timed[0].start - timed[0].drive)
    return CheckedTrip(trip, leave, back, tuple(timed), distance, drive, load, tuple(issues))


def check(problem: RoutingProblem, trips: Sequence[Trip]) -> Checked:
    """Every trip checked, plus: no stop served twice, every required stop served, no fleet
    using more vehicles than it has."""
    checked = tuple(check_trip(problem, t) for t in trips)
    issues = [f"trip {n}: {issue}" for n, c in enumerate(checked) for issue in c.issues]
    seen: set[int] = set()
    used: dict[int, int] = {}
    for trip in trips:
        used[trip.fleet] = used.get(trip.fleet, 0) + 1
        for stop in trip.stops:
            if stop in seen:
                issues.append(f"stop {stop} served more than once")
            seen.add(stop)
    missing = [i for i, s in enumerate(problem.stops) if s.required and i not in seen]
    if missing:
        more = "..." if len(missing) > 10 else ""
        issues.append(f"required stops not served: {missing[:10]}{more}")
    for index, count in used.items():
        if 0 <= index < len(problem.fleets) and count > problem.fleets[index].count:
            issues.append(f"fleet {index}: {count} trips, {problem.fleets[index].count} vehicles")
    return Checked(checked, frozenset(seen), tuple(issues))


def insert_missing(problem: RoutingProblem, trips: Sequence[Trip]) -> list[Trip]:
    """`trips` with every stop they miss inserted where it adds the least distance without
    breaking a rule (the highest prizes first, then the soonest closing windows); a stop
    that fits nowhere stays out. A starting point for the solver, not a plan: it keeps
    what `trips` serve, so a solver started from it never answers with fewer of them."""
    current = [Trip(t.fleet, t.stops) for t in trips]
    served = {s for t in current for s in t.stops}
    used: dict[int, int] = {}
    for trip in current:
        used[trip.fleet] = used.get(trip.fleet, 0) + 1
    missing = sorted(
        (i for i in range(len(problem.stops)) if i not in served),
        key=lambda i: (-problem.stops[i].prize, problem.stops[i].late, i),
    )
    for stop in missing:
        best: tuple[int, int, Trip] | None = None  # added distance, trip index, new trip
        candidates = list(enumerate(current))
        for fleet_index, fleet in enumerate(problem.fleets):
            if used.get(fleet_index, 0) < fleet.count:
                candidates.append((-1 - fleet_index, Trip(fleet_index, ())))
        for index, trip in candidates:
            fleet = problem.fleets[trip.fleet]
            if fleet.may_serve is not None and stop not in fleet.may_serve:
                continue
            before = check_trip(problem, trip).distance
            for position in range(len(trip.stops) + 1):
                stops = (*trip.stops[:position], stop, *trip.stops[position:])
                tried = check_trip(problem, Trip(trip.fleet, stops))
                if tried.issues:
                    continue
                added = tried.distance - before
                if best is None or added < best[0]:
                    best = (added, index, Trip(trip.fleet, stops))
        if best is None:
            continue
        _, index, trip = best
        if index >= 0:
            current[index] = trip
        else:
            current.append(trip)
            used[trip.fleet] = used.get(trip.fleet, 0) + 1
    return current
