"""Standard VRPTW benchmark instances (VRPLIB format, Solomon's) as a `RoutingProblem`.

DIMACS convention: the distance and the travel time between two nodes are their Euclidean
distance truncated to one decimal; here every number is kept in tenths (times 10, then
truncated) so the solver works in whole numbers, and a cost is given back divided by 10.
Node 1 of the file is the depot; customer i (as `.sol` files number them) is node i+1, which
is stop i-1 of the problem.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.common.routing_solver import SolveLimit, solve_routing
from functions.domain.errors import InstanceError
from functions.domain.planning.routing import (
    Checked,
    Fleet,
    RoutingProblem,
    RoutingSolution,
    Stop,
    Trip,
    check,
)

SCALE = 10  # tenths: one decimal, truncated


@dataclass(frozen=True)
class Instance:
    name: str
    problem: RoutingProblem


def read_instance(path: str | Path) -> Instance:
    """The instance at `path`, or InstanceError naming what is wrong with the file."""
    import vrplib

    where = Path(path)
    if not where.exists():
        raise InstanceError(f"{where}: no such file")
    if not where.is_file():
        raise InstanceError(f"{where}: not a file")
    try:
        raw = vrplib.read_instance(str(where))
    except Exception as exc:  # vrplib raises whatever its parsing hits first
        why = f"{type(exc).__name__}: {exc}"
        raise InstanceError(f"{where}: not a VRPLIB instance ({why})") from exc
    try:
        return _instance(raw, where.stem)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise InstanceError(f"{where}: {exc}") from exc


def _instance(raw: dict[str, Any], stem: str) -> Instance:
    for key, where in (
        ("dimension", "DIMENSION"),
        ("capacity", "CAPACITY"),
        ("node_coord", "NODE_COORD_SECTION"),
        ("demand", "DEMAND_SECTION"),
        ("time_window", "TIME_WINDOW_SECTION"),
        ("edge_weight", "EDGE_WEIGHT_TYPE or EDGE_WEIGHT_SECTION"),
    ):
        if key not in raw:
            raise InstanceError(f"no {where} (a VRPTW instance needs it)")
    size = int(raw["dimension"])
    if size < 2:
        raise InstanceError(f"DIMENSION {size}: a depot and at least one customer needed")
    depots = [int(d) for d in list(raw.get("depot", [0]))]
    if depots != [0]:
        raise InstanceError("only instances whose one depot is node 1 are supported")
    coords = [tuple(float(c) for c in row) for row in raw["node_coord"]]
    demand = [int(d) for d in raw["demand"]]
    windows = [(float(a), float(b)) for a, b in raw["time_window"]]
    weights = [[float(w) for w in row] for row in raw["edge_weight"]]
    service = raw.get("service_time", 0)
    services = (
        [float(s) for s in service] if hasattr(service, "__len__") else [float(service)] * size
    )
    for name, column in (
        ("NODE_COORD_SECTION", coords),
        ("DEMAND_SECTION", demand),
        ("TIME_WINDOW_SECTION", windows),
        ("SERVICE_TIME", services),
        ("edge weights", weights),
    ):
        if len(column) != size:
            raise InstanceError(f"{name} has {len(column)} entries for DIMENSION {size}")
    if any(len(row) != size for row in weights):
        raise InstanceError("the edge weights are not square")
    numbers = [w for row in weights for w in row] + [x for a, b in windows for x in (a, b)]
    if any(not math.isfinite(x) or x < 0 for x in numbers + services) or any(d < 0 for d in demand):
        raise InstanceError("negative or non-finite distances, times or demands")
    if any(b < a for a, b in windows):
        raise InstanceError("a time window closes before it opens")
    capacity = int(raw["capacity"])
    vehicles = int(raw.get("vehicles", size - 1))
    if capacity <= 0 or vehicles <= 0:
        raise InstanceError("CAPACITY and VEHICLES must be positive")
    matrix = [[_tenths(w) for w in row] for row in weights]
    stops = [
        Stop(
            service=_tenths(services[node]),
            early=_tenths(windows[node][0]),
            late=_tenths(windows[node][1]),
            demand=demand[node],
            required=True,
            name=str(node),
        )
        for node in range(1, size)
    ]
    depot_early, depot_late = windows[0]
    fleet = Fleet(
        start=0,
        end=0,
        early=_tenths(depot_early),
        late=_tenths(depot_late),
        count=vehicles,
        capacity=capacity,
    )
    problem = RoutingProblem(
        depots=1,
        stops=stops,
        fleets=[fleet],
        distance=matrix,
        duration=matrix,
        coordinates=[(c[0], c[1]) for c in coords],
        name=str(raw.get("name", stem)),
    )
    return Instance(problem.name, problem)


def _tenths(value: float) -> int:
    """The DIMACS convention: one decimal, truncated (as PyVRP's `round_func="dimacs"`)."""
    return int(SCALE * value)


def customer_routes(trips: Sequence[Trip]) -> list[list[int]]:
    """Each trip's customers as the `.sol` files number them (stop i is customer i+1)."""
    return [[stop + 1 for stop in trip.stops] for trip in trips if trip.stops]


def read_solution(path: str | Path) -> tuple[list[list[int]], float]:
    """A `.sol` file's routes (customer numbers) and its cost."""
    import vrplib

    try:
        raw = vrplib.read_solution(str(path))
        return [[int(c) for c in route] for route in raw["routes"]], float(raw["cost"])
    except Exception as exc:
        raise InstanceError(f"{path}: not a VRPLIB solution ({exc})") from exc


@dataclass(frozen=True)
class InstanceResult:
    instance: Instance
    solution: RoutingSolution
    checked: Checked

    @property
    def cost(self) -> float:
        """Total distance, in the instance's units (DIMACS: one decimal)."""
        return self.checked.distance / SCALE


def solve_instance(instance: Instance, limit: SolveLimit, seed: int = 0) -> InstanceResult:
    """A benchmark instance solved by the planner's solver adapter, and checked by the
    problem's own numbers (windows, capacity, each customer once, vehicles)."""
    solution = solve_routing(instance.problem, limit, seed)
    return InstanceResult(instance, solution, check(instance.problem, solution.trips))
