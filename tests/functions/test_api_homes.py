"""The homeowner's side of the API: their orders and homes, the home's policy, pairing and
unpairing appliances, consent, self-fix results and ratings. Real tokens, the emulator's
tables; every bad request is a 4xx with a clear message and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from functions.common.wiring import dependencies
from functions.dal.registry import UNPAIRED
from functions.domain.catalog import default_catalog
from functions.domain.learning import counts_key
from functions.logic.homes import PAIRING_ATTEMPTS
from schemas.orders import OrderStatus, RejectionReason, RepairOrder
from tests.factories import present
from tests.functions.conftest import (
    Household,
    Identity,
    SignedIn,
    made_appliance,
    published_status,
)
from tests.functions.events import codes_of, complete, event_for, fault, invoke, waiting_codes

ERROR_KEYS = {"code", "message", "request_id"}


def call(
    client: Client, method: str, path: str, by: SignedIn, body: dict[str, Any] | str | None = None
) -> Any:
    headers = {"Authorization": by.authorization, "Content-Type": "application/json"}
    if body is None:
        return client.http.request(method, path, headers=headers)
    text = body if isinstance(body, str) else json.dumps(body)
    return client.http.request(method, path, headers=headers, body=text.encode())


def refused(response: Any, status: int) -> str:
    """The error's message, after checking the status and the one error shape."""
    assert response.status_code == status, response.body
    assert set(response.json_body) == ERROR_KEYS
    return str(response.json_body["message"])


def same_answer(one: Any, other: Any) -> bool:
    """Two answers a caller cannot tell apart (the request id aside)."""
    return (one.status_code, {**one.json_body, "request_id": "-"}) == (
        other.status_code,
        {**other.json_body, "request_id": "-"},
    )


def opened(house: Household, code: str) -> RepairOrder:
    answer = invoke(event_for(house.thing, fault(code)))
    return present(dependencies().orders.get(answer["order_id"]))


def owner_of(identity: Identity, *houses: Household) -> SignedIn:
    return identity.user("homeowner", homes=[h.home.home_id for h in houses])


# --------------------------------------------------------------------------- my orders


def test_my_orders_merge_my_homes_newest_first_a_page_at_a_time(client, household, identity):
    # Given a homeowner with two homes, four orders waiting in them, and a neighbour's order
    first, second = household(auto_approve=False), household(auto_approve=False)
    created = [
        opened(first, waiting_codes(first.appliance)[0]),
        opened(second, waiting_codes(second.appliance)[0]),
        opened(first, waiting_codes(first.appliance)[1]),
        opened(second, waiting_codes(second.appliance)[1]),
    ]
    neighbour = household(auto_approve=False)
    opened(neighbour, waiting_codes(neighbour.appliance)[0])
    owner = owner_of(identity, first, second)
    # When they list them three at a time
    page = call(client, "GET", "/my/orders?limit=3", owner)
    assert page.status_code == 200, page.body
    rest = call(client, "GET", f"/my/orders?limit=3&cursor={page.json_body['next_cursor']}", owner)
    # Then they see their own orders only, newest first, across both homes, then no cursor
    listed = [o["order_id"] for o in page.json_body["orders"] + rest.json_body["orders"]]
    assert listed == [o.order_id for o in reversed(created)]
    assert rest.json_body["next_cursor"] is None
    summary = page.json_body["orders"][0]
    assert summary["title"] == created[-1].diagnosis.title and summary["window"] is None
    assert set(summary) == {
        "order_id",
        "home_id",
        "thing_name",
        "status",
        "title",
        "urgency",
        "created_at",
        "updated_at",
        "window",
    }


