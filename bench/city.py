"""A generated city's repair day: technicians with skills, brands, certifications, shifts and
on-call duty, and the day's visits with windows and emergencies. Deterministic for a seed.

The city is Utrecht and the towns around it (homes cluster in towns, as they do); the
appliances are the catalog's models; what a visit needs and what a technician holds use the
same certification names as the local stack's seed data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from functions.domain.catalog import default_catalog
from functions.domain.matching import SLOT, VISIT_LENGTH, Job
from infra.seed import CERTIFICATIONS_BY_CATEGORY
from schemas.orders import TimeWindow, Urgency
from schemas.registry import Category, GeoPoint, Technician, WorkingHours

TIMEZONE = "Europe/Amsterdam"
DAY = date(2026, 3, 3)  # a Tuesday
# (centre, spread in km, share of homes): the city and the towns around it.
TOWNS = (
    (GeoPoint(lat=52.0907, lon=5.1214), 5.0, 0.40),  # Utrecht
    (GeoPoint(lat=52.0115, lon=4.7104), 3.0, 0.10),  # Gouda
    (GeoPoint(lat=52.1561, lon=5.3878), 4.0, 0.15),  # Amersfoort
    (GeoPoint(lat=52.0292, lon=5.0950), 2.5, 0.08),  # Nieuwegein
    (GeoPoint(lat=52.2215, lon=5.1763), 3.0, 0.08),  # Hilversum
    (GeoPoint(lat=51.9851, lon=5.3974), 2.5, 0.06),  # Houten/Wijk bij Duurstede
    (GeoPoint(lat=52.0871, lon=4.8801), 2.5, 0.07),  # Woerden
    (GeoPoint(lat=52.0893, lon=5.2492), 2.5, 0.06),  # Zeist
)
SHIFTS = ((time(7, 0), time(15, 30)), (time(8, 0), time(17, 0)), (time(9, 0), time(18, 0)))
ON_CALL_SHARE = 0.15
EMERGENCY_SHARE = 0.05
CERTIFICATION_HELD = 0.75  # a technician with a skill holds each of its certifications
CERTIFICATION_NEEDED = 0.4  # a visit needs each certification of its category
# Windows the homeowners ask for: 2-hour visits starting 08:00 .. 16:00 on the half hour.
FIRST_START, LAST_START = time(8, 0), time(16, 0)


@dataclass(frozen=True)
class CityVisit:
    """A visit of the day as it arrives: approved the evening before with the window the
    homeowner asked for, or reported as an emergency during the day."""

    visit_id: str
    job: Job
    service: timedelta
    arrives: datetime  # approved (normal) or reported (emergency)
    wanted: TimeWindow | None  # the homeowner's window; None for an emergency

    @property
    def emergency(self) -> bool:
        return self.job.urgency is Urgency.EMERGENCY


@dataclass(frozen=True)
class City:
    technicians: tuple[Technician, ...]
    visits: tuple[CityVisit, ...]
    day: date = DAY
    timezone: str = TIMEZONE

    def local(self, at: time, day: date | None = None) -> datetime:
        return datetime.combine(day or self.day, at, tzinfo=ZoneInfo(self.timezone))

    @property
    def horizon(self) -> TimeWindow:
        """The day the plan covers: local midnight to midnight."""
        start = self.local(time(0, 0))
        return TimeWindow(start=start, end=self.local(time(0, 0), self.day + timedelta(days=1)))


def _place(rng: random.Random) -> GeoPoint:
    centre, spread, _ = rng.choices(TOWNS, weights=[t[2] for t in TOWNS])[0]
    return GeoPoint(
        lat=round(centre.lat + rng.gauss(0, spread / 111.0), 5),
        lon=round(centre.lon + rng.gauss(0, spread / 68.0), 5),
    )


def build_city(*, visits: int = 1000, technicians: int = 300, seed: int = 7) -> City:
    rng = random.Random(seed)
    models = default_catalog().models()
    categories = sorted({m.category for m in models})
    demand = [sum(m.category is c for m in models) for c in categories]
    manufacturers = sorted({m.manufacturer for m in models})
    techs = []
    for t in range(technicians):
        skills: set[Category] = set()
        while len(skills) < rng.choice((2, 2, 3)):
            skills.add(rng.choices(categories, weights=demand)[0])
        certs = sorted(
            {
                c
                for s in sorted(skills)  # in order: each draw takes the generator's next number
                for c in CERTIFICATIONS_BY_CATEGORY.get(s, [])
                if rng.random() < CERTIFICATION_HELD
            }
        )
        start, end = rng.choice(SHIFTS)
        techs.append(
            Technician(
                technician_id=f"tech-{t:03d}",
                name=f"Technician {t}",
                skills=sorted(skills),
                brands=rng.sample(manufacturers, 2) if rng.random() < 0.25 else [],
                certifications=certs,
                home_base=_place(rng),
                service_radius_km=rng.choice((25.0, 30.0, 35.0, 40.0)),
                working_hours=WorkingHours(weekdays=[0, 1, 2, 3, 4], start=start, end=end),
                rating=round(rng.uniform(3.6, 5.0), 1),
                on_call=rng.random() < ON_CALL_SHARE,
                max_active_orders=8,
            )
        )
    zone = ZoneInfo(TIMEZONE)
    eve = DAY - timedelta(days=1)
    starts = []
    slot = datetime.combine(DAY, FIRST_START, tzinfo=zone)
    while slot.time() <= LAST_START:
        starts.append(slot)
        slot += SLOT
    made = []
    for v in range(visits):
        model = rng.choice(models)
        emergency = rng.random() < EMERGENCY_SHARE
        needs = tuple(
            c
            for c in CERTIFICATIONS_BY_CATEGORY.get(model.category, [])
            if rng.random() < CERTIFICATION_NEEDED
        )
        job = Job(
            category=model.category,
            manufacturer=model.manufacturer,
            certifications=needs,
            urgency=Urgency.EMERGENCY if emergency else Urgency.NORMAL,
            location=_place(rng),
            timezone=TIMEZONE,
        )
        if emergency:
            arrives = datetime.combine(DAY, time(7, 0), tzinfo=zone) + timedelta(
                minutes=rng.randrange(12 * 60)
            )
            service, wanted = timedelta(minutes=rng.choice((60, 75, 90))), None
        else:
            arrives = datetime.combine(eve, time(8, 0), tzinfo=zone) + timedelta(
                minutes=rng.randrange(14 * 60)
            )
            service = timedelta(minutes=rng.choice((45, 60, 60, 75, 90)))
            begin = rng.choice(starts)
            wanted = TimeWindow(start=begin, end=begin + VISIT_LENGTH)
        made.append(CityVisit(f"visit-{v:04d}", job, service, arrives, wanted))
    made.sort(key=lambda c: (c.arrives, c.visit_id))
    return City(tuple(techs), tuple(made))
