"""A region's technician day as a routing problem, and the plan read back from its answer.

The rules are hard constraints, each in the problem's shape:

- The homeowner's window is fixed: a visit's service starts no earlier than the window
  opens and ends by the time it closes (an emergency's window closes its target after the
  report, plus the visit's length: on site within the target).
- Skills, brands, certifications and the service area are dispatch's own rules
  (`matching.qualification_reason`); a technician a visit's rules exclude never gets it
  (their vehicle's routing profile cannot reach it).
- Shifts: a technician's day is a vehicle that leaves their home base no earlier than the
  shift starts and is back by its end. An on-call technician also has an emergency-only
  vehicle for the hours of the day outside the shift (the same home base, one after the
  other in time).
- An accepted visit stays with its technician (only their vehicles may serve it); an
  en-route visit is their next stop, so their day continues from it.
- Every visit is optional with a prize far above any detour, so the solver serves all it
  can; the ones it cannot are reported as unplanned with the reason, never dropped.
  Emergencies weigh most, then accepted visits, then open ones.

Travel, the only cost, comes from a `TravelModel`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from functions.domain.errors import PlanningInputError
from functions.domain.geo import distance_km
from functions.domain.matching import Job, qualification_reason
from functions.domain.planning.routing import (
    Fleet,
    RoutingProblem,
    RoutingSolution,
    Stop,
    Trip,
    check_trip,
)
from functions.domain.planning.travel import TravelMatrix, TravelModel
from schemas.orders import TimeWindow, Urgency
from schemas.registry import GeoPoint, Technician

_NOWHERE = GeoPoint(lat=0, lon=0)
#: An emergency is on site within this long of its report.
EMERGENCY_TARGET = timedelta(hours=2)
#: What serving a visit is worth, in metres of driving: more than any detour in a region, so
#: a visit is left out only when no technician can take it.
VISIT_PRIZE = 1_000_000
ACCEPTED_PRIZE = 5 * VISIT_PRIZE
EMERGENCY_PRIZE = 10 * VISIT_PRIZE


class VisitStatus(StrEnum):
    OPEN = "open"  # nobody has it yet: anyone eligible may get it
    ACCEPTED = "accepted"  # a technician accepted it: it stays with them
    EN_ROUTE = "en_route"  # they are driving there: it is their next stop


@dataclass(frozen=True)
class Visit:
    """A visit to plan: what it needs (the matcher's `Job`: skill, brand, certifications,
    urgency, location), the window it takes place in, how long it takes, and who has it."""

    visit_id: str
    job: Job
    window: TimeWindow
    service: timedelta
    status: VisitStatus = VisitStatus.OPEN
    technician_id: str | None = None

    def __post_init__(self) -> None:
        if (self.status is VisitStatus.OPEN) != (self.technician_id is None):
            raise PlanningInputError(
                f"visit {self.visit_id}: an accepted or en-route visit names its technician, "
                "an open one none"
            )
        if self.service <= timedelta(0):
            raise PlanningInputError(f"visit {self.visit_id}: it takes no time")
        if self.window.end - self.window.start < self.service:
            raise PlanningInputError(f"visit {self.visit_id}: its window is shorter than it")

    @property
    def emergency(self) -> bool:
        return self.job.urgency is Urgency.EMERGENCY


def emergency_window(
    reported_at: datetime, service: timedelta, target: timedelta = EMERGENCY_TARGET
) -> TimeWindow:
    """The window of an emergency reported at `reported_at`: on site within `target`."""
    return TimeWindow(start=reported_at, end=reported_at + target + service)


@dataclass(frozen=True)
class Position:
    """Where a technician is free again, and when (for a re-plan during the day)."""

    location: GeoPoint
    at: datetime


@dataclass(frozen=True)
class Crew:
    """A technician's day: their profile (skills, brands, certifications, home base, service
    area, on call), their shift (None: not working that day), and during a re-plan where and
    when they are free next (None: at home when the shift starts)."""

    technician: Technician
    shift: TimeWindow | None
    position: Position | None = None
    max_visits: int | None = None

    @property
    def technician_id(self) -> str:
        return self.technician.technician_id


def shift_on(tech: Technician, day: date, timezone: str) -> TimeWindow | None:
    """The technician's shift on `day` from their working hours (local time), or None."""
    hours = tech.working_hours
    if day.weekday() not in hours.weekdays or hours.start >= hours.end:
        return None
    zone = ZoneInfo(timezone)
    return TimeWindow(
        start=datetime.combine(day, hours.start, tzinfo=zone),
        end=datetime.combine(day, hours.end, tzinfo=zone),
    )


