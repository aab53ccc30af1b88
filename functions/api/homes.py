"""The homeowner's views: their orders and homes, the home's approval policy, pairing and
unpairing appliances (proof of possession), consent. What they do on an order is in
functions.api.tickets.

Someone else's home or appliance is answered exactly like one that does not exist. Each
route declares whose home it takes (`owner`), checked before the body is read, so a body
never tells a stranger anything.
"""

from __future__ import annotations

from chalice import BadRequestError

from functions.api.access import HOMEOWNERS, HOMEOWNERS_AND_OPERATORS, Caller
from functions.api.errors import HomeNotFound
from functions.api.routing import logger, query_param, route
from functions.common.wiring import dependencies
from functions.logic.homes import DEFAULT_PAGE, MAX_PAGE
from schemas.api import HomeOrders
from schemas.homes import (
    ApplianceSummary,
    Consent,
    MyHomes,
    MyOrders,
    Pairing,
    PolicyUpdate,
    Unpaired,
)
from schemas.orders import OrderStatus
from schemas.registry import ApprovalPolicy


def _own_home(caller: Caller, home_id: str, **_: str) -> None:
    """The home is the caller's (a homeowner's own); else HomeNotFound (404)."""
    if not caller.owns_home(home_id):
        raise HomeNotFound(home_id)


def _visible_home(caller: Caller, home_id: str) -> None:
    """The home is the caller's, or the caller is an operator and it exists; else
    HomeNotFound (404)."""
    if not caller.may_list_home(home_id, dependencies().registry):
        raise HomeNotFound(home_id)


def _status_param() -> OrderStatus | None:
    status = query_param("status")
    if not status:
        return None
    try:
        return OrderStatus(status)
    except ValueError:
        allowed = ", ".join(s.value for s in OrderStatus)
        raise BadRequestError(f"unknown status {status!r}; use one of: {allowed}") from None


def _limit_param() -> int:
    text = query_param("limit")
    if text is None:
        return DEFAULT_PAGE
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise BadRequestError(f"limit must be a whole number from 1 to {MAX_PAGE}, got {text!r}")
    return int(text)


@route(
    "/my/orders",
    admits=HOMEOWNERS,
    answer=MyOrders,
    summary="The caller's homes' orders, newest first, a page at a time",
    query={
        "status": "only orders in this status (any status, closed ones too)",
        "limit": f"orders per page, 1 to {MAX_PAGE} (default {DEFAULT_PAGE})",
        "cursor": "the next_cursor of the previous page",
    },
    errors=(400,),
)
def my_orders(caller: Caller) -> MyOrders:
    status, limit = _status_param(), _limit_param()
    return dependencies().homes.my_orders(
        caller.access.home_ids, status=status, limit=limit, cursor=query_param("cursor")
    )


@route(
    "/my/homes",
    admits=HOMEOWNERS,
    answer=MyHomes,
    summary="The caller's homes, with their approval policies and paired appliances",
)
def my_homes(caller: Caller) -> MyHomes:
    return dependencies().homes.my_homes(caller.access.home_ids)


@route(
    "/homes/{home_id}/orders",
    admits=HOMEOWNERS_AND_OPERATORS,
    answer=HomeOrders,
    summary="A home's orders, newest first: for its homeowner and operators",
    errors=(404,),
    owner=_visible_home,
)
def list_home_orders(caller: Caller, home_id: str) -> HomeOrders:
    return HomeOrders(home_id=home_id, orders=dependencies().orders.list_by_home(home_id))


@route(
    "/homes/{home_id}/policy",
    admits=HOMEOWNERS_AND_OPERATORS,
    answer=ApprovalPolicy,
    summary="The home's approval policy: for its homeowner and operators",
    errors=(404,),
    owner=_visible_home,
)
def get_policy(caller: Caller, home_id: str) -> ApprovalPolicy:
    return dependencies().homes.policy(home_id)


@route(
    "/homes/{home_id}/policy",
    method="PUT",
    admits=HOMEOWNERS,
    answer=ApprovalPolicy,
    body=PolicyUpdate,
    summary="Set the home's approval policy (the whole policy); new orders follow it",
    errors=(400, 404),
    owner=_own_home,
)
def put_policy(caller: Caller, policy: PolicyUpdate, home_id: str) -> ApprovalPolicy:
    saved = dependencies().homes.set_policy(home_id, policy)
    logger.info("policy set", extra={"home_id": home_id})
    return saved


@route(
    "/homes/{home_id}/appliances",
    method="POST",
    admits=HOMEOWNERS,
    answer=ApplianceSummary,
    body=Pairing,
    summary="Pair an appliance to the home: its thing name and the serial printed on it "
    "(a wrong serial is answered like an unknown appliance; failed attempts are limited)",
    errors=(400, 404, 429),
    owner=_own_home,
)
def pair_appliance(caller: Caller, pairing: Pairing, home_id: str) -> ApplianceSummary:
    paired = dependencies().homes.pair(
        caller.principal.user_id, home_id, pairing.thing_name, pairing.serial
    )
    logger.info("appliance paired", extra={"home_id": home_id, "thing_name": paired.thing_name})
    return paired


@route(
    "/homes/{home_id}/appliances/{thing_name}",
    method="DELETE",
    admits=HOMEOWNERS,
    answer=Unpaired,
    summary="Unpair an appliance from the home (refused while it has open orders); its "
    "faults are then rejected as unpaired until someone pairs it",
    errors=(404, 409),
    owner=_own_home,
)
def unpair_appliance(caller: Caller, home_id: str, thing_name: str) -> Unpaired:
    dependencies().homes.unpair(home_id, thing_name)
    logger.info("appliance unpaired", extra={"home_id": home_id, "thing_name": thing_name})
    return Unpaired(home_id=home_id, thing_name=thing_name)


@route(
    "/homes/{home_id}/appliances/{thing_name}/consent",
    method="PUT",
    admits=HOMEOWNERS,
    answer=ApplianceSummary,
    body=Consent,
    summary="Consent (or not) to share the appliance's repair outcomes with its manufacturer",
    errors=(400, 404),
    owner=_own_home,
)
def put_consent(
    caller: Caller, consent: Consent, home_id: str, thing_name: str
) -> ApplianceSummary:
    return dependencies().homes.consent(home_id, thing_name, consent.share_outcomes)
