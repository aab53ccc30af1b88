"""Authorization proven by a matrix: every route x every group x own and foreign resources
x no token and each bad token. Missing or invalid token -> 401; wrong group -> 403; someone
else's resource -> 404 with the body of a resource that does not exist; own -> 2xx. Never
a 5xx, never the data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client

from functions.api.app import ROUTES, app
from functions.api.routing import PUBLIC_PAGES
from functions.common.wiring import dependencies
from functions.dal.accounts import HOME, user_partition
from functions.dal.items import key
from infra.aws import DeployedStack
from infra.cognito import UserPoolIds, sign_in
from infra.emulator import boto3_session
from tests.factories import present
from tests.functions.conftest import (
    TEST_PASSWORD,
    Household,
    Identity,
    SignedIn,
    new_household,
)
from tests.functions.events import codes_of, event_for, fault, invoke
from tests.tokens import BadToken

GROUPS = ("homeowner", "technician", "manufacturer", "operator")
ERROR_KEYS = {"code", "message", "request_id"}

# The rules, written out here rather than read from the app: the test states them.
ADMITS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/"): frozenset(GROUPS),
    ("GET", "/orders/{order_id}"): frozenset(GROUPS),
    ("GET", "/homes/{home_id}/orders"): frozenset({"homeowner", "operator"}),
    ("GET", "/orders"): frozenset({"operator"}),
    ("GET", "/rejections"): frozenset({"operator"}),
    ("POST", "/orders/{order_id}/progress"): frozenset({"technician"}),
    ("GET", "/triage/orders"): frozenset({"operator"}),
    ("GET", "/triage/rejections"): frozenset({"operator"}),
    ("GET", "/triage/dead-letters"): frozenset({"operator"}),
    ("GET", "/my/orders"): frozenset({"homeowner"}),
    ("GET", "/my/homes"): frozenset({"homeowner"}),
    ("GET", "/homes/{home_id}/policy"): frozenset({"homeowner", "operator"}),
    ("PUT", "/homes/{home_id}/policy"): frozenset({"homeowner"}),
    ("POST", "/homes/{home_id}/appliances"): frozenset({"homeowner"}),
    ("DELETE", "/homes/{home_id}/appliances/{thing_name}"): frozenset({"homeowner"}),
    ("PUT", "/homes/{home_id}/appliances/{thing_name}/consent"): frozenset({"homeowner"}),
    ("POST", "/orders/{order_id}/self-fix"): frozenset({"homeowner", "operator"}),
    ("POST", "/orders/{order_id}/rating"): frozenset({"homeowner"}),
    ("GET", "/orders/{order_id}/ticket"): frozenset({"homeowner", "operator"}),
    ("POST", "/orders/{order_id}/approve"): frozenset({"homeowner", "operator"}),
    ("POST", "/orders/{order_id}/decline"): frozenset({"homeowner", "operator", "technician"}),
    ("POST", "/orders/{order_id}/reschedule"): frozenset({"homeowner", "operator"}),
    ("POST", "/orders/{order_id}/cancel"): frozenset({"homeowner", "operator"}),
    ("POST", "/orders/{order_id}/accept"): frozenset({"technician"}),
    ("POST", "/orders/{order_id}/assign"): frozenset({"operator"}),
}
# Routes open to anyone, token or not: documents with no one's data (the web page, whose
# script then calls the routes above with the user's token).
PUBLIC: frozenset[tuple[str, str]] = frozenset({("GET", "/app")})
# A body the progress route would take: it must not be what makes an answer differ.
STEP = {"status": "en_route"}
# The bodies the homeowner's order actions take, by the path's last part.
A_WINDOW = {"start": "2030-01-07T09:00:00+00:00", "end": "2030-01-07T11:00:00+00:00"}
ACTION_BODIES: dict[str, dict[str, Any]] = {
    "approve": {"window": A_WINDOW},
    "reschedule": {"window": A_WINDOW},
    "decline": {"reason": "not now"},
    "cancel": {"reason": "not now"},
    "assign": {"technician_id": "tech-x"},
}


@dataclass(frozen=True)
class World:
    """A dispatched order in one household, another household, and a user of every group
    who owns the first household's side (own) or the other's (foreign)."""

    order_id: str
    home_id: str
    thing_name: str
    own: dict[str, SignedIn]
    foreign: dict[str, SignedIn]


@pytest.fixture(scope="module")
def world(aws_stack: DeployedStack, user_pool: UserPoolIds) -> World:
    identity = Identity(user_pool)
    mine, theirs = new_household(), new_household(model_category="boiler")
    answer = invoke(event_for(mine.thing, fault(codes_of(mine.appliance, self_fix=False)[0])))
    assert answer["outcome"] == "dispatched"
    order = present(dependencies().orders.get(answer["order_id"]))
    assert theirs.appliance.manufacturer != order.manufacturer
    # Its homeowner shares the appliance's outcomes: its manufacturer may read the order
    dependencies().registry.set_consent(mine.thing, mine.home.home_id, True)

    def users(house: Household, maker: str) -> dict[str, SignedIn]:
        return {
            "homeowner": identity.user("homeowner", homes=[house.home.home_id]),
            "technician": identity.user("technician", technician_id=house.technician_id),
            "manufacturer": identity.user("manufacturer", manufacturer=maker),
            "operator": identity.user("operator"),
        }

    return World(
        order.order_id,
        mine.home.home_id,
        mine.thing,
        own=users(mine, order.manufacturer),
        foreign=users(theirs, theirs.appliance.manufacturer),
    )


def concrete(path: str, world: World, *, order_id: str | None = None) -> str:
    return path.format(
        order_id=order_id or world.order_id, home_id=world.home_id, thing_name=world.thing_name
    )


def call(
    client: Client, method: str, path: str, header: str | None, body: dict[str, Any] | None = None
) -> Any:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Authorization"] = header
    if method in ("POST", "PUT"):
        default = ACTION_BODIES.get(path.rsplit("/", 1)[-1], STEP)
        return client.http.request(
            method, path, headers=headers, body=json.dumps(body or default).encode()
        )
    return client.http.request(method, path, headers=headers)


def assert_refused(response: Any, status: int, world: World) -> None:
    """The status, the one error shape, and nothing of the order in it."""
    assert response.status_code == status, response.body
    body = response.json_body
    assert set(body) == ERROR_KEYS and body["request_id"]
    assert "diagnosis" not in response.body.decode()
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_matrix_covers_every_route_of_the_app():
    declared = {(r.method, r.path): frozenset(r.admits) for r in ROUTES}
    assert declared == ADMITS
    assert {(m, p) for p, methods in app.routes.items() for m in methods} == set(ADMITS) | PUBLIC
    assert {("GET", page.path) for page in PUBLIC_PAGES} == PUBLIC


@pytest.mark.parametrize(("method", "path"), sorted(PUBLIC))
def test_a_public_page_is_the_same_for_everyone_and_holds_no_data(
    client, world, bad_tokens, method, path
) -> None:
    # No token, a bad one, or any group's: the token is not read, and nothing differs.
    headers = [None, *(b.header for b in bad_tokens(world.own["homeowner"]))]
    headers += [user.authorization for user in (*world.own.values(), *world.foreign.values())]
    answers = [call(client, method, path, header) for header in headers]
    assert {a.status_code for a in answers} == {200}
    assert len({a.body for a in answers}) == 1
    page = answers[0].body.decode()
    assert world.order_id not in page and world.home_id not in page
    headers_of_page = answers[0].headers
    assert headers_of_page["Content-Type"].startswith("text/html")
    assert headers_of_page["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers_of_page["Content-Security-Policy"]


@pytest.mark.parametrize(("method", "path"), sorted(ADMITS))
def test_no_token_or_a_bad_one_is_a_401_on_every_route(
    client, world, bad_tokens, method, path
) -> None:
    # Even the owner's own claims, re-signed with one flaw each, are refused.
    owner = world.own["operator" if "operator" in ADMITS[(method, path)] else "technician"]
    cases: list[BadToken] = bad_tokens(owner)
    assert len(cases) == 13 and cases[0].header is None
    for bad in cases:
        response = call(client, method, concrete(path, world), bad.header)
        assert_refused(response, 401, world)
        assert bad.message in response.json_body["message"], bad.name
        assert response.json_body["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), sorted(ADMITS))
def test_a_group_the_route_does_not_admit_is_a_403(client, world, method, path) -> None:
    admitted = ADMITS[(method, path)]
    for group in set(GROUPS) - admitted:
        response = call(client, method, concrete(path, world), world.own[group].authorization)
        assert_refused(response, 403, world)
        assert response.json_body["message"] == f"this route is for: {', '.join(sorted(admitted))}"


def test_a_user_in_no_group_is_refused_everywhere(client, world, identity, user_pool) -> None:
    # A valid token of a user the administrators took out of every group
    user = identity.user("homeowner", homes=[world.home_id])
    session = boto3_session(user_pool.region)
    session.client("cognito-idp", endpoint_url=user_pool.endpoint_url).admin_remove_user_from_group(
        UserPoolId=user_pool.pool_id, Username=user.username, GroupName="homeowner"
    )
    token = sign_in(session, user_pool, user.username, TEST_PASSWORD)
    assert dependencies().token_verifier.verify(f"Bearer {token}").groups == frozenset()
    # The group check refuses it, even on routes any group may use and on its old home
    for method, path in sorted(ADMITS):
        response = call(client, method, concrete(path, world), f"Bearer {token}")
        assert_refused(response, 403, world)


RESOURCE_ROUTES = {
    ("GET", "/orders/{order_id}"): "no order {}",
    ("GET", "/homes/{home_id}/orders"): "no home {}",
    ("POST", "/orders/{order_id}/progress"): "no order {}",
    ("GET", "/homes/{home_id}/policy"): "no home {}",
    ("PUT", "/homes/{home_id}/policy"): "no home {}",
    ("POST", "/homes/{home_id}/appliances"): "no home {}",
    ("DELETE", "/homes/{home_id}/appliances/{thing_name}"): "no home {}",
    ("PUT", "/homes/{home_id}/appliances/{thing_name}/consent"): "no home {}",
    ("POST", "/orders/{order_id}/self-fix"): "no order {}",
    ("POST", "/orders/{order_id}/rating"): "no order {}",
    ("GET", "/orders/{order_id}/ticket"): "no order {}",
    ("POST", "/orders/{order_id}/approve"): "no order {}",
    ("POST", "/orders/{order_id}/decline"): "no order {}",
    ("POST", "/orders/{order_id}/reschedule"): "no order {}",
    ("POST", "/orders/{order_id}/cancel"): "no order {}",
    ("POST", "/orders/{order_id}/accept"): "no order {}",
    ("POST", "/orders/{order_id}/assign"): "no order {}",
}


def _missing(path: str, world: World) -> tuple[str, str]:
    """The same route on a resource that does not exist, and that resource's id."""
    if "{home_id}" in path:
        return path.format(home_id="home-missing", thing_name=world.thing_name), "home-missing"
    return path.format(order_id="ord_missing"), "ord_missing"


