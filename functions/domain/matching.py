"""Choosing the technician for an order: hard constraints first, then a score."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from functions.domain.geo import distance_km
from schemas.orders import TimeWindow, Urgency
from schemas.registry import Category, GeoPoint, Technician

VISIT_LENGTH = timedelta(hours=2)
BOOKING_HORIZON = timedelta(days=7)
# How soon a visit can start: travel and preparation after the order is dispatched.
LEAD_TIME = {Urgency.EMERGENCY: timedelta(minutes=30), Urgency.HIGH: timedelta(hours=2)}
DEFAULT_LEAD_TIME = timedelta(hours=4)

WEIGHTS = {"distance": 0.30, "soonest": 0.25, "load": 0.20, "rating": 0.25}
EMERGENCY_WEIGHTS = {"distance": 0.35, "soonest": 0.45, "load": 0.05, "rating": 0.15}


@dataclass(frozen=True)
class Job:
    """What a visit needs, as the matcher sees it."""

    category: Category
    manufacturer: str
    certifications: tuple[str, ...]
    urgency: Urgency
    location: GeoPoint
    timezone: str = "UTC"


@dataclass(frozen=True)
class Candidate:
    technician: Technician
    score: float
    distance_km: float
    window: TimeWindow


def rejection_reason(tech: Technician, job: Job, distance: float) -> str | None:
    """Why a technician cannot take the job, or None when they can."""
    if job.category not in tech.skills:
        return f"no {job.category.value} skill"
    if tech.brands and job.manufacturer.lower() not in {b.lower() for b in tech.brands}:
        return f"does not service {job.manufacturer}"
    missing = set(job.certifications) - set(tech.certifications)
    if missing:
        return f"missing certification {', '.join(sorted(missing))}"
    if distance > tech.service_radius_km:
        return f"{distance:.1f} km is outside the {tech.service_radius_km:.0f} km service area"
    if tech.active_orders >= tech.max_active_orders:
        return "fully booked"
    return None


def next_window(tech: Technician, job: Job, now: datetime) -> TimeWindow | None:
    """The first visit slot in the technician's working hours (in the home's time zone)."""
    zone = ZoneInfo(job.timezone)
    earliest = (now + LEAD_TIME.get(job.urgency, DEFAULT_LEAD_TIME)).astimezone(zone)
    hours = tech.working_hours
    day = earliest.date()
    horizon = (now + BOOKING_HORIZON).astimezone(zone)
    while True:
        day_start = datetime.combine(day, hours.start, tzinfo=zone)
        day_end = datetime.combine(day, hours.end, tzinfo=zone)
        if day_start > horizon:
            return None
        if day.weekday() in hours.weekdays:
            start = max(day_start, earliest)
            # Round up to the next half hour: a booking a homeowner can read.
            extra = (30 - start.minute % 30) % 30
            start = (start + timedelta(minutes=extra)).replace(second=0, microsecond=0)
            if start + VISIT_LENGTH <= day_end:
                return TimeWindow(start=start, end=start + VISIT_LENGTH)
        day += timedelta(days=1)


def rank(technicians: list[Technician], job: Job, now: datetime) -> list[Candidate]:
    """Eligible technicians, best first."""
    weights = EMERGENCY_WEIGHTS if job.urgency is Urgency.EMERGENCY else WEIGHTS
    ranked: list[Candidate] = []
    for tech in technicians:
        distance = distance_km(tech.home_base, job.location)
        if rejection_reason(tech, job, distance) is not None:
            continue
        window = next_window(tech, job, now)
        if window is None:
            continue
        wait = (window.start - now).total_seconds() / BOOKING_HORIZON.total_seconds()
        score = (
            weights["distance"] * (1 - distance / tech.service_radius_km)
            + weights["soonest"] * (1 - min(wait, 1.0))
            + weights["load"] * (1 - tech.active_orders / tech.max_active_orders)
            + weights["rating"] * (tech.rating / 5)
        )
        ranked.append(Candidate(tech, round(score, 4), round(distance, 2), window))
    ranked.sort(key=lambda c: (-c.score, c.distance_km, c.technician.technician_id))
    return ranked


#: How many homeowners' ratings the profile's own rating counts as: it leads until real
#: ratings accumulate, then they take over.
PROFILE_RATING_WEIGHT = 5


def effective_rating(tech: Technician) -> float:
    """The rating to rank on, 0..5: the profile's rating blended with homeowners' ratings
    of real visits (ratings_total / ratings_count), the profile counting as
    PROFILE_RATING_WEIGHT ratings."""
    blended = (tech.rating * PROFILE_RATING_WEIGHT + tech.ratings_total) / (
        PROFILE_RATING_WEIGHT + tech.ratings_count
    )
    return min(5.0, max(0.0, blended))
