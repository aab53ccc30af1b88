"""Signing in to the local stack with standard clients: the seeded users of every group,
their tokens verified by the verifier the API uses and sent to the API (the demo's way of
reading its results), and `faultline up --endpoints-file`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from functions.auth.tokens import TokenVerifier
from infra.cognito import sign_in
from infra.demo import RESULTS_READER, read_results
from infra.seed import LOCAL_PASSWORD
from infra.stack import LocalStack, StackOptions
from tests.functions.events import codes_of, event_for, fault

GROUPS = ("homeowner", "technician", "manufacturer", "operator")


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(broker="amqtt", homes=3, technicians=2, stack_name="faultline-sign-in")
    with LocalStack(options) as running:
        yield running


def test_every_seeded_home_technician_and_manufacturer_has_a_user(stack: LocalStack) -> None:
    assert stack.seed_data is not None
    users = stack.users
    for home in stack.seed_data.homes:
        owner = users[f"owner-{home.home_id}"]
        assert (owner.group, owner.homes) == ("homeowner", (home.home_id,))
    for tech in stack.seed_data.technicians:
        assert users[f"tech-{tech.technician_id}"].technician_id == tech.technician_id
    makers = {a.manufacturer for a in stack.seed_data.appliances}
    assert {u.manufacturer for u in users.values() if u.group == "manufacturer"} == makers
    assert users["operator"].group == "operator"
    assert all(u.password == LOCAL_PASSWORD and u.user_id for u in users.values())


@pytest.mark.parametrize("group", GROUPS)
def test_a_seeded_user_of_each_group_signs_in_and_the_api_verifier_accepts_the_token(
    stack: LocalStack, group: str
) -> None:
    assert stack.deployed is not None and stack.deployed.user_pool is not None
    assert stack.dependencies is not None
    user = next(u for u in stack.users.values() if u.group == group)
    token = sign_in(
        stack.deployed.session(), stack.deployed.user_pool, user.username, user.password
    )
    principal = stack.dependencies.token_verifier.verify(f"Bearer {token}")
    assert principal.user_id == user.user_id
    assert principal.groups == frozenset({group})
    access = stack.dependencies.accounts.access_of(principal.user_id)
    assert access.home_ids == frozenset(user.homes)
    assert access.technician_id == user.technician_id
    assert access.manufacturer == user.manufacturer


def test_the_api_is_called_with_a_seeded_users_access_token(stack: LocalStack) -> None:
    assert stack.dependencies is not None
    api = stack.api_as("operator")
    principal = stack.dependencies.token_verifier.verify(f"Bearer {api.access_token}")
    assert principal.user_id == stack.users["operator"].user_id
    status, listing = api.get("/orders?status=awaiting_approval")
    assert status == 200 and listing["status"] == "awaiting_approval"


def test_the_demo_reads_its_results_through_the_api(stack: LocalStack) -> None:
    # Given an order and a rejection of a seeded appliance
    assert stack.seed_data is not None and stack.invoker is not None
    appliance = stack.seed_data.appliances[0]
    thing = appliance.thing_name
    code = codes_of(appliance, self_fix=False)[0]
    stack.invoker.invoke_async("IngestFaultFunction", event_for(thing, fault(code)))
    stack.invoker.invoke_async("IngestFaultFunction", event_for(thing, b'{"half'))
    assert stack.invoker.wait_idle(20)
    # When the demo reads its results as its reader
    orders, rejections = read_results(stack.api_as(RESULTS_READER), datetime.now(UTC).date())
    # Then both are there, as the models the report prints
    assert [o.fault_code for o in orders if o.thing_name == thing] == [code]
    assert [r.reason.value for r in rejections if r.thing_name == thing] == ["malformed_json"]


def test_the_connection_details_are_one_json_object(stack: LocalStack) -> None:
    assert stack.deployed is not None and stack.deployed.user_pool is not None
    details = json.loads(json.dumps(stack.connection_details()))
    assert details["endpoints"]["api"] == stack.api_url
    assert details["user_pool"]["client_id"] == stack.deployed.user_pool.client_id
    assert details["users"]["operator"]["group"] == "operator"


def test_faultline_up_prints_how_to_sign_in_and_writes_the_endpoints_file(tmp_path: Path) -> None:
    endpoints_file = tmp_path / "endpoints.json"
    ports = ["--mqtt-port", "0", "--aws-port", "0", "--api-port", "0", "--iot-data-port", "0"]
    small = ["--homes", "2", "--technicians", "1", "--endpoints-file", str(endpoints_file)]
    process = subprocess.Popen(
        [sys.executable, "-m", "faultline.cli", "up", "--broker", "amqtt", *ports, *small],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        printed = _read_until(process, "Ctrl-C stops it.", timeout=120)
        details = json.loads(endpoints_file.read_text())
        pool = details["user_pool"]
        assert f"--client-id {pool['client_id']}" in printed
        assert "--auth-flow USER_PASSWORD_AUTH" in printed
        assert f"--endpoint-url {details['endpoints']['aws']}" in printed
        assert f'curl -H "Authorization: Bearer $TOKEN" {details["endpoints"]["api"]}' in printed
        assert LOCAL_PASSWORD in printed
        assert {u["group"] for u in details["users"].values()} == set(GROUPS)

        # What `aws cognito-idp initiate-auth` sends: an unsigned InitiateAuth.
        cognito = boto3.client(
            "cognito-idp",
            endpoint_url=details["endpoints"]["aws"],
            region_name=details["region"],
            config=Config(signature_version=UNSIGNED),
        )
        answer = cognito.initiate_auth(
            ClientId=pool["client_id"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "operator", "PASSWORD": LOCAL_PASSWORD},
        )
        token = answer["AuthenticationResult"]["AccessToken"]
        verifier = TokenVerifier(pool["issuer"], pool["jwks_url"], pool["client_id"])
        principal = verifier.verify(f"Bearer {token}")
        assert principal.user_id == details["users"]["operator"]["user_id"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return "".join(lines)
    raise AssertionError(f"`faultline up` did not print {marker!r}:\n{''.join(lines)}")