def test_my_orders_filter_by_status(client, household, identity):
    # Given one order waiting and one dispatched (with its booked window)
    house = household(auto_approve=False)
    waiting = opened(house, waiting_codes(house.appliance)[0])
    emergency = next(
        c
        for c in codes_of(house.appliance, self_fix=False)
        if c not in waiting_codes(house.appliance)
    )
    dispatched = opened(house, emergency)
    assert dispatched.status is OrderStatus.DISPATCHED and dispatched.offer is not None
    owner = owner_of(identity, house)
    # When they list each status
    by_status = {
        status: call(client, "GET", f"/my/orders?status={status}&limit=1", owner).json_body
        for status in ("awaiting_approval", "dispatched", "completed")
    }
    # Then each lists its own, even one page at a time past the filter
    assert [o["order_id"] for o in by_status["awaiting_approval"]["orders"]] == [waiting.order_id]
    [booked] = by_status["dispatched"]["orders"]
    assert booked["order_id"] == dispatched.order_id
    assert booked["window"] == json.loads(dispatched.offer.window.model_dump_json())
    assert by_status["completed"] == {"orders": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("status=fixed", "unknown status 'fixed'"),
        ("limit=0", "limit must be a whole number from 1 to 100"),
        ("limit=101", "limit must be a whole number from 1 to 100"),
        ("limit=ten", "limit must be a whole number from 1 to 100"),
        ("cursor=%25%25%25", "cursor is not one this API handed out"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor is not one this API handed out"),
        ("cursor=" + "QUFB" * 80, "cursor is not one this API handed out"),
    ],
)
def test_a_bad_query_is_a_400_that_says_what_is_wrong(client, household, identity, query, words):
    owner = owner_of(identity, household())
    assert words in refused(call(client, "GET", f"/my/orders?{query}", owner), 400)


def test_a_homeowner_with_no_home_has_no_orders_and_no_homes(client, identity):
    nobody = identity.user("homeowner")
    assert call(client, "GET", "/my/orders", nobody).json_body == {
        "orders": [],
        "next_cursor": None,
    }
    assert call(client, "GET", "/my/homes", nobody).json_body == {"homes": []}


# --------------------------------------------------------------------------- my homes, policy


def test_my_homes_show_policy_and_appliances_but_never_a_serial(client, household, identity):
    house = household(auto_approve=False)
    answer = call(client, "GET", "/my/homes", owner_of(identity, house))
    assert answer.status_code == 200
    [home] = answer.json_body["homes"]
    assert home["home_id"] == house.home.home_id and home["policy"]["auto_approve"] is False
    assert home["appliances"] == [
        {
            "thing_name": house.thing,
            "manufacturer": house.appliance.manufacturer,
            "model": house.appliance.model,
            "category": house.appliance.category.value,
            "share_outcomes": False,
        }
    ]
    assert house.appliance.serial not in answer.body.decode()