@dataclass(frozen=True)
class PlannedVisit:
    visit_id: str
    arrive: datetime
    start: datetime
    end: datetime
    travel_meters: int  # from the previous place


@dataclass(frozen=True)
class Route:
    """One stretch of a technician's day: the shift, or an on-call stretch (emergencies)."""

    technician_id: str
    on_call: bool
    leave_from: GeoPoint  # home, or where a re-plan found them
    leave: datetime
    back: datetime
    visits: tuple[PlannedVisit, ...]
    travel_meters: int
    travel_seconds: int


@dataclass(frozen=True)
class Unplanned:
    visit_id: str
    reason: str


@dataclass(frozen=True)
class Plan:
    routes: tuple[Route, ...]
    unplanned: tuple[Unplanned, ...]

    @property
    def travel_meters(self) -> int:
        return sum(r.travel_meters for r in self.routes)

    def assignment(self) -> dict[str, str]:
        """Each planned visit's technician."""
        return {v.visit_id: r.technician_id for r in self.routes for v in r.visits}

    def merged(self, other: Plan) -> Plan:
        return Plan(self.routes + other.routes, self.unplanned + other.unplanned)


@dataclass(frozen=True)
class Stretch:
    """One vehicle of the routing problem: a technician's shift or on-call hours."""

    crew: Crew
    on_call: bool
    early: datetime
    late: datetime
    leave_from: GeoPoint
    first: PlannedVisit | None = None  # their en-route visit, served before the rest
    first_from: GeoPoint | None = None  # where they drive to it from
    first_seconds: int = 0  # driving to it


