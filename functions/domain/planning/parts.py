"""Splitting a region's day into parts the solver plans in seconds.

A region of a thousand visits is one problem too many for a few seconds of search (and a
routing profile per technician over a thousand places is too much memory), so the region is
cut, like a k-d tree, across its longer side at the median visit until every part holds at
most `size` visits. The cuts cover the whole plane, so each technician belongs to the part
their home base lies in; an accepted or en-route visit goes with its technician's part.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from functions.domain.planning.day import Crew, Visit
from schemas.registry import GeoPoint

_KM_PER_DEGREE = 111.2


@dataclass(frozen=True)
class Box:
    south: float = -math.inf
    north: float = math.inf
    west: float = -math.inf
    east: float = math.inf

    def holds(self, point: GeoPoint) -> bool:
        return self.south <= point.lat < self.north and self.west <= point.lon < self.east


@dataclass(frozen=True)
class Part:
    box: Box
    visits: tuple[Visit, ...]
    crews: tuple[Crew, ...]


def boxes(points: Sequence[GeoPoint], size: int, box: Box | None = None) -> list[Box]:
    """Boxes covering the plane, each holding at most `size` of the points."""
    box = box or Box()
    if len(points) <= size:
        return [box]
    lats = [p.lat for p in points]
    lons = [p.lon for p in points]
    mid_lat = (min(lats) + max(lats)) / 2
    lat_km = (max(lats) - min(lats)) * _KM_PER_DEGREE
    lon_km = (max(lons) - min(lons)) * _KM_PER_DEGREE * math.cos(math.radians(mid_lat))
    by_lat = lat_km >= lon_km
    ordered = sorted(points, key=lambda p: (p.lat, p.lon) if by_lat else (p.lon, p.lat))
    middle = ordered[len(ordered) // 2]
    cut = middle.lat if by_lat else middle.lon
    if by_lat:
        low, high = Box(box.south, cut, box.west, box.east), Box(cut, box.north, box.west, box.east)
    else:
        low, high = (
            Box(box.south, box.north, box.west, cut),
            Box(box.south, box.north, cut, box.east),
        )
    below = [p for p in points if low.holds(p)]
    above = [p for p in points if high.holds(p)]
    if not below or not above:  # every point in one place: no cut separates them
        return [box]
    return boxes(below, size, low) + boxes(above, size, high)


def partition(visits: Sequence[Visit], crews: Sequence[Crew], size: int) -> list[Part]:
    """The region cut into parts of at most `size` open visits (see the module's doc)."""
    if size < 1:
        raise ValueError("a part holds at least one visit")
    open_visits = [v for v in visits if v.technician_id is None]
    cut = boxes([v.job.location for v in open_visits], size)

    def part_of(point: GeoPoint) -> int:
        return next(i for i, b in enumerate(cut) if b.holds(point))

    crew_part = {c.technician_id: part_of(c.technician.home_base) for c in crews}
    crews_in: list[list[Crew]] = [[] for _ in cut]
    for crew in crews:
        crews_in[crew_part[crew.technician_id]].append(crew)
    visits_in: list[list[Visit]] = [[] for _ in cut]
    for visit in visits:
        pinned = crew_part.get(visit.technician_id) if visit.technician_id else None
        visits_in[pinned if pinned is not None else part_of(visit.job.location)].append(visit)
    return [Part(b, tuple(v), tuple(c)) for b, v, c in zip(cut, visits_in, crews_in, strict=True)]