def test_a_new_policy_decides_the_next_fault_at_once(client, household, identity):
    # Given a home that approves everything, and its homeowner
    house = household(auto_approve=True)
    owner = owner_of(identity, house)
    path = f"/homes/{house.home.home_id}/policy"
    # When they set a cost ceiling of 0 and ask for warranty repairs only... but not this one
    policy = {"auto_approve": False, "max_auto_cost": 0, "warranty_repairs": False}
    saved = call(client, "PUT", path, owner, policy)
    assert saved.status_code == 200, saved.body
    assert saved.json_body == {
        "auto_approve": False,
        "max_auto_cost": 0.0,
        "emergencies_always": True,
        "warranty_repairs": False,
        "preferred_windows": [],
    }
    assert call(client, "GET", path, owner).json_body == saved.json_body
    # Then the next fault waits for them (the registry's cached copy was not used)
    order = opened(house, next(c for c in waiting_codes(house.appliance) if c))
    assert order.status is OrderStatus.AWAITING_APPROVAL
    # And an operator reads the policy too
    assert call(client, "GET", path, identity.user("operator")).json_body == saved.json_body


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('{"auto_approve": tru', "JSON"),
        ({"auto_approve": True, "approve_all": True}, "approve_all"),
        ({"max_auto_cost": -5}, "max_auto_cost"),
        ({"preferred_windows": [{"start": "25:00", "end": "09:00"}]}, "preferred_windows"),
        ("[]", "should be an object"),
        ('{"auto_approve": true, "max_auto_cost": Infinity}', "Infinity is not a number"),
        ('{"auto_approve": true, "max_auto_cost": -Infinity}', "-Infinity is not a number"),
        ('{"auto_approve": true, "max_auto_cost": NaN}', "NaN is not a number"),
        ('{"auto_approve": true, "max_auto_cost": 1e400}', "1e400 is too large"),
        ('{"auto_approve": true, "max_auto_cost": 1' + "0" * 60 + "}", "at most 38 digits"),
        ('{"preferred_windows": [{"start": "08:00", "x": [[[1e999]]]}]}', "1e999 is too large"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ],
    ids=[
        "malformed",
        "unknown_field",
        "negative_ceiling",
        "bad_window",
        "not_an_object",
        "infinite_ceiling",
        "minus_infinite_ceiling",
        "nan_ceiling",
        "overflowing_ceiling",
        "huge_integer_ceiling",
        "nested_overflow",
        "deeply_nested",
    ],
)
def test_a_bad_policy_is_a_400_and_changes_nothing(client, household, identity, body, words):
    house = household(auto_approve=True)
    owner = owner_of(identity, house)
    path = f"/homes/{house.home.home_id}/policy"
    before = call(client, "GET", path, owner).json_body
    message = refused(call(client, "PUT", path, owner, body), 400)
    assert words.lower() in message.lower(), message
    assert call(client, "GET", path, owner).json_body == before


def test_an_oversized_body_is_a_413_and_changes_nothing(client, household, identity):
    house = household(auto_approve=True)
    owner = owner_of(identity, house)
    path = f"/homes/{house.home.home_id}/policy"
    huge = json.dumps({"auto_approve": False, "padding": "x" * 20_000})
    assert "over" in refused(call(client, "PUT", path, owner, huge), 413)
    assert call(client, "GET", path, owner).json_body["auto_approve"] is True


def test_someone_elses_home_is_answered_like_a_missing_one(client, household, identity):
    mine, theirs = household(), household()
    owner = owner_of(identity, mine)
    for method, suffix, body in [
        ("GET", "policy", None),
        ("PUT", "policy", {"auto_approve": False}),
        ("POST", "appliances", {"thing_name": theirs.thing, "serial": theirs.appliance.serial}),
        ("DELETE", f"appliances/{theirs.thing}", None),
        ("PUT", f"appliances/{theirs.thing}/consent", {"share_outcomes": True}),
    ]:
        foreign = call(client, method, f"/homes/{theirs.home.home_id}/{suffix}", owner, body)
        missing = call(client, method, f"/homes/home-nowhere/{suffix}", owner, body)
        assert refused(foreign, 404) == f"no home {theirs.home.home_id}"
        assert refused(missing, 404) == "no home home-nowhere"
    # Nothing changed over there
    registered = present(dependencies().registry.get_appliance(theirs.thing))
    assert registered.home.policy.auto_approve and not registered.appliance.share_outcomes


# --------------------------------------------------------------------------- pairing


def test_pairing_with_the_printed_serial_moves_the_appliance_into_the_home(
    client, household, identity
):
    # Given a made appliance and a homeowner holding it
    house = household(auto_approve=True)
    made = made_appliance(house, serial="SN-4711-AB")
    owner = owner_of(identity, house)
    path = f"/homes/{house.home.home_id}/appliances"
    # When they pair it with the serial printed on it (as a person types it)
    paired = call(
        client, "POST", path, owner, {"thing_name": made.thing_name, "serial": " sn-4711-ab"}
    )
    # Then it is in their home, listed there, and its faults open orders there
    assert paired.status_code == 200, paired.body
    assert paired.json_body["thing_name"] == made.thing_name and "serial" not in paired.json_body
    [home] = call(client, "GET", "/my/homes", owner).json_body["homes"]
    assert made.thing_name in [a["thing_name"] for a in home["appliances"]]
    answer = invoke(event_for(made.thing_name, fault(codes_of(made, self_fix=False)[0])))
    order = present(dependencies().orders.get(answer["order_id"]))
    assert order.home_id == house.home.home_id
    # And pairing it again answers the same (nothing moves)
    again = call(
        client, "POST", path, owner, {"thing_name": made.thing_name, "serial": made.serial}
    )
    assert again.status_code == 200 and again.json_body == paired.json_body