@dataclass(frozen=True)
class DayProblem:
    """The routing problem of a region's day, with what its numbers stand for."""

    routing: RoutingProblem
    visits: tuple[Visit, ...]  # stop i is visits[i]
    stretches: tuple[Stretch, ...]  # fleet j is stretches[j]
    origin: datetime  # time 0
    unplanned: tuple[Unplanned, ...]  # visits no technician could take, found before solving

    def plan(self, solution: RoutingSolution) -> Plan:
        """The plan of a solution, checked against the problem's own numbers: a stop the
        solver placed where a rule breaks is taken out and reported (never silently kept),
        every visit left out is reported with the reason."""
        unplanned = list(self.unplanned)
        served: set[int] = set()
        by_fleet: dict[int, Trip] = {}
        for trip in solution.trips:
            if trip.fleet in by_fleet or not 0 <= trip.fleet < len(self.stretches):
                continue
            stops = [s for s in trip.stops if s not in served]
            kept, broken = self._keep_feasible(Trip(trip.fleet, tuple(stops)))
            unplanned.extend(
                Unplanned(self.visits[s].visit_id, "the solver placed it where a rule breaks")
                for s in broken
            )
            served.update(kept.stops)
            by_fleet[trip.fleet] = kept
        routes = []
        for index, stretch in enumerate(self.stretches):
            trip = by_fleet.get(index, Trip(index, ()))
            if trip.stops or stretch.first is not None:
                routes.append(self._route(stretch, trip))
        planned = {s.first.visit_id for s in self.stretches if s.first is not None} | {
            self.visits[s].visit_id for s in served
        }
        left = {u.visit_id for u in unplanned}
        unplanned.extend(
            Unplanned(v.visit_id, "no qualified technician has room for it within its window")
            for v in self.visits
            if v.visit_id not in planned and v.visit_id not in left
        )
        return Plan(tuple(routes), tuple(unplanned))

    def trips(self, routes: Sequence[Route]) -> list[Trip]:
        """The routes of a plan being revised as trips of this problem (to start the search
        from): each route on its technician's stretch, with the visits this problem plans;
        a route that fits no stretch, or a second one on a stretch, is left out."""
        stop_of = {v.visit_id: i for i, v in enumerate(self.visits)}
        used: set[int] = set()
        trips = []
        for route in routes:
            kept = [v for v in route.visits if v.visit_id in stop_of]
            if not kept:
                continue
            mine = [
                j
                for j, s in enumerate(self.stretches)
                if j not in used
                and s.crew.technician_id == route.technician_id
                and s.on_call == route.on_call
            ]
            during = [j for j in mine if self.stretches[j].early <= kept[0].start]
            fleet = during[-1] if during else (mine[0] if mine else None)
            if fleet is not None:
                used.add(fleet)
                trips.append(Trip(fleet, tuple(stop_of[v.visit_id] for v in kept)))
        return trips

    def _keep_feasible(self, trip: Trip) -> tuple[Trip, list[int]]:
        if not check_trip(self.routing, trip).issues:
            return trip, []
        kept: list[int] = []
        broken: list[int] = []
        for stop in trip.stops:
            if check_trip(self.routing, Trip(trip.fleet, (*kept, stop))).issues:
                broken.append(stop)
            else:
                kept.append(stop)
        return Trip(trip.fleet, tuple(kept)), broken

    def _route(self, stretch: Stretch, trip: Trip) -> Route:
        checked = check_trip(self.routing, trip)

        def at(seconds: int) -> datetime:
            return self.origin + timedelta(seconds=seconds)

        visits = [
            PlannedVisit(
                self.visits[t.stop].visit_id, at(t.arrive), at(t.start), at(t.end), t.distance
            )
            for t in checked.visits
        ]
        leave, leave_from = at(checked.leave), stretch.leave_from
        meters, seconds = checked.distance, checked.drive
        if stretch.first is not None:
            leave_from = stretch.first_from or leave_from
            visits.insert(0, stretch.first)
            leave = stretch.first.arrive - timedelta(seconds=stretch.first_seconds)
            meters += stretch.first.travel_meters
            seconds += stretch.first_seconds
        return Route(
            stretch.crew.technician_id,
            stretch.on_call,
            leave_from,
            leave,
            at(checked.back),
            tuple(visits),
            meters,
            seconds,
        )


