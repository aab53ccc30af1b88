"""Offers against the emulator: the approved order's window held and offered to a
technician who accepts by hand; accept (one winner of two at once), decline with a reason
or let it expire (the sweeper) and the next candidate gets it; an emergency goes on to
on-call technicians, then to the operators' queue with the homeowner told; an operator
assigns by hand. Bad input is a 4xx with a clear message that changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from functions.common.wiring import dependencies
from functions.domain.catalog import default_catalog
from functions.logic.sweeper import StuckOrderSweeper
from schemas.device import StatusMessage
from schemas.notifications import NotificationKind, Recipient
from schemas.orders import OfferStatus, OrderStatus, RepairOrder, Urgency
from schemas.registry import Category, GeoPoint
from tests.factories import present
from tests.functions.conftest import (
    Household,
    Identity,
    SignedIn,
    add_technician,
    published_status,
)
from tests.functions.events import codes_of, event_for, fault, invoke
from tests.functions.outbox import HomeOutbox


def post(client: Client, user: SignedIn, path: str, body: Any = None) -> Any:
    return client.http.post(
        path,
        headers={"Authorization": user.authorization, "Content-Type": "application/json"},
        body=json.dumps(body if body is not None else {}),
    )


def current(order_id: str) -> RepairOrder:
    return present(dependencies().orders.get(order_id))


def holds(technician_id: str) -> set[str]:
    """The orders whose window the technician's schedule holds."""
    return set(present(dependencies().technicians.schedule(technician_id))[1])


def code_of(house: Household, urgency: Urgency) -> str:
    catalog = default_catalog()
    appliance = house.appliance
    return next(
        c
        for c in codes_of(appliance, self_fix=False)
        if present(catalog.code(appliance.manufacturer, appliance.model, c)).urgency is urgency
    )


@dataclass
class Offered:
    house: Household
    order_id: str
    first: str  # the technician offered it first
    second: str | None  # another eligible one, further away


def offer_made(household: Callable[..., Household], *, second: bool = False) -> Offered:
    """An approved order offered to a technician who accepts by hand (and, with `second`,
    another eligible one further away)."""
    house = household(auto_accept=False)
    other = None
    if second:
        location = house.home.location
        other = add_technician(
            house,
            auto_accept_offers=False,
            home_base=GeoPoint(lat=location.lat + 0.05, lon=location.lon),
        )
    opened = invoke(event_for(house.thing, fault(code_of(house, Urgency.NORMAL))))
    assert opened["outcome"] == "offered", opened
    return Offered(house, opened["order_id"], present(house.technician_id), other)


@pytest.fixture
def offered(household) -> Offered:
    return offer_made(household)


@pytest.fixture
def offered_to_two(household) -> Offered:
    return offer_made(household, second=True)


def last_status(thing: str) -> StatusMessage:
    return StatusMessage.model_validate_json(published_status(thing)[-1])


def sweep_at(moment: datetime) -> StuckOrderSweeper:
    deps = dependencies()
    return StuckOrderSweeper(
        deps.orders,
        deps.events,
        deps.due,
        deps.fault_ingestor,
        lambda: moment,
        announcer=deps.announcer,
        timings=deps.settings.approval_timings,
        offers=deps.offer_desk,
    )


pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


# --------------------------------------------------------------------------- accept


def test_the_window_is_held_while_offered_and_booked_once_accepted(
    client, offered: Offered, identity: Identity
) -> None:
    order = current(offered.order_id)
    offer = present(order.offer)
    assert (order.status, offer.status, offer.technician_id) == (
        OrderStatus.OFFERED,
        OfferStatus.PENDING,
        offered.first,
    )
    assert present(offer.deadline) - offer.offered_at == timedelta(seconds=600)
    assert offered.order_id in holds(offered.first)  # nobody else can take that window
    shown = last_status(offered.house.thing)
    assert (shown.status, shown.technician) == ("offered", None)
    assert "booked" not in shown.display

    technician = identity.user("technician", technician_id=offered.first)
    answer = post(client, technician, f"/orders/{offered.order_id}/accept")
    assert answer.status_code == 200, answer.body
    accepted = current(offered.order_id)
    assert accepted.status is OrderStatus.DISPATCHED and accepted.deadline is None
    assert present(accepted.offer).status is OfferStatus.ACCEPTED
    assert "offer accepted by" in accepted.history[-1].reason
    shown = last_status(offered.house.thing)
    assert shown.technician == offer.technician_name and "booked" in shown.display
    # A second accept changes nothing
    again = post(client, technician, f"/orders/{offered.order_id}/accept")
    assert again.status_code == 409 and "accepted already" in again.json_body["message"]


