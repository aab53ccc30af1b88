"""The AWS emulator with template.yaml deployed in it, and the functions' dependencies
provided to the handlers the tests call (as the local runtime provides them). The user pool
comes from the template too (``deploy_stack`` creates it through ``infra.cognito``): tests
sign users in with the standard call and send their real access tokens.

Tables come from the template itself (SAM transform, then a CloudFormation stack in moto),
so tests and deployment cannot drift. Status messages go to moto's IoT data plane.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iotdata.models import iotdata_backends

from functions.common.wiring import dependencies, provided
from functions.dal.due import DueIndex
from functions.dal.orders import OrdersTable
from functions.dal.registry import UNPAIRED
from functions.dal.visits import Visits
from functions.domain.catalog import default_catalog
from infra.aws import DeployedStack, deploy_stack
from infra.cognito import UserPoolIds, create_user, sign_in
from infra.emulator import boto3_session, start_moto
from infra.stack import REGION, function_dependencies, use_powertools_settings
from schemas.registry import Appliance, ApprovalPolicy, GeoPoint, Home
from tests.factories import a_technician, an_appliance
from tests.tokens import BadToken, SigningKey, TokenMinter
from tests.tokens import bad_tokens as bad_tokens_for


@pytest.fixture(scope="package")
def aws_stack() -> Iterator[DeployedStack]:
    with start_moto() as moto:
        deployed = deploy_stack(
            moto.url,
            stack_name="faultline-functions-test",
            parameters={"IotDataEndpoint": moto.url},
        )
        use_powertools_settings(deployed.template)
        with provided(function_dependencies(deployed, moto.url, moto.url)):
            yield deployed


_areas = itertools.count()


@dataclass
class Household:
    """A home of its own in an area of its own, with one appliance and (maybe) a technician."""

    home: Home
    appliance: Appliance
    technician_id: str | None

    @property
    def thing(self) -> str:
        return self.appliance.thing_name


def published_status(thing_name: str) -> list[bytes]:
    backend = iotdata_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [
        payload
        for topic, payload in backend.published_payloads
        if topic == f"cmd/repair/{thing_name}/status"
    ]


def new_household(
    *,
    auto_approve: bool = True,
    with_technician: bool = True,
    model_category: str = "washer",
    auto_accept: bool = True,
) -> Household:
    """A fresh household; areas are 2 degrees apart so technicians never overlap. Needs the
    emulator's dependencies provided (the `aws_stack` fixture). Its technician accepts
    offers at once unless `auto_accept` is False (then an approval makes an offer)."""
    n = next(_areas)
    location = GeoPoint(lat=-40 + 2 * (n % 40), lon=-120 + 4 * (n // 40))
    suffix = uuid.uuid4().hex[:8]
    home = Home(
        home_id=f"home-{suffix}",
        location=location,
        timezone="UTC",
        policy=ApprovalPolicy(auto_approve=auto_approve),
    )
    info = next(m for m in default_catalog().models() if m.category.value == model_category)
    appliance = an_appliance(
        thing_name=f"{model_category}-{suffix}",
        home_id=home.home_id,
        manufacturer=info.manufacturer,
        model=info.model,
        category=info.category,
    )
    dependencies().registry.put_home(home, [appliance])
    house = Household(home, appliance, None)
    tech_id = None
    if with_technician:
        tech_id = add_technician(house, auto_accept_offers=auto_accept)
    return Household(home, appliance, tech_id)


def add_technician(house: Household, **overrides: Any) -> str:
    """A technician qualified for the house's appliance (every skill certification, any
    hour), based 1 km from it; returns their id."""
    tech_id = f"tech-{uuid.uuid4().hex[:8]}"
    location = house.home.location
    fields: dict[str, Any] = {
        "technician_id": tech_id,
        "skills": [house.appliance.category],
        "home_base": GeoPoint(lat=location.lat + 0.01, lon=location.lon),
        "service_radius_km": 25,
        "certifications": ["gas_safe", "electrical", "refrigerant_handling"],
        "working_hours": {"weekdays": list(range(7)), "start": "00:00", "end": "23:59"},
    }
    dependencies().technicians.put(a_technician(**(fields | overrides)))
    return tech_id


def made_appliance(house: Household, serial: str = "SN-4711-AB") -> Appliance:
    """An appliance of the house's model that left the factory and no home paired yet:
    registered as seeding registers appliances (in a home of its own), then unpaired from
    it as an owner unpairs one, through the registry's own operations."""
    thing_name = f"made-{uuid.uuid4().hex[:8]}"
    factory = house.home.model_copy(update={"home_id": f"factory-{thing_name}"})
    made = house.appliance.model_copy(
        update={"thing_name": thing_name, "serial": serial, "home_id": factory.home_id}
    )
    registry = dependencies().registry
    registry.put_home(factory, [made])
    registry.unpair(thing_name, factory.home_id)
    return made.model_copy(update={"home_id": UNPAIRED, "share_outcomes": False})


