"""The route solver: PyVRP (an established VRPTW solver), behind `solve_routing`.

PyVRP and numpy are imported inside `solve_routing` only, so nothing else that imports this
module pays for them. Which vehicle may serve which stop is modelled with PyVRP's routing
profiles: profile 0 is the plain travel matrix, and each distinct set of stops a fleet may
serve gets a profile in which every edge into a stop outside that set costs PyVRP's
"missing edge" value (as its documentation models access restrictions), so no solution
that uses one survives the search.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from functions.domain.planning.routing import NO_LIMIT, RoutingProblem, RoutingSolution, Trip


@dataclass(frozen=True)
class SolveLimit:
    """When the search stops: after `seconds`, or `iterations` (whichever comes first;
    iterations alone make a run repeatable on any machine)."""

    seconds: float | None = None
    iterations: int | None = None

    def __post_init__(self) -> None:
        if self.seconds is None and self.iterations is None:
            raise ValueError("a solve needs a time or an iteration limit")
        if (self.seconds is not None and self.seconds <= 0) or (
            self.iterations is not None and self.iterations <= 0
        ):
            raise ValueError("limits must be positive")


def solve_routing(
    problem: RoutingProblem, limit: SolveLimit, seed: int = 0, initial: Sequence[Trip] = ()
) -> RoutingSolution:
    """PyVRP's best solution of `problem` within `limit`, as trips (each vehicle's stops in
    order). Stops left out are those in no trip; the caller checks the answer against the
    problem (`routing.check`), it is not taken on trust. `initial`: the trips to start the
    search from (the plan being revised); a feasible start is never answered with worse."""
    if not problem.stops:
        return RoutingSolution(trips=())

    import numpy as np
    import pyvrp
    from pyvrp.constants import MAX_VALUE
    from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

    started = time.monotonic()
    size = problem.depots + len(problem.stops)
    coordinates = problem.coordinates or [(0.0, 0.0)] * size
    locations = [pyvrp.Location(x=float(x), y=float(y)) for x, y in coordinates]
    depots = [pyvrp.Depot(location=i) for i in range(problem.depots)]
    with_load = any(f.capacity is not None for f in problem.fleets)
    clients = [
        pyvrp.Client(
            location=problem.location(i),
            delivery=[stop.demand] if with_load else [],
            service_duration=stop.service,
            tw_early=stop.early,
            tw_late=min(stop.late, NO_LIMIT),
            prize=stop.prize,
            required=stop.required,
            name=stop.name,
        )
        for i, stop in enumerate(problem.stops)
    ]
    distance = np.asarray(problem.distance, dtype=np.int64)
    duration = np.asarray(problem.duration, dtype=np.int64)
    # PyVRP's stubs type a matrix as ndarray[int]; numpy's own types say more.
    distances: list[Any] = [distance]
    durations: list[Any] = [duration]
    profile_of: dict[frozenset[int], int] = {}
    everyone = frozenset(range(len(problem.stops)))
    vehicle_types = []
    for fleet in problem.fleets:
        allowed = everyone if fleet.may_serve is None else fleet.may_serve
        if allowed == everyone:
            profile = 0
        elif allowed in profile_of:
            profile = profile_of[allowed]
        else:
            barred = [problem.location(i) for i in sorted(everyone - allowed)]
            barred_distance, barred_duration = distance.copy(), duration.copy()
            barred_distance[:, barred] = MAX_VALUE
            barred_duration[:, barred] = MAX_VALUE
            for loc in barred:  # a self loop stays zero
                barred_distance[loc, loc] = barred_duration[loc, loc] = 0
            profile = profile_of[allowed] = len(distances)
            distances.append(barred_distance)
            durations.append(barred_duration)
        capacity = fleet.capacity if fleet.capacity is not None else len(problem.stops)
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=fleet.count,
                capacity=[capacity] if with_load else [],
                start_depot=fleet.start,
                end_depot=fleet.end,
                tw_early=fleet.early,
                tw_late=min(fleet.late, NO_LIMIT),
                profile=profile,
                name=fleet.name,
            )
        )
    data = pyvrp.ProblemData(locations, clients, depots, vehicle_types, distances, durations)
    stops: list[StoppingCriterion] = []
    if limit.seconds is not None:
        stops.append(MaxRuntime(limit.seconds))
    if limit.iterations is not None:
        stops.append(MaxIterations(limit.iterations))
    start = None
    if initial:
        start = pyvrp.Solution(
            data, [pyvrp.Route(data, list(t.stops), t.fleet) for t in initial if t.stops]
        )
    result = pyvrp.solve(
        data,
        stop=MultipleCriteria(stops),
        seed=seed,
        collect_stats=False,
        display=False,
        initial_solution=start,
    )
    trips = tuple(
        Trip(route.vehicle_type(), tuple(a.idx for a in route if a.is_client()))
        for route in result.best.routes()
    )
    return RoutingSolution(
        trips=trips, iterations=result.num_iterations, seconds=time.monotonic() - started
    )
