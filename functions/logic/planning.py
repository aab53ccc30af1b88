"""Planning a region's day: its visits on its technicians' routes, by the solver.

`plan_day` is the use case the scheduled planning function calls for each region (the next
day's plan; today's hourly re-plan with accepted visits pinned to their technician and the
en-route ones first, their technicians starting where they are). A region's day is planned
in parts (`parts.partition`: a few hundred visits each at most, so a part is solved in
seconds), then the visits a part could not place are offered to the nearest technicians
qualified for them across the region, with those technicians' planned visits kept.
`plan_region_day` plans one set of visits and technicians at once.

(`functions.common.vrptw.solve_instance` runs the same solver adapter on a standard VRPTW
benchmark instance.)
"""

from __future__ import annotations

from collections.abc import Sequence

from functions.common.routing_solver import SolveLimit, solve_routing
from functions.domain.planning.day import (
    Crew,
    Plan,
    Route,
    Unplanned,
    Visit,
    build_day,
    may_take,
    nearest_qualified,
    why_nobody,
)
from functions.domain.planning.parts import partition
from functions.domain.planning.routing import insert_missing
from functions.domain.planning.travel import TravelModel
from schemas.orders import TimeWindow

#: Solver time for one part of a region's day, unless the caller says otherwise.
PART_SECONDS = 5.0
#: Open visits per part: a part this size is planned well in a few seconds.
PART_SIZE = 150
#: Visits left over by the parts are placed in batches of this many, each with at most
#: HELPERS of the nearest technicians qualified for them.
LEFTOVER_BATCH = 30
HELPERS = 40


def plan_region_day(
    visits: Sequence[Visit],
    crews: Sequence[Crew],
    travel: TravelModel,
    horizon: TimeWindow,
    *,
    limit: SolveLimit | None = None,
    seed: int = 0,
    current: Sequence[Route] = (),
) -> Plan:
    """The visits on the technicians' routes over `horizon`: each inside its window and a
    shift of a qualified technician (an emergency also on call), accepted visits with their
    technician, en-route ones first, travel minimised; the rest unplanned with the reason.
    The solver starts from `current` (the routes being revised) with the visits they miss
    inserted where they fit cheapest, so a re-plan never loses a visit that still fits."""
    day = build_day(visits, crews, travel, horizon)
    start = insert_missing(day.routing, day.trips(current))
    solution = solve_routing(day.routing, limit or SolveLimit(seconds=PART_SECONDS), seed, start)
    return day.plan(solution)


def plan_day(
    visits: Sequence[Visit],
    crews: Sequence[Crew],
    travel: TravelModel,
    horizon: TimeWindow,
    *,
    limit: SolveLimit | None = None,
    seed: int = 0,
    part_size: int = PART_SIZE,
) -> Plan:
    """A region's day, planned in parts, then its leftovers placed (see the module's doc)."""
    plan = Plan((), ())
    for part in partition(visits, crews, part_size):
        plan = plan.merged(
            plan_region_day(part.visits, part.crews, travel, horizon, limit=limit, seed=seed)
        )
    return place_leftovers(plan, visits, crews, travel, horizon, limit=limit, seed=seed)


def place_leftovers(
    plan: Plan,
    visits: Sequence[Visit],
    crews: Sequence[Crew],
    travel: TravelModel,
    horizon: TimeWindow,
    *,
    limit: SolveLimit | None = None,
    seed: int = 0,
) -> Plan:
    """The open visits `plan` left out, offered batch by batch to the nearest technicians
    qualified for them anywhere in the region, re-planned with the visits they already have
    (starting from their current routes, so none of those is lost for a new one)."""
    by_id = {v.visit_id: v for v in visits}
    left = [by_id[u.visit_id] for u in plan.unplanned if by_id[u.visit_id].technician_id is None]
    nobody = [v for v in left if not any(may_take(c, v) for c in crews)]
    if nobody:
        reasons = {v.visit_id: why_nobody(v, crews) for v in nobody}
        plan = Plan(
            plan.routes,
            tuple(Unplanned(u.visit_id, reasons.get(u.visit_id, u.reason)) for u in plan.unplanned),
        )
    placeable = [v for v in left if v not in nobody]
    for batch in partition(placeable, [], LEFTOVER_BATCH):
        helpers = nearest_qualified(batch.visits, crews, HELPERS)
        ids = {c.technician_id for c in helpers}
        theirs = [r for r in plan.routes if r.technician_id in ids]
        kept = [by_id[v.visit_id] for r in theirs for v in r.visits]
        sub = plan_region_day(
            [*kept, *batch.visits],
            helpers,
            travel,
            horizon,
            limit=limit,
            seed=seed,
            current=theirs,
        )
        batch_ids = {v.visit_id for v in batch.visits}
        plan = Plan(
            tuple(r for r in plan.routes if r.technician_id not in ids),
            tuple(u for u in plan.unplanned if u.visit_id not in batch_ids),
        ).merged(sub)
    return plan
