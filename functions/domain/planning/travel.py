"""How far and how long between two places: one interface, so a road-network matrix service
can later answer where the great-circle estimate answers today."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from functions.domain.geo import distance_km
from schemas.registry import GeoPoint

#: Roads are longer than the straight line: the usual detour factor for towns and suburbs.
ROAD_FACTOR = 1.3
#: Average door-to-door speed of a service van in town, parking included.
AVERAGE_SPEED_KMH = 35.0


@dataclass(frozen=True)
class TravelMatrix:
    """Road distance (metres) and driving time (seconds) from each point to each other,
    indexed as the points were given."""

    meters: list[list[int]]
    seconds: list[list[int]]


class TravelModel(Protocol):
    """The distances and driving times between places (a road-network service, or an
    estimate)."""

    def matrix(self, points: Sequence[GeoPoint]) -> TravelMatrix: ...


@dataclass(frozen=True)
class GreatCircleTravel:
    """The estimate: great-circle distance times a road factor, at an average speed."""

    road_factor: float = ROAD_FACTOR
    speed_kmh: float = AVERAGE_SPEED_KMH

    def __post_init__(self) -> None:
        if self.road_factor < 1 or self.speed_kmh <= 0:
            raise ValueError("the road factor must be at least 1 and the speed positive")

    def between(self, a: GeoPoint, b: GeoPoint) -> tuple[int, int]:
        """Metres and seconds from a to b."""
        km = distance_km(a, b) * self.road_factor
        return round(km * 1000), round(km / self.speed_kmh * 3600)

    def matrix(self, points: Sequence[GeoPoint]) -> TravelMatrix:
        n = len(points)
        meters = [[0] * n for _ in range(n)]
        seconds = [[0] * n for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                m, s = self.between(points[i], points[j])
                meters[i][j] = meters[j][i] = m
                seconds[i][j] = seconds[j][i] = s
        return TravelMatrix(meters, seconds)