def test_two_accepts_at_once_leave_exactly_one_winner(
    client, offered: Offered, identity: Identity, monkeypatch
) -> None:
    technician = identity.user("technician", technician_id=offered.first)
    orders = dependencies().offer_desk.orders
    real = orders.save_order
    inner: list[Any] = []

    def save_after_another_accept(order: RepairOrder, **kwargs: Any) -> None:
        monkeypatch.setattr(orders, "save_order", real)
        inner.append(post(client, technician, f"/orders/{offered.order_id}/accept"))
        real(order, **kwargs)

    monkeypatch.setattr(orders, "save_order", save_after_another_accept)
    outer = post(client, technician, f"/orders/{offered.order_id}/accept")
    assert sorted([inner[0].status_code, outer.status_code]) == [200, 409]
    assert "read the order again" in outer.json_body["message"]
    final = current(offered.order_id)
    assert final.status is OrderStatus.DISPATCHED
    assert [t.to_status for t in final.history].count(OrderStatus.DISPATCHED) == 1


def test_someone_elses_offer_answers_like_a_missing_order(
    client, offered: Offered, identity: Identity, household
) -> None:
    other = identity.user("technician", technician_id=present(household().technician_id))
    before = current(offered.order_id)
    for action, body in (("accept", None), ("decline", {"reason": "not mine"})):
        answer = post(client, other, f"/orders/{offered.order_id}/{action}", body)
        assert answer.status_code == 404, answer.body
        assert answer.json_body["message"] == f"no order {offered.order_id}"
    assert current(offered.order_id) == before


# --------------------------------------------------------------------------- decline


def test_a_decline_passes_the_held_window_to_the_next_candidate(
    client, offered_to_two: Offered, identity: Identity
) -> None:
    offered = offered_to_two
    technician = identity.user("technician", technician_id=offered.first)
    path = f"/orders/{offered.order_id}/decline"
    before = current(offered.order_id)
    for bad in ({}, {"reason": ""}):  # a reason is required
        answer = post(client, technician, path, bad)
        assert answer.status_code == 400, answer.body
        assert "reason" in answer.json_body["message"]
    assert current(offered.order_id) == before

    answer = post(client, technician, path, {"reason": "van in the garage"})
    assert answer.status_code == 200, answer.body
    order = current(offered.order_id)
    offer = present(order.offer)
    assert (order.status, offer.technician_id) == (OrderStatus.OFFERED, offered.second)
    assert offer.window == present(before.offer).window  # the homeowner's window stays
    [past] = order.offer_history
    assert (past.status, past.decline_reason) == (OfferStatus.DECLINED, "van in the garage")
    assert offered.order_id not in holds(offered.first)
    assert offered.order_id in holds(present(offered.second))
    reasons = [t.reason for t in order.history[-2:]]
    assert reasons[0].startswith("offer declined by") and reasons[1].startswith("offered to")
    # The one who declined cannot take it back
    again = post(client, technician, f"/orders/{offered.order_id}/accept")
    assert again.status_code == 409 and "declined this offer already" in again.json_body["message"]


# --------------------------------------------------------------------------- expiry


def test_an_unanswered_offer_expires_to_the_next_then_to_the_operators(
    client, offered_to_two: Offered, identity: Identity, aws_stack
) -> None:
    offered = offered_to_two
    outbox = HomeOutbox(aws_stack, offered.house.home.home_id)
    first_deadline = present(current(offered.order_id).offer).deadline
    # (other tests' offers may expire in these sweeps too: this order's state is checked)
    sweep_at(present(first_deadline) - timedelta(seconds=1)).sweep()
    assert present(current(offered.order_id).offer).technician_id == offered.first
    assert sweep_at(present(first_deadline) + timedelta(seconds=1)).sweep().offers_expired >= 1
    order = current(offered.order_id)
    assert present(order.offer).technician_id == offered.second
    assert [o.status for o in order.offer_history] == [OfferStatus.EXPIRED]
    assert "expired unanswered" in order.history[-2].reason
    # Too late for the first one: a clear 409, nothing changes
    late = identity.user("technician", technician_id=offered.first)
    answer = post(client, late, f"/orders/{offered.order_id}/accept")
    assert answer.status_code == 409 and "expired" in answer.json_body["message"]
    assert current(offered.order_id) == order

    second_deadline = present(present(order.offer).deadline)
    assert sweep_at(second_deadline + timedelta(seconds=1)).sweep().offers_expired >= 1
    stranded = current(offered.order_id)
    assert (stranded.status, stranded.offer, stranded.needs_triage) == (
        OrderStatus.APPROVED,
        None,
        True,
    )
    assert stranded.triage_reasons[-1].detail.startswith("every eligible technician declined")
    assert offered.order_id not in holds(offered.first) | holds(present(offered.second))
    told = {(s.notification.kind, s.notification.recipient) for s in outbox.sent()}
    assert (NotificationKind.NO_TECHNICIAN, Recipient.HOMEOWNER) in told
    assert (NotificationKind.NO_TECHNICIAN, Recipient.OPERATOR) in told


# --------------------------------------------------------------------------- emergencies