@pytest.fixture
def household(aws_stack: DeployedStack) -> Callable[..., Household]:
    """Factory: `household(auto_approve=..., with_technician=..., model_category=...)`."""
    return new_household


# The orders table's dal objects, as the functions get them.


@pytest.fixture
def orders(aws_stack: DeployedStack) -> OrdersTable:
    return dependencies().orders


@pytest.fixture
def due(aws_stack: DeployedStack) -> DueIndex:
    return dependencies().due


@pytest.fixture
def visits(aws_stack: DeployedStack) -> Visits:
    return dependencies().visits


# --------------------------------------------------------------------------- identity

TEST_PASSWORD = "Test-Passw0rd-of-faultline"


@pytest.fixture(scope="package")
def user_pool(aws_stack: DeployedStack) -> UserPoolIds:
    """The template's user pool, app client and groups, in the test emulator."""
    assert aws_stack.user_pool is not None, "deploy_stack creates the template's user pool"
    return aws_stack.user_pool


@dataclass(frozen=True)
class SignedIn:
    """A user of the pool, signed in: its sub and its access token."""

    user_id: str
    username: str
    token: str

    @property
    def authorization(self) -> str:
        """The Authorization header value."""
        return f"Bearer {self.token}"


class Identity:
    """Makes users of a group who own what they are given, and signs them in."""

    def __init__(self, ids: UserPoolIds) -> None:
        self.ids = ids

    def user(
        self,
        group: str,
        *,
        homes: Iterable[str] = (),
        technician_id: str | None = None,
        manufacturer: str | None = None,
    ) -> SignedIn:
        session = boto3_session(self.ids.region)
        username = f"{group}-{uuid.uuid4().hex[:8]}"
        user_id = create_user(session, self.ids, username, TEST_PASSWORD, group)
        accounts = dependencies().accounts
        for home_id in homes:
            accounts.grant_home(user_id, home_id)
        if technician_id is not None:
            accounts.grant_technician(user_id, technician_id)
        if manufacturer is not None:
            accounts.grant_manufacturer(user_id, manufacturer)
        return SignedIn(user_id, username, sign_in(session, self.ids, username, TEST_PASSWORD))


@pytest.fixture
def identity(user_pool: UserPoolIds) -> Identity:
    """`identity.user("homeowner", homes=[...])` -> SignedIn (user_id, username, token)."""
    return Identity(user_pool)


@pytest.fixture
def bad_tokens(user_pool: UserPoolIds) -> Callable[[SignedIn | None], list[BadToken]]:
    """`bad_tokens(signed_in=None)` -> one BadToken per way a token is refused (header,
    expected TokenProblem, part of the message). Given a signed-in user, the bad tokens carry
    that user's claims, re-signed with the emulator's key: only the flaw makes them bad."""
    minter = TokenMinter(SigningKey.of_the_emulator(), user_pool.issuer, user_pool.client_id)

    def make(signed_in: SignedIn | None = None) -> list[BadToken]:
        claims = (
            jwt.decode(signed_in.token, options={"verify_signature": False})
            if signed_in is not None
            else None
        )
        return bad_tokens_for(minter, claims)

    return make


# --------------------------------------------------------------------------- HTTP API


@pytest.fixture
def client(aws_stack: DeployedStack) -> Iterator[Client]:
    """The chalice app through chalice's test client (its local API Gateway)."""
    from functions.api.app import app  # after the Powertools settings are set

    with Client(app) as test_client:
        yield test_client


@pytest.fixture
def operator(identity: Identity) -> SignedIn:
    return identity.user("operator")
