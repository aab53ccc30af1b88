"""template.yaml deployed into moto: the tables, queue and functions really exist."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from faultline.cli import main
from infra.alarms import alarm_states, create_alarms, template_alarms
from infra.aws import UNSUPPORTED_RESOURCE_TYPES, DeployedStack, strip_unsupported
from infra.aws import deploy_stack as deploy
from infra.emulator import boto3_session, start_moto
from infra.template import api_routes, functions, resolve_environment

TABLES = (
    "RegistryTable",
    "OrdersTable",
    "TechniciansTable",
    "RejectionsTable",
    "LearningTable",
    "StockTable",
    "AccountsTable",
)
# TechniciansTable: busy blocks of past bookings expire; AccountsTable: pairing attempts.
TTL_TABLES = {"OrdersTable", "RejectionsTable", "TechniciansTable", "AccountsTable"}
KEYS = [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"},
]


@pytest.fixture(scope="module")
def stack() -> Iterator[DeployedStack]:
    with start_moto() as endpoint:
        yield deploy(endpoint.url, parameters={"IotDataEndpoint": "iot.local"})


@pytest.fixture(scope="module")
def dynamodb(stack: DeployedStack) -> Any:
    return stack.client("dynamodb")


def test_start_moto_picks_free_port_and_stops() -> None:
    with start_moto() as a, start_moto() as b:
        assert a.port != b.port
        assert a.url.startswith("http://127.0.0.1:")
        sts = boto3_session().client("sts", endpoint_url=a.url)
        assert sts.get_caller_identity()["Account"]


def test_state_is_kept_while_an_endpoint_runs_and_reset_when_the_last_stops() -> None:
    # moto's state is process-wide and this process may already run endpoints (the stack
    # fixture, another package's), so the check runs in a fresh interpreter of its own.
    script = textwrap.dedent(
        """
        from infra.emulator import boto3_session, start_moto

        def queues(endpoint):
            sqs = boto3_session().client("sqs", endpoint_url=endpoint.url)
            return sqs.list_queues().get("QueueUrls", [])

        with start_moto() as first:
            with start_moto() as second:
                sqs = boto3_session().client("sqs", endpoint_url=second.url)
                sqs.create_queue(QueueName="left-over")
            assert queues(first), "reset while another endpoint was still running"
        with start_moto() as endpoint:
            assert not queues(endpoint), "not reset when the last endpoint stopped"
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr


def test_stack_created(stack: DeployedStack) -> None:
    cfn = stack.client("cloudformation")
    (described,) = cfn.describe_stacks(StackName=stack.stack_name)["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    assert stack.template["Transform"] == "AWS::Serverless-2016-10-31"
    assert "AWS::Serverless::Function" not in {
        r["Type"] for r in stack.translated["Resources"].values()
    }


@pytest.mark.parametrize("table", TABLES)
def test_table_schema(stack: DeployedStack, dynamodb: Any, table: str) -> None:
    name = stack.physical_ids[table]
    assert stack.outputs[f"{table}Name"] == name
    desc = dynamodb.describe_table(TableName=name)["Table"]
    assert desc["KeySchema"] == KEYS
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if table in TTL_TABLES:
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    else:
        assert ttl["TimeToLiveStatus"] == "DISABLED"
    backups = dynamodb.describe_continuous_backups(TableName=name)
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"


def test_orders_table_indexes(stack: DeployedStack, dynamodb: Any) -> None:
    desc = dynamodb.describe_table(TableName=stack.physical_ids["OrdersTable"])["Table"]
    indexes = {i["IndexName"]: i for i in desc["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"by_status", "by_home", "unsettled", "due", "to_triage"}
    for name, prefix in (("by_status", "gsi1"), ("by_home", "gsi2")):
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": f"{prefix}pk", "KeyType": "HASH"},
            {"AttributeName": f"{prefix}sk", "KeyType": "RANGE"},
        ]
        assert indexes[name]["Projection"]["ProjectionType"] == "ALL"
    # Sparse: only unsettled event markers carry its keys.
    assert indexes["unsettled"]["KeySchema"] == [
        {"AttributeName": "unsettled_pk", "KeyType": "HASH"},
        {"AttributeName": "unsettled_at", "KeyType": "RANGE"},
    ]
    # Sparse: orders with a deadline and retry items; the sweeper reads the item itself.
    assert indexes["due"]["KeySchema"] == [
        {"AttributeName": "due_pk", "KeyType": "HASH"},
        {"AttributeName": "due_at", "KeyType": "RANGE"},
    ]
    assert indexes["due"]["Projection"]["ProjectionType"] == "KEYS_ONLY"
    # Sparse: open orders flagged for triage, whatever their status.
    assert indexes["to_triage"]["KeySchema"] == [
        {"AttributeName": "triage_pk", "KeyType": "HASH"},
        {"AttributeName": "triage_at", "KeyType": "RANGE"},
    ]


def test_notifications_topic(stack: DeployedStack) -> None:
    arn = stack.physical_ids["NotificationsTopic"]
    assert stack.outputs["NotificationsTopicArn"] == arn
    attrs = stack.client("sns").get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["TopicArn"] == arn


def test_dead_letter_queue(stack: DeployedStack) -> None:
    url = stack.physical_ids["IngestDeadLetterQueue"]
    assert stack.outputs["IngestDeadLetterQueueUrl"] == url
    attrs = stack.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
        "Attributes"
    ]
    assert attrs["MessageRetentionPeriod"] == str(14 * 24 * 3600)
    assert attrs["SqsManagedSseEnabled"] == "true"


def test_ingest_function_environment_resolves_to_real_tables(stack: DeployedStack) -> None:
    spec = functions(stack.template)["IngestFaultFunction"]
    env = resolve_environment(spec, stack.physical_ids, stack.parameters)
    tables = set(stack.client("dynamodb").list_tables()["TableNames"])
    for var in (
        "REGISTRY_TABLE",
        "ORDERS_TABLE",
        "TECHNICIANS_TABLE",
        "REJECTIONS_TABLE",
        "LEARNING_TABLE",
        "STOCK_TABLE",
        "ACCOUNTS_TABLE",
    ):
        assert env[var] in tables
    assert env["IOT_DATA_ENDPOINT"] == "iot.local"

    # The deployed Lambda got the same environment from the translated template.
    config = stack.client("lambda").get_function_configuration(
        FunctionName=stack.physical_ids["IngestFaultFunction"]
    )
    assert config["Environment"]["Variables"] == env
    assert config["Handler"] == spec.handler
    assert config["Runtime"] == "python3.12"


def test_skipped_resources_are_only_the_unsupported_ones(stack: DeployedStack) -> None:
    # SAM names the deployment with a hash of the API's definition.
    (deployment,) = [n for n in stack.translated["Resources"] if n.startswith("RestApiDeployment")]
    assert set(stack.skipped) == {
        "FaultTopicRule",
        "FaultTopicRuleInvokePermission",
        # the REST API (the handler runs in-process locally) and each route's permission
        "RestApi",
        "RestApiStage",
        deployment,
        *(f"{r.function}{r.event_id}PermissionStage" for r in api_routes(stack.template)),
        # created through the cognito-idp API instead (infra.cognito)
        "UserPool",
        "UserPoolClient",
        "HomeownerGroup",
        "TechnicianGroup",
        "ManufacturerGroup",
        "OperatorGroup",
        # created through the CloudWatch API instead (infra.alarms)
        *template_alarms(stack.template),
        # the account's API Gateway logging role: nothing to log locally
        "ApiGatewayAccount",
    }
    deployed = set(stack.translated["Resources"]) - set(stack.skipped)
    # moto creates the schedule's invoke permission but lists it with no physical id.
    permissions = {
        logical
        for logical, res in stack.translated["Resources"].items()
        if res["Type"] == "AWS::Lambda::Permission"
    }
    assert deployed - permissions <= set(stack.physical_ids)


def test_every_deployed_type_is_modelled_by_moto(stack: DeployedStack) -> None:
    # Guards UNSUPPORTED_RESOURCE_TYPES: a new resource type moto cannot create would be
    # silently skipped by moto's CloudFormation; make that fail here instead.
    from moto.cloudformation.parsing import NULL_MODELS, get_model_map

    deployable, _ = strip_unsupported(stack.translated)
    types = {r["Type"] for r in deployable["Resources"].values()}
    unmodelled = {t for t in types if t not in get_model_map() and t not in NULL_MODELS}
    assert unmodelled == set()
    assert not types & UNSUPPORTED_RESOURCE_TYPES


def test_the_appliance_policy_and_thing_type_are_deployed_by_name(stack: DeployedStack) -> None:
    iot = stack.client("iot")
    name = f"{stack.stack_name}-appliance"
    assert stack.physical_ids["AppliancePolicy"] == name
    assert stack.physical_ids["ApplianceThingType"] == name
    document = iot.get_policy(policyName=name)["policyDocument"]
    # CloudFormation's ${!...} escape left IoT's policy variable for IoT to resolve.
    assert "dt/repair/${iot:Connection.Thing.ThingName}/fault" in document
    assert iot.describe_thing_type(thingTypeName=name)["thingTypeName"] == name


# --------------------------------------------------------------------------- operations


def test_the_alarms_are_created_in_the_emulator_as_the_template_declares(
    stack: DeployedStack,
) -> None:
    states = {a.logical_id: a for a in alarm_states(*_alarms_of(stack))}
    assert set(states) == set(template_alarms(stack.template))
    topic = stack.physical_ids["OperatorAlarmsTopic"]
    queue_name = stack.physical_ids["IngestDeadLetterQueue"].rsplit("/", 1)[1]
    for alarm in states.values():
        # Created, never evaluated: the state moto gives a new alarm.
        assert alarm.state == "INSUFFICIENT_DATA", alarm
        assert alarm.name == stack.physical_ids[alarm.logical_id]
        assert alarm.name.startswith(f"{stack.stack_name}-")
        assert alarm.actions == [topic]
    dead_letters = states["IngestDeadLettersAlarm"]
    assert (dead_letters.namespace, dead_letters.metric) == ("AWS/SQS", "NumberOfMessagesSent")
    assert dead_letters.dimensions == {"QueueName": queue_name}
    errors = states["IngestErrorsAlarm"]
    assert errors.dimensions == {"FunctionName": stack.physical_ids["IngestFaultFunction"]}
    assert states["ApiServerErrorsAlarm"].dimensions == {
        "ApiName": f"{stack.stack_name}-api",
        "Stage": stack.parameters["Stage"],
    }
    assert states["SweeperBacklogAlarm"].dimensions == {"service": "faultline"}


def test_faultline_alarms_lists_them_with_their_state(
    stack: DeployedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--aws-url", stack.endpoint_url, "--stack-name", stack.stack_name]
    assert main(["alarms", *where, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["logical_id"] for a in listed] == list(template_alarms(stack.template))
    assert {a["state"] for a in listed} == {"INSUFFICIENT_DATA"}

    # A state set in the emulator is the state shown; the text says what is not evaluated.
    stack.client("cloudwatch").set_alarm_state(
        AlarmName=f"{stack.stack_name}-ingest-errors", StateValue="ALARM", StateReason="test"
    )
    assert main(["alarms", *where]) == 0
    text = capsys.readouterr().out
    assert f"ALARM             {stack.stack_name}-ingest-errors" in text
    assert "AWS/Lambda Errors FunctionName=" in text and "Sum >= 1" in text
    assert text.count("\n                  test\n") == 1  # the reason it was set, shown
    assert "never evaluates them" in text

    # An alarm of the template the emulator lost is reported, and the exit says so.
    stack.client("cloudwatch").delete_alarms(AlarmNames=[f"{stack.stack_name}-api-5xx"])
    try:
        assert main(["alarms", *where]) == 1
        assert f"not in the emulator: {stack.stack_name}-api-5xx" in capsys.readouterr().out
    finally:
        create_alarms(*_alarms_of(stack))


def _alarms_of(stack: DeployedStack) -> tuple[Any, dict[str, Any], dict[str, str], dict[str, str]]:
    """What infra.alarms needs to create or read the stack's alarms."""
    return stack.client("cloudwatch"), stack.translated, stack.physical_ids, stack.parameters


def test_every_log_group_is_created_with_its_retention(stack: DeployedStack) -> None:
    # moto's models drop a log group's KmsKeyId and a function's LoggingConfig (the local
    # functions log to one file): both are checked in the template, test_operations.py.
    logs = stack.client("logs")
    declared = [
        logical
        for logical, res in stack.translated["Resources"].items()
        if res["Type"] == "AWS::Logs::LogGroup"
    ]
    assert declared
    for logical in declared:
        name = stack.physical_ids[logical]
        (group,) = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        assert group["retentionInDays"] == int(stack.parameters["LogRetentionDays"])


def test_the_dashboard_is_created_with_the_stacks_own_names(stack: DeployedStack) -> None:
    name = stack.physical_ids["OperationsDashboard"]
    body = json.loads(stack.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"])
    rows = [row for widget in body["widgets"] for row in widget["properties"]["metrics"]]
    queue_name = stack.physical_ids["IngestDeadLetterQueue"].rsplit("/", 1)[1]
    assert ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue_name] in [
        row[:4] for row in rows
    ]