def test_a_wrong_serial_is_answered_exactly_like_an_unknown_or_a_neighbours_appliance(
    client, household, identity
):
    house, neighbour = household(), household()
    made = made_appliance(house)
    owner = owner_of(identity, house)
    path = f"/homes/{house.home.home_id}/appliances"

    def attempt(thing: str, serial: str) -> Any:
        return call(client, "POST", path, owner, {"thing_name": thing, "serial": serial})

    wrong = attempt(made.thing_name, "SN-GUESS")
    unknown = attempt("made-nothing", "SN-GUESS")
    # The neighbour's appliance, even with its true serial
    taken = attempt(neighbour.thing, neighbour.appliance.serial)
    assert refused(wrong, 404) == f"no appliance {made.thing_name}"
    assert refused(unknown, 404) == "no appliance made-nothing"
    assert refused(taken, 404) == f"no appliance {neighbour.thing}"
    assert set(wrong.headers) == set(unknown.headers) == set(taken.headers)
    assert same_answer(wrong, attempt(made.thing_name, "SN-GUESS"))
    # Nothing moved
    assert present(dependencies().registry.appliance(made.thing_name)).home_id == UNPAIRED
    still = present(dependencies().registry.get_appliance(neighbour.thing))
    assert still.home.home_id == neighbour.home.home_id


def test_failed_pairings_are_limited_per_user(client, household, identity):
    # Given a homeowner guessing serials
    house = household()
    made = made_appliance(house)
    guesser, other = owner_of(identity, house), owner_of(identity, house)
    path = f"/homes/{house.home.home_id}/appliances"
    for n in range(PAIRING_ATTEMPTS):
        guess = {"thing_name": made.thing_name, "serial": f"SN-{n}"}
        assert call(client, "POST", path, guesser, guess).status_code == 404
    # When they try again, even with the right serial
    right = {"thing_name": made.thing_name, "serial": made.serial}
    limited = call(client, "POST", path, guesser, right)
    # Then they must wait, told how long, and nothing was paired
    message = refused(limited, 429)
    assert limited.json_body["code"] == "too_many_requests"
    assert "too many failed pairing attempts; try again in" in message and "minute" in message
    assert present(dependencies().registry.appliance(made.thing_name)).home_id == UNPAIRED
    # And another user of the home is not limited by them
    assert call(client, "POST", path, other, right).status_code == 200


def test_successful_pairings_do_not_count_against_the_limit(client, household, identity):
    house = household()
    owner = owner_of(identity, house)
    path = f"/homes/{house.home.home_id}/appliances"
    for _ in range(PAIRING_ATTEMPTS + 1):
        made = made_appliance(house)
        pairing = {"thing_name": made.thing_name, "serial": made.serial}
        assert call(client, "POST", path, owner, pairing).status_code == 200
    for n in range(PAIRING_ATTEMPTS):
        guess = {"thing_name": made.thing_name + "x", "serial": f"SN-{n}"}
        assert call(client, "POST", path, owner, guess).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        '{"thing_name": "x", "serial": ',
        {"thing_name": "x"},
        {"thing_name": "x", "serial": ""},
        {"thing_name": "x", "serial": "SN", "home_id": "home-other"},
    ],
    ids=["malformed", "no_serial", "empty_serial", "unknown_field"],
)
def test_a_bad_pairing_body_is_a_400_and_not_a_failed_attempt(client, household, identity, body):
    house = household()
    made = made_appliance(house)
    owner = owner_of(identity, house)
    path = f"/homes/{house.home.home_id}/appliances"
    for _ in range(PAIRING_ATTEMPTS + 1):
        refused(call(client, "POST", path, owner, body), 400)
    pairing = {"thing_name": made.thing_name, "serial": made.serial}
    assert call(client, "POST", path, owner, pairing).status_code == 200