def _own_id(path: str, world: World) -> str:
    return world.home_id if "{home_id}" in path else world.order_id


@pytest.mark.parametrize(("method", "path"), sorted(RESOURCE_ROUTES))
def test_someone_elses_resource_answers_exactly_like_a_missing_one(
    client, world, method, path
) -> None:
    pattern = RESOURCE_ROUTES[(method, path)]
    missing_path, missing_id = _missing(path, world)
    for group in sorted(ADMITS[(method, path)]):
        users = [world.own[group]] + ([world.foreign[group]] if group != "operator" else [])
        for user in users:
            missing = call(client, method, missing_path, user.authorization)
            assert_refused(missing, 404, world)
            assert missing.json_body["message"] == pattern.format(missing_id)
        if group == "operator":
            continue  # operators own everything
        foreign = call(client, method, concrete(path, world), world.foreign[group].authorization)
        assert_refused(foreign, 404, world)
        like_missing = {**missing.json_body, "request_id": "-"}
        assert {**foreign.json_body, "request_id": "-"} == {
            **like_missing,
            "message": pattern.format(_own_id(path, world)),
        }
        assert set(foreign.headers) == set(missing.headers)


@pytest.mark.parametrize(
    ("method", "path"), sorted(k for k in ADMITS if k[0] == "GET"), ids=lambda v: str(v)
)
def test_own_resources_and_admitted_listings_answer_2xx(client, world, method, path) -> None:
    for group in sorted(ADMITS[(method, path)]):
        response = call(client, method, concrete(path, world), world.own[group].authorization)
        assert 200 <= response.status_code < 300, (group, response.body)
        assert "code" not in response.json_body