def build_day(
    visits: Sequence[Visit],
    crews: Sequence[Crew],
    travel: TravelModel,
    horizon: TimeWindow,
) -> DayProblem:
    """The routing problem of a region's day over `horizon` (the hours on-call technicians
    cover): one vehicle per stretch of each technician's day, one stop per visit not yet
    under way, each vehicle allowed only the visits its technician may take."""
    _check_input(visits, crews)
    origin = horizon.start
    crew_by_id = {c.technician_id: c for c in crews}
    en_route = {v.technician_id: v for v in visits if v.status is VisitStatus.EN_ROUTE}
    stretches = [
        s
        for crew in crews
        for s in _stretches(crew, horizon, en_route.get(crew.technician_id), travel)
    ]
    unplanned = [
        Unplanned(v.visit_id, f"its technician {v.technician_id} is not in this plan")
        for v in en_route.values()
        if v.technician_id not in crew_by_id
    ]
    to_plan = [v for v in visits if v.status is not VisitStatus.EN_ROUTE]

    def seconds(moment: datetime) -> int:
        return max(0, int((moment - origin).total_seconds()))

    depots: list[GeoPoint] = []
    depot_index: dict[tuple[float, float], int] = {}

    def depot(point: GeoPoint) -> int:
        key = (point.lat, point.lon)
        if key not in depot_index:
            depot_index[key] = len(depots)
            depots.append(point)
        return depot_index[key]

    fleets_spec = [(depot(s.leave_from), depot(s.crew.technician.home_base), s) for s in stretches]
    stops: list[Stop] = []
    allowed: list[set[int]] = [set() for _ in stretches]
    kept: list[Visit] = []
    for visit in to_plan:
        service = int(visit.service.total_seconds())
        early, late = seconds(visit.window.start), seconds(visit.window.end) - service
        eligible = [
            j
            for j, s in enumerate(stretches)
            if _may_take(s, visit)
            and early <= seconds(s.late) - service
            and late >= seconds(s.early)
        ]
        if not eligible:
            unplanned.append(Unplanned(visit.visit_id, why_nobody(visit, crews)))
            continue
        index = len(stops)
        for j in eligible:
            allowed[j].add(index)
        prize = (
            EMERGENCY_PRIZE
            if visit.emergency
            else ACCEPTED_PRIZE
            if visit.technician_id
            else VISIT_PRIZE
        )
        stops.append(
            Stop(service, early, late, demand=1, prize=prize, required=False, name=visit.visit_id)
        )
        kept.append(visit)
    points = [*depots, *(v.job.location for v in kept)]
    matrix = travel.matrix(points)
    fleets = [
        Fleet(
            start=start,
            end=end,
            early=seconds(s.early),
            late=max(seconds(s.late), seconds(s.early)),
            capacity=None if s.on_call else s.crew.max_visits,
            may_serve=frozenset(allowed[j]),
            name=f"{s.crew.technician_id}{' on call' if s.on_call else ''}",
        )
        for j, (start, end, s) in enumerate(fleets_spec)
    ]
    if not depots:  # nobody works: a problem with nothing to do
        points, matrix = [_NOWHERE], TravelMatrix([[0]], [[0]])
        fleets = [Fleet(0, 0, 0, 0, count=0, may_serve=frozenset())]
    routing = RoutingProblem(
        depots=len(points) - len(kept),
        stops=stops,
        fleets=fleets,
        distance=matrix.meters,
        duration=matrix.seconds,
        coordinates=[(p.lon, p.lat) for p in points],
    )
    return DayProblem(routing, tuple(kept), tuple(stretches), origin, tuple(unplanned))


def _check_input(visits: Sequence[Visit], crews: Sequence[Crew]) -> None:
    ids = Counter(v.visit_id for v in visits)
    twice = sorted(i for i, n in ids.items() if n > 1)
    if twice:
        raise PlanningInputError(f"visits given twice: {', '.join(twice)}")
    techs = Counter(c.technician_id for c in crews)
    twice = sorted(i for i, n in techs.items() if n > 1)
    if twice:
        raise PlanningInputError(f"technicians given twice: {', '.join(twice)}")
    en_route = Counter(v.technician_id for v in visits if v.status is VisitStatus.EN_ROUTE)
    twice = sorted(str(i) for i, n in en_route.items() if n > 1)
    if twice:
        raise PlanningInputError(f"en route to two visits at once: {', '.join(twice)}")


def _stretches(
    crew: Crew, horizon: TimeWindow, en_route: Visit | None, travel: TravelModel
) -> list[Stretch]:
    """The technician's shift and, when on call, the hours of the horizon around it, from
    where they are free next (their position, else home); an en-route visit comes first."""
    spans: list[tuple[datetime, datetime, bool]] = []
    shift = crew.shift
    if shift is not None:
        spans.append((shift.start, shift.end, False))
    if crew.technician.on_call:
        if shift is None:
            spans.append((horizon.start, horizon.end, True))
        else:
            spans.append((horizon.start, shift.start, True))
            spans.append((shift.end, horizon.end, True))
    spans.sort()
    home = crew.technician.home_base
    free_at = crew.position.at if crew.position else None
    leave_from = crew.position.location if crew.position else home
    found: list[Stretch] = []
    for start, end, on_call in spans:
        if free_at is not None:
            start = max(start, free_at)
        if end <= start or not (horizon.start < end and start < horizon.end):
            continue
        found.append(Stretch(crew, on_call, start, end, leave_from if not found else home))
    if en_route is not None:
        found = _after_en_route(crew, found, en_route, travel)
    return found


