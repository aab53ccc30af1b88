"""The homeowner's order actions through the API: the ticket in plain words, approve with a
window (booked at once, idempotent, refused for a past, unoffered or taken window), decline,
reschedule, cancel; racing actions leave one winner; bad input is a 4xx with no change."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from functions.common.wiring import dependencies
from functions.dal import transactions
from functions.domain.orders import transition
from schemas.orders import OrderStatus, RepairOrder, TimeWindow
from tests.factories import present
from tests.functions.conftest import Household, Identity, SignedIn, published_status
from tests.functions.events import codes_of, event_for, fault, invoke
from tests.functions.test_ingest_handler import kit_fault


@dataclass
class Waiting:
    """An order awaiting its homeowner, the household and the homeowner signed in."""

    order: RepairOrder
    house: Household
    owner: SignedIn


@pytest.fixture
def waiting(household, identity: Identity) -> Waiting:
    house = household(auto_approve=False)
    code, parts = kit_fault(house)
    for part in parts:
        dependencies().stock.put(part, "WAREHOUSE", 3)
    opened = invoke(event_for(house.thing, fault(code)))
    assert opened["outcome"] == "opened"
    owner = identity.user("homeowner", homes=[house.home.home_id])
    return Waiting(present(dependencies().orders.get(opened["order_id"])), house, owner)


def post(client: Client, user: SignedIn, path: str, body: Any) -> Any:
    text = body if isinstance(body, str) else json.dumps(body)
    return client.http.post(
        path,
        headers={"Authorization": user.authorization, "Content-Type": "application/json"},
        body=text,
    )


def get(client: Client, user: SignedIn, path: str) -> Any:
    return client.http.get(path, headers={"Authorization": user.authorization})


def ticket(client: Client, user: SignedIn, order_id: str) -> dict[str, Any]:
    answer = get(client, user, f"/orders/{order_id}/ticket")
    assert answer.status_code == 200, answer.body
    return answer.json_body


def current(order_id: str) -> RepairOrder:
    return present(dependencies().orders.get(order_id))


def bookings_of(technician_id: str) -> dict[str, TimeWindow]:
    return present(dependencies().technicians.schedule(technician_id))[1]


def approve(client: Client, w: Waiting, window: dict[str, str]) -> Any:
    return post(client, w.owner, f"/orders/{w.order.order_id}/approve", {"window": window})


# --------------------------------------------------------------------------- the ticket


def test_the_ticket_tells_the_order_in_plain_words_safety_first(client, waiting) -> None:
    # When the homeowner reads the ticket of their waiting order
    body = ticket(client, waiting.owner, waiting.order.order_id)
    # Then safety advice comes before the explanation, and the order is told in words
    keys = list(body)
    assert keys.index("safety_advice") < keys.index("explanation") < keys.index("parts")
    assert body["title"] == waiting.order.diagnosis.title and body["status"] == "awaiting_approval"
    assert body["appliance"]["thing_name"] == waiting.house.thing
    # And every part is in stock, priced, and the cost adds parts and labour
    assert body["parts"] and all(p["available"] and p["lead_time_days"] == 0 for p in body["parts"])
    cost = body["cost"]
    parts = sum(p["unit_price"] * p["quantity"] for p in body["parts"])
    assert cost["parts"] == pytest.approx(parts) and cost["labour"] == 130.0
    assert cost["total"] == pytest.approx(parts + 130.0) and cost["currency"] == "EUR"
    # The household's appliance is under warranty: it covers all of it
    assert waiting.order.under_warranty and cost["to_pay"] == 0.0
    # And the windows are distinct, in the future, two hours each, soonest first
    windows = [TimeWindow.model_validate(w) for w in body["windows"]]
    starts = [w.start for w in windows]
    assert windows and starts == sorted(set(starts)) and starts[0] > datetime.now(UTC)
    assert all(w.end - w.start == timedelta(hours=2) for w in windows)
    assert body["actions"] == ["approve", "decline", "cancel"]
    assert body["booked"] is None


def test_a_part_out_of_stock_shows_its_lead_time(client, waiting) -> None:
    part = waiting.order.parts.parts[0]
    dependencies().stock.put(part.part_number, "WAREHOUSE", 0, lead_time_days=9)
    body = ticket(client, waiting.owner, waiting.order.order_id)
    shown = next(p for p in body["parts"] if p["part_number"] == part.part_number)
    assert (shown["available"], shown["lead_time_days"]) == (False, 9)


def test_a_booked_window_is_no_longer_offered(client, waiting) -> None:
    # Given the order approved with the first window
    first = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    assert approve(client, waiting, first).status_code == 200
    # When the homeowner's next order of the same technician asks for windows
    another = invoke(
        event_for(waiting.house.thing, fault(codes_of(waiting.house.appliance, self_fix=False)[-1]))
    )
    offered = ticket(client, waiting.owner, another["order_id"])["windows"]
    # Then nothing overlapping the booking is offered
    booked = TimeWindow.model_validate(first)
    for window in (TimeWindow.model_validate(w) for w in offered):
        assert window.end <= booked.start or window.start >= booked.end


# --------------------------------------------------------------------------- approve


def test_approving_with_a_window_books_it(client, waiting) -> None:
    # Given the ticket's windows
    window = ticket(client, waiting.owner, waiting.order.order_id)["windows"][1]
    # When the homeowner approves with the second one
    answer = approve(client, waiting, window)
    # Then the order is dispatched for exactly that window, approved by them
    assert answer.status_code == 200, answer.body
    order = current(waiting.order.order_id)
    chosen = TimeWindow.model_validate(window)
    assert order.status is OrderStatus.DISPATCHED and order.offer is not None
    assert order.offer.window.start == chosen.start
    assert present(order.approval).by == waiting.owner.user_id
    # And the technician holds it; the appliance is told
    assert bookings_of(order.offer.technician_id)[order.order_id].start == chosen.start
    assert b'"dispatched"' in published_status(waiting.house.thing)[-1]
    # And the ticket shows the booking, with reschedule and cancel allowed
    body = ticket(client, waiting.owner, order.order_id)
    assert body["booked"]["technician_name"] == order.offer.technician_name
    assert body["actions"] == ["reschedule", "cancel"]
    assert window not in body["windows"]


def test_approving_twice_with_the_same_window_answers_the_order_again(client, waiting) -> None:
    window = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    first = approve(client, waiting, window)
    second = approve(client, waiting, window)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json_body["version"] == first.json_body["version"]
    assert len(bookings_of(present(current(waiting.order.order_id).offer).technician_id)) == 1
    # But another window once approved is a conflict: that is a reschedule
    other = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    third = approve(client, waiting, other)
    assert third.status_code == 409 and "reschedule" in third.json_body["message"]


def test_a_window_taken_meanwhile_is_a_conflict_and_changes_nothing(client, waiting) -> None:
    # Given the homeowner read the ticket, then another booking took the first window
    window = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    technicians = dependencies().technicians
    items = technicians.book_items(
        present(waiting.house.technician_id), "ord_someone_else", TimeWindow.model_validate(window)
    )
    transactions.write(dependencies().clients.dynamodb, items)
    # When they approve with it
    answer = approve(client, waiting, window)
    # Then it is a 409 saying so, and the order still waits, as it was
    assert answer.status_code == 409, answer.body
    assert "taken" in answer.json_body["message"]
    assert current(waiting.order.order_id).version == waiting.order.version
    assert current(waiting.order.order_id).status is OrderStatus.AWAITING_APPROVAL


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "JSON"),
        ({"window": {"start": "2030-01-07T09:00:00+00:00"}}, "end"),
        ({"window": {"start": "x", "end": "y"}}, "start"),
        ({"slot": "tomorrow"}, "slot"),
        ({"window": {"start": "2030-01-07T09:00:00", "end": "2030-01-07T11:00:00"}}, "timezone"),
        (
            {
                "window": {
                    "start": "2030-01-07T09:00:00+00:00",
                    "end": "2030-01-07T11:00:00+00:00",
                    "technician_id": "tech-1",
                }
            },
            "technician_id",
        ),
    ],
    ids=["malformed", "no-end", "not-times", "unknown-field", "no-offset", "unknown-nested"],
)
def test_bad_bodies_are_a_400_with_no_change(client, waiting, body, message) -> None:
    answer = post(client, waiting.owner, f"/orders/{waiting.order.order_id}/approve", body)
    assert answer.status_code == 400, answer.body
    assert message.lower() in answer.json_body["message"].lower()
    assert current(waiting.order.order_id).version == waiting.order.version


def test_a_window_in_the_past_or_not_offered_is_a_400(client, waiting) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    past = {
        "start": (now - timedelta(hours=3)).isoformat(),
        "end": (now - timedelta(hours=1)).isoformat(),
    }
    answer = approve(client, waiting, past)
    assert answer.status_code == 400 and "past" in answer.json_body["message"]
    offered = TimeWindow.model_validate(
        ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    )
    off_grid = {
        "start": (offered.start + timedelta(minutes=10)).isoformat(),
        "end": (offered.end + timedelta(minutes=10)).isoformat(),
    }
    too_short = {
        "start": offered.start.isoformat(),
        "end": (offered.start + timedelta(hours=1)).isoformat(),
    }
    beyond = {
        "start": (offered.start + timedelta(days=30)).isoformat(),
        "end": (offered.end + timedelta(days=30)).isoformat(),
    }
    for window in (off_grid, too_short, beyond):
        answer = approve(client, waiting, window)
        assert answer.status_code == 400, (window, answer.body)
        assert "not among those offered" in answer.json_body["message"]
    assert current(waiting.order.order_id).version == waiting.order.version


def test_someone_elses_order_is_answered_like_a_missing_one(client, waiting, identity) -> None:
    neighbour = identity.user("homeowner", homes=["home-of-the-neighbour"])
    window = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    for path, body in (
        ("ticket", None),
        ("approve", {"window": window}),
        ("decline", {"reason": "no"}),
        ("cancel", {"reason": "no"}),
        ("reschedule", {"window": window}),
    ):
        theirs = f"/orders/{waiting.order.order_id}/{path}"
        missing = f"/orders/ord_missing/{path}"
        if body is None:
            a, b = get(client, neighbour, theirs), get(client, neighbour, missing)
        else:
            a, b = post(client, neighbour, theirs, body), post(client, neighbour, missing, body)
        assert (a.status_code, b.status_code) == (404, 404), path
        assert a.json_body["message"] == f"no order {waiting.order.order_id}"
    assert current(waiting.order.order_id).version == waiting.order.version


def test_an_operator_may_approve_any_order(client, waiting, operator) -> None:
    window = ticket(client, operator, waiting.order.order_id)["windows"][0]
    answer = post(client, operator, f"/orders/{waiting.order.order_id}/approve", {"window": window})
    assert answer.status_code == 200 and answer.json_body["status"] == "dispatched"
    assert present(current(waiting.order.order_id).approval).by == operator.user_id


@pytest.mark.parametrize("closing", ["cancel", "decline"])
def test_approving_a_closed_order_is_a_409_with_a_message(client, waiting, closing) -> None:
    window = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    closed = post(
        client, waiting.owner, f"/orders/{waiting.order.order_id}/{closing}", {"reason": "no"}
    )
    assert closed.status_code == 200, closed.body
    answer = approve(client, waiting, window)
    assert answer.status_code == 409
    status = "cancelled" if closing == "cancel" else "declined"
    assert answer.json_body["message"] == (
        f"order {waiting.order.order_id} is closed ({status}): it can no longer be approved"
    )


@pytest.mark.parametrize("closing", ["cancel", "complete"])
def test_an_approval_repeated_after_the_order_closed_is_a_409_not_a_200(
    client, waiting, closing
) -> None:
    # Given the homeowner approved a window, and the repeat of it answered 200 while booked
    window = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    assert approve(client, waiting, window).status_code == 200
    assert approve(client, waiting, window).status_code == 200
    if closing == "complete":  # the visit went ahead and was completed
        order = current(waiting.order.order_id)
        now = datetime.now(UTC)
        closed = order
        for step in (OrderStatus.EN_ROUTE, OrderStatus.ON_SITE, OrderStatus.COMPLETED):
            closed = transition(closed, step, at=now, by="t")
        dependencies().orders.save_order(closed, expected_version=order.version)
    else:
        answer = post(
            client, waiting.owner, f"/orders/{waiting.order.order_id}/cancel", {"reason": "no"}
        )
        assert answer.status_code == 200, answer.body
    before = current(waiting.order.order_id)
    # When the same approval comes again (a retry, a second tab)
    again = approve(client, waiting, window)
    # Then it is a 409 saying the order is closed and how, and nothing changed
    assert again.status_code == 409, again.body
    status = before.status.value
    assert again.json_body["message"] == (
        f"order {waiting.order.order_id} is closed ({status}): it can no longer be approved"
    )
    assert current(waiting.order.order_id).version == before.version


def test_every_action_on_a_cancelled_order_is_a_409_naming_it_closed(client, waiting) -> None:
    window = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    assert approve(client, waiting, window).status_code == 200
    path = f"/orders/{waiting.order.order_id}"
    assert post(client, waiting.owner, f"{path}/cancel", {"reason": "no"}).status_code == 200
    before = current(waiting.order.order_id)
    for action, body in (
        ("approve", {"window": window}),
        ("decline", {"reason": "no"}),
        ("cancel", {"reason": "no"}),
        ("reschedule", {"window": window}),
        ("self-fix", {"result": "fixed"}),
        ("rating", {"stars": 5, "comment": ""}),
    ):
        answer = post(client, waiting.owner, f"{path}/{action}", body)
        assert answer.status_code == 409, (action, answer.body)
        assert "is closed (cancelled)" in answer.json_body["message"], action
    assert current(waiting.order.order_id).version == before.version


def test_approving_an_expired_order_is_a_409(client, waiting) -> None:
    window = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    expired = transition(waiting.order, OrderStatus.EXPIRED, at=datetime.now(UTC), by="system")
    dependencies().orders.save_order(expired, expected_version=waiting.order.version)
    answer = approve(client, waiting, window)
    assert answer.status_code == 409 and "expired" in answer.json_body["message"]


# --------------------------------------------------------------------------- races


def test_a_decline_between_the_approvals_read_and_write_wins(client, waiting, monkeypatch) -> None:
    # Given the homeowner's partner declines while the approval is being booked
    window = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    actions = dependencies().order_actions
    real = actions.dispatcher.dispatch

    def dispatch_after_a_decline(*args: Any, **kwargs: Any) -> RepairOrder:
        monkeypatch.setattr(actions.dispatcher, "dispatch", real)
        actions.decline(waiting.order.order_id, "too dear", by="partner", may_act=lambda _o: True)
        return real(*args, **kwargs)

    monkeypatch.setattr(actions.dispatcher, "dispatch", dispatch_after_a_decline)
    # When the approval writes
    answer = approve(client, waiting, window)
    # Then it is a 409, the order stays declined and nobody is booked
    assert answer.status_code == 409, answer.body
    assert "declined" in answer.json_body["message"]
    assert current(waiting.order.order_id).status is OrderStatus.DECLINED
    assert bookings_of(present(waiting.house.technician_id)) == {}


def test_an_approval_between_the_declines_read_and_write_wins(client, waiting, monkeypatch) -> None:
    window = TimeWindow.model_validate(
        ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    )
    actions = dependencies().order_actions
    orders = actions.orders
    real = orders.save_order

    def save_after_an_approval(order: RepairOrder, **kwargs: Any) -> None:
        monkeypatch.setattr(orders, "save_order", real)
        actions.approve(waiting.order.order_id, window, by="partner", may_act=lambda _o: True)
        real(order, **kwargs)

    monkeypatch.setattr(orders, "save_order", save_after_an_approval)
    answer = post(
        client, waiting.owner, f"/orders/{waiting.order.order_id}/decline", {"reason": "no"}
    )
    assert answer.status_code == 409, answer.body
    assert current(waiting.order.order_id).status is OrderStatus.DISPATCHED


def test_approve_and_decline_at_once_leave_one_winner(waiting) -> None:
    actions = dependencies().order_actions
    window = actions.ticket(waiting.order.order_id, lambda _o: True).windows[0]
    results: dict[str, Any] = {}

    def run(name: str, act: Any) -> None:
        try:
            results[name] = act()
        except Exception as error:
            results[name] = error

    threads = [
        threading.Thread(
            target=run,
            args=(
                "approve",
                lambda: actions.approve(
                    waiting.order.order_id, window, by="a", may_act=lambda _o: True
                ),
            ),
        ),
        threading.Thread(
            target=run,
            args=(
                "decline",
                lambda: actions.decline(
                    waiting.order.order_id, "no", by="b", may_act=lambda _o: True
                ),
            ),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [name for name, result in results.items() if isinstance(result, RepairOrder)]
    assert len(won) == 1, results
    final = current(waiting.order.order_id)
    assert final.status is (OrderStatus.DISPATCHED if won == ["approve"] else OrderStatus.DECLINED)


# --------------------------------------------------------------------------- decline


def test_declining_closes_the_order_with_the_reason(client, waiting) -> None:
    answer = post(
        client, waiting.owner, f"/orders/{waiting.order.order_id}/decline", {"reason": "too dear"}
    )
    assert answer.status_code == 200 and answer.json_body["status"] == "declined"
    assert current(waiting.order.order_id).history[-1].reason == "too dear"
    assert ticket(client, waiting.owner, waiting.order.order_id)["actions"] == []


def test_a_decline_needs_a_reason(client, waiting) -> None:
    answer = post(
        client, waiting.owner, f"/orders/{waiting.order.order_id}/decline", {"reason": ""}
    )
    assert answer.status_code == 400 and "reason" in answer.json_body["message"]


# --------------------------------------------------------------------------- reschedule


def test_rescheduling_moves_the_booking_and_frees_the_old_window(client, waiting) -> None:
    # Given an approved visit
    first = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    assert approve(client, waiting, first).status_code == 200
    tech = present(waiting.house.technician_id)
    # When the homeowner moves it to another window the ticket offers for that technician
    later = ticket(client, waiting.owner, waiting.order.order_id)["windows"][-1]
    answer = post(
        client, waiting.owner, f"/orders/{waiting.order.order_id}/reschedule", {"window": later}
    )
    # Then the order and the technician hold the new window only
    assert answer.status_code == 200, answer.body
    new = TimeWindow.model_validate(later)
    order = current(waiting.order.order_id)
    assert present(order.offer).window.start == new.start and order.status is OrderStatus.DISPATCHED
    assert bookings_of(tech)[order.order_id].start == new.start
    # And the first window is offered again
    again = [
        TimeWindow.model_validate(w).start
        for w in ticket(client, waiting.owner, order.order_id)["windows"]
    ]
    assert TimeWindow.model_validate(first).start in again


def test_rescheduling_onto_a_taken_window_is_a_409(client, waiting) -> None:
    first = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    assert approve(client, waiting, first).status_code == 200
    later = TimeWindow.model_validate(
        ticket(client, waiting.owner, waiting.order.order_id)["windows"][-1]
    )
    transactions.write(
        dependencies().clients.dynamodb,
        dependencies().technicians.book_items(
            present(waiting.house.technician_id), "ord_other", later
        ),
    )
    before = current(waiting.order.order_id)
    answer = post(
        client,
        waiting.owner,
        f"/orders/{waiting.order.order_id}/reschedule",
        {"window": later.model_dump(mode="json")},
    )
    assert answer.status_code == 409, answer.body
    assert current(waiting.order.order_id).version == before.version


def test_only_a_booked_visit_is_rescheduled(client, waiting) -> None:
    window = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    answer = post(
        client, waiting.owner, f"/orders/{waiting.order.order_id}/reschedule", {"window": window}
    )
    assert answer.status_code == 409 and "only a dispatched visit" in answer.json_body["message"]


# --------------------------------------------------------------------------- cancel


def test_cancelling_a_booked_visit_releases_the_technician_and_the_parts(client, waiting) -> None:
    # Given an approved visit that took parts from the warehouse
    window = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    assert approve(client, waiting, window).status_code == 200
    order = current(waiting.order.order_id)
    parts = [p.part_number for p in order.parts.parts]
    stock = dependencies().stock
    taken = stock.read_warehouse(parts).warehouse
    tech = present(waiting.house.technician_id)
    assert present(dependencies().technicians.get(tech)).active_orders == 1
    # When the homeowner cancels
    answer = post(client, waiting.owner, f"/orders/{order.order_id}/cancel", {"reason": "sold it"})
    # Then the order is cancelled, the technician free and the parts back
    assert answer.status_code == 200 and answer.json_body["status"] == "cancelled"
    assert present(dependencies().technicians.get(tech)).active_orders == 0
    assert bookings_of(tech) == {}
    back = stock.read_warehouse(parts).warehouse
    assert all(back[p] == taken[p] + 1 for p in parts)
    assert b'"cancelled"' in published_status(waiting.house.thing)[-1]
    # And cancelling again is a 409 with a message
    again = post(client, waiting.owner, f"/orders/{order.order_id}/cancel", {"reason": "x"})
    assert again.status_code == 409 and "cancelled" in again.json_body["message"]


def test_a_visit_under_way_on_site_cannot_be_cancelled(client, waiting) -> None:
    window = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    assert approve(client, waiting, window).status_code == 200
    order = current(waiting.order.order_id)
    now = datetime.now(UTC)
    on_site = transition(
        transition(order, OrderStatus.EN_ROUTE, at=now, by="t"), OrderStatus.ON_SITE, at=now, by="t"
    )
    dependencies().orders.save_order(on_site, expected_version=order.version)
    answer = post(client, waiting.owner, f"/orders/{order.order_id}/cancel", {"reason": "x"})
    assert answer.status_code == 409, answer.body
    assert current(order.order_id).status is OrderStatus.ON_SITE


def test_a_double_click_that_read_the_order_before_the_first_booked_is_a_200(
    client, waiting, monkeypatch
) -> None:
    # Given the first approval booked the window (the only technician's)
    window = ticket(client, waiting.owner, waiting.order.order_id)["windows"][0]
    first = approve(client, waiting, window)
    assert first.status_code == 200
    # And the second request read the order before that booking
    orders = dependencies().order_actions.orders
    real = orders.get
    reads = iter([waiting.order])
    monkeypatch.setattr(orders, "get", lambda order_id: next(reads, None) or real(order_id))
    # When it approves the same window: the window is taken (by this very order)
    second = approve(client, waiting, window)
    # Then it answers the order as it is, booked once
    assert second.status_code == 200, second.body
    assert second.json_body["version"] == first.json_body["version"]
    assert len(bookings_of(present(waiting.house.technician_id))) == 1


def test_the_ticket_carries_the_homes_zone_and_when_it_expires(client, household, identity):
    # Given an Amsterdam home whose ticket waits (its next deadline is the reminder)
    house = household(auto_approve=False)
    amsterdam = house.home.model_copy(update={"timezone": "Europe/Amsterdam"})
    dependencies().registry.put_home(amsterdam, [house.appliance])
    code, _ = kit_fault(house)
    opened = invoke(event_for(house.thing, fault(code)))
    owner = identity.user("homeowner", homes=[house.home.home_id])
    order = current(opened["order_id"])
    # When the homeowner reads the ticket
    body = ticket(client, owner, order.order_id)
    # Then it names the home's zone, and "answer by" is the expiry, not the reminder
    timings = dependencies().settings.approval_timings
    assert body["timezone"] == "Europe/Amsterdam"
    assert present(order.deadline).action.value == "remind"
    expiry = order.created_at + timings.expire_after
    assert datetime.fromisoformat(body["answer_by"]) == expiry
    assert datetime.fromisoformat(body["deadline"]["due_at"]) < expiry