# --------------------------------------------------------------------------- unpairing


def test_an_unpaired_appliances_faults_are_rejected_as_unpaired(client, household, identity):
    # Given an appliance paired to a home, with no open order
    house, next_home = household(), household()
    made = made_appliance(house)
    owner = owner_of(identity, house)
    base = f"/homes/{house.home.home_id}/appliances"
    assert (
        call(
            client, "POST", base, owner, {"thing_name": made.thing_name, "serial": made.serial}
        ).status_code
        == 200
    )
    # When its homeowner unpairs it
    answer = call(client, "DELETE", f"{base}/{made.thing_name}", owner)
    # Then it leaves the home, and its faults open no order: a rejection says why
    assert answer.status_code == 200, answer.body
    assert answer.json_body == {
        "home_id": house.home.home_id,
        "thing_name": made.thing_name,
        "unpaired": True,
    }
    [home] = call(client, "GET", "/my/homes", owner).json_body["homes"]
    assert made.thing_name not in [a["thing_name"] for a in home["appliances"]]
    rejected = invoke(event_for(made.thing_name, fault(codes_of(made, self_fix=False)[0])))
    assert rejected["outcome"] == "rejected"
    assert rejected["reason"] == RejectionReason.UNPAIRED_THING.value
    # And the next owner pairs it with its serial
    buyer = owner_of(identity, next_home)
    moved = call(
        client,
        "POST",
        f"/homes/{next_home.home.home_id}/appliances",
        buyer,
        {"thing_name": made.thing_name, "serial": made.serial},
    )
    assert moved.status_code == 200
    registered = present(dependencies().registry.get_appliance(made.thing_name))
    assert registered.home.home_id == next_home.home.home_id


def test_an_appliance_with_open_orders_is_not_unpaired(client, household, identity):
    house = household(auto_approve=False)
    order = opened(house, waiting_codes(house.appliance)[0])
    owner = owner_of(identity, house)
    answer = call(client, "DELETE", f"/homes/{house.home.home_id}/appliances/{house.thing}", owner)
    message = refused(answer, 409)
    assert order.order_id in message and "cancel them or let them finish" in message
    assert present(dependencies().registry.get_appliance(house.thing)).home.home_id == (
        house.home.home_id
    )


def test_unpairing_an_appliance_not_in_the_home_is_a_404(client, household, identity):
    mine, theirs = household(), household()
    owner = owner_of(identity, mine)
    path = f"/homes/{mine.home.home_id}/appliances"
    assert refused(call(client, "DELETE", f"{path}/{theirs.thing}", owner), 404) == (
        f"no appliance {theirs.thing}"
    )
    assert refused(call(client, "DELETE", f"{path}/nothing-here", owner), 404) == (
        "no appliance nothing-here"
    )
    assert present(dependencies().registry.get_appliance(theirs.thing))


# --------------------------------------------------------------------------- consent


def test_a_manufacturer_reads_an_order_only_with_the_homeowners_consent(
    client, household, identity
):
    # Given a dispatched order, and the appliance's manufacturer
    house = household()
    order = opened(house, codes_of(house.appliance, self_fix=False)[0])
    owner = owner_of(identity, house)
    maker = identity.user("manufacturer", manufacturer=house.appliance.manufacturer)
    consent = f"/homes/{house.home.home_id}/appliances/{house.thing}/consent"
    read = f"/orders/{order.order_id}"
    # Then without consent (the default) the order does not exist for them
    assert refused(call(client, "GET", read, maker), 404) == f"no order {order.order_id}"
    # When the homeowner consents, they read it; when they withdraw it, no longer
    given = call(client, "PUT", consent, owner, {"share_outcomes": True})
    assert given.status_code == 200 and given.json_body["share_outcomes"] is True
    assert call(client, "GET", read, maker).status_code == 200
    assert call(client, "PUT", consent, owner, {"share_outcomes": False}).status_code == 200
    assert call(client, "GET", read, maker).status_code == 404