def test_an_emergency_goes_to_on_call_then_to_the_operators_who_assign_by_hand(
    client, household, identity: Identity, operator, aws_stack
) -> None:
    house = household(auto_accept=False)
    outbox = HomeOutbox(aws_stack, house.home.home_id)
    # On call, but at their usual maximum of orders: asked only once the others declined
    on_call = add_technician(
        house, auto_accept_offers=False, on_call=True, max_active_orders=1, active_orders=1
    )
    opened = invoke(event_for(house.thing, fault(code_of(house, Urgency.EMERGENCY))))
    assert opened["outcome"] == "offered", opened
    order_id = opened["order_id"]
    offer = present(current(order_id).offer)
    assert offer.technician_id == house.technician_id
    assert present(offer.deadline) - offer.offered_at == timedelta(seconds=120)

    regular = identity.user("technician", technician_id=house.technician_id)
    assert (
        post(client, regular, f"/orders/{order_id}/decline", {"reason": "too far"}).status_code
        == 200
    )
    order = current(order_id)
    assert present(order.offer).technician_id == on_call
    assert "on call" in order.history[-1].reason

    duty = identity.user("technician", technician_id=on_call)
    assert (
        post(client, duty, f"/orders/{order_id}/decline", {"reason": "on a job"}).status_code == 200
    )
    stranded = current(order_id)
    assert stranded.status is OrderStatus.APPROVED and stranded.needs_triage
    queue = client.http.get("/triage/orders", headers={"Authorization": operator.authorization})
    assert order_id in {o["order_id"] for o in queue.json_body["orders"]}
    homeowner_news = [
        s.notification
        for s in outbox.sent()
        if s.notification.kind is NotificationKind.NO_TECHNICIAN
        and s.notification.recipient is Recipient.HOMEOWNER
    ]
    assert homeowner_news and "our operators have it now" in homeowner_news[-1].text
    if stranded.diagnosis.safety_advice:
        assert stranded.diagnosis.safety_advice in homeowner_news[-1].text

    # The operator assigns a new technician by hand
    fresh = add_technician(house, auto_accept_offers=False)
    answer = post(client, operator, f"/orders/{order_id}/assign", {"technician_id": fresh})
    assert answer.status_code == 200, answer.body
    booked = current(order_id)
    assert booked.status is OrderStatus.DISPATCHED and not booked.needs_triage
    assert present(booked.offer).technician_id == fresh
    assert order_id in holds(fresh)
    queue = client.http.get("/triage/orders", headers={"Authorization": operator.authorization})
    assert order_id not in {o["order_id"] for o in queue.json_body["orders"]}


# --------------------------------------------------------------------------- assign


def stranded_order(household) -> tuple[Household, str]:
    house = household(with_technician=False)
    opened = invoke(event_for(house.thing, fault(code_of(house, Urgency.NORMAL))))
    assert opened["outcome"] == "no_technician", opened
    return house, opened["order_id"]


def test_assigning_an_ineligible_or_unknown_technician_is_refused_unless_forced(
    client, household, operator
) -> None:
    house, order_id = stranded_order(household)
    plumber = add_technician(house, skills=[Category.BOILER])
    before = current(order_id)
    path = f"/orders/{order_id}/assign"
    answer = post(client, operator, path, {"technician_id": plumber})
    assert answer.status_code == 409, answer.body
    assert "not eligible: no washer skill" in answer.json_body["message"]
    assert "force" in answer.json_body["message"]
    unknown = post(client, operator, path, {"technician_id": "tech-nobody"})
    assert unknown.status_code == 400 and "no technician tech-nobody" in unknown.body.decode()
    missing = post(client, operator, "/orders/ord_missing/assign", {"technician_id": plumber})
    assert missing.status_code == 404
    assert current(order_id) == before and order_id not in holds(plumber)

    forced = post(client, operator, path, {"technician_id": plumber, "force": True})
    assert forced.status_code == 200, forced.body
    assert "eligibility overridden" in current(order_id).history[-2].reason


def test_assigning_a_technician_whose_time_is_taken_is_a_409(client, household, operator) -> None:
    house, order_id = stranded_order(household)
    tech = add_technician(house)
    # The technician is then booked for another fault of the same appliance
    first_code = code_of(house, Urgency.NORMAL)
    other_code = next(c for c in codes_of(house.appliance, self_fix=False) if c != first_code)
    other = invoke(event_for(house.thing, fault(other_code)))
    assert other["outcome"] == "dispatched", other
    taken = present(current(other["order_id"]).offer).window
    window = {"start": taken.start.isoformat(), "end": taken.end.isoformat()}
    before = current(order_id)
    answer = post(
        client, operator, f"/orders/{order_id}/assign", {"technician_id": tech, "window": window}
    )
    assert answer.status_code == 409, answer.body
    assert "was taken" in answer.json_body["message"]
    assert current(order_id) == before and order_id not in holds(tech)


def test_a_dispatched_order_is_not_assigned_again(client, household, operator) -> None:
    house = household()
    opened = invoke(event_for(house.thing, fault(code_of(house, Urgency.NORMAL))))
    assert opened["outcome"] == "dispatched"
    answer = post(
        client,
        operator,
        f"/orders/{opened['order_id']}/assign",
        {"technician_id": add_technician(house)},
    )
    assert answer.status_code == 409 and "only an approved order" in answer.json_body["message"]
