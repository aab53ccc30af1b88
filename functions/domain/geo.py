"""Distances and geohash cells: how technicians are found near a home without a Scan."""

from __future__ import annotations

import math

from schemas.registry import GeoPoint

EARTH_RADIUS_KM = 6371.0088
_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
# Precision 4 cells are about 39 km x 20 km: a home's cell plus the technicians covering it is
# one Query, and a technician's service area spans a few dozen cells at most.
CELL_PRECISION = 4


def distance_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle (haversine) distance."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def geohash(point: GeoPoint, precision: int = CELL_PRECISION) -> str:
    lat_lo, lat_hi, lon_lo, lon_hi = -90.0, 90.0, -180.0, 180.0
    chars: list[str] = []
    bits, value, even = 0, 0, True
    while len(chars) < precision:
        if even:
            mid = (lon_lo + lon_hi) / 2
            bit = point.lon >= mid
            lon_lo, lon_hi = (mid, lon_hi) if bit else (lon_lo, mid)
        else:
            mid = (lat_lo + lat_hi) / 2
            bit = point.lat >= mid
            lat_lo, lat_hi = (mid, lat_hi) if bit else (lat_lo, mid)
        value = (value << 1) | int(bit)
        even = not even
        bits += 1
        if bits == 5:
            chars.append(_BASE32[value])
            bits, value = 0, 0
    return "".join(chars)


def cells_covering(center: GeoPoint, radius_km: float, precision: int = CELL_PRECISION) -> set[str]:
    """Every cell that a circle touches, found by sampling it finer than the cell size."""
    step_km = 2.0  # well under the smallest side of a precision-4 cell
    lat_step = step_km / 111.0
    cos_lat = max(math.cos(math.radians(center.lat)), 0.01)
    lon_step = step_km / (111.0 * cos_lat)
    n_lat = math.ceil(radius_km / step_km)
    cells = {geohash(center, precision)}
    for i in range(-n_lat, n_lat + 1):
        lat = center.lat + i * lat_step
        if not -90 <= lat <= 90:
            continue
        half_width_km = math.sqrt(max(radius_km**2 - (i * step_km) ** 2, 0.0))
        n_lon = math.ceil(half_width_km / step_km)
        for j in range(-n_lon, n_lon + 1):
            lon = (center.lon + j * lon_step + 180) % 360 - 180
            cells.add(geohash(GeoPoint(lat=lat, lon=lon), precision))
    return cells
