"""template.yaml: lint-clean with the SAM transform, and read correctly by infra.template."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnlint.api import lint_file
from cfnlint.config import ManualArgs

from infra.aws import translate
from infra.template import (
    TEMPLATE_PATH,
    FunctionSpec,
    api_routes,
    functions,
    load_template,
    parameter_defaults,
    resolve_environment,
    topic_rules,
)

TABLES = (
    "RegistryTable",
    "OrdersTable",
    "TechniciansTable",
    "RejectionsTable",
    "LearningTable",
    "StockTable",
    "AccountsTable",
)
TABLE_ENV = {
    "REGISTRY_TABLE": "RegistryTable",
    "ORDERS_TABLE": "OrdersTable",
    "TECHNICIANS_TABLE": "TechniciansTable",
    "REJECTIONS_TABLE": "RejectionsTable",
    "LEARNING_TABLE": "LearningTable",
    "STOCK_TABLE": "StockTable",
    "ACCOUNTS_TABLE": "AccountsTable",
}
IDENTITY_ENV = {
    "USER_POOL_CLIENT_ID": {"Ref": "UserPoolClient"},
    "TOKEN_ISSUER": {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"},
    "JWKS_URL": {
        "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"
        "/.well-known/jwks.json"
    },
}


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


def test_template_path_is_repo_root() -> None:
    assert Path(__file__).resolve().parents[2] / "template.yaml" == TEMPLATE_PATH
    assert TEMPLATE_PATH.is_file()


def test_cfn_lint_clean() -> None:
    # Same as `cfn-lint --include-checks I -- template.yaml` (what `sam validate --lint`
    # runs): the SAM transform is applied, then every error, warning and info rule.
    matches = lint_file(
        TEMPLATE_PATH,
        config=ManualArgs(regions=["us-east-1"], include_checks=["I"]),
    )
    assert [str(m) for m in matches] == []


def test_short_form_tags(template: dict) -> None:
    globals_env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert globals_env["REGISTRY_TABLE"] == {"Ref": "RegistryTable"}
    ingest = template["Resources"]["IngestFaultFunction"]["Properties"]
    assert ingest["DeadLetterQueue"]["TargetArn"] == {
        "Fn::GetAtt": ["IngestDeadLetterQueue", "Arn"]
    }
    statements = ingest["Policies"][-1]["Statement"]
    iot = next(s for s in statements if s["Action"] == ["iot:Publish"])
    assert iot["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}"
        ":topic/cmd/repair/*/status"
    }


def test_topic_rules_finds_fault_rule(template: dict) -> None:
    rules = {r.logical_id: r for r in topic_rules(template)}
    rule = rules["FaultTopicRule"]
    assert rule.sql == (
        "SELECT encode(*, 'base64') AS raw, topic(3) AS thing_name, topic() AS topic, "
        "clientid() AS client_id, timestamp() AS received_at FROM 'dt/repair/+/fault'"
    )
    assert rule.sql_version == "2016-03-23"
    assert rule.lambda_function_logical_id == "IngestFaultFunction"
    assert rule.error_action_queue_logical_id == "IngestDeadLetterQueue"


def test_topic_rules_reads_sam_iot_rule_events() -> None:
    template = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Handler": "x.handler",
                    "Events": {
                        "Telemetry": {
                            "Type": "IoTRule",
                            "Properties": {"Sql": "SELECT * FROM 'dt/+/telemetry'"},
                        },
                        "Other": {"Type": "SQS", "Properties": {}},
                    },
                },
            }
        }
    }
    (rule,) = topic_rules(template)
    assert rule.logical_id == "FnTelemetry"
    assert rule.sql == "SELECT * FROM 'dt/+/telemetry'"
    assert rule.sql_version == "2015-10-08"
    assert rule.lambda_function_logical_id == "Fn"
    assert rule.error_action_queue_logical_id is None


# Every function tells people (the topic, the ticket links) and runs or sets timers.
NOTIFICATION_AND_TIMER_ENV = {
    "NOTIFICATIONS_TOPIC_ARN": {"Ref": "NotificationsTopic"},
    "WEB_URL": {"Ref": "WebUrl"},
    "APPROVAL_REMINDER_SECONDS": {"Ref": "ApprovalReminderSeconds"},
    "APPROVAL_EXPIRY_SECONDS": {"Ref": "ApprovalExpirySeconds"},
    "EMERGENCY_ESCALATION_SECONDS": {"Ref": "EmergencyEscalationSeconds"},
    "OFFER_ACCEPT_SECONDS": {"Ref": "OfferAcceptSeconds"},
    "EMERGENCY_OFFER_ACCEPT_SECONDS": {"Ref": "EmergencyOfferAcceptSeconds"},
}


def test_functions_merge_globals(template: dict) -> None:
    specs = functions(template)
    assert set(specs) == {
        "IngestFaultFunction",
        "ApiFunction",
        "ReplayDeadLettersFunction",
        "SweepStuckOrdersFunction",
    }
    ingest, api = specs["IngestFaultFunction"], specs["ApiFunction"]
    assert ingest.handler == "functions.ingest_fault.app.handler"
    assert (ingest.timeout, ingest.memory) == (10, 512)
    assert api.handler == "functions.api.app.app"
    for spec in (ingest, api):
        for env_name, table in TABLE_ENV.items():
            assert spec.environment[env_name] == {"Ref": table}
        for env_name, value in IDENTITY_ENV.items():
            assert spec.environment[env_name] == value
        assert spec.environment["IOT_DATA_ENDPOINT"] == {"Ref": "IotDataEndpoint"}
        assert spec.environment["POWERTOOLS_SERVICE_NAME"] == "faultline"
        assert spec.environment["POWERTOOLS_METRICS_NAMESPACE"] == "Faultline"
        assert spec.environment["POWERTOOLS_LOG_LEVEL"] == "INFO"
        # The API's own: the web page's origin (CORS), the dead letters operators list, and
        # where the page it serves signs homeowners in.
        api_own = {"WEB_ORIGIN", "DEAD_LETTER_QUEUE_URL", "COGNITO_ENDPOINT", "COGNITO_REGION"}
        own = api_own if spec is api else set()
        assert set(spec.environment) == {
            *TABLE_ENV,
            *IDENTITY_ENV,
            "IOT_DATA_ENDPOINT",
            "POWERTOOLS_SERVICE_NAME",
            "POWERTOOLS_METRICS_NAMESPACE",
            "POWERTOOLS_LOG_LEVEL",
            *NOTIFICATION_AND_TIMER_ENV,
            *own,
        }
        # Only resources and parameters are referenced: resolvable without defaults.
        env = resolve_environment(
            spec,
            {
                t: f"{t}-physical"
                for t in (
                    *TABLES,
                    "UserPool",
                    "UserPoolClient",
                    "IngestDeadLetterQueue",
                    "NotificationsTopic",
                )
            },
            {
                "IotDataEndpoint": "h",
                "WebOrigin": "https://app.example",
                "WebUrl": "https://app.example",
                "ApprovalReminderSeconds": "86400",
                "ApprovalExpirySeconds": "259200",
                "EmergencyEscalationSeconds": "900",
                "OfferAcceptSeconds": "600",
                "EmergencyOfferAcceptSeconds": "120",
            },
        )
        for env_name, value in NOTIFICATION_AND_TIMER_ENV.items():
            assert spec.environment[env_name] == value
        assert env["NOTIFICATIONS_TOPIC_ARN"] == "NotificationsTopic-physical"
        assert env["ORDERS_TABLE"] == "OrdersTable-physical"
        assert (
            env["TOKEN_ISSUER"] == "https://cognito-idp.us-east-1.amazonaws.com/UserPool-physical"
        )
        assert env["JWKS_URL"] == f"{env['TOKEN_ISSUER']}/.well-known/jwks.json"
    assert api.environment["WEB_ORIGIN"] == {"Ref": "WebOrigin"}
    assert api.environment["DEAD_LETTER_QUEUE_URL"] == {"Ref": "IngestDeadLetterQueue"}


def test_function_environment_overrides_globals() -> None:
    template = {
        "Globals": {"Function": {"Timeout": 3, "Environment": {"Variables": {"A": "g", "B": "g"}}}},
        "Resources": {
            "F": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Handler": "h", "Environment": {"Variables": {"B": "f"}}},
            }
        },
    }
    spec = functions(template)["F"]
    assert spec.environment == {"A": "g", "B": "f"}
    assert spec.timeout == 3


def test_resolve_environment() -> None:
    spec = FunctionSpec(
        logical_id="F",
        handler="h",
        environment={
            "TABLE": {"Ref": "OrdersTable"},
            "ENDPOINT": {"Ref": "IotDataEndpoint"},
            "PLAIN": "x",
            "NUM": 5,
            "SUB": {"Fn::Sub": "${Stage}-${OrdersTable}-${AWS::Region}"},
            "SUB_VARS": {"Fn::Sub": ["${A}/${Stage}", {"A": {"Ref": "OrdersTable"}}]},
        },
    )
    env = resolve_environment(
        spec, {"OrdersTable": "orders-123"}, {"IotDataEndpoint": "localhost", "Stage": "dev"}
    )
    assert env == {
        "TABLE": "orders-123",
        "ENDPOINT": "localhost",
        "PLAIN": "x",
        "NUM": "5",
        "SUB": "dev-orders-123-us-east-1",
        "SUB_VARS": "orders-123/dev",
    }


def test_resolve_environment_unknown_ref_fails() -> None:
    spec = FunctionSpec(logical_id="F", handler="h", environment={"X": {"Ref": "Nope"}})
    with pytest.raises(KeyError, match="Nope"):
        resolve_environment(spec, {}, {})


def test_tables_declared(template: dict) -> None:
    resources = template["Resources"]
    for table in TABLES:
        props = resources[table]["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


THING = "${iot:Connection.Thing.ThingName}"
ARN = "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:"


def test_the_appliance_policy_confines_each_thing_to_its_own_topics(template: dict) -> None:
    from functions.common.topics import fault_topic, status_topic

    policy = template["Resources"]["AppliancePolicy"]
    assert policy["Type"] == "AWS::IoT::Policy"
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    # `${!x}` is CloudFormation's escape for a literal `${x}`: IoT resolves it per connection.
    granted = {
        s["Action"]: s["Resource"]["Fn::Sub"].replace("${!", "${").removeprefix(ARN)
        for s in statements
    }
    assert all(s["Effect"] == "Allow" for s in statements)
    assert granted == {
        "iot:Connect": f"client/{THING}",
        "iot:Publish": f"topic/{fault_topic(THING)}",
        "iot:Subscribe": f"topicfilter/{status_topic(THING)}",
        "iot:Receive": f"topic/{status_topic(THING)}",
    }
    connect = next(s for s in statements if s["Action"] == "iot:Connect")
    assert connect["Condition"] == {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}
    assert template["Resources"]["ApplianceThingType"]["Type"] == "AWS::IoT::ThingType"


def test_the_local_acl_mirrors_the_appliance_policy(template: dict) -> None:
    from infra.broker import device_acl

    statements = template["Resources"]["AppliancePolicy"]["Properties"]["PolicyDocument"]
    topics = {
        s["Action"]: s["Resource"]["Fn::Sub"].replace("${!", "${").split(":topic/")[-1]
        for s in statements["Statement"]
        if s["Action"] in ("iot:Publish", "iot:Receive")
    }
    # Mosquitto's %u is the certificate's CN, as the policy's variable is the thing name.
    device_rules = {line for line in device_acl().splitlines() if line.startswith("pattern ")}
    assert device_rules == {
        f"pattern write {topics['iot:Publish'].replace(THING, '%u')}",
        f"pattern read {topics['iot:Receive'].replace(THING, '%u')}",
    }


def test_the_api_keeps_reserved_concurrency_that_a_fault_storm_cannot_take(template) -> None:
    resources = template["Resources"]
    api = resources["ApiFunction"]["Properties"]["ReservedConcurrentExecutions"]
    ingest = resources["IngestFaultFunction"]["Properties"]["ReservedConcurrentExecutions"]
    # Lambda keeps 100 of an account's (default 1,000) unreserved: both must fit beside that
    assert api >= 100 and ingest + api <= 1000 - 100


def test_the_user_pool_and_its_groups(template: dict) -> None:
    resources = template["Resources"]
    pool = resources["UserPool"]["Properties"]
    assert "UsernameAttributes" not in pool  # a plain username, not an email
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    client = resources["UserPoolClient"]["Properties"]
    assert client["UserPoolId"] == {"Ref": "UserPool"}
    assert client["GenerateSecret"] is False
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    groups = {
        logical_id: res["Properties"]["GroupName"]
        for logical_id, res in resources.items()
        if res["Type"] == "AWS::Cognito::UserPoolGroup"
    }
    assert groups == {
        "HomeownerGroup": "homeowner",
        "TechnicianGroup": "technician",
        "ManufacturerGroup": "manufacturer",
        "OperatorGroup": "operator",
    }


def test_the_api_reads_accounts_by_key_and_ingest_not_at_all(template: dict) -> None:
    def statements(function: str) -> list[dict]:
        policies = template["Resources"][function]["Properties"]["Policies"]
        return [s for p in policies if "Statement" in p for s in p["Statement"]]

    accounts = {"Fn::GetAtt": ["AccountsTable", "Arn"]}
    read, count = [s for s in statements("ApiFunction") if s["Resource"] == accounts]
    assert read["Action"] == ["dynamodb:GetItem", "dynamodb:Query"]
    # Its one write: the failed-pairing counters, whose attributes only it may touch
    assert count["Action"] == ["dynamodb:UpdateItem"]
    attributes = count["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
    assert attributes == ["pk", "sk", "attempts", "window_ends", "expires_at"]
    assert "AccountsTable" not in str(statements("IngestFaultFunction"))


# --------------------------------------------------------------------------- the REST API
# (which routes: tests/functions/test_api_events.py compares them with the chalice app's)

ACCESS_TOKEN_SCOPE = "aws.cognito.signin.user.admin"


@pytest.fixture(scope="module")
def translated(template: dict) -> dict:
    """The template as CloudFormation gets it, after the SAM transform."""
    return translate(template, parameter_defaults(template), code_s3_uri="s3://bucket/code.zip")


def test_every_api_route_is_a_lambda_proxy_method_of_one_rest_api(template, translated) -> None:
    routes = api_routes(template)
    assert routes, "the API function declares its routes"
    assert {r.rest_api for r in routes} == {"RestApi"}
    assert {r.function for r in routes} == {"ApiFunction"}
    body = translated["Resources"]["RestApi"]["Properties"]["Body"]
    methods = {
        (path, method.upper()): operation
        for path, operations in body["paths"].items()
        for method, operation in operations.items()
    }
    # Every path also answers the CORS preflight at the door (a mock integration, no token).
    preflights = {m: op for m, op in methods.items() if m[1] == "OPTIONS"}
    assert {path for path, _ in preflights} == {r.path for r in routes}
    assert all(
        op["x-amazon-apigateway-integration"]["type"] == "mock" for op in preflights.values()
    )
    assert all("security" not in op for op in preflights.values())
    calls = {m: op for m, op in methods.items() if m[1] != "OPTIONS"}
    assert set(calls) == {(r.path, r.method) for r in routes}
    # aws_proxy: the REST proxy event (payload 1.0), the one chalice routes
    assert {m["x-amazon-apigateway-integration"]["type"] for m in calls.values()} == {"aws_proxy"}


def test_the_doors_own_answers_have_the_error_shape_and_the_web_origin(template) -> None:
    api = template["Resources"]["RestApi"]["Properties"]
    assert api["Cors"]["AllowOrigin"] == {"Fn::Sub": "'${WebOrigin}'"}
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        response = api["GatewayResponses"][kind]
        shape = response["ResponseTemplates"]["application/json"]
        assert all(f'"{field}"' in shape for field in ("code", "message", "request_id"))
        headers = response["ResponseParameters"]["Headers"]
        assert headers["Access-Control-Allow-Origin"] == {"Fn::Sub": "'${WebOrigin}'"}


def test_the_cognito_authorizer_gates_every_method_and_takes_access_tokens(translated) -> None:
    body = translated["Resources"]["RestApi"]["Properties"]["Body"]
    authorizer = body["securityDefinitions"]["CognitoAuthorizer"]
    assert authorizer["name"] == "Authorization"
    assert authorizer["x-amazon-apigateway-authorizer"] == {
        "type": "cognito_user_pools",
        "providerARNs": [{"Fn::GetAtt": ["UserPool", "Arn"]}],
    }
    # A required scope makes API Gateway take access tokens (ID tokens carry no scope),
    # the kind the handler verifies.
    securities = [
        op.get("security")
        for path, ops in body["paths"].items()
        for method, op in ops.items()
        if method != "options"  # the CORS preflight carries no token
        and path not in PUBLIC_PATHS
    ]
    assert securities and all(
        s == [{"CognitoAuthorizer": [ACCESS_TOKEN_SCOPE]}] for s in securities
    ), securities
    # The web page alone opens without a token (SAM's marker for `Authorizer: NONE`).
    for path in PUBLIC_PATHS:
        assert body["paths"][path]["get"]["security"] == [{"NONE": []}]


#: Documents anyone may open without a token: the web page (code, no data).
PUBLIC_PATHS = ("/app",)


def test_the_api_stage_is_throttled_below_what_the_function_can_serve(translated) -> None:
    resources = translated["Resources"]
    (stage,) = [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Stage"]
    (settings,) = stage["Properties"]["MethodSettings"]
    assert (settings["ResourcePath"], settings["HttpMethod"]) == ("/*", "*")
    rate, burst = settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]
    assert 0 < rate <= burst
    # At ~0.1 s a request, the reserved executions serve about ten requests/s each.
    assert burst <= 10 * resources["ApiFunction"]["Properties"]["ReservedConcurrentExecutions"]
