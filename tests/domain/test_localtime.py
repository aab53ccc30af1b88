"""Times as a home reads them: in its own zone, named; the notifications, the appliance's
display and the ticket all use the one formatter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.domain.localtime import local_time, local_window
from functions.domain.notifications import notification
from functions.logic.notify import status_message
from schemas.notifications import NotificationKind
from schemas.orders import (
    Deadline,
    DeadlineAction,
    Offer,
    OfferStatus,
    OrderStatus,
    TimeWindow,
)
from tests.factories import an_order

WINTER = TimeWindow(
    start=datetime(2026, 12, 3, 6, 0, tzinfo=UTC), end=datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
)


def booked(window: TimeWindow = WINTER):
    offer = Offer(
        offer_id="off-1",
        order_id="ord_1",
        technician_id="tech-1",
        technician_name="Sam",
        window=window,
        expires_at=window.start - timedelta(hours=20),
        offered_at=window.start - timedelta(hours=21),
        status=OfferStatus.ACCEPTED,
        score=1.0,
        distance_km=1.0,
    )
    return an_order(status=OrderStatus.DISPATCHED, offer=offer)


def test_an_amsterdam_window_is_shown_in_cet_with_its_abbreviation() -> None:
    assert local_window(WINTER, "Europe/Amsterdam") == "Thu 03 Dec 07:00-09:00 CET"
    summer = TimeWindow(start=WINTER.start.replace(month=7), end=WINTER.end.replace(month=7))
    assert local_window(summer, "Europe/Amsterdam") == "Fri 03 Jul 08:00-10:00 CEST"
    assert local_time(WINTER.start, "America/New_York") == "Thu 03 Dec 01:00 EST"


def test_a_window_across_a_clock_change_names_both_zones() -> None:
    night = TimeWindow(
        start=datetime(2026, 10, 25, 0, 0, tzinfo=UTC), end=datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
    )
    assert local_window(night, "Europe/Amsterdam") == "Sun 25 Oct 02:00 CEST-03:00 CET"


def test_an_unknown_or_missing_zone_is_utc_and_says_so() -> None:
    for zone in ("Mars/Olympus", "", None, "../etc/passwd"):
        assert local_window(WINTER, zone) == "Thu 03 Dec 06:00-08:00 UTC"


def test_the_visit_notification_and_the_display_use_the_homes_zone() -> None:
    order = booked()
    sent = notification(
        order,
        NotificationKind.DISPATCHED,
        web_url="https://x",
        now=WINTER.start,
        timezone="Europe/Amsterdam",
    )
    assert "Thu 03 Dec 07:00-09:00 CET" in sent.title and "UTC" not in sent.text
    display = status_message(order, "evt-1", WINTER.start, timezone="Europe/Amsterdam").display
    assert "Thu 03 Dec 07:00-09:00 CET" in display


def test_the_reminder_names_the_expiry_in_the_homes_zone_never_the_reminder() -> None:
    expiry = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    order = an_order(deadline=Deadline(action=DeadlineAction.EXPIRE, due_at=expiry))
    sent = notification(
        order,
        NotificationKind.REMINDER,
        web_url="https://x",
        now=WINTER.start,
        timezone="Europe/Amsterdam",
    )
    assert sent.text.endswith("It expires Fri 04 Dec 18:00 CET.")
    reminder = an_order(deadline=Deadline(action=DeadlineAction.REMIND, due_at=expiry))
    sent = notification(
        reminder,
        NotificationKind.REMINDER,
        web_url="https://x",
        now=WINTER.start,
        timezone="Europe/Amsterdam",
    )
    assert "expires" not in sent.text  # a reminder's time is no expiry
