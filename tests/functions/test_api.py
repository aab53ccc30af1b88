"""The HTTP API through chalice's test client, against the emulator, with real tokens."""

from __future__ import annotations

import json
import threading
from contextvars import copy_context
from typing import Any

import pytest
from chalice import ConflictError
from chalice.test import Client

from functions.api.app import app
from functions.api.routing import ERROR_ANSWERS, answer_for
from functions.common.wiring import dependencies
from functions.domain.catalog import default_catalog
from functions.domain.errors import (
    ItemBusy,
    OutOfStock,
    StaleOrder,
    TechnicianFullyBooked,
    WriteConflict,
)
from functions.domain.learning import counts_key
from tests.factories import present
from tests.functions.conftest import Identity, SignedIn
from tests.functions.events import codes_of, event_for, fault, invoke


@pytest.fixture
def dispatched(household):
    """A freshly dispatched order and its household."""
    house = household()
    answer = invoke(event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0])))
    assert answer["outcome"] == "dispatched"
    return present(dependencies().orders.get(answer["order_id"])), house


def as_user(signed_in: SignedIn) -> dict[str, str]:
    return {"Authorization": signed_in.authorization}


def post(client: Client, order_id: str, body: dict[str, Any] | str, by: SignedIn) -> Any:
    text = body if isinstance(body, str) else json.dumps(body)
    return client.http.post(
        f"/orders/{order_id}/progress",
        body=text,
        headers={"Content-Type": "application/json", **as_user(by)},
    )


def technician_of(identity: Identity, house) -> SignedIn:
    return identity.user("technician", technician_id=house.technician_id)


def learned(order) -> dict[str, int]:
    family = present(default_catalog().family(order.manufacturer, order.model)).family
    key = counts_key(order.manufacturer, family, order.fault_code)
    return dict(dependencies().learning.snapshot().for_key(key))


def test_reading_an_order_and_listing_by_status(client, dispatched, identity, operator):
    order, house = dispatched
    owner = identity.user("homeowner", homes=[house.home.home_id])
    response = client.http.get(f"/orders/{order.order_id}", headers=as_user(owner))
    assert response.status_code == 200 and response.json_body["status"] == "dispatched"
    # The homeowner and the technician read why, in words, on the order itself
    explanation = response.json_body["diagnosis"]["explanation"]
    assert explanation == order.diagnosis.explanation
    assert explanation.startswith(f"Most likely: {order.diagnosis.causes[0].description}")
    listing = client.http.get("/orders?status=dispatched", headers=as_user(operator)).json_body
    assert order.order_id in {o["order_id"] for o in listing["orders"]}
    by_home = client.http.get(f"/homes/{house.home.home_id}/orders", headers=as_user(owner))
    assert [o["order_id"] for o in by_home.json_body["orders"]] == [order.order_id]


def test_a_technician_completes_the_visit_and_the_cause_is_learned(client, dispatched, identity):
    # Given a dispatched order and its technician, signed in
    order, house = dispatched
    cause = order.diagnosis.causes[-1].cause_id
    tech = technician_of(identity, house)
    before = learned(order).get(cause, 0)
    # When they go en route, arrive and complete with the cause found
    for step in ("en_route", "on_site"):
        assert post(client, order.order_id, {"status": step}, tech).status_code == 200
    done = post(
        client,
        order.order_id,
        {"status": "completed", "confirmed_cause": cause, "note": "replaced"},
        tech,
    )
    # Then the order is completed with its history, by them, the slot freed, the cause counted
    assert done.status_code == 200
    body = done.json_body
    assert body["status"] == "completed" and body["confirmed_cause"] == cause
    assert [h["to_status"] for h in body["history"]][-3:] == ["en_route", "on_site", "completed"]
    assert body["history"][-1]["by"] == house.technician_id
    assert present(dependencies().technicians.get(present(house.technician_id))).active_orders == 0
    assert learned(order)[cause] == before + 1


def a_reading_that_meets(rule) -> Any:
    when = rule.when
    if when.eq is not None:
        return when.eq
    candidates = [when.le, when.ge]
    candidates += [when.lt - 0.001 if when.lt is not None else None]
    candidates += [when.gt + 0.001 if when.gt is not None else None]
    return next(v for v in candidates if v is not None and when.holds(v))


