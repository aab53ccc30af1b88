"""Technician schedules: a booked window occupies the technician, emergencies go to whoever
can come first (on call out of hours), and windows are real time across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from functions.domain.matching import (
    PROPOSALS,
    VISIT_LENGTH,
    can_serve,
    free_windows,
    is_free,
    next_window,
    proposed_windows,
    rank,
)
from schemas.orders import TimeWindow, Urgency
from schemas.registry import PreferredWindow, WorkingHours
from tests.domain.test_matching import a_job
from tests.factories import NOW, a_technician, present

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
WEEKDAYS_8_TO_18 = WorkingHours(weekdays=[0, 1, 2, 3, 4], start=time(8), end=time(18))


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMSTERDAM)


def window_at(start: datetime) -> TimeWindow:
    return TimeWindow(start=start, end=start + VISIT_LENGTH)


def test_free_windows_lie_in_working_hours_after_the_lead_time_on_the_half_hour():
    # Given a technician working 8-18 on weekdays, and Monday 10:00 in Amsterdam
    tech = a_technician(working_hours=WEEKDAYS_8_TO_18)
    # When their free windows for a normal job are listed
    windows = free_windows(tech, a_job(), NOW)
    # Then the first starts after the 4 h lead time, on the half hour, and all fit the day
    assert windows[0].start == local(2026, 3, 2, 14, 0)
    for window in windows:
        start, end = window.start.astimezone(AMSTERDAM), window.end.astimezone(AMSTERDAM)
        assert start.weekday() < 5 and time(8) <= start.time() and end.time() <= time(18)
        assert start.minute in (0, 30) and end - start == VISIT_LENGTH
    assert windows[-1].start <= NOW + timedelta(days=7)


def test_a_booked_window_occupies_the_technician():
    # Given a technician with a booking at Monday 14:00-16:00
    tech = a_technician(working_hours=WEEKDAYS_8_TO_18)
    booked = window_at(local(2026, 3, 2, 14, 0))
    # When their next window is asked for with and without that booking
    free = present(next_window(tech, a_job(), NOW))
    busy = present(next_window(tech, a_job(), NOW, [booked]))
    # Then without it the booked slot is offered, with it the first start after it
    assert free.start == booked.start
    assert busy.start == booked.end
    # And no free window overlaps the booking
    for window in free_windows(tech, a_job(), NOW, [booked]):
        assert window.end <= booked.start or window.start >= booked.end
    assert not is_free(tech, a_job(), NOW, window_at(local(2026, 3, 2, 15, 0)), [booked])
    assert is_free(tech, a_job(), NOW, window_at(local(2026, 3, 2, 16, 0)), [booked])


def test_three_active_orders_are_not_offered_the_slot_of_an_idle_technician():
    # Given two technicians alike but for the bookings of the busy one's three orders
    idle = a_technician(technician_id="idle", working_hours=WEEKDAYS_8_TO_18)
    busy = idle.model_copy(update={"technician_id": "busy", "active_orders": 3})
    bookings = [window_at(local(2026, 3, 2, h, 0)) for h in (14, 16)] + [
        window_at(local(2026, 3, 3, 8, 0))
    ]
    # When both are ranked
    ranked = {
        c.technician.technician_id: c.window
        for c in rank([idle, busy], a_job(), NOW, {"busy": bookings})
    }
    # Then they get different windows: the busy one's first free window is after its bookings
    assert ranked["idle"].start == local(2026, 3, 2, 14, 0)
    assert ranked["busy"].start == local(2026, 3, 3, 10, 0)


def test_an_emergency_at_18_on_friday_goes_to_the_on_call_technician_that_evening():
    # Given a Friday 18:00 in Amsterdam, a technician who is on call and one who is not
    friday_evening = local(2026, 3, 6, 18, 0)
    on_call = a_technician(technician_id="on-call", working_hours=WEEKDAYS_8_TO_18, on_call=True)
    office = a_technician(
        technician_id="office",
        working_hours=WEEKDAYS_8_TO_18,
        rating=5.0,
        home_base=a_job().location,
    )
    emergency = a_job(urgency=Urgency.EMERGENCY)
    # When the emergency is ranked
    ranked = rank([office, on_call], emergency, friday_evening)
    # Then the on-call technician comes that evening, after the 30 min lead time
    assert ranked[0].technician.technician_id == "on-call"
    assert ranked[0].window.start == local(2026, 3, 6, 18, 30)
    # And the other one only on Monday 08:00, as a normal job goes to the on-call one too
    assert ranked[1].window.start == local(2026, 3, 9, 8, 0)
    normal = present(next_window(on_call, a_job(), friday_evening))
    assert normal.start == local(2026, 3, 9, 8, 0)


def test_an_on_call_technician_booked_that_evening_is_offered_the_next_free_hour():
    friday_evening = local(2026, 3, 6, 18, 0)
    on_call = a_technician(working_hours=WEEKDAYS_8_TO_18, on_call=True)
    booked = window_at(local(2026, 3, 6, 18, 30))
    window = present(
        next_window(on_call, a_job(urgency=Urgency.EMERGENCY), friday_evening, [booked])
    )
    assert window.start == local(2026, 3, 6, 20, 30)


def test_windows_are_real_time_across_the_spring_dst_change():
    # Given a technician on call, and an emergency on the night the clocks go forward
    # (Amsterdam, 29 March 2026, 02:00 -> 03:00)
    tech = a_technician(on_call=True)
    night = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # 01:00 local, still winter time
    # When the free windows are listed
    windows = free_windows(tech, a_job(urgency=Urgency.EMERGENCY), night, limit=4)
    # Then each is two real hours, and the local clock shows the jump
    assert all(w.end - w.start == VISIT_LENGTH for w in windows)
    first = windows[0]
    assert first.start == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert first.end.astimezone(AMSTERDAM).hour == 4  # 01:30 + 2 h = 04:30 summer time


def test_working_hours_follow_the_wall_clock_after_the_autumn_dst_change():
    # Given Sunday 25 October 2026 (clocks go back), a technician working every day 8-18
    tech = a_technician(
        working_hours=WorkingHours(weekdays=list(range(7)), start=time(8), end=time(18))
    )
    saturday_night = local(2026, 10, 24, 23, 0)
    # When the next window is asked for
    window = present(next_window(tech, a_job(), saturday_night))
    # Then it starts at 08:00 local (07:00 UTC in winter time)
    assert window.start.astimezone(UTC) == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)


def test_a_window_off_the_schedule_is_not_one_the_technician_serves():
    tech = a_technician(working_hours=WEEKDAYS_8_TO_18)
    job = a_job()
    assert can_serve(tech, job, NOW, window_at(local(2026, 3, 3, 9, 0)))
    assert not can_serve(tech, job, NOW, window_at(local(2026, 3, 3, 9, 15)))  # off the grid
    assert not can_serve(tech, job, NOW, window_at(local(2026, 3, 3, 17, 0)))  # ends after 18
    assert not can_serve(tech, job, NOW, window_at(local(2026, 3, 7, 9, 0)))  # Saturday
    assert not can_serve(tech, job, NOW, window_at(local(2026, 3, 2, 9, 0)))  # in the past
    assert not can_serve(tech, job, NOW, window_at(local(2026, 3, 20, 9, 0)))  # beyond 7 days
    short = TimeWindow(start=local(2026, 3, 3, 9, 0), end=local(2026, 3, 3, 10, 0))
    assert not can_serve(tech, job, NOW, short)


def test_proposals_are_distinct_soonest_first_across_technicians():
    # Given two technicians: one booked this afternoon, the other free
    a = a_technician(technician_id="a", working_hours=WEEKDAYS_8_TO_18)
    b = a.model_copy(update={"technician_id": "b"})
    busy = {"a": [window_at(local(2026, 3, 2, 14, 0))]}
    # When windows are proposed
    windows = proposed_windows([a, b], a_job(), NOW, busy)
    # Then they are distinct starts, soonest first, and b's free 14:00 is among them
    starts = [w.start for w in windows]
    assert len(windows) == PROPOSALS and starts == sorted(set(starts))
    assert starts[0] == local(2026, 3, 2, 14, 0)


def test_proposals_inside_the_homes_preferred_windows_come_first():
    tech = a_technician(working_hours=WEEKDAYS_8_TO_18)
    evenings = [PreferredWindow(weekdays=[3], start=time(15), end=time(18))]  # Thursdays
    windows = proposed_windows([tech], a_job(), NOW, preferred=evenings, limit=3)
    assert [w.start for w in windows] == [
        local(2026, 3, 5, 15, 0),
        local(2026, 3, 5, 15, 30),
        local(2026, 3, 5, 16, 0),
    ]
    # And with no fitting preference the soonest come first
    never = [PreferredWindow(weekdays=[6], start=time(8), end=time(9))]
    assert proposed_windows([tech], a_job(), NOW, preferred=never, limit=1)[0].start == local(
        2026, 3, 2, 14, 0
    )


def test_nobody_eligible_proposes_nothing():
    assert proposed_windows([a_technician(active_orders=4)], a_job(), NOW) == []