def _after_en_route(
    crew: Crew, found: list[Stretch], visit: Visit, travel: TravelModel
) -> list[Stretch]:
    """The day continues from the en-route visit: it is served first, at the earliest the
    technician gets there, in the stretch they are in (or the next)."""
    from_here = crew.position.location if crew.position else crew.technician.home_base
    at = crew.position.at if crew.position else (found[0].early if found else visit.window.start)
    matrix = travel.matrix([from_here, visit.job.location])
    meters, drive = matrix.meters[0][1], matrix.seconds[0][1]
    arrive = at + timedelta(seconds=drive)
    start = max(arrive, visit.window.start)
    first = PlannedVisit(visit.visit_id, arrive, start, start + visit.service, meters)
    if not found:  # working neither now nor later today: they still finish this visit
        found = [Stretch(crew, visit.emergency, at, first.end, from_here)]
    head = found[0]
    early = max(head.early, first.end)
    found[0] = Stretch(
        crew,
        head.on_call,
        early,
        max(head.late, early),
        visit.job.location,
        first,
        from_here,
        drive,
    )
    return found


def _may_take(stretch: Stretch, visit: Visit) -> bool:
    """Whether the technician, in this stretch of their day, may take the visit (time
    aside); an on-call stretch takes emergencies only."""
    if stretch.on_call and not visit.emergency:
        return False
    return may_take(stretch.crew, visit)


def may_take(crew: Crew, visit: Visit) -> bool:
    """Whether the technician may take the visit at all (time aside): their own accepted
    visit, or an open one they qualify for (skill, brand, certifications, service area)."""
    tech = crew.technician
    if visit.technician_id is not None:
        return visit.technician_id == tech.technician_id
    distance = distance_km(tech.home_base, visit.job.location)
    return qualification_reason(tech, visit.job, distance) is None


def nearest_qualified(visits: Sequence[Visit], crews: Sequence[Crew], limit: int) -> list[Crew]:
    """Up to `limit` technicians who may take one of the (open) visits and work during its
    window (or are on call, for an emergency), the nearest to each visit first, taking
    turns between the visits."""

    def nearest_first(visit: Visit) -> list[Crew]:
        able = [c for c in crews if may_take(c, visit) and _works_during(c, visit)]
        return sorted(
            able,
            key=lambda c: (
                distance_km(c.technician.home_base, visit.job.location),
                c.technician_id,
            ),
        )

    ranked = [nearest_first(v) for v in visits]
    chosen: dict[str, Crew] = {}
    depth = 0
    while len(chosen) < limit and any(depth < len(r) for r in ranked):
        for r in ranked:
            if depth < len(r) and len(chosen) < limit:
                chosen.setdefault(r[depth].technician_id, r[depth])
        depth += 1
    return list(chosen.values())


def _works_during(crew: Crew, visit: Visit) -> bool:
    if visit.emergency and crew.technician.on_call:
        return True
    shift = crew.shift
    return (
        shift is not None
        and visit.window.start + visit.service <= shift.end
        and shift.start + visit.service <= visit.window.end
    )


def why_nobody(visit: Visit, crews: Iterable[Crew]) -> str:
    """Why no technician's day can take the visit, in words an operator acts on."""
    crews = list(crews)
    if visit.technician_id is not None:
        if all(c.technician_id != visit.technician_id for c in crews):
            return f"its technician {visit.technician_id} is not in this plan"
        return f"its technician {visit.technician_id} does not work during its window"
    reasons = Counter(
        qualification_reason(
            c.technician, visit.job, distance_km(c.technician.home_base, visit.job.location)
        )
        for c in crews
    )
    if reasons[None] == 0:
        common = ", ".join(f"{r} ({n})" for r, n in reasons.most_common(3))
        return f"no technician in the region is qualified: {common or 'no technicians'}"
    if visit.emergency:
        return "no qualified technician works or is on call during its window"
    return "no qualified technician works during its window"