def test_completion_counts_what_the_telemetry_showed(client, household, identity):
    # Given a dispatched order whose fault came with a reading that meets a catalog rule
    house = household()
    catalog = default_catalog()
    maker, model = house.appliance.manufacturer, house.appliance.model
    code, rule = next(
        (c, present(catalog.code(maker, model, c)).rules[0])
        for c in codes_of(house.appliance, self_fix=False)
        if present(catalog.code(maker, model, c)).rules
    )
    reading = {rule.telemetry: a_reading_that_meets(rule)}
    answer = invoke(event_for(house.thing, fault(code, **reading)))
    order = present(dependencies().orders.get(answer["order_id"]))
    assert rule.when.label in order.diagnosis.observations[rule.telemetry]
    cause = order.diagnosis.causes[0].cause_id
    key = counts_key(maker, present(catalog.family(maker, model)).family, code)
    signature = order.diagnosis.observations[rule.telemetry]

    def counted() -> int:
        evidence = dependencies().learning.snapshot().evidence_for(key, rule.telemetry)
        return evidence.get(signature, {}).get(cause, 0)

    before = counted()
    # When the technician completes it with the cause found
    tech = technician_of(identity, house)
    for step in ("en_route", "on_site"):
        post(client, order.order_id, {"status": step}, tech)
    done = post(client, order.order_id, {"status": "completed", "confirmed_cause": cause}, tech)
    assert done.status_code == 200
    # Then the learning table counts that reading's signature once against the confirmed cause
    assert counted() == before + 1


def test_racing_completions_count_the_outcome_once(client, dispatched, identity):
    order, house = dispatched
    tech = technician_of(identity, house)
    for step in ("en_route", "on_site"):
        post(client, order.order_id, {"status": step}, tech)
    cause = order.diagnosis.causes[0].cause_id
    before = learned(order).get(cause, 0)
    codes: list[int] = []
    body = {"status": "completed", "confirmed_cause": cause}

    def complete() -> None:
        with Client(app) as own_client:
            codes.append(post(own_client, order.order_id, body, tech).status_code)

    # Each thread a request of its own, with the dependencies the runtime provides.
    threads = [threading.Thread(target=copy_context().run, args=(complete,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409, 409, 409]
    assert learned(order)[cause] == before + 1


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ("{not json", "Invalid JSON"),
        ({"status": "teleported"}, "status"),
        ({}, "status: Field required"),
        # The technician is the caller: a body that still names one is refused, not obeyed.
        ({"status": "en_route", "technician_id": "tech-other"}, "technician_id: Extra inputs"),
    ],
)
def test_malformed_progress_is_a_400_with_the_reason(
    client, dispatched, identity, body, message_part
):
    order, house = dispatched
    response = post(client, order.order_id, body, technician_of(identity, house))
    assert response.status_code == 400
    assert response.json_body["code"] == "bad_request"
    assert message_part in response.json_body["message"]
    assert present(dependencies().orders.get(order.order_id)).status == order.status


def test_progress_errors_map_to_clear_answers(client, dispatched, identity):
    order, house = dispatched
    tech = technician_of(identity, house)
    skipped = post(
        client,
        order.order_id,
        {"status": "completed", "confirmed_cause": order.diagnosis.causes[0].cause_id},
        tech,
    )
    assert skipped.status_code == 409 and "dispatched -> completed" in skipped.json_body["message"]
    for step in ("en_route", "on_site"):
        post(client, order.order_id, {"status": step}, tech)
    unknown = post(
        client, order.order_id, {"status": "completed", "confirmed_cause": "gremlins"}, tech
    )
    assert unknown.status_code == 400
    assert "confirmed_cause must be one of" in unknown.json_body["message"]
    missing = post(client, "ord_nope", {"status": "en_route"}, tech)
    assert missing.status_code == 404 and missing.json_body["message"] == "no order ord_nope"