@pytest.mark.parametrize(
    "body", [{"share_outcomes": "yes please"}, {}, {"share_outcomes": True, "all": True}]
)
def test_a_bad_consent_is_a_400_and_changes_nothing(client, household, identity, body):
    house = household()
    owner = owner_of(identity, house)
    path = f"/homes/{house.home.home_id}/appliances/{house.thing}/consent"
    refused(call(client, "PUT", path, owner, body), 400)
    assert not present(dependencies().registry.appliance(house.thing)).share_outcomes


def test_consent_for_an_appliance_not_in_the_home_is_a_404(client, household, identity):
    mine, theirs = household(), household()
    path = f"/homes/{mine.home.home_id}/appliances/{theirs.thing}/consent"
    answer = call(client, "PUT", path, owner_of(identity, mine), {"share_outcomes": True})
    assert refused(answer, 404) == f"no appliance {theirs.thing}"
    assert not present(dependencies().registry.appliance(theirs.thing)).share_outcomes


# --------------------------------------------------------------------------- self-fix


def self_fix_order(house: Household) -> RepairOrder:
    order = opened(house, codes_of(house.appliance, self_fix=True)[0])
    assert order.status is OrderStatus.AWAITING_APPROVAL and order.diagnosis.self_fix
    return order


def self_fixes_of(order: RepairOrder) -> int:
    family = present(default_catalog().family(order.manufacturer, order.model)).family
    key = counts_key(order.manufacturer, family, order.fault_code)
    return dependencies().learning.snapshot().self_fixed.get(key, 0)


def test_fixed_closes_the_order_and_counts_a_self_fix_success(client, household, identity):
    # Given an order holding the truck for a self-fix guide
    house = household(auto_approve=True)
    order = self_fix_order(house)
    counted = self_fixes_of(order)
    # When the homeowner fixed it with the guide
    answer = call(
        client,
        "POST",
        f"/orders/{order.order_id}/self-fix",
        owner_of(identity, house),
        {"result": "fixed"},
    )
    # Then it is closed, learning counts it once, and the appliance is told
    assert answer.status_code == 200, answer.body
    assert answer.json_body["status"] == "self_fixed"
    assert present(dependencies().orders.get(order.order_id)).status is OrderStatus.SELF_FIXED
    assert self_fixes_of(order) == counted + 1
    assert json.loads(published_status(house.thing)[-1])["status"] == "self_fixed"
    # And the fault may open a new order when it comes back
    again = opened(house, order.fault_code)
    assert again.order_id != order.order_id


def test_still_broken_goes_on_to_approval_and_the_policy_dispatches_it(client, household, identity):
    # Given a home that approves everything, and an order held for a self-fix guide
    house = household(auto_approve=True)
    order = self_fix_order(house)
    # When the homeowner tried the guide and it is still broken
    answer = call(
        client,
        "POST",
        f"/orders/{order.order_id}/self-fix",
        owner_of(identity, house),
        {"result": "still_broken"},
    )
    # Then the policy approves it and it is dispatched through the usual dispatch
    assert answer.status_code == 200, answer.body
    body = answer.json_body
    assert body["status"] == "dispatched" and body["self_fix_tried"] is True
    assert body["offer"]["technician_id"] == house.technician_id
    steps = [(t["to_status"], t["by"]) for t in body["history"]]
    assert ("approved", "policy") in steps
    assert json.loads(published_status(house.thing)[-1])["status"] == "dispatched"


