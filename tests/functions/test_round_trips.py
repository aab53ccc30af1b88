"""AWS round trips of booking, counted on the clients (botocore's before-send): a booked
window rides in requests dispatch already makes, so ingest keeps its round trips, and an
approval costs the same as a dispatch plus the reads of the order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from functions.common.wiring import dependencies
from tests.factories import present
from tests.functions.events import codes_of, event_for, fault, invoke, waiting_codes


@contextmanager
def counted() -> Iterator[list[str]]:
    """The AWS operations sent inside, in order (e.g. "dynamodb.Query")."""
    calls: list[str] = []

    def record(event_name: str, **_: Any) -> None:
        calls.append(".".join(event_name.split(".")[1:]))

    clients = dependencies().clients
    emitters = [clients.dynamodb.meta.events, clients.iot_data.meta.events]
    for emitter in emitters:
        emitter.register("before-send", record, unique_id="round-trip-count")
    try:
        yield calls
    finally:
        for emitter in emitters:
            emitter.unregister("before-send", unique_id="round-trip-count")


def test_a_dispatched_fault_books_its_window_in_the_same_round_trips(household) -> None:
    # Given an appliance whose registry entry is cached (a warm container)
    house = household()
    codes = codes_of(house.appliance, self_fix=False)
    invoke(event_for(house.thing, fault(codes[0])))
    # When a new fault of it is dispatched
    with counted() as calls:
        answer = invoke(event_for(house.thing, fault(codes[1])))
    # Then: open the order, tell the appliance it is approved, find candidates, read their
    # load, bookings and stock in one batch, book (window blocks included) in one
    # transaction, tell the appliance: as many as before bookings were kept
    assert answer["outcome"] == "dispatched"
    assert calls == [
        "dynamodb.TransactWriteItems",
        "iot-data-plane.Publish",
        "dynamodb.Query",
        "dynamodb.BatchGetItem",
        "dynamodb.TransactWriteItems",
        "iot-data-plane.Publish",
    ]
    order = present(dependencies().orders.get(answer["order_id"]))
    _tech, bookings = present(dependencies().technicians.schedule(present(house.technician_id)))
    assert order.order_id in bookings


def test_an_approval_costs_a_dispatch_and_the_order_read(household) -> None:
    # Given an order waiting for its homeowner, and a window from its ticket
    house = household(auto_approve=False)
    opened = invoke(event_for(house.thing, fault(waiting_codes(house.appliance)[0])))
    actions = dependencies().order_actions
    window = actions.ticket(opened["order_id"], lambda _o: True).windows[0]
    # When it is approved
    with counted() as calls:
        approved = actions.approve(opened["order_id"], window, by="me", may_act=lambda _o: True)
    # Then: read the order, then the dispatch's round trips, approval and booking in one
    # transaction (the registry entry is cached from the ingest)
    assert approved.status.value == "dispatched"
    assert calls == [
        "dynamodb.GetItem",
        "dynamodb.Query",
        "dynamodb.BatchGetItem",
        "dynamodb.TransactWriteItems",
        "iot-data-plane.Publish",
    ]


def test_a_self_fix_through_the_api_reads_the_order_once(client, household, identity) -> None:
    # Given an order held for its self-fix guide, and its homeowner signed in
    house = household(auto_approve=False)
    opened = invoke(event_for(house.thing, fault(codes_of(house.appliance, self_fix=True)[0])))
    owner = identity.user("homeowner", homes=[house.home.home_id])
    # When the homeowner says the guide fixed it
    with counted() as calls:
        answer = client.http.post(
            f"/orders/{opened['order_id']}/self-fix",
            headers={"Authorization": owner.authorization, "Content-Type": "application/json"},
            body=json.dumps({"result": "fixed"}),
        )
    # Then: read the order once (the route checks the owner on it only for a bad body), the
    # caller's homes, close it and count the success in one transaction, tell the appliance
    assert answer.status_code == 200, answer.body
    assert calls == [
        "dynamodb.GetItem",
        "dynamodb.Query",
        "dynamodb.TransactWriteItems",
        "iot-data-plane.Publish",
    ]
