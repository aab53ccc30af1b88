"""The API as API Gateway calls it: template.yaml sends every chalice route, and a recorded
REST proxy event of each route, fed to the handler exactly as Lambda does, gets that
route's answer (chalice's local server routes by itself and would hide a template whose
events chalice cannot route).

A new route needs: its `Api` event on ApiFunction in template.yaml, a recorded event in
tests/events/api, and an `@exchange` below saying who calls it and what the answer is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.api.app import app
from functions.common.wiring import dependencies
from infra.template import SERVERLESS_FUNCTION, load_template
from schemas.orders import RepairOrder
from tests.factories import present
from tests.functions.api_events import (
    EVENTS_DIR,
    RECORDED_API_EVENTS,
    Route,
    api_request,
    call_api,
    chalice_routes,
    recorded_events,
    template_routes,
)
from tests.functions.conftest import (
    Household,
    Identity,
    SignedIn,
    add_technician,
    made_appliance,
    new_household,
)
from tests.functions.events import codes_of, complete, event_for, fault, invoke, waiting_codes


def test_the_template_sends_every_chalice_route_and_no_other() -> None:
    served, declared = chalice_routes(), template_routes()
    assert sorted(served - declared) == [], "add an Api event on ApiFunction in template.yaml"
    assert sorted(declared - served) == [], "template.yaml sends routes chalice does not serve"


def test_every_route_has_a_recorded_event() -> None:
    served, recorded = chalice_routes(), set(recorded_events())
    assert sorted(served - recorded) == [], f"record an event of these in {RECORDED_API_EVENTS}"
    assert sorted(recorded - served) == [], "recorded events of routes chalice does not serve"


# --------------------------------------------------------------------------- every route


@dataclass
class Scene:
    """A dispatched order in a home, a rejected event, and users who may see them."""

    order: RepairOrder
    house: Household
    stranded: RepairOrder  # approved, but no technician serves its home: for triage
    homeowner: SignedIn
    technician: SignedIn
    operator: SignedIn
    identity: Identity


@dataclass
class Exchange:
    """Who calls a route with which ids, and whether an answer is the right one (its JSON,
    or the HTML of a page). No caller: a public route, called without a token."""

    caller: SignedIn | None
    is_right: Callable[[Any], bool]
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] | None = None
    body: dict[str, Any] | None = None


EXCHANGES: dict[Route, Callable[[Scene], Exchange]] = {}


def exchange(method: str, path: str) -> Callable[[Callable[[Scene], Exchange]], Any]:
    def register(build: Callable[[Scene], Exchange]) -> Callable[[Scene], Exchange]:
        EXCHANGES[(method, path)] = build
        return build

    return register


def order_ids(listing: dict[str, Any]) -> set[str]:
    return {o["order_id"] for o in listing["orders"]}


@exchange("GET", "/")
def the_index(scene: Scene) -> Exchange:
    return Exchange(scene.operator, lambda body: body["service"] == "faultline")


@exchange("GET", "/orders/{order_id}")
def an_order(scene: Scene) -> Exchange:
    return Exchange(
        scene.homeowner,
        lambda body: (body["order_id"], body["status"]) == (scene.order.order_id, "dispatched"),
        path={"order_id": scene.order.order_id},
    )


@exchange("GET", "/orders")
def orders_by_status(scene: Scene) -> Exchange:
    return Exchange(
        scene.operator,
        lambda body: scene.order.order_id in order_ids(body),
        query={"status": "dispatched"},
    )


@exchange("GET", "/homes/{home_id}/orders")
def a_homes_orders(scene: Scene) -> Exchange:
    return Exchange(
        scene.homeowner,
        lambda body: order_ids(body) == {scene.order.order_id},
        path={"home_id": scene.house.home.home_id},
    )


@exchange("GET", "/rejections")
def the_days_rejections(scene: Scene) -> Exchange:
    return Exchange(
        scene.operator,
        lambda body: scene.house.thing in {r["thing_name"] for r in body["rejections"]},
        query={"day": datetime.now(UTC).date().isoformat()},
    )


@exchange("POST", "/orders/{order_id}/progress")
def a_technician_on_the_way(scene: Scene) -> Exchange:
    return Exchange(
        scene.technician,
        lambda body: (body["order_id"], body["status"]) == (scene.order.order_id, "en_route"),
        path={"order_id": scene.order.order_id},
        body={"status": "en_route"},  # the technician is the token's, never the body's
    )


@exchange("POST", "/orders/{order_id}/accept")
def an_accepted_offer(scene: Scene) -> Exchange:
    house = new_household(auto_accept=False)
    offered = invoke(event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0])))
    assert offered["outcome"] == "offered", offered
    return Exchange(
        scene.identity.user("technician", technician_id=house.technician_id),
        lambda body: (
            (body["status"], body["offer"]["status"], body["offer"]["technician_id"])
            == ("dispatched", "accepted", house.technician_id)
        ),
        path={"order_id": offered["order_id"]},
    )


@exchange("POST", "/orders/{order_id}/assign")
def an_assignment_by_hand(scene: Scene) -> Exchange:
    house = new_household(with_technician=False)
    stranded = invoke(event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0])))
    assert stranded["outcome"] == "no_technician", stranded
    technician_id = add_technician(house)
    return Exchange(
        scene.operator,
        lambda body: (
            (body["status"], body["offer"]["technician_id"], body["needs_triage"])
            == ("dispatched", technician_id, False)
        ),
        path={"order_id": stranded["order_id"]},
        body={"technician_id": technician_id},
    )


@exchange("GET", "/triage/orders")
def the_triage_queue(scene: Scene) -> Exchange:
    return Exchange(
        scene.operator,
        lambda body: scene.stranded.order_id in {o["order_id"] for o in body["orders"]},
    )


@exchange("GET", "/triage/rejections")
def the_days_rejections_by_reason(scene: Scene) -> Exchange:
    return Exchange(
        scene.operator,
        lambda body: (
            body["counts"].get("malformed_json", 0) >= 1
            and scene.house.thing in {r["rejection"]["thing_name"] for r in body["rejections"]}
        ),
        query={"day": datetime.now(UTC).date().isoformat()},
    )


@exchange("GET", "/triage/dead-letters")
def the_dead_letters(scene: Scene) -> Exchange:
    return Exchange(scene.operator, lambda body: isinstance(body["dead_letters"], list))


@exchange("GET", "/my/orders")
def my_orders(scene: Scene) -> Exchange:
    return Exchange(
        scene.homeowner,
        lambda body: order_ids(body) == {scene.order.order_id} and body["next_cursor"] is None,
        query={"status": "dispatched", "limit": "20"},
    )


@exchange("GET", "/my/homes")
def my_homes(scene: Scene) -> Exchange:
    return Exchange(
        scene.homeowner,
        lambda body: (
            [(h["home_id"], [a["thing_name"] for a in h["appliances"]]) for h in body["homes"]]
            == [(scene.house.home.home_id, [scene.house.thing])]
        ),
    )


@exchange("GET", "/homes/{home_id}/policy")
def a_homes_policy(scene: Scene) -> Exchange:
    return Exchange(
        scene.homeowner,
        lambda body: body["auto_approve"] is True and body["emergencies_always"] is True,
        path={"home_id": scene.house.home.home_id},
    )


@exchange("PUT", "/homes/{home_id}/policy")
def setting_a_policy(scene: Scene) -> Exchange:
    return Exchange(
        scene.homeowner,
        lambda body: (body["auto_approve"], body["max_auto_cost"]) == (False, 250.0),
        path={"home_id": scene.house.home.home_id},
        body={"auto_approve": False, "max_auto_cost": 250.0},
    )


@exchange("POST", "/homes/{home_id}/appliances")
def pairing_an_appliance(scene: Scene) -> Exchange:
    made = made_appliance(scene.house, serial="SN-PRINTED-1")
    return Exchange(
        scene.homeowner,
        lambda body: (body["thing_name"], body["share_outcomes"]) == (made.thing_name, False),
        path={"home_id": scene.house.home.home_id},
        body={"thing_name": made.thing_name, "serial": made.serial},
    )


@exchange("DELETE", "/homes/{home_id}/appliances/{thing_name}")
def unpairing_an_appliance(scene: Scene) -> Exchange:
    made = made_appliance(scene.house, serial="SN-PRINTED-1")
    dependencies().registry.pair(made.thing_name, scene.house.home)
    return Exchange(
        scene.homeowner,
        lambda body: (
            body
            == {
                "home_id": scene.house.home.home_id,
                "thing_name": made.thing_name,
                "unpaired": True,
            }
        ),
        path={"home_id": scene.house.home.home_id, "thing_name": made.thing_name},
    )


@exchange("PUT", "/homes/{home_id}/appliances/{thing_name}/consent")
def consenting_to_share_outcomes(scene: Scene) -> Exchange:
    return Exchange(
        scene.homeowner,
        lambda body: (body["thing_name"], body["share_outcomes"]) == (scene.house.thing, True),
        path={"home_id": scene.house.home.home_id, "thing_name": scene.house.thing},
        body={"share_outcomes": True},
    )


@exchange("POST", "/orders/{order_id}/self-fix")
def fixed_with_the_guide(scene: Scene) -> Exchange:
    code = codes_of(scene.house.appliance, self_fix=True)[0]
    opened = invoke(event_for(scene.house.thing, fault(code)))
    assert opened["outcome"] == "opened"
    return Exchange(
        scene.homeowner,
        lambda body: (body["order_id"], body["status"]) == (opened["order_id"], "self_fixed"),
        path={"order_id": opened["order_id"]},
        body={"result": "fixed"},
    )


@exchange("POST", "/orders/{order_id}/rating")
def rating_a_visit(scene: Scene) -> Exchange:
    completed = complete(scene.order)
    return Exchange(
        scene.homeowner,
        lambda body: body["status"] == "completed" and body["rating"]["stars"] == 5,
        path={"order_id": completed.order_id},
        body={"stars": 5, "comment": "On time, explained everything."},
    )


def waiting_order() -> RepairOrder:
    """A new order awaiting its homeowner's approval, in a household of its own."""
    house = new_household(auto_approve=False)
    opened = invoke(event_for(house.thing, fault(waiting_codes(house.appliance)[0])))
    assert opened["outcome"] == "opened", opened
    return present(dependencies().orders.get(opened["order_id"]))


