"""Choosing the technician for an order: hard constraints first, then a score."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from functions.domain.geo import distance_km
from schemas.orders import TimeWindow, Urgency
from schemas.registry import Category, GeoPoint, PreferredWindow, Technician

VISIT_LENGTH = timedelta(hours=2)
BOOKING_HORIZON = timedelta(days=7)
# How soon a visit can start: travel and preparation after the order is dispatched.
LEAD_TIME = {Urgency.EMERGENCY: timedelta(minutes=30), Urgency.HIGH: timedelta(hours=2)}
DEFAULT_LEAD_TIME = timedelta(hours=4)
# Visits start on the half hour (UTC grid: the same in every whole- or half-hour zone), and a
# booking occupies the technician in blocks of this length.
SLOT = timedelta(minutes=30)
# How many windows a homeowner is offered to choose from.
PROPOSALS = 6

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
    unqualified = qualification_reason(tech, job, distance)
    if unqualified is not None:
        return unqualified
    if tech.active_orders >= tech.max_active_orders:
        return "fully booked"
    return None


def qualification_reason(tech: Technician, job: Job, distance: float) -> str | None:
    """Why the technician is not qualified for the job (skill, brand, certification, service
    area), or None when they are; how busy they are is not asked (the day planner fits
    their visits into their shift instead)."""
    if job.category not in tech.skills:
        return f"no {job.category.value} skill"
    if tech.brands and job.manufacturer.lower() not in {b.lower() for b in tech.brands}:
        return f"does not service {job.manufacturer}"
    missing = set(job.certifications) - set(tech.certifications)
    if missing:
        return f"missing certification {', '.join(sorted(missing))}"
    if distance > tech.service_radius_km:
        return f"{distance:.1f} km is outside the {tech.service_radius_km:.0f} km service area"
    return None


def earliest_start(job: Job, now: datetime) -> datetime:
    """The first start a visit can have: lead time for its urgency, rounded up to the slot."""
    return round_up(now + LEAD_TIME.get(job.urgency, DEFAULT_LEAD_TIME))


def round_up(moment: datetime) -> datetime:
    """`moment` rounded up to the next slot boundary, in UTC."""
    step = int(SLOT.total_seconds())
    seconds = moment.timestamp()
    rounded = -(-int(seconds // 1) // step) * step
    if rounded < seconds:
        rounded += step
    return datetime.fromtimestamp(rounded, UTC)


def _works(
    tech: Technician, job: Job, first: datetime, last: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The stretches of time the technician takes visits, in order, from the one around
    `first` until one opening after `last`. An on-call technician takes emergencies at any
    hour; otherwise their working hours in the home's time zone (a working day is a wall
    clock span, so a DST change day is as long as the clock says)."""
    if job.urgency is Urgency.EMERGENCY and tech.on_call:
        yield first, last + VISIT_LENGTH
        return
    zone = ZoneInfo(job.timezone)
    hours = tech.working_hours
    day = first.astimezone(zone).date() - timedelta(days=1)  # a night shift may span midnight
    while True:
        opens = datetime.combine(day, hours.start, tzinfo=zone)
        if opens > last:
            return
        if day.weekday() in hours.weekdays and hours.start < hours.end:
            yield (
                opens.astimezone(UTC),
                datetime.combine(day, hours.end, tzinfo=zone).astimezone(UTC),
            )
        day += timedelta(days=1)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    """`moment` on the home's wall clock, with a fixed UTC offset: arithmetic between two
    times of one ZoneInfo is wall-clock arithmetic, wrong across a DST change."""
    offset = moment.astimezone(zone).utcoffset()
    return moment.astimezone(timezone(offset or timedelta(0)))


def _clash(start: datetime, end: datetime, busy: Sequence[TimeWindow]) -> TimeWindow | None:
    """The busy window [start, end) overlaps, if any (the one ending last)."""
    clashes = [b for b in busy if b.start < end and start < b.end]
    return max(clashes, key=lambda b: b.end) if clashes else None


def free_windows(
    tech: Technician,
    job: Job,
    now: datetime,
    busy: Sequence[TimeWindow] = (),
    *,
    limit: int | None = None,
) -> list[TimeWindow]:
    """The visit windows the technician can still take for `job`, soonest first: inside
    their working hours (any hour for an emergency when they are on call), after the
    job's lead time, within the booking horizon, overlapping none of `busy`. Windows are
    given in the home's time zone; their length is real time, so DST changes are safe."""
    zone = ZoneInfo(job.timezone)
    earliest = earliest_start(job, now)
    horizon = now + BOOKING_HORIZON
    found: list[TimeWindow] = []
    for opens, closes in _works(tech, job, earliest, horizon):
        start = round_up(max(opens, earliest))
        while start <= horizon and start + VISIT_LENGTH <= closes:
            end = start + VISIT_LENGTH
            clash = _clash(start, end, busy)
            if clash is not None:
                start = round_up(max(start + SLOT, clash.end))
                continue
            found.append(TimeWindow(start=_local(start, zone), end=_local(end, zone)))
            if limit is not None and len(found) >= limit:
                return found
            start += SLOT
    return found