def test_the_route_index_lists_what_the_caller_may_use(client, world) -> None:
    for group in GROUPS:
        index = call(client, "GET", "/", world.own[group].authorization).json_body
        listed = {(r["method"], r["path"]) for r in index["routes"]}
        assert listed == {route for route, groups in ADMITS.items() if group in groups}


def test_a_homeowner_who_moved_out_sees_neither_the_home_nor_its_orders(
    client, world, identity
) -> None:
    leaving = identity.user("homeowner", homes=[world.home_id])
    order_path = f"/orders/{world.order_id}"
    home_path = f"/homes/{world.home_id}/orders"
    assert call(client, "GET", order_path, leaving.authorization).status_code == 200
    # They moved out: their grant of the home is gone (no route revokes one yet; the item
    # goes the way any grant would be removed).
    deps = dependencies()
    deps.clients.dynamodb.delete_item(
        TableName=deps.settings.accounts_table,
        Key=key(user_partition(leaving.user_id), f"{HOME}{world.home_id}"),
    )
    # The same, still valid token: ownership is read per request, never from the token.
    for path, message in (
        (order_path, f"no order {world.order_id}"),
        (home_path, f"no home {world.home_id}"),
    ):
        response = call(client, "GET", path, leaving.authorization)
        assert_refused(response, 404, world)
        assert response.json_body["message"] == message


def test_progress_takes_the_technician_from_the_token(client, identity, household) -> None:
    house, other = household(), household()
    answer = invoke(event_for(house.thing, fault(codes_of(house.appliance, self_fix=False)[0])))
    order_id = answer["order_id"]
    assigned = identity.user("technician", technician_id=house.technician_id)
    stranger = identity.user("technician", technician_id=other.technician_id)
    # Naming the assigned technician in the body does not make the stranger them
    forged = call(
        client,
        "POST",
        f"/orders/{order_id}/progress",
        stranger.authorization,
        {"status": "en_route", "technician_id": house.technician_id},
    )
    assert forged.status_code == 400 and "technician_id" in forged.json_body["message"]
    plain = call(client, "POST", f"/orders/{order_id}/progress", stranger.authorization)
    assert plain.status_code == 404 and plain.json_body["message"] == f"no order {order_id}"
    assert present(dependencies().orders.get(order_id)).status == "dispatched"
    # The assigned technician moves it on, and the history names them, from the token
    moved = call(client, "POST", f"/orders/{order_id}/progress", assigned.authorization)
    assert moved.status_code == 200 and moved.json_body["status"] == "en_route"
    assert moved.json_body["history"][-1]["by"] == house.technician_id