def first_window(order_id: str) -> dict[str, str]:
    windows = dependencies().order_actions.ticket(order_id, lambda _order: True).windows
    return windows[0].model_dump(mode="json")


@exchange("GET", "/orders/{order_id}/ticket")
def a_ticket(scene: Scene) -> Exchange:
    return Exchange(
        scene.homeowner,
        lambda body: (
            (body["order_id"], body["booked"]["technician_name"])
            == (scene.order.order_id, present(scene.order.offer).technician_name)
        ),
        path={"order_id": scene.order.order_id},
    )


@exchange("POST", "/orders/{order_id}/approve")
def an_approval(scene: Scene) -> Exchange:
    order = waiting_order()
    window = first_window(order.order_id)
    return Exchange(
        scene.operator,
        lambda body: (
            (body["status"], body["approval"]["window"]["start"][:16])
            == ("dispatched", window["start"][:16])
        ),
        path={"order_id": order.order_id},
        body={"window": window},
    )


@exchange("POST", "/orders/{order_id}/decline")
def a_decline(scene: Scene) -> Exchange:
    order = waiting_order()
    return Exchange(
        scene.operator,
        lambda body: body["status"] == "declined",
        path={"order_id": order.order_id},
        body={"reason": "too expensive"},
    )


@exchange("POST", "/orders/{order_id}/reschedule")
def a_reschedule(scene: Scene) -> Exchange:
    window = first_window(scene.order.order_id)
    return Exchange(
        scene.homeowner,
        lambda body: body["offer"]["window"]["start"][:16] == window["start"][:16],
        path={"order_id": scene.order.order_id},
        body={"window": window},
    )


