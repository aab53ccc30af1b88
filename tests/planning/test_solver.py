"""The day planner with the real solver (PyVRP), on problems small enough for a few hundred
iterations: eligibility through routing profiles, pinning, windows, shifts, on call, what
cannot be served reported, leftovers placed across parts, a warm start kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.common.routing_solver import SolveLimit, solve_routing
from functions.domain.matching import Job
from functions.domain.planning.day import (
    Crew,
    Plan,
    Visit,
    VisitStatus,
    emergency_window,
)
from functions.domain.planning.routing import Fleet, RoutingProblem, Stop, Trip, check
from functions.domain.planning.travel import GreatCircleTravel
from functions.logic.planning import plan_day, plan_region_day
from schemas.orders import TimeWindow, Urgency
from schemas.registry import Category, GeoPoint
from tests.factories import a_technician

DAY = datetime(2026, 3, 3, tzinfo=UTC)
HORIZON = TimeWindow(start=DAY, end=DAY + timedelta(days=1))
TRAVEL = GreatCircleTravel()
QUICK = SolveLimit(iterations=300)
HOUR = timedelta(hours=1)


def hours(start: float, end: float) -> TimeWindow:
    return TimeWindow(start=DAY + timedelta(hours=start), end=DAY + timedelta(hours=end))


def at(lat: float, lon: float) -> GeoPoint:
    return GeoPoint(lat=lat, lon=lon)


def job(
    category: Category = Category.WASHER,
    where: GeoPoint | None = None,
    urgency: Urgency = Urgency.NORMAL,
) -> Job:
    return Job(category, "Bosch", (), urgency, where or at(52.09, 5.12))


def crew(tech_id: str, home: GeoPoint, *skills: Category, on_call: bool = False) -> Crew:
    tech = a_technician(
        technician_id=tech_id,
        home_base=home,
        skills=list(skills or [Category.WASHER]),
        on_call=on_call,
    )
    return Crew(tech, hours(8, 17))


def assert_sound(plan: Plan, visits: list[Visit]) -> None:
    """Every visit planned once or reported, each planned one inside its window."""
    planned = [v.visit_id for r in plan.routes for v in r.visits]
    reported = [u.visit_id for u in plan.unplanned]
    assert sorted(planned + reported) == sorted(v.visit_id for v in visits)
    windows = {v.visit_id: v.window for v in visits}
    for route in plan.routes:
        for v in route.visits:
            assert windows[v.visit_id].start <= v.start and v.end <= windows[v.visit_id].end


def test_the_solver_respects_eligibility_pinning_shifts_and_on_call():
    west, east = at(52.09, 5.05), at(52.09, 5.20)
    visits = [
        Visit("w1", job(where=west), hours(9, 11), HOUR),
        Visit("w2", job(where=at(52.1, 5.06)), hours(11, 13), HOUR),
        Visit("boiler", job(Category.BOILER, west), hours(9, 11), HOUR),
        # next to the west technician, but accepted by the east one
        Visit("mine", job(where=west), hours(13, 15), HOUR, VisitStatus.ACCEPTED, "east"),
        Visit(
            "leak",
            job(Category.BOILER, east, urgency=Urgency.EMERGENCY),
            emergency_window(DAY + timedelta(hours=19), HOUR),
            HOUR,
        ),
        Visit("oven", job(Category.OVEN, west), hours(9, 11), HOUR),
    ]
    crews = [
        crew("west", west),
        crew("east", east, Category.WASHER, Category.BOILER, on_call=True),
    ]
    plan = plan_region_day(visits, crews, TRAVEL, HORIZON, limit=QUICK)
    assert_sound(plan, visits)
    who = plan.assignment()
    assert who["boiler"] == "east" and who["mine"] == "east" and who["leak"] == "east"
    assert {"w1", "w2"} <= who.keys()
    (leak_route,) = [r for r in plan.routes if any(v.visit_id == "leak" for v in r.visits)]
    assert leak_route.on_call and leak_route.leave >= DAY + timedelta(hours=17)
    for route in plan.routes:
        if not route.on_call:
            assert hours(8, 17).start <= route.leave and route.back <= hours(8, 17).end
    (oven,) = plan.unplanned
    assert oven.visit_id == "oven" and "no oven skill" in oven.reason


def test_a_visit_no_one_has_room_for_is_reported_not_dropped():
    home = at(52.09, 5.12)
    visits = [Visit(f"v{i}", job(where=home), hours(9, 10.5), HOUR) for i in range(2)]
    plan = plan_region_day(visits, [crew("only", home)], TRAVEL, HORIZON, limit=QUICK)
    assert_sound(plan, visits)
    (missed,) = plan.unplanned
    assert "has room" in missed.reason


def test_an_emergency_displaces_an_accepted_visit_rather_than_miss_its_target():
    home = at(52.09, 5.12)
    # Both at the same door, and only one of them can start by 10:30.
    accepted = Visit("accepted", job(where=home), hours(10, 11.5), HOUR, VisitStatus.ACCEPTED, "t")
    leak = Visit(
        "leak",
        job(where=home, urgency=Urgency.EMERGENCY),
        emergency_window(DAY + timedelta(hours=10), HOUR, timedelta(minutes=30)),
        HOUR,
    )
    plan = plan_region_day([accepted, leak], [crew("t", home)], TRAVEL, HORIZON, limit=QUICK)
    assert plan.assignment() == {"leak": "t"}
    assert [u.visit_id for u in plan.unplanned] == ["accepted"]


def test_a_visit_its_part_cannot_serve_goes_to_a_qualified_technician_of_another_part():
    west, east = at(52.09, 4.9), at(52.09, 5.3)
    visits = [
        Visit("w", job(where=west), hours(9, 11), HOUR),
        Visit("w-boiler", job(Category.BOILER, at(52.09, 5.05)), hours(13, 15), HOUR),
        Visit("e", job(where=east), hours(9, 11), HOUR),
    ]
    crews = [crew("west", west), crew("east", east, Category.WASHER, Category.BOILER)]
    plan = plan_day(visits, crews, TRAVEL, HORIZON, limit=QUICK, part_size=1)
    assert_sound(plan, visits)
    assert plan.assignment() == {"w": "west", "w-boiler": "east", "e": "east"}


def test_profiles_keep_a_fleet_off_the_stops_it_may_not_serve():
    # Two stops beside fleet 0's depot; fleet 1 is far away but the only one allowed stop 1.
    near = [[0, 1, 1, 50], [1, 0, 1, 50], [1, 1, 0, 50], [50, 50, 50, 0]]
    problem = RoutingProblem(
        depots=2,
        stops=[Stop(1, 0, 1000, prize=10_000, required=False)] * 2,
        fleets=[
            Fleet(0, 0, 0, 1000, may_serve=frozenset({0})),
            Fleet(1, 1, 0, 1000, may_serve=frozenset({1})),
        ],
        distance=near,
        duration=near,
    )
    solution = solve_routing(problem, SolveLimit(iterations=200))
    assert check(problem, solution.trips).feasible
    assert sorted((t.fleet, t.stops) for t in solution.trips) == [(0, (0,)), (1, (1,))]


def test_a_feasible_start_is_never_answered_with_worse():
    line = [[abs(a - b) for b in range(5)] for a in range(5)]
    problem = RoutingProblem(1, [Stop(0, 0, 100)] * 4, [Fleet(0, 0, 0, 100, count=2)], line, line)
    start = [Trip(0, (0, 1, 2, 3))]  # already the best: out and back along the line
    solution = solve_routing(problem, SolveLimit(iterations=50), initial=start)
    assert check(problem, solution.trips).distance == check(problem, start).distance == 8
