"""`faultline bench dispatch`: today's greedy dispatch against the day planner, on one
generated city's day (about 1,000 visits, 300 technicians; seeded, deterministic city).

Greedy (today): the orders arrive one by one, normal ones the evening before with the
window the homeowner asked for, emergencies during the day; each goes to the first
candidate of the dispatcher's own ranking (`matching.rank`, called here in-process on every
technician with their live bookings and load, so no shortlist limits it), at the asked
window, or the nearest window of the day someone is free at (the homeowner picking another
proposal); an emergency to whoever can come first.

Planner: the evening before, the city's day is planned with the same windows
(`logic.planning.plan_day`: in parts of at most 150 visits, a few seconds of solver each,
then the leftovers offered to the nearest qualified technicians); every visit is then
accepted by its technician. When an emergency is reported, the days of the 20 nearest
technicians qualified for it (working or on call) are re-planned from that moment: visits
done or on site stay done, the one a technician drives to is en route, the rest stay with
their technician (pinned), and the emergency goes wherever it fits best within its target.

Both days are then driven through one evaluator with the same travel model (great-circle
times a road factor): each technician leaves home in time for their first visit, drives
straight from visit to visit (home between their shift and on-call hours), waits when
early. It reports total travel, visits served, visits late for their window, emergencies
on site within their target, overtime, and the load balance (coefficient of variation of
the visits and of the working minutes per technician, over all technicians).

Aims: at least 20 % less travel than greedy while serving at least as many visits within
their windows (a visit greedy books but cannot reach in time counts for neither), every
emergency on site within its target, no visit late. Exit 1 when one is missed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.city import City, CityVisit, build_city
from functions.common.routing_solver import SolveLimit
from functions.domain.geo import distance_km
from functions.domain.matching import VISIT_LENGTH, qualification_reason, rank
from functions.domain.planning.day import (
    EMERGENCY_TARGET,
    Crew,
    Plan,
    PlannedVisit,
    Position,
    Route,
    Visit,
    VisitStatus,
    emergency_window,
    nearest_qualified,
    shift_on,
)
from functions.domain.planning.parts import partition
from functions.domain.planning.travel import GreatCircleTravel
from functions.logic.planning import PART_SIZE, plan_day, plan_region_day
from schemas.orders import TimeWindow
from schemas.registry import GeoPoint, Technician

TRAVEL_SAVING_AIM = 0.20
#: An emergency re-plans the days of this many of the nearest technicians qualified for it.
EMERGENCY_HELPERS = 20
SHIFT, BEFORE, AFTER = "shift", "before shift", "after shift"


@dataclass(frozen=True)
class Served:
    """A visit in a technician's day: not before `earliest`, done by `latest_end` (for an
    emergency: on site within its target), in which stretch of their day."""

    visit: CityVisit
    earliest: datetime
    latest_end: datetime
    stretch: str


@dataclass
class Day:
    """Who does what, in order, and what nobody took."""

    served: dict[str, list[Served]] = field(default_factory=lambda: defaultdict(list))
    unserved: list[CityVisit] = field(default_factory=list)
    seconds: float = 0.0


def _stretch(shift: TimeWindow | None, start: datetime, end: datetime) -> str:
    if shift is not None and shift.start <= start and end <= shift.end:
        return SHIFT
    return BEFORE if shift is not None and start < shift.start else AFTER


def _target_end(visit: CityVisit) -> datetime:
    return visit.arrives + EMERGENCY_TARGET + visit.service


# -- greedy: today's dispatch -------------------------------------------------------------


def greedy_day(city: City) -> Day:
    started = time.monotonic()
    day = Day()
    busy: dict[str, list[TimeWindow]] = defaultdict(list)
    techs = {t.technician_id: t for t in city.technicians}
    shifts = {t.technician_id: shift_on(t, city.day, city.timezone) for t in city.technicians}
    current: dict[str, Technician] = dict(techs)
    for visit in city.visits:
        now = visit.arrives
        for tech_id, booked in busy.items():  # live load: bookings not yet over
            active = sum(w.end > now for w in booked)
            if current[tech_id].active_orders != active:
                current[tech_id] = techs[tech_id].model_copy(update={"active_orders": active})
        people = list(current.values())
        if visit.wanted is None:
            candidates = rank(people, visit.job, now, busy)
        else:
            candidates = []
            for window in _windows_near(city, visit.wanted):
                candidates = rank(people, visit.job, now, busy, window=window)
                if candidates:
                    break
        if not candidates:
            day.unserved.append(visit)
            continue
        best = candidates[0]
        tech_id = best.technician.technician_id
        busy[tech_id].append(best.window)
        block = best.window
        day.served[tech_id].append(
            Served(
                visit,
                block.start,
                _target_end(visit) if visit.emergency else block.end,
                _stretch(shifts[tech_id], block.start, block.end),
            )
        )
    for items in day.served.values():
        items.sort(key=lambda s: s.earliest)
    day.seconds = time.monotonic() - started
    return day


def _windows_near(city: City, wanted: TimeWindow) -> list[TimeWindow]:
    """The asked window, then the day's other visit windows, nearest first: the homeowner
    picks another proposal when nobody is free at theirs."""
    first = city.local(datetime.min.time()).replace(hour=7)
    starts = [first + timedelta(minutes=30 * k) for k in range(27)]  # 07:00 .. 20:00
    starts.sort(key=lambda s: (abs((s - wanted.start).total_seconds()), s))
    return [TimeWindow(start=s, end=s + VISIT_LENGTH) for s in starts]


# -- the planner --------------------------------------------------------------------------


@dataclass
class _Replanner:
    city: City
    greedy_windows: dict[str, TimeWindow]
    travel: GreatCircleTravel
    replan: SolveLimit
    seed: int
    helpers: int
    crews: dict[str, Crew] = field(default_factory=dict)
    routes: dict[str, list[Route]] = field(default_factory=dict)
    done: dict[str, list[tuple[PlannedVisit, str]]] = field(default_factory=dict)
    visits: dict[str, Visit] = field(default_factory=dict)
    free: dict[str, Position] = field(default_factory=dict)
    replans: int = 0

    def visit_of(self, v: CityVisit) -> Visit:
        window = (
            emergency_window(v.arrives, v.service)
            if v.emergency
            else self.greedy_windows.get(v.visit_id) or v.wanted
        )
        assert window is not None  # a normal visit has the window its homeowner asked for
        return Visit(v.visit_id, v.job, window, v.service)

    def take(self, plan: Plan, techs: Sequence[str]) -> None:
        for tech_id in techs:
            self.routes[tech_id] = []
        for route in plan.routes:
            self.routes[route.technician_id].append(route)

    def stretch_of(self, tech_id: str, route: Route) -> str:
        if not route.on_call:
            return SHIFT
        shift = self.crews[tech_id].shift
        return BEFORE if shift is not None and route.leave < shift.start else AFTER

    def state_at(self, tech_id: str, now: datetime) -> tuple[Crew, list[Visit]]:
        """The technician as a re-plan at `now` sees them: what is done is logged, the visit
        they drive to is en route, the rest of their visits stay with them."""
        crew = self.crews[tech_id]
        home = crew.technician.home_base
        # Where they were last found free (the last re-plan), or at home.
        free = self.free.get(tech_id) or Position(home, now)
        position = Position(free.location, max(now, free.at))
        pinned: list[tuple[PlannedVisit, VisitStatus]] = []
        for route in sorted(self.routes.get(tech_id, []), key=lambda r: r.leave):
            stretch = self.stretch_of(tech_id, route)
            if now >= route.back:
                self.done[tech_id].extend((v, stretch) for v in route.visits)
                position = Position(home, now)
                continue
            if now < route.leave:
                pinned.extend((v, VisitStatus.ACCEPTED) for v in route.visits)
                continue
            committed = [v for v in route.visits if v.arrive <= now]
            rest = [v for v in route.visits if v.arrive > now]
            self.done[tech_id].extend((v, stretch) for v in committed)
            if committed:
                last = committed[-1]
                where = self.visits[last.visit_id].job.location
                en_route = bool(rest) and now >= last.end
                position = Position(where, last.end if en_route or now < last.end else now)
            else:
                en_route = True
                position = Position(route.leave_from, route.leave)
            for n, v in enumerate(rest):
                first = n == 0 and en_route
                pinned.append((v, VisitStatus.EN_ROUTE if first else VisitStatus.ACCEPTED))
        self.free[tech_id] = position
        busy = sum(1 for _, s in self.done[tech_id] if s == SHIFT)
        cap = crew.technician.max_active_orders
        updated = Crew(crew.technician, crew.shift, position, max(cap - busy, 0))
        visits = []
        for planned, status in pinned:
            known = self.visits[planned.visit_id]
            visits.append(
                Visit(known.visit_id, known.job, known.window, known.service, status, tech_id)
            )
        return updated, visits

    def emergency(self, visit: CityVisit) -> None:
        now = visit.arrives
        mine = self.visit_of(visit)
        self.visits[mine.visit_id] = mine
        helpers = nearest_qualified([mine], list(self.crews.values()), self.helpers)
        crews, visits, current = [], [], []
        for crew in helpers:
            current.extend(self.routes.get(crew.technician_id, []))
            state, theirs = self.state_at(crew.technician_id, now)
            crews.append(state)
            visits.extend(theirs)
        plan = plan_region_day(
            [*visits, mine],
            crews,
            self.travel,
            self.city.horizon,
            limit=self.replan,
            seed=self.seed,
            current=current,
        )
        self.replans += 1
        self.take(plan, [c.technician_id for c in helpers])


def planner_day(
    city: City,
    greedy: Day,
    travel: GreatCircleTravel,
    evening: SolveLimit,
    replan: SolveLimit,
    seed: int,
    helpers: int = EMERGENCY_HELPERS,
) -> tuple[Day, int, int]:
    """The planner's day, how many re-plans it took and in how many parts the evening plan
    was made. Normal visits keep the windows
    the homeowners ended up with in the greedy run (the same appointments for both)."""
    started = time.monotonic()
    windows = {
        s.visit.visit_id: TimeWindow(start=s.earliest, end=s.latest_end)
        for items in greedy.served.values()
        for s in items
        if not s.visit.emergency
    }
    state = _Replanner(city, windows, travel, replan, seed, helpers)
    for tech in city.technicians:
        shift = shift_on(tech, city.day, city.timezone)
        state.crews[tech.technician_id] = Crew(tech, shift, None, tech.max_active_orders)
        state.done[tech.technician_id] = []
    normal = [state.visit_of(v) for v in city.visits if not v.emergency]
    state.visits.update((v.visit_id, v) for v in normal)
    plan = plan_day(
        normal, list(state.crews.values()), travel, city.horizon, limit=evening, seed=seed
    )
    state.take(plan, list(state.crews))
    for visit in city.visits:
        if visit.emergency:
            state.emergency(visit)
    day = Day()
    by_id = {v.visit_id: v for v in city.visits}
    for tech_id in state.crews:
        sequence = list(state.done[tech_id])
        for route in sorted(state.routes.get(tech_id, []), key=lambda r: r.leave):
            stretch = state.stretch_of(tech_id, route)
            sequence.extend((v, stretch) for v in route.visits)
        sequence.sort(key=lambda pair: pair[0].start)
        for planned, stretch in sequence:
            v = state.visits[planned.visit_id]
            day.served[tech_id].append(
                Served(by_id[v.visit_id], v.window.start, v.window.end, stretch)
            )
    served = {s.visit.visit_id for items in day.served.values() for s in items}
    day.unserved = [v for v in city.visits if v.visit_id not in served]
    day.seconds = time.monotonic() - started
    return day, state.replans, len(partition(normal, [], PART_SIZE))


# -- one evaluator for both ---------------------------------------------------------------


def evaluate(city: City, day: Day, travel: GreatCircleTravel) -> dict[str, Any]:
    """Drive each technician's day: travel, lateness, overtime, load."""
    techs = {t.technician_id: t for t in city.technicians}
    meters = 0
    late: list[str] = []
    overtime = timedelta(0)
    unqualified = 0
    visits_per_tech: list[int] = []
    minutes_per_tech: list[float] = []
    emergencies_in_target = 0
    twice = 0
    seen: set[str] = set()
    for tech_id, tech in techs.items():
        items = day.served.get(tech_id, [])
        shift = shift_on(tech, city.day, city.timezone)
        home = tech.home_base
        here: GeoPoint = home
        clock: datetime | None = None
        stretch = None
        work = timedelta(0)
        for n, item in enumerate(items):
            twice += item.visit.visit_id in seen
            seen.add(item.visit.visit_id)
            job = item.visit.job
            if qualification_reason(tech, job, distance_km(home, job.location)) is not None:
                unqualified += 1
            if item.stretch != stretch:  # (back home, then) out for a new stretch
                if clock is not None:
                    m, s = travel.between(here, home)
                    meters, work = meters + m, work + timedelta(seconds=s)
                    overtime += _overtime(shift, stretch, clock + timedelta(seconds=s))
                here, stretch = home, item.stretch
                m, s = travel.between(home, job.location)
                called = item.visit.arrives if item.visit.emergency else item.earliest
                opens = shift.start if shift is not None and stretch == SHIFT else called
                clock = max(opens, item.earliest - timedelta(seconds=s))
            m, s = travel.between(here, job.location)
            assert clock is not None
            arrive = clock + timedelta(seconds=s)
            start = max(arrive, item.earliest)
            clock = start + item.visit.service
            meters, work = meters + m, work + timedelta(seconds=s) + item.visit.service
            here = job.location
            if clock > item.latest_end:
                late.append(item.visit.visit_id)
            elif item.visit.emergency:
                emergencies_in_target += 1
            if n == len(items) - 1:
                m, s = travel.between(here, home)
                meters, work = meters + m, work + timedelta(seconds=s)
                overtime += _overtime(shift, stretch, clock + timedelta(seconds=s))
        visits_per_tech.append(len(items))
        minutes_per_tech.append(work.total_seconds() / 60)
    emergencies = [v for v in city.visits if v.emergency]
    served = sum(visits_per_tech)
    return {
        "served": served,
        "served_on_time": served - len(late),
        "unserved": len(day.unserved),
        "served_twice": twice,
        "travel_km": round(meters / 1000, 1),
        "travel_km_per_visit": round(meters / 1000 / max(served, 1), 2),
        "late_visits": len(late),
        "emergencies": len(emergencies),
        "emergencies_within_target": emergencies_in_target,
        "overtime_minutes": round(overtime.total_seconds() / 60),
        "unqualified_assignments": unqualified,
        "technicians_used": sum(n > 0 for n in visits_per_tech),
        "visits_per_technician_cv": _cv(visits_per_tech),
        "working_minutes_cv": _cv(minutes_per_tech),
        "max_visits_per_technician": max(visits_per_tech, default=0),
        "seconds": round(day.seconds, 1),
    }