@exchange("POST", "/orders/{order_id}/cancel")
def a_cancellation(scene: Scene) -> Exchange:
    return Exchange(
        scene.homeowner,
        lambda body: body["status"] == "cancelled",
        path={"order_id": scene.order.order_id},
        body={"reason": "fixed by a neighbour"},
    )


@exchange("GET", "/app")
def the_web_page(scene: Scene) -> Exchange:
    # Public: a browser opening the link has no token. The page holds no data of anyone.
    return Exchange(
        None,
        lambda page: (
            '<html lang="en">' in page
            and scene.order.order_id not in page
            and scene.house.home.home_id not in page
        ),
    )


@pytest.fixture
def scene(household: Callable[..., Household], identity: Identity) -> Scene:
    house = household()
    opened = invoke(event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0])))
    assert opened["outcome"] == "dispatched"
    rejected = invoke(event_for(house.thing, b'{"event_id": "half'))
    assert rejected["outcome"] == "rejected"
    remote = household(with_technician=False)
    stranded = invoke(event_for(remote.thing, fault(codes_of(remote.appliance, self_fix=False)[0])))
    assert stranded["outcome"] == "no_technician"
    return Scene(
        order=present(dependencies().orders.get(opened["order_id"])),
        house=house,
        stranded=present(dependencies().orders.get(stranded["order_id"])),
        homeowner=identity.user("homeowner", homes=[house.home.home_id]),
        technician=identity.user("technician", technician_id=house.technician_id),
        operator=identity.user("operator"),
        identity=identity,
    )