def test_still_broken_waits_for_the_homeowner_under_the_default_policy(client, household, identity):
    house = household(auto_approve=False)
    order = self_fix_order(house)
    owner = owner_of(identity, house)
    path = f"/orders/{order.order_id}/self-fix"
    answer = call(client, "POST", path, owner, {"result": "still_broken"})
    assert answer.status_code == 200, answer.body
    assert answer.json_body["status"] == "awaiting_approval"
    assert answer.json_body["self_fix_tried"] is True
    assert answer.json_body["history"][-1]["reason"].endswith("still broken")
    # Saying it twice answers the order as it is
    again = call(client, "POST", path, owner, {"result": "still_broken"})
    assert again.status_code == 200 and again.json_body["version"] == answer.json_body["version"]


def test_a_self_fix_result_for_an_order_without_a_guide_or_past_approval_is_a_409(
    client, household, identity
):
    house = household(auto_approve=False)
    no_guide = opened(house, waiting_codes(house.appliance)[0])
    owner = owner_of(identity, house)
    answer = call(
        client, "POST", f"/orders/{no_guide.order_id}/self-fix", owner, {"result": "fixed"}
    )
    assert "has no self-fix guide" in refused(answer, 409)
    guided = self_fix_order(house)
    closed = call(client, "POST", f"/orders/{guided.order_id}/self-fix", owner, {"result": "fixed"})
    assert closed.status_code == 200
    # Closed means closed: neither a late answer nor the same "fixed" again is a success
    for result in ("still_broken", "fixed"):
        late = call(
            client, "POST", f"/orders/{guided.order_id}/self-fix", owner, {"result": result}
        )
        assert f"order {guided.order_id} is closed (self_fixed)" in refused(late, 409)
    assert present(dependencies().orders.get(no_guide.order_id)).version == no_guide.version


@pytest.mark.parametrize(
    ("action", "outcome"),
    [("self-fix", OrderStatus.SELF_FIXED), ("approve", OrderStatus.DISPATCHED)],
)
def test_a_repeat_folded_in_between_the_read_and_the_write_refuses_no_action(
    client, household, identity, monkeypatch, action, outcome
):
    # Given an order held for its self-fix guide, which its homeowner may also approve
    house = household(auto_approve=False)
    order = self_fix_order(house)
    owner = owner_of(identity, house)
    windows = call(client, "GET", f"/orders/{order.order_id}/ticket", owner).json_body["windows"]
    body = {"result": "fixed"} if action == "self-fix" else {"window": windows[0]}
    # And the appliance re-reporting its fault just after the action reads the order
    orders = dependencies().orders
    real_get = orders.get
    repeat = f"evt-{order.order_id}-again"

    def get_as_a_repeat_arrives(order_id: str) -> RepairOrder | None:
        read = real_get(order_id)
        if read is not None and read.occurrences == 1:
            orders.fold_repeat(order_id, house.thing, repeat)
        return read

    monkeypatch.setattr(orders, "get", get_as_a_repeat_arrives)
    # When the homeowner acts
    answer = call(client, "POST", f"/orders/{order.order_id}/{action}", owner, body)
    # Then the action is taken on the order as it is now, and the repeat still counts on it
    assert answer.status_code == 200, answer.body
    stored = present(real_get(order.order_id))
    assert stored.status is outcome and stored.occurrences == 2
    assert repeat in stored.event_ids


@pytest.mark.parametrize(
    "body", ['{"result": ', {"result": "maybe"}, {"result": "fixed", "note": "x"}, {}]
)
def test_a_bad_self_fix_body_is_a_400_and_changes_nothing(client, household, identity, body):
    house = household(auto_approve=False)
    order = self_fix_order(house)
    path = f"/orders/{order.order_id}/self-fix"
    refused(call(client, "POST", path, owner_of(identity, house), body), 400)
    assert present(dependencies().orders.get(order.order_id)).version == order.version


def test_someone_elses_order_is_answered_like_a_missing_one(client, household, identity):
    house, other = household(auto_approve=False), household()
    order = self_fix_order(house)
    stranger = owner_of(identity, other)
    for suffix, body in (("self-fix", {"result": "fixed"}), ("rating", {"stars": 1})):
        foreign = call(client, "POST", f"/orders/{order.order_id}/{suffix}", stranger, body)
        missing = call(client, "POST", f"/orders/ord_nothing/{suffix}", stranger, body)
        assert refused(foreign, 404) == f"no order {order.order_id}"
        assert refused(missing, 404) == "no order ord_nothing"
    assert present(dependencies().orders.get(order.order_id)).version == order.version