def test_a_technician_without_a_profile_has_no_orders(client, dispatched, identity):
    order, _ = dispatched
    newcomer = identity.user("technician")
    response = post(client, order.order_id, {"status": "en_route"}, newcomer)
    assert response.status_code == 404
    assert response.json_body["message"] == f"no order {order.order_id}"


@pytest.mark.parametrize(
    ("error", "message_part"),
    [
        (StaleOrder("ord_1", "changed since v3"), "read the order again"),
        (TechnicianFullyBooked("tech-1"), "technician tech-1 is fully booked"),
        (OutOfStock("P-1", "WAREHOUSE", wanted=2, available=0), "part P-1"),
        (ItemBusy("technician tech-1"), "retry"),
    ],
)
def test_write_conflicts_are_a_409_with_what_conflicted(
    client, monkeypatch, identity, error, message_part
):
    def conflicting(*args, **kwargs):
        raise error

    monkeypatch.setattr(dependencies().order_progress, "advance", conflicting)
    tech = identity.user("technician", technician_id="tech-1")
    response = post(client, "ord_1", {"status": "en_route"}, tech)
    assert response.status_code == 409
    assert response.json_body["code"] == "conflict"
    assert message_part in response.json_body["message"]


class SeatTaken(WriteConflict):
    """A kind of conflict written after ERROR_ANSWERS: no entry of its own."""


def test_a_new_kind_of_write_conflict_is_a_409_in_the_error_shape(client, monkeypatch, identity):
    # Given a WriteConflict subclass nobody mapped to an answer
    assert SeatTaken not in ERROR_ANSWERS

    def conflicting(*args: Any, **kwargs: Any) -> Any:
        raise SeatTaken("seat 3 was taken meanwhile")

    monkeypatch.setattr(dependencies().order_progress, "advance", conflicting)
    # When a view raises it
    tech = identity.user("technician", technician_id="tech-1")
    response = post(client, "ord_1", {"status": "en_route"}, tech)
    # Then it is answered as its base class is: a 409 in the one error shape, never a 500
    assert response.status_code == 409, response.body
    assert set(response.json_body) == {"code", "message", "request_id"}
    assert response.json_body["code"] == "conflict" and response.json_body["request_id"]
    assert response.json_body["message"] == "seat 3 was taken meanwhile; read again and retry"


def test_an_error_is_answered_by_its_nearest_mapped_class() -> None:
    class StaleAgain(StaleOrder):
        pass

    # StaleOrder's own entry, not the WriteConflict one further up
    answer = answer_for(StaleAgain("ord_1", "changed since v3"))
    assert isinstance(answer, ConflictError)
    assert str(answer) == "order ord_1 changed since v3; read the order again and retry"
    assert answer_for(RuntimeError("a bug")) is None  # unanswered: a 500, as a crash


def test_bad_queries_answer_400(client, operator):
    assert client.http.get("/orders?status=lost", headers=as_user(operator)).status_code == 400
    assert client.http.get("/rejections?day=soon", headers=as_user(operator)).status_code == 400
    triage = client.http.get("/triage/rejections?day=soon", headers=as_user(operator))
    assert triage.status_code == 400 and "YYYY-MM-DD" in triage.json_body["message"]


def test_a_repeat_reported_while_the_technician_steps_does_not_refuse_the_step(
    client, dispatched, identity, monkeypatch
):
    # Given a dispatched order, and the appliance re-reporting its fault just as the
    # technician's step reads the order
    order, house = dispatched
    tech = technician_of(identity, house)
    orders = dependencies().orders
    real_get = orders.get
    repeat = f"evt-{order.order_id}-again"

    def get_as_a_repeat_arrives(order_id: str) -> Any:
        read = real_get(order_id)
        if read is not None and read.occurrences == 1:
            orders.fold_repeat(order_id, house.thing, repeat)
        return read

    monkeypatch.setattr(orders, "get", get_as_a_repeat_arrives)
    # When the technician sets off
    answer = post(client, order.order_id, {"status": "en_route"}, tech)
    # Then the step is taken, and the repeat still counts on the order
    assert answer.status_code == 200, answer.json_body
    stored = present(real_get(order.order_id))
    assert stored.status.value == "en_route" and stored.occurrences == 2
    assert repeat in stored.event_ids