@pytest.mark.parametrize("route", sorted(chalice_routes()), ids=" ".join)
def test_a_recorded_event_of_every_route_gets_its_answer(route: Route, scene: Scene) -> None:
    if route not in EXCHANGES:
        pytest.fail(f"say who calls {route} and what it answers: an @exchange in {__name__}")
    asked = EXCHANGES[route](scene)
    token = asked.caller.token if asked.caller else None
    event = api_request(route, token=token, path=asked.path, query=asked.query, body=asked.body)
    answer = call_api(event)
    assert answer.status == 200, answer.text
    is_page = answer.headers.get("Content-Type", "").startswith("text/html")
    assert asked.is_right(answer.text if is_page else answer.json()), answer.text


# --------------------------------------------------------------------------- the old failure


def test_an_http_api_payload_2_event_is_an_unknown_request_to_chalice() -> None:
    # What the template used to send (an HttpApi `/{proxy+}` route): chalice routes by
    # requestContext.resourcePath, which payload 2.0 does not have.
    event = json.loads((EVENTS_DIR / "http_api" / "get_order_payload_2_0.json").read_text())
    answer = call_api(event)
    assert answer.status == 500 and "Unknown request" in answer.text


def test_a_catch_all_proxy_resource_is_no_route_of_the_app(identity: Identity) -> None:
    # A REST API with one `/{proxy+}` resource: the app has no route of that name (chalice
    # itself would answer 405); it never reaches a view, whatever the path.
    event = api_request(
        ("GET", "/orders/{order_id}"),
        token=identity.user("operator").token,
        path={"order_id": "ord_1"},
    )
    event["resource"] = event["requestContext"]["resourcePath"] = "/{proxy+}"
    event["pathParameters"] = {"proxy": "orders/ord_1"}
    answer = call_api(event)
    assert answer.status == 404 and answer.json()["code"] == "not_found", answer.text
    assert "/{proxy+}" not in app.routes


def test_the_template_declares_no_http_api() -> None:
    resources = load_template()["Resources"].values()
    kinds = {r["Type"] for r in resources}
    assert not kinds & {"AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api"}
    events = [
        event
        for r in resources
        if r["Type"] == SERVERLESS_FUNCTION
        for event in (r["Properties"].get("Events") or {}).values()
    ]
    assert "HttpApi" not in {e["Type"] for e in events}
    assert all(e["Properties"].get("PayloadFormatVersion") != "2.0" for e in events)