def next_window(
    tech: Technician, job: Job, now: datetime, busy: Sequence[TimeWindow] = ()
) -> TimeWindow | None:
    """The technician's first free visit window for `job` (see free_windows)."""
    found = free_windows(tech, job, now, busy, limit=1)
    return found[0] if found else None


def can_serve(tech: Technician, job: Job, now: datetime, window: TimeWindow) -> bool:
    """Whether `window` is one the technician's schedule would offer for `job`, busy or not:
    a visit's length, on the slot grid, after the lead time, within the horizon and inside a
    stretch they work."""
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    if end - start != VISIT_LENGTH or round_up(start) != start:
        return False
    if start < earliest_start(job, now) or start > now + BOOKING_HORIZON:
        return False
    return any(o <= start and end <= c for o, c in _works(tech, job, start, start))


def is_free(
    tech: Technician, job: Job, now: datetime, window: TimeWindow, busy: Sequence[TimeWindow]
) -> bool:
    """Whether the technician can take exactly `window` now."""
    return (
        can_serve(tech, job, now, window)
        and _clash(window.start.astimezone(UTC), window.end.astimezone(UTC), busy) is None
    )


def rank(
    technicians: list[Technician],
    job: Job,
    now: datetime,
    busy: Mapping[str, Sequence[TimeWindow]] | None = None,
    *,
    window: TimeWindow | None = None,
) -> list[Candidate]:
    """Eligible technicians, best first, each with their first free window (or, given
    `window`, only those free at exactly that window). `busy`: each technician's booked
    windows (none known when absent). Emergencies go to whoever can come first."""
    weights = EMERGENCY_WEIGHTS if job.urgency is Urgency.EMERGENCY else WEIGHTS
    booked = busy or {}
    ranked: list[Candidate] = []
    for tech in technicians:
        distance = distance_km(tech.home_base, job.location)
        if rejection_reason(tech, job, distance) is not None:
            continue
        taken = booked.get(tech.technician_id, ())
        if window is not None:
            slot = window if is_free(tech, job, now, window, taken) else None
        else:
            slot = next_window(tech, job, now, taken)
        if slot is None:
            continue
        wait = (slot.start - now).total_seconds() / BOOKING_HORIZON.total_seconds()
        score = (
            weights["distance"] * (1 - distance / tech.service_radius_km)
            + weights["soonest"] * (1 - min(wait, 1.0))
            + weights["load"] * (1 - tech.active_orders / tech.max_active_orders)
            + weights["rating"] * (effective_rating(tech) / 5)
        )
        ranked.append(Candidate(tech, round(score, 4), round(distance, 2), slot))
    if job.urgency is Urgency.EMERGENCY:
        ranked.sort(key=lambda c: (c.window.start, -c.score, c.technician.technician_id))
    else:
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


def in_preferred(window: TimeWindow, preferred: PreferredWindow, timezone: str) -> bool:
    """Whether the window lies inside one of the homeowner's preferred windows (local time)."""
    zone = ZoneInfo(timezone)
    start, end = window.start.astimezone(zone), window.end.astimezone(zone)
    return (
        start.weekday() in preferred.weekdays
        and start.date() == end.date()
        and preferred.start <= start.time()
        and end.time() <= preferred.end
    )


def proposed_windows(
    technicians: list[Technician],
    job: Job,
    now: datetime,
    busy: Mapping[str, Sequence[TimeWindow]] | None = None,
    *,
    preferred: Sequence[PreferredWindow] = (),
    limit: int = PROPOSALS,
) -> list[TimeWindow]:
    """Up to `limit` windows some eligible technician is free at, distinct starts, soonest
    first; windows inside the homeowner's preferred ones come first when any fit (not for
    emergencies: those are offered soonest first)."""
    booked = busy or {}
    by_start: dict[datetime, TimeWindow] = {}
    for tech in technicians:
        if rejection_reason(tech, job, distance_km(tech.home_base, job.location)) is not None:
            continue
        for free in free_windows(tech, job, now, booked.get(tech.technician_id, ())):
            by_start.setdefault(free.start.astimezone(UTC), free)
    return preferred_first([by_start[s] for s in sorted(by_start)], job, preferred, limit)


def preferred_first(
    windows: list[TimeWindow],
    job: Job,
    preferred: Sequence[PreferredWindow],
    limit: int = PROPOSALS,
) -> list[TimeWindow]:
    """Up to `limit` of `windows` (soonest first), those inside a preferred window first;
    an emergency's soonest first whatever the preferences."""
    if preferred and job.urgency is not Urgency.EMERGENCY:
        fits = [w for w in windows if any(in_preferred(w, p, job.timezone) for p in preferred)]
        windows = fits + [w for w in windows if w not in fits]
    return windows[:limit]
