"""The template's Cognito user pool, created in the emulator with the cognito-idp API.

moto's CloudFormation has no model for Cognito resources, so ``deploy_stack`` creates them
first, from the template's own properties (as CloudFormation would pass them to the API),
and gives the rest of the template their physical ids. moto issues real RS256 tokens with
the issuer ``https://cognito-idp.{region}.amazonaws.com/{pool_id}`` and serves the keys at
``{endpoint}/{pool_id}/.well-known/jwks.json``: the API verifies them exactly as on AWS,
only fetching the keys from the emulator.

Users are made and signed in with the standard calls (``admin_create_user``,
``initiate_auth`` USER_PASSWORD_AUTH), so the same functions work against a real pool.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from infra.template import resolve_properties

USER_POOL = "AWS::Cognito::UserPool"
USER_POOL_CLIENT = "AWS::Cognito::UserPoolClient"
USER_POOL_GROUP = "AWS::Cognito::UserPoolGroup"
COGNITO_RESOURCE_TYPES: frozenset[str] = frozenset({USER_POOL, USER_POOL_CLIENT, USER_POOL_GROUP})

#: CloudFormation property names that CreateUserPool spells differently.
_POOL_PARAMETER_NAMES = {"UserPoolName": "PoolName"}
#: CloudFormation properties that CreateUserPool does not take (SetUserPoolMfaConfig does).
_NOT_POOL_PARAMETERS = frozenset({"EnabledMfas"})


@dataclass(frozen=True)
class UserPoolIds:
    """Where the user pool is and what its ids are."""

    pool_id: str
    client_id: str
    region: str
    endpoint_url: str | None = None  # the emulator's; None on AWS
    arn: str = ""
    #: Logical id -> physical id of every Cognito resource (groups: their names).
    physical_ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        """The tokens' ``iss``: Cognito's form, in the emulator too."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    @property
    def jwks_url(self) -> str:
        """Where the pool's signing keys are served (locally by the emulator)."""
        base = f"{self.endpoint_url}/{self.pool_id}" if self.endpoint_url else self.issuer
        return f"{base}/.well-known/jwks.json"

    def attributes(self) -> dict[tuple[str, str], str]:
        """(logical id, attribute) -> value, for ``Fn::GetAtt`` on the pool and client."""
        found: dict[tuple[str, str], str] = {}
        for logical_id, physical_id in self.physical_ids.items():
            if physical_id == self.pool_id:
                provider = self.issuer.removeprefix("https://")
                found[(logical_id, "Arn")] = self.arn
                found[(logical_id, "ProviderName")] = provider
                found[(logical_id, "ProviderURL")] = self.issuer
                found[(logical_id, "UserPoolId")] = self.pool_id
            elif physical_id == self.client_id:
                found[(logical_id, "ClientId")] = self.client_id
        return found


def create_user_pool(
    template: Mapping[str, Any],
    session: boto3.Session,
    *,
    endpoint_url: str | None,
    parameters: Mapping[str, str],
) -> UserPoolIds | None:
    """Create the template's user pool, its app client and groups; None if it has no pool.

    `parameters`: the stack's parameter values and pseudo parameters (``AWS::Region``...),
    to resolve the properties' ``Ref``/``Fn::Sub``.
    """
    resources: Mapping[str, Any] = template.get("Resources") or {}

    def of_type(kind: str) -> dict[str, dict[str, Any]]:
        return {
            lid: res.get("Properties") or {}
            for lid, res in resources.items()
            if res.get("Type") == kind
        }

    pools, clients, groups = of_type(USER_POOL), of_type(USER_POOL_CLIENT), of_type(USER_POOL_GROUP)
    if not pools:
        return None
    if len(pools) != 1 or len(clients) != 1:
        raise ValueError(
            "expected one user pool and one app client, "
            f"found {sorted(pools)} and {sorted(clients)}"
        )
    cognito = session.client("cognito-idp", endpoint_url=endpoint_url)
    physical_ids: dict[str, str] = {}

    def resolved(properties: dict[str, Any]) -> dict[str, Any]:
        return dict(resolve_properties(properties, physical_ids, parameters))

    ((pool_logical_id, pool_properties),) = pools.items()
    pool_request = {
        _POOL_PARAMETER_NAMES.get(name, name): value
        for name, value in resolved(pool_properties).items()
        if name not in _NOT_POOL_PARAMETERS
    }
    pool = cognito.create_user_pool(**pool_request)["UserPool"]
    physical_ids[pool_logical_id] = pool["Id"]

    ((client_logical_id, client_properties),) = clients.items()
    client = cognito.create_user_pool_client(**resolved(client_properties))["UserPoolClient"]
    physical_ids[client_logical_id] = client["ClientId"]

    for group_logical_id, group_properties in groups.items():
        group = cognito.create_group(**resolved(group_properties))["Group"]
        physical_ids[group_logical_id] = group["GroupName"]  # Ref on a group gives its name

    return UserPoolIds(
        pool_id=pool["Id"],
        client_id=client["ClientId"],
        region=session.region_name,
        endpoint_url=endpoint_url,
        arn=pool["Arn"],
        physical_ids=physical_ids,
    )


def create_user(
    session: boto3.Session, ids: UserPoolIds, username: str, password: str, group: str
) -> str:
    """A confirmed user with a permanent password, in `group`. Returns the user's sub."""
    cognito = _client(session, ids)
    created = cognito.admin_create_user(
        UserPoolId=ids.pool_id, Username=username, MessageAction="SUPPRESS"
    )
    cognito.admin_set_user_password(
        UserPoolId=ids.pool_id, Username=username, Password=password, Permanent=True
    )
    cognito.admin_add_user_to_group(UserPoolId=ids.pool_id, Username=username, GroupName=group)
    attributes = {a["Name"]: a["Value"] for a in created["User"].get("Attributes", [])}
    return attributes["sub"]


def sign_in(session: boto3.Session, ids: UserPoolIds, username: str, password: str) -> str:
    """The user's access token, by the standard USER_PASSWORD_AUTH flow."""
    answer = _client(session, ids).initiate_auth(
        ClientId=ids.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return str(answer["AuthenticationResult"]["AccessToken"])


_clients_lock = threading.Lock()  # a boto3 session must not make clients in two threads


def _client(session: boto3.Session, ids: UserPoolIds) -> Any:
    with _clients_lock:
        return _cached_client(session, ids.endpoint_url)


@functools.lru_cache(maxsize=16)
def _cached_client(session: boto3.Session, endpoint_url: str | None) -> Any:
    # Making a client takes tens of milliseconds; seeding makes users by the dozen.
    return session.client("cognito-idp", endpoint_url=endpoint_url)
