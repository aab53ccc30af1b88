from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from functions.domain.geo import cells_covering, distance_km, geohash
from functions.domain.matching import Job, next_window, rank, rejection_reason
from schemas.orders import Urgency
from schemas.registry import Category, GeoPoint, WorkingHours
from tests.factories import HOME_LOCATION, NOW, a_technician, present


def a_job(**overrides) -> Job:
    fields = {
        "category": Category.WASHER,
        "manufacturer": "Bosch",
        "certifications": (),
        "urgency": Urgency.NORMAL,
        "location": HOME_LOCATION,
        "timezone": "Europe/Amsterdam",
    }
    return Job(**(fields | overrides))  # type: ignore[arg-type]


def test_distance_between_utrecht_and_amsterdam_is_about_35_km():
    utrecht, amsterdam = GeoPoint(lat=52.0907, lon=5.1214), GeoPoint(lat=52.3676, lon=4.9041)
    assert 33 < distance_km(utrecht, amsterdam) < 36


def test_geohash_matches_the_reference_encoding():
    # Reference value of the public geohash algorithm for (57.64911, 10.40744).
    assert geohash(GeoPoint(lat=57.64911, lon=10.40744), 11) == "u4pruydqqvj"


def test_a_service_area_covers_the_cell_of_every_home_inside_it():
    base = GeoPoint(lat=52.1, lon=5.1)
    cells = cells_covering(base, 30)
    for dlat, dlon in [(0.2, 0.0), (-0.2, 0.1), (0.0, 0.4), (0.15, -0.25)]:
        home = GeoPoint(lat=base.lat + dlat, lon=base.lon + dlon)
        if distance_km(base, home) <= 30:
            assert geohash(home) in cells


def test_hard_constraints_each_exclude_with_a_reason():
    job = a_job(certifications=("gas_safe",), manufacturer="Bosch")
    assert "skill" in present(rejection_reason(a_technician(skills=[Category.OVEN]), job, 1))
    assert "Bosch" in present(
        rejection_reason(a_technician(brands=["LG"], certifications=["gas_safe"]), job, 1)
    )
    assert "certification" in present(rejection_reason(a_technician(), job, 1))
    ok = a_technician(certifications=["gas_safe"])
    assert "service area" in present(rejection_reason(ok, job, 31))
    assert rejection_reason(ok.model_copy(update={"active_orders": 4}), job, 1) == "fully booked"
    assert rejection_reason(ok, job, 5) is None


def test_rank_prefers_the_closer_better_rated_less_loaded_technician():
    near = a_technician(technician_id="near", home_base=GeoPoint(lat=52.095, lon=5.12), rating=4.9)
    far = a_technician(technician_id="far", home_base=GeoPoint(lat=52.3, lon=5.12), rating=4.9)
    busy = a_technician(
        technician_id="busy", home_base=GeoPoint(lat=52.095, lon=5.12), rating=4.9, active_orders=3
    )
    ineligible = a_technician(technician_id="oven", skills=[Category.OVEN])
    ranked = rank([far, busy, ineligible, near], a_job(), NOW)
    assert [c.technician.technician_id for c in ranked] == ["near", "busy", "far"]
    assert ranked[0].distance_km < 1


def test_next_window_falls_in_working_hours_in_the_home_time_zone():
    tech = a_technician(
        working_hours=WorkingHours(weekdays=[0, 1, 2, 3, 4], start=time(8), end=time(17))
    )
    friday_evening = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)  # 18:00 in Amsterdam
    window = next_window(tech, a_job(), friday_evening)
    assert window is not None
    local = window.start.astimezone(ZoneInfo("Europe/Amsterdam"))
    assert local.weekday() == 0 and local.hour == 8  # Monday 08:00
    assert window.end - window.start == timedelta(hours=2)


def test_emergencies_get_an_earlier_slot_than_normal_jobs():
    tech = a_technician(
        working_hours=WorkingHours(weekdays=list(range(7)), start=time(0), end=time(23, 59))
    )
    normal = next_window(tech, a_job(), NOW)
    emergency = next_window(tech, a_job(urgency=Urgency.EMERGENCY), NOW)
    assert normal and emergency and emergency.start < normal.start
