"""The template's user pool in the emulator: created from its own properties, users signed
in with the standard call, and their tokens verified by the API's one code path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.auth.tokens import TokenError, TokenProblem, TokenVerifier
from infra.aws import DeployedStack, deploy_stack, with_physical_ids
from infra.cognito import UserPoolIds, create_user, create_user_pool, sign_in
from infra.emulator import boto3_session, start_moto
from infra.stack import function_settings

PASSWORD = "Local-test-Passw0rd"


@pytest.fixture(scope="module")
def stack() -> Iterator[DeployedStack]:
    with start_moto() as endpoint:
        yield deploy_stack(endpoint.url, stack_name="faultline-cognito-test")


@pytest.fixture(scope="module")
def ids(stack: DeployedStack) -> UserPoolIds:
    assert stack.user_pool is not None
    return stack.user_pool


def cognito(stack: DeployedStack) -> Any:
    return stack.client("cognito-idp")


def test_the_pool_is_made_from_the_templates_properties(
    stack: DeployedStack, ids: UserPoolIds
) -> None:
    declared = stack.template["Resources"]
    pool = cognito(stack).describe_user_pool(UserPoolId=ids.pool_id)["UserPool"]
    assert pool["Name"] == "faultline-dev-users"  # !Sub 'faultline-${Stage}-users'
    assert pool["Policies"] == declared["UserPool"]["Properties"]["Policies"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    client = cognito(stack).describe_user_pool_client(
        UserPoolId=ids.pool_id, ClientId=ids.client_id
    )["UserPoolClient"]
    client_declared = declared["UserPoolClient"]["Properties"]
    assert client["ClientName"] == "faultline-dev-api"
    assert "ClientSecret" not in client
    assert client["ExplicitAuthFlows"] == client_declared["ExplicitAuthFlows"]
    assert client["AccessTokenValidity"] == client_declared["AccessTokenValidity"]
    groups = cognito(stack).list_groups(UserPoolId=ids.pool_id)["Groups"]
    assert {g["GroupName"] for g in groups} == {
        "homeowner",
        "technician",
        "manufacturer",
        "operator",
    }


def test_its_ids_are_the_stacks_physical_ids(stack: DeployedStack, ids: UserPoolIds) -> None:
    assert stack.physical_ids["UserPool"] == ids.pool_id
    assert stack.physical_ids["UserPoolClient"] == ids.client_id
    assert stack.physical_ids["OperatorGroup"] == "operator"
    assert stack.outputs["UserPoolId"] == ids.pool_id
    assert stack.outputs["UserPoolClientId"] == ids.client_id
    assert ids.arn.endswith(f":userpool/{ids.pool_id}")


def test_the_functions_settings_keep_cognitos_issuer_and_fetch_keys_from_the_emulator(
    stack: DeployedStack, ids: UserPoolIds
) -> None:
    settings = function_settings(stack, stack.endpoint_url)
    assert settings.user_pool_client_id == ids.client_id
    assert settings.token_issuer == f"https://cognito-idp.us-east-1.amazonaws.com/{ids.pool_id}"
    assert settings.jwks_url == f"{stack.endpoint_url}/{ids.pool_id}/.well-known/jwks.json"
    assert settings.accounts_table == stack.physical_ids["AccountsTable"]


def test_a_user_signs_in_with_the_standard_call_and_the_api_verifies_the_token(
    stack: DeployedStack, ids: UserPoolIds
) -> None:
    session = boto3_session()
    sub = create_user(session, ids, "tech-tech-99", PASSWORD, "technician")
    token = sign_in(session, ids, "tech-tech-99", PASSWORD)
    settings = function_settings(stack, stack.endpoint_url)
    verifier = TokenVerifier(settings.token_issuer, settings.jwks_url, settings.user_pool_client_id)
    principal = verifier.verify(f"Bearer {token}")
    assert principal.user_id == sub
    assert principal.username == "tech-tech-99"
    assert principal.groups == frozenset({"technician"})


def test_the_emulators_id_token_is_refused(stack: DeployedStack, ids: UserPoolIds) -> None:
    session = boto3_session()
    create_user(session, ids, "owner-home-99", PASSWORD, "homeowner")
    answer = stack.client("cognito-idp").initiate_auth(
        ClientId=ids.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "owner-home-99", "PASSWORD": PASSWORD},
    )
    verifier = TokenVerifier(ids.issuer, ids.jwks_url, ids.client_id)
    with pytest.raises(TokenError) as refused:
        verifier.verify(f"Bearer {answer['AuthenticationResult']['IdToken']}")
    assert refused.value.problem is TokenProblem.NOT_ACCESS_TOKEN


def test_a_wrong_password_does_not_sign_in(ids: UserPoolIds) -> None:
    session = boto3_session()
    create_user(session, ids, "maker-someone", PASSWORD, "manufacturer")
    with pytest.raises(ClientError, match="NotAuthorizedException"):
        sign_in(session, ids, "maker-someone", "Wrong-Passw0rd!!")


def test_a_user_of_a_group_the_pool_lacks_is_not_made(ids: UserPoolIds) -> None:
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        create_user(boto3_session(), ids, "someone-else", PASSWORD, "landlord")


def test_a_template_without_a_pool_creates_none() -> None:
    assert (
        create_user_pool({"Resources": {}}, boto3_session(), endpoint_url=None, parameters={})
        is None
    )


def test_a_template_with_two_clients_is_refused() -> None:
    client = {"Type": "AWS::Cognito::UserPoolClient", "Properties": {}}
    template = {
        "Resources": {
            "Pool": {"Type": "AWS::Cognito::UserPool", "Properties": {}},
            "One": client,
            "Two": client,
        }
    }
    with pytest.raises(ValueError, match="one user pool and one app client"):
        create_user_pool(template, boto3_session(), endpoint_url=None, parameters={})


def test_references_to_resources_made_outside_the_stack_get_their_values() -> None:
    template = {
        "Resources": {
            "F": {
                "Properties": {
                    "Env": {
                        "POOL": {"Ref": "UserPool"},
                        "TABLE": {"Ref": "OrdersTable"},
                        "ARN": {"Fn::GetAtt": ["UserPool", "Arn"]},
                        "ARN_DOTTED": {"Fn::GetAtt": "UserPool.Arn"},
                        "ISSUER": {"Fn::Sub": "https://x.${AWS::Region}/${UserPool}"},
                        "SUB_VARS": {
                            "Fn::Sub": ["${UserPool.Arn}/${T}", {"T": {"Ref": "UserPool"}}]
                        },
                    }
                }
            }
        }
    }
    out = with_physical_ids(template, {"UserPool": "pool-1"}, {("UserPool", "Arn"): "arn:pool"})
    assert out["Resources"]["F"]["Properties"]["Env"] == {
        "POOL": "pool-1",
        "TABLE": {"Ref": "OrdersTable"},
        "ARN": "arn:pool",
        "ARN_DOTTED": "arn:pool",
        "ISSUER": {"Fn::Sub": "https://x.${AWS::Region}/pool-1"},
        "SUB_VARS": {"Fn::Sub": ["arn:pool/${T}", {"T": "pool-1"}]},
    }
