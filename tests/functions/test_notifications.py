"""Notifications through the template's SNS topic: what ingest, the Announcer and a
technician's steps send, the message attributes subscriptions filter on, the visit's .ics
file, and that a notification carries no more personal data than its recipient needs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from functions.common.wiring import dependencies
from functions.domain.notifications import notification, visit_calendar
from schemas.notifications import Notification, NotificationKind, Recipient
from schemas.orders import Offer, OrderStatus, TimeWindow, Urgency
from tests.factories import NOW, a_diagnosis, a_home, an_appliance, an_order, present
from tests.functions.conftest import published_status
from tests.functions.events import codes_of, event_for, fault, invoke, waiting_codes
from tests.functions.outbox import HomeOutbox

WINDOW = TimeWindow(start=NOW + timedelta(days=1), end=NOW + timedelta(days=1, hours=2))
WEB = "https://faultline.example"


def dispatched_order(**overrides):
    offer = Offer(
        offer_id="off-1",
        order_id="ord_1",
        technician_id="tech-1",
        technician_name="Anouk A.",
        score=0.9,
        distance_km=3.2,
        window=WINDOW,
        offered_at=WINDOW.start - timedelta(days=1),
    )
    return an_order(status=OrderStatus.DISPATCHED, offer=offer, version=4, **overrides)


def unfolded(calendar: str) -> list[str]:
    """The content lines of an iCalendar text (RFC 5545: CRLF, folded lines unfolded)."""
    assert calendar.endswith("\r\n")
    physical = calendar[:-2].split("\r\n")
    assert all(len(line.encode()) <= 75 for line in physical)
    lines: list[str] = []
    for line in physical:
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def test_the_dispatched_visit_comes_as_an_ics_calendar_file():
    order = dispatched_order(
        diagnosis=a_diagnosis(title="Drain pump blocked; water, stays in the drum")
    )
    sent = notification(order, NotificationKind.DISPATCHED, web_url=WEB, now=NOW)
    assert sent.window == WINDOW
    lines = unfolded(present(sent.calendar))
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines[-1] == "END:VCALENDAR"
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == 1
    fields = dict(line.split(":", 1) for line in lines)
    assert fields["VERSION"] == "2.0"
    assert fields["DTSTART"] == "20260303T090000Z"
    assert fields["DTEND"] == "20260303T110000Z"
    assert fields["UID"] == "ord_1@faultline"
    assert fields["SEQUENCE"] == "4"  # a rescheduled visit updates the same entry
    assert fields["SUMMARY"] == r"Repair visit: Drain pump blocked\; water\, stays in the drum"
    assert fields["URL"] == f"{WEB}/app#/orders/ord_1"
    assert "Anouk A." in fields["DESCRIPTION"]


def test_long_calendar_lines_are_folded_without_splitting_a_character():
    order = dispatched_order(diagnosis=a_diagnosis(title="Défaut " * 30))
    calendar = visit_calendar(order, WINDOW, link=f"{WEB}/app#/orders/ord_1", now=NOW)
    summary = next(line for line in unfolded(calendar) if line.startswith("SUMMARY:"))
    assert summary == "SUMMARY:Repair visit: " + "Défaut " * 30


def test_a_notification_carries_no_more_than_its_recipient_needs():
    home = a_home(home_id="home-1")
    appliance = an_appliance(serial="SERIAL-PRINTED-ON-IT")
    order = dispatched_order(diagnosis=a_diagnosis(safety_advice="Switch it off at the wall."))
    for kind in NotificationKind:
        for recipient in Recipient:
            sent = notification(order, kind, web_url=WEB, now=NOW, recipient=recipient)
            doc = json.loads(sent.model_dump_json(by_alias=True))
            # These fields and nothing else (extra fields are forbidden by the model)
            assert set(doc) == {
                "schema",
                "notification_id",
                "kind",
                "order_id",
                "home_id",
                "recipient",
                "urgency",
                "title",
                "text",
                "link",
                "window",
                "calendar",
                "sent_at",
            }
            text = json.dumps(doc)
            # no address or location of the home, no serial, no technician id or contact,
            # no telemetry, no other order or home
            for secret in (
                str(home.location.lat),
                str(home.location.lon),
                appliance.serial,
                "tech-1",
                "phone",
                "@",  # no e-mail address (the .ics UID is ours: checked apart)
            ):
                assert secret not in text.replace("ord_1@faultline", "")
            assert doc["home_id"] == order.home_id
            assert doc["order_id"] == order.order_id
            if kind is not NotificationKind.DISPATCHED:
                assert doc["window"] is None and doc["calendar"] is None


def test_the_notifier_publishes_with_attributes_subscriptions_filter_on(aws_stack):
    mine, other = HomeOutbox(aws_stack, "home-notify-a"), HomeOutbox(aws_stack, "home-notify-b")
    order = dispatched_order(home_id="home-notify-a")
    dependencies().notifier.send(
        notification(order, NotificationKind.DISPATCHED, web_url=WEB, now=NOW)
    )
    [sent] = mine.sent()
    assert sent.attributes == {
        "kind": "dispatched",
        "home_id": "home-notify-a",
        "recipient": "homeowner",
    }
    assert sent.notification.calendar is not None
    assert sent.notification.link.endswith("/app#/orders/ord_1")
    assert other.sent() == []  # the filter policy on home_id kept it from the other home


def test_an_opened_order_waiting_for_approval_tells_its_homeowner(household, aws_stack):
    house = household(auto_approve=False)
    outbox = HomeOutbox(aws_stack, house.home.home_id)
    invoke(event_for(house.thing, fault(waiting_codes(house.appliance)[0])))
    [sent] = outbox.sent()
    [order] = dependencies().orders.list_by_home(house.home.home_id)
    assert sent.notification.kind is NotificationKind.AWAITING_APPROVAL
    assert sent.notification.order_id == order.order_id
    assert sent.notification.link == (
        f"{dependencies().settings.web_url}/app#/orders/{order.order_id}"
    )
    assert order.deadline is not None  # the reminder is set


def test_an_auto_approved_order_dispatched_at_once_tells_the_visit(household, aws_stack):
    house = household(auto_approve=True)
    outbox = HomeOutbox(aws_stack, house.home.home_id)
    invoke(event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0])))
    assert outbox.kinds() == ["dispatched"]  # no "opened" a moment before: one message
    dispatched = outbox.sent()[0].notification
    [order] = dependencies().orders.list_by_home(house.home.home_id)
    assert dispatched.window == present(order.offer).window
    assert "BEGIN:VEVENT" in present(dispatched.calendar)
    assert order.deadline is None


def test_an_auto_approved_order_nobody_can_take_tells_what_happens_next(household, aws_stack):
    house = household(auto_approve=True, with_technician=False)
    outbox = HomeOutbox(aws_stack, house.home.home_id)
    invoke(event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0])))
    sent = {s.notification.recipient: s.notification for s in outbox.sent()}
    assert set(sent) == {Recipient.HOMEOWNER, Recipient.OPERATOR}
    assert {n.kind for n in sent.values()} == {NotificationKind.NO_TECHNICIAN}
    [order] = dependencies().orders.list_by_home(house.home.home_id)
    told = sent[Recipient.HOMEOWNER].text
    assert "our operators" in told.lower()
    if order.diagnosis.safety_advice:  # a leak: what to do meanwhile
        assert f"Until then: {order.diagnosis.safety_advice}" in told
    assert "assign one by hand" in sent[Recipient.OPERATOR].text


def test_a_technicians_steps_reach_the_appliance_and_the_homeowner(household, aws_stack):
    house = household(auto_approve=True)
    outbox = HomeOutbox(aws_stack, house.home.home_id)
    invoke(event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0])))
    [order] = dependencies().orders.list_by_home(house.home.home_id)
    before = len(published_status(house.thing))
    progress = dependencies().order_progress
    technician = present(order.offer).technician_id
    progress.advance(order.order_id, OrderStatus.EN_ROUTE, technician_id=technician)
    progress.advance(order.order_id, OrderStatus.ON_SITE, technician_id=technician)
    statuses = [json.loads(p)["status"] for p in published_status(house.thing)[before:]]
    assert statuses == ["en_route", "on_site"]  # the display is told of every step
    assert outbox.kinds() == ["dispatched", "en_route"]  # on site: nobody waits for it


@pytest.mark.parametrize("urgency", [Urgency.EMERGENCY, Urgency.NORMAL])
def test_an_emergency_waiting_for_approval_says_so_first(urgency):
    order = an_order(diagnosis=a_diagnosis(urgency=urgency, safety_advice="Leave the house."))
    sent = notification(order, NotificationKind.AWAITING_APPROVAL, web_url=WEB, now=NOW)
    assert sent.title.startswith("Emergency") is (urgency is Urgency.EMERGENCY)
    assert sent.text.startswith("Leave the house.")  # safety advice first
    Notification.model_validate_json(sent.model_dump_json(by_alias=True))
