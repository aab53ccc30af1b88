"""The day planner's domain, without a solver: travel, the routing problem's checker, who may
take which visit (skills, certifications, pinning, shifts, on call), the plan read back from
a solution (rules re-checked, nothing dropped silently) and the split into parts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from functions.domain.matching import Job, qualification_reason, rejection_reason
from functions.domain.planning.day import (
    Crew,
    DayProblem,
    PlanningInputError,
    Position,
    Visit,
    VisitStatus,
    build_day,
    emergency_window,
    nearest_qualified,
    shift_on,
)
from functions.domain.planning.parts import partition
from functions.domain.planning.routing import (
    Fleet,
    RoutingProblem,
    RoutingSolution,
    Stop,
    Trip,
    check,
    insert_missing,
)
from functions.domain.planning.travel import GreatCircleTravel
from schemas.orders import TimeWindow, Urgency
from schemas.registry import Category, GeoPoint, WorkingHours
from tests.factories import a_technician

DAY = datetime(2026, 3, 3, tzinfo=UTC)
HORIZON = TimeWindow(start=DAY, end=DAY + timedelta(days=1))
TRAVEL = GreatCircleTravel()
HOME = GeoPoint(lat=52.09, lon=5.12)


def hours(start: float, end: float) -> TimeWindow:
    return TimeWindow(start=DAY + timedelta(hours=start), end=DAY + timedelta(hours=end))


def a_job(**overrides: object) -> Job:
    fields: dict[str, object] = {
        "category": Category.WASHER,
        "manufacturer": "Bosch",
        "certifications": (),
        "urgency": Urgency.NORMAL,
        "location": HOME,
    }
    return Job(**(fields | overrides))  # type: ignore[arg-type]


def a_visit(visit_id: str = "v1", window: TimeWindow | None = None, **job: object) -> Visit:
    return Visit(visit_id, a_job(**job), window or hours(9, 11), timedelta(hours=1))


def a_crew(tech_id: str = "t1", shift: TimeWindow | None = None, **tech: object) -> Crew:
    fields: dict[str, object] = {"technician_id": tech_id, "home_base": HOME}
    return Crew(a_technician(**(fields | tech)), shift or hours(8, 17))


def allowed(day: DayProblem, visit_id: str) -> set[str]:
    """The fleets (technician, on call) that may serve the visit."""
    stop = next(i for i, v in enumerate(day.visits) if v.visit_id == visit_id)
    return {f.name for f in day.routing.fleets if f.may_serve is not None and stop in f.may_serve}


# -- travel --------------------------------------------------------------------------------


def test_great_circle_travel_is_the_distance_times_the_road_factor_at_the_average_speed():
    utrecht, amsterdam = GeoPoint(lat=52.0907, lon=5.1214), GeoPoint(lat=52.3676, lon=4.9041)
    matrix = GreatCircleTravel(road_factor=1.3, speed_kmh=35).matrix([utrecht, amsterdam])
    assert matrix.meters[0][0] == matrix.seconds[1][1] == 0
    assert matrix.meters[0][1] == matrix.meters[1][0]
    assert 1.3 * 33_000 < matrix.meters[0][1] < 1.3 * 36_000
    assert matrix.seconds[0][1] == pytest.approx(matrix.meters[0][1] / 1000 / 35 * 3600, abs=1)
    with pytest.raises(ValueError):
        GreatCircleTravel(road_factor=0.9)


# -- the routing problem's own checker ------------------------------------------------------


def a_line_problem(**fleet: object) -> RoutingProblem:
    """A depot at 0 and three stops at 10, 20, 30 on a line; distance = time."""
    places = [0, 10, 20, 30]
    matrix = [[abs(a - b) for b in places] for a in places]
    stops = [Stop(service=5, early=0, late=100, demand=1, name=str(i)) for i in range(3)]
    fields: dict[str, object] = {"start": 0, "end": 0, "early": 0, "late": 200, "count": 2}
    return RoutingProblem(1, stops, [Fleet(**(fields | fleet))], matrix, matrix)  # type: ignore[arg-type]


def test_the_checker_schedules_a_trip_and_counts_its_distance():
    checked = check(a_line_problem(), [Trip(0, (0, 1, 2))])
    assert checked.feasible and checked.distance == 60
    assert [t.start for t in checked.trips[0].visits] == [10, 25, 40]
    assert checked.trips[0].back == 75


def test_the_checker_names_every_broken_rule():
    late = RoutingProblem(
        1,
        [Stop(5, 0, 100), Stop(5, 0, 12, name="tight")],
        [Fleet(0, 0, 0, 200, count=1, capacity=1, may_serve=frozenset({0, 1}))],
        [[0, 10, 20], [10, 0, 10], [20, 10, 0]],
        [[0, 10, 20], [10, 0, 10], [20, 10, 0]],
    )
    assert any("window closed" in i for i in check(late, [Trip(0, (0, 1))]).issues)
    capped = a_line_problem(capacity=2)
    assert any("capacity" in i for i in check(capped, [Trip(0, (0, 1, 2))]).issues)
    assert any("more than once" in i for i in check(capped, [Trip(0, (0,)), Trip(0, (0,))]).issues)
    assert any("not served" in i for i in check(capped, [Trip(0, (0,))]).issues)
    one = a_line_problem(count=1)
    assert any("vehicles" in i for i in check(one, [Trip(0, (0, 1)), Trip(0, (2,))]).issues)
    barred = a_line_problem(may_serve=frozenset({0, 1}))
    assert any("may not be served" in i for i in check(barred, [Trip(0, (0, 1, 2))]).issues)
    short = a_line_problem(late=50)
    assert any("back at" in i for i in check(short, [Trip(0, (0, 1, 2))]).issues)


def test_missing_stops_are_inserted_where_they_add_least_and_fit():
    problem = a_line_problem(count=1)
    assert insert_missing(problem, [Trip(0, (0, 2))]) == [Trip(0, (0, 1, 2))]
    (trip,) = insert_missing(problem, [])
    assert sorted(trip.stops) == [0, 1, 2] and check(problem, [trip]).distance == 60
    tight = a_line_problem(count=1, late=50)  # back by 50: no room for the stop at 30
    (trip,) = insert_missing(tight, [])
    assert sorted(trip.stops) == [0, 1] and check(tight, [trip]).trips[0].issues == ()


# -- who may take what ----------------------------------------------------------------------


def test_qualification_is_dispatch_rules_without_the_load():
    busy = a_technician(active_orders=4, max_active_orders=4)
    assert rejection_reason(busy, a_job(), 1) == "fully booked"
    assert qualification_reason(busy, a_job(), 1) is None


def test_a_visit_goes_only_to_technicians_with_its_skill_and_certifications():
    visits = [
        a_visit("boiler", category=Category.BOILER, certifications=("gas_safe",)),
        a_visit("washer"),
    ]
    crews = [
        a_crew("washer-only"),
        a_crew("boiler-no-cert", skills=[Category.BOILER]),
        a_crew(
            "boiler-gas", skills=[Category.BOILER, Category.WASHER], certifications=["gas_safe"]
        ),
    ]
    day = build_day(visits, crews, TRAVEL, HORIZON)
    assert allowed(day, "boiler") == {"boiler-gas"}
    assert allowed(day, "washer") == {"washer-only", "boiler-gas"}


def test_an_accepted_visit_stays_with_its_technician():
    visit = Visit("v1", a_job(), hours(9, 11), timedelta(hours=1), VisitStatus.ACCEPTED, "t2")
    day = build_day([visit], [a_crew("t1"), a_crew("t2")], TRAVEL, HORIZON)
    assert allowed(day, "v1") == {"t2"}


def test_a_visit_nobody_qualifies_for_is_unplanned_with_the_reason():
    day = build_day(
        [a_visit("gas", category=Category.BOILER, certifications=("gas_safe",))],
        [a_crew("t1", skills=[Category.BOILER])],
        TRAVEL,
        HORIZON,
    )
    assert not day.routing.stops
    (missed,) = day.unplanned
    assert missed.visit_id == "gas" and "missing certification gas_safe" in missed.reason
    assert day.plan(RoutingSolution(())).unplanned == day.unplanned


def test_shifts_and_on_call_bound_when_a_technician_takes_visits():
    evening = a_visit("evening", hours(19, 21))
    leak = Visit(
        "leak",
        a_job(urgency=Urgency.EMERGENCY),
        emergency_window(DAY + timedelta(hours=20), timedelta(hours=1)),
        timedelta(hours=1),
    )
    crews = [a_crew("day"), a_crew("on-call", on_call=True)]
    day = build_day([evening, leak], crews, TRAVEL, HORIZON)
    assert allowed(day, "leak") == {"on-call on call"}
    (missed,) = day.unplanned
    assert missed.visit_id == "evening" and "works during its window" in missed.reason
    assert day.plan(RoutingSolution(())).unplanned[-1].visit_id == "leak"  # reported too


def test_a_visit_takes_place_inside_its_window():
    day = build_day([a_visit("v1", hours(9, 11))], [a_crew()], TRAVEL, HORIZON)
    (stop,) = day.routing.stops
    assert (stop.early, stop.late, stop.service) == (9 * 3600, 10 * 3600, 3600)
    assert not stop.required and stop.prize > 0
    (fleet,) = day.routing.fleets
    assert (fleet.early, fleet.late) == (8 * 3600, 17 * 3600)


def test_an_accepted_technician_not_in_the_plan_leaves_the_visit_unplanned_with_the_reason():
    visit = Visit("v1", a_job(), hours(9, 11), timedelta(hours=1), VisitStatus.ACCEPTED, "gone")
    plan = build_day([visit], [a_crew("t1")], TRAVEL, HORIZON).plan(RoutingSolution(()))
    assert [(u.visit_id, "gone is not in this plan" in u.reason) for u in plan.unplanned] == [
        ("v1", True)
    ]


def test_an_en_route_visit_comes_first_and_the_day_continues_from_there():
    there = GeoPoint(lat=52.15, lon=5.2)
    en_route = Visit(
        "next", a_job(location=there), hours(9, 11), timedelta(hours=1), VisitStatus.EN_ROUTE, "t1"
    )
    crew = Crew(
        a_technician(technician_id="t1", home_base=HOME),
        hours(8, 17),
        Position(HOME, DAY + timedelta(hours=9, minutes=30)),
    )
    day = build_day([en_route, a_visit("later", hours(13, 15))], [crew], TRAVEL, HORIZON)
    assert [v.visit_id for v in day.visits] == ["later"]  # not the solver's to move
    plan = day.plan(RoutingSolution((Trip(0, (0,)),)))
    (route,) = plan.routes
    assert [v.visit_id for v in route.visits] == ["next", "later"]
    first = route.visits[0]
    meters, seconds = TRAVEL.between(HOME, there)
    assert first.arrive == DAY + timedelta(hours=9, minutes=30, seconds=seconds)
    assert (
        route.leave_from == HOME and route.visits[1].travel_meters == TRAVEL.between(there, HOME)[0]
    )
    assert route.travel_meters == meters + TRAVEL.between(there, HOME)[0]  # later is at home


def test_a_stop_the_solver_placed_where_a_rule_breaks_is_reported_not_kept():
    visits = [a_visit("a", hours(9, 11)), a_visit("b", hours(9, 10.5))]
    day = build_day(visits, [a_crew()], TRAVEL, HORIZON)
    # a then b: b cannot start by 09:30 after an hour at a.
    plan = day.plan(RoutingSolution((Trip(0, (0, 1)),)))
    assert [v.visit_id for r in plan.routes for v in r.visits] == ["a"]
    assert [(u.visit_id, "rule breaks" in u.reason) for u in plan.unplanned] == [("b", True)]
    left_out = day.plan(RoutingSolution((Trip(0, (1,)),)))
    assert [(u.visit_id, "has room" in u.reason) for u in left_out.unplanned] == [("a", True)]
    for route in left_out.routes:
        for v in route.visits:
            window = next(x.window for x in visits if x.visit_id == v.visit_id)
            assert window.start <= v.start and v.end <= window.end


def test_contradicting_input_is_refused():
    with pytest.raises(PlanningInputError):
        Visit("v", a_job(), hours(9, 11), timedelta(hours=1), VisitStatus.OPEN, "t1")
    with pytest.raises(PlanningInputError):
        Visit("v", a_job(), hours(9, 9.5), timedelta(hours=1))
    with pytest.raises(PlanningInputError):
        build_day([a_visit("v"), a_visit("v")], [a_crew()], TRAVEL, HORIZON)
    twice = [
        Visit(f"v{i}", a_job(), hours(9, 11), timedelta(hours=1), VisitStatus.EN_ROUTE, "t1")
        for i in range(2)
    ]
    with pytest.raises(PlanningInputError):
        build_day(twice, [a_crew()], TRAVEL, HORIZON)


def test_the_shift_comes_from_the_working_hours_in_the_local_time_zone():
    tech = a_technician(working_hours=WorkingHours(weekdays=[1], start=time(8), end=time(16)))
    shift = shift_on(tech, date(2026, 3, 3), "Europe/Amsterdam")  # a Tuesday
    assert shift is not None and shift.start == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    assert shift_on(tech, date(2026, 3, 4), "Europe/Amsterdam") is None


def test_the_nearest_qualified_technicians_come_first():
    visit = a_visit("v", location=HOME)
    crews = [
        a_crew("far", home_base=GeoPoint(lat=52.25, lon=5.12)),
        a_crew("near", home_base=GeoPoint(lat=52.1, lon=5.12)),
        a_crew("oven", skills=[Category.OVEN]),
    ]
    assert [c.technician_id for c in nearest_qualified([visit], crews, 5)] == ["near", "far"]
    assert [c.technician_id for c in nearest_qualified([visit], crews, 1)] == ["near"]


# -- parts ----------------------------------------------------------------------------------


def test_a_region_is_cut_into_parts_and_an_accepted_visit_goes_with_its_technician():
    west, east = GeoPoint(lat=52.0, lon=4.8), GeoPoint(lat=52.0, lon=5.4)
    visits = [a_visit(f"w{i}", location=west) for i in range(3)]
    visits += [a_visit(f"e{i}", location=east) for i in range(3)]
    visits.append(
        Visit(
            "pinned",
            a_job(location=west),
            hours(9, 11),
            timedelta(hours=1),
            VisitStatus.ACCEPTED,
            "east-tech",
        )
    )
    crews = [a_crew("west-tech", home_base=west), a_crew("east-tech", home_base=east)]
    parts = partition(visits, crews, 3)
    assert len(parts) == 2
    for part in parts:
        assert len([v for v in part.visits if v.technician_id is None]) <= 3
    where = {c.technician_id: {v.visit_id for v in p.visits} for p in parts for c in p.crews}
    assert where["east-tech"] == {"e0", "e1", "e2", "pinned"}
    assert where["west-tech"] == {"w0", "w1", "w2"}