def _overtime(shift: TimeWindow | None, stretch: str | None, back: datetime) -> timedelta:
    if shift is None or stretch != SHIFT:
        return timedelta(0)
    return max(back - shift.end, timedelta(0))


def _cv(values: Sequence[float]) -> float:
    mean = statistics.fmean(values) if values else 0.0
    return round(statistics.pstdev(values) / mean, 3) if mean else 0.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    city = build_city(visits=args.visits, technicians=args.technicians, seed=args.seed)
    travel = GreatCircleTravel()
    greedy = greedy_day(city)
    evening = SolveLimit(seconds=args.seconds)
    replan = SolveLimit(seconds=args.replan_seconds)
    planned, replans, parts = planner_day(city, greedy, travel, evening, replan, args.seed)
    before, after = evaluate(city, greedy, travel), evaluate(city, planned, travel)
    saving = 1 - after["travel_km"] / before["travel_km"] if before["travel_km"] else 0.0
    aims = {
        "travel_saving_at_least_20_percent": saving >= TRAVEL_SAVING_AIM,
        "serves_at_least_as_many_on_time": after["served_on_time"] >= before["served_on_time"],
        "every_emergency_within_target": after["emergencies_within_target"] == after["emergencies"],
        "no_visit_late": after["late_visits"] == 0,
    }
    return {
        "city": {
            "visits": len(city.visits),
            "emergencies": sum(v.emergency for v in city.visits),
            "technicians": len(city.technicians),
            "on_call": sum(t.on_call for t in city.technicians),
            "parts": parts,
            "day": city.day.isoformat(),
            "seed": args.seed,
        },
        "solver": {
            "evening_seconds_per_region": args.seconds,
            "replan_seconds": args.replan_seconds,
            "replans": replans,
        },
        "greedy": before,
        "planner": after,
        "travel_saving_percent": round(100 * saving, 1),
        "aims": aims,
        "ok": all(aims.values()),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="faultline bench dispatch", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--visits", type=int, default=1000)
    parser.add_argument("--technicians", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7, help="the city's seed (and solver's)")
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="solver time per part of the evening plan"
    )
    parser.add_argument(
        "--replan-seconds", type=float, default=1.0, help="solver time per emergency re-plan"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if min(args.visits, args.technicians) < 1 or min(args.seconds, args.replan_seconds) <= 0:
        parser.error("visits and technicians must be positive, solver times too")
    report = run(args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0 if report["ok"] else 1


ROWS = (
    ("served", "visits served"),
    ("served_on_time", "served within their window"),
    ("unserved", "not served"),
    ("travel_km", "travel, km"),
    ("travel_km_per_visit", "travel per visit, km"),
    ("late_visits", "late for their window"),
    ("emergencies_within_target", "emergencies on site within target"),
    ("overtime_minutes", "overtime, minutes"),
    ("technicians_used", "technicians with visits"),
    ("visits_per_technician_cv", "visits per technician, CV"),
    ("working_minutes_cv", "working minutes per technician, CV"),
    ("max_visits_per_technician", "most visits of one technician"),
    ("unqualified_assignments", "unqualified assignments"),
    ("seconds", "run time, s"),
)


def print_report(report: dict[str, Any]) -> None:
    city = report["city"]
    print(
        f"city {city['day']} (seed {city['seed']}): {city['visits']} visits "
        f"({city['emergencies']} emergencies), {city['technicians']} technicians "
        f"({city['on_call']} on call), planned in {city['parts']} parts"
    )
    print(f"{'':<36}{'greedy':>10}{'planner':>10}")
    for key, label in ROWS:
        print(f"{label:<36}{report['greedy'][key]:>10}{report['planner'][key]:>10}")
    print(f"travel saving {report['travel_saving_percent']} % (aim >= 20 %)")
    for aim, met in report["aims"].items():
        print(f"  {aim.replace('_', ' ')}: {'yes' if met else 'NO'}")


if __name__ == "__main__":
    sys.exit(main())