# --------------------------------------------------------------------------- rating


def test_a_completed_visit_is_rated_once_and_feeds_the_technicians_profile(
    client, household, identity
):
    # Given a completed visit
    house = household()
    order = complete(opened(house, codes_of(house.appliance, self_fix=False)[0]))
    technicians = dependencies().technicians
    before = present(technicians.get(present(house.technician_id)))
    owner = owner_of(identity, house)
    path = f"/orders/{order.order_id}/rating"
    # When the homeowner rates it
    answer = call(client, "POST", path, owner, {"stars": 2, "comment": "Late, but fixed."})
    # Then the order carries the rating and the profile counts it, cell copies too
    assert answer.status_code == 200, answer.body
    assert answer.json_body["rating"]["stars"] == 2
    assert answer.json_body["rating"]["comment"] == "Late, but fixed."
    after = present(technicians.get(present(house.technician_id)))
    assert (after.ratings_count, after.ratings_total) == (
        before.ratings_count + 1,
        before.ratings_total + 2,
    )
    assert after.active_orders == before.active_orders
    [copy] = [
        t
        for t in technicians.candidates_near(house.home.location, house.appliance.category)
        if t.technician_id == house.technician_id
    ]
    assert (copy.ratings_count, copy.ratings_total) == (after.ratings_count, after.ratings_total)
    # And a second rating is refused, changing nothing
    second = call(client, "POST", path, owner, {"stars": 5})
    assert "rated already" in refused(second, 409)
    assert present(technicians.get(present(house.technician_id))).ratings_count == (
        after.ratings_count
    )
    assert (
        present(dependencies().orders.get(order.order_id)).rating
        == order.model_validate(answer.json_body).rating
    )


@pytest.mark.parametrize(
    "body",
    [
        {"stars": 0},
        {"stars": 6},
        {"stars": "5"},
        {"stars": 3.5},
        {"stars": 4, "comment": "x" * 1001},
        {"stars": 4, "technician_id": "tech-1"},
        '{"stars": 4',
    ],
    ids=["zero", "six", "text", "fraction", "long_comment", "unknown_field", "malformed"],
)
def test_a_bad_rating_is_a_400_and_changes_nothing(client, household, identity, body):
    house = household()
    order = complete(opened(house, codes_of(house.appliance, self_fix=False)[0]))
    path = f"/orders/{order.order_id}/rating"
    refused(call(client, "POST", path, owner_of(identity, house), body), 400)
    assert present(dependencies().orders.get(order.order_id)).rating is None


def test_an_order_not_completed_cannot_be_rated(client, household, identity):
    house = household()
    order = opened(house, codes_of(house.appliance, self_fix=False)[0])
    assert order.status is OrderStatus.DISPATCHED
    answer = call(
        client, "POST", f"/orders/{order.order_id}/rating", owner_of(identity, house), {"stars": 5}
    )
    assert "is dispatched: only a completed visit can be rated" in refused(answer, 409)
    assert present(dependencies().orders.get(order.order_id)).rating is None


# --------------------------------------------------------------------------- emergencies


def test_an_emergency_at_a_home_without_auto_approval_is_dispatched_at_once(household):
    # Given the default policy (no auto-approval; emergencies always)
    house = household(auto_approve=False)
    emergency = next(
        c
        for c in codes_of(house.appliance, self_fix=False)
        if c not in waiting_codes(house.appliance)
    )
    # When the appliance reports an emergency
    order = opened(house, emergency)
    # Then nobody has to approve it: it is dispatched
    assert order.status is OrderStatus.DISPATCHED
    assert ("approved", "policy") in [(t.to_status.value, t.by) for t in order.history]
