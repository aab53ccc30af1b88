"""template.yaml's operations: every alarm and dashboard figure watches a metric something
really emits, every dead-letter queue is watched, alarms tell the operators, and every
log group (each function's, the API's access log) is declared with a retention.

A metric "really emitted" is either one the code emits through Powertools (EMF: a
`add_metric` / `single_metric` call in functions/, in the namespace and with the `service`
dimension the template's POWERTOOLS_* settings give it), or one AWS publishes (a fixed
allow-list per namespace) for a resource this template declares. The checks run over every
alarm, so alarms added later (webhook deliveries, the planner's runs) are held to the same.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from functions.logic.ingest import Outcome
from infra.template import TEMPLATE_PATH, load_template
from schemas.orders import RejectionReason

FUNCTIONS_DIR = TEMPLATE_PATH.parent / "functions"
FUNCTION_TYPES = {"AWS::Serverless::Function", "AWS::Lambda::Function"}
API_TYPES = {"AWS::Serverless::Api", "AWS::ApiGateway::RestApi"}
DIMENSION_OF_TYPES = {
    # An AWS metric's dimension -> the resource types (and the attribute read of them) it
    # names; None: the dimension is compared with the API's own properties instead.
    "QueueName": ({"AWS::SQS::Queue"}, "QueueName"),
    "FunctionName": (FUNCTION_TYPES, None),
}
#: What AWS publishes, by namespace: metric names and the dimension set they come with.
AWS_METRICS: dict[str, tuple[set[str], set[frozenset[str]]]] = {
    "AWS/SQS": (
        {
            "ApproximateNumberOfMessagesVisible",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateAgeOfOldestMessage",
            "NumberOfMessagesSent",
            "NumberOfMessagesReceived",
            "NumberOfMessagesDeleted",
        },
        {frozenset({"QueueName"})},
    ),
    "AWS/Lambda": (
        {"Errors", "Throttles", "Invocations", "Duration", "ConcurrentExecutions"},
        {frozenset({"FunctionName"})},
    ),
    "AWS/ApiGateway": (
        {"5XXError", "4XXError", "Count", "Latency", "IntegrationLatency"},
        {frozenset({"ApiName", "Stage"})},
    ),
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def resources_of(template: Mapping[str, Any], types: set[str]) -> dict[str, dict[str, Any]]:
    return {
        logical: resource
        for logical, resource in template["Resources"].items()
        if resource["Type"] in types
    }


# --------------------------------------------------------------------------- emissions


@dataclass(frozen=True)
class Emissions:
    """What the code emits through Powertools: metric name patterns, namespaces, and the
    dimension set every metric carries."""

    names: dict[str, re.Pattern[str]]  # as written (an f-string's fields as {...}) -> regex
    namespaces: set[str]
    dimensions: dict[str, str]

    def emits(self, name: str) -> bool:
        return any(pattern.fullmatch(name) for pattern in self.names.values())


def _name_pattern(node: ast.expr, where: str) -> tuple[str, re.Pattern[str]]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, re.compile(re.escape(node.value))
    if isinstance(node, ast.JoinedStr):
        written, regex = "", ""
        for part in node.values:
            if isinstance(part, ast.Constant):
                written, regex = written + str(part.value), regex + re.escape(str(part.value))
            else:
                written, regex = written + "{...}", regex + "[A-Za-z0-9_]+"
        return written, re.compile(regex)
    raise AssertionError(f"{where}: a metric name the tests cannot read; use a literal or f-string")


def _calls(tree: ast.AST, names: set[str]) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in names:
                yield node


def _keyword(call: ast.Call, name: str, position: int) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return call.args[position] if len(call.args) > position else None


def scan_emissions(root: Path, template: Mapping[str, Any]) -> Emissions:
    """Every metric the code in `root` emits, read from its source (no import)."""
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    names: dict[str, re.Pattern[str]] = {}
    namespaces = {env["POWERTOOLS_METRICS_NAMESPACE"]}
    dimensions = {"service": env["POWERTOOLS_SERVICE_NAME"]}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for call in _calls(tree, {"add_metric", "single_metric"}):
            name = _keyword(call, "name", 0)
            assert name is not None, f"{path}:{call.lineno}: add_metric without a name"
            written, pattern = _name_pattern(name, f"{path}:{call.lineno}")
            names[written] = pattern
        for call in _calls(tree, {"Metrics", "single_metric"}):
            namespace = _keyword(call, "namespace", 99)
            if isinstance(namespace, ast.Constant):
                namespaces.add(str(namespace.value))
        for call in _calls(tree, {"add_dimension"}):
            dimension = _keyword(call, "name", 0)
            assert isinstance(dimension, ast.Constant), f"{path}:{call.lineno}: dimension name"
            dimensions[str(dimension.value)] = "*"
    return Emissions(names, namespaces, dimensions)


@pytest.fixture(scope="module")
def emissions(template: dict[str, Any]) -> Emissions:
    return scan_emissions(FUNCTIONS_DIR, template)


def test_the_scan_reads_the_codes_metrics(emissions: Emissions) -> None:
    # Literal names and f-string families, from the handlers, in the template's namespace.
    assert {"DiagnosisFailed", "DueBacklogAge", "DispatchLatency"} <= set(emissions.names)
    assert {"Fault_{...}", "Rejected_{...}"} <= set(emissions.names)
    assert emissions.emits("Fault_opened") and not emissions.emits("Fault_")
    assert not emissions.emits("NoSuchMetric")
    assert emissions.namespaces == {"Faultline"}
    assert emissions.dimensions == {"service": "faultline"}


# --------------------------------------------------------------------------- what is watched


@dataclass(frozen=True)
class Watched:
    namespace: str
    metric: str
    dimensions: dict[str, Any]  # name -> value as written (a literal or an intrinsic)


def metric_problem(watched: Watched, template: Mapping[str, Any], emissions: Emissions) -> str:
    """Why nothing emits `watched` ("" when something does)."""
    dims = watched.dimensions
    if watched.namespace in emissions.namespaces:
        if not emissions.emits(watched.metric):
            return f"{watched.namespace}/{watched.metric}: no add_metric in functions/ emits it"
        if dims != emissions.dimensions:
            return f"{watched.metric}: dimensions {dims}, the code emits {emissions.dimensions}"
        return ""
    if watched.namespace not in AWS_METRICS:
        return f"{watched.namespace}: neither the code's namespace nor an AWS one listed here"
    metrics, dimension_sets = AWS_METRICS[watched.namespace]
    if watched.metric not in metrics:
        return f"{watched.namespace}/{watched.metric}: not a metric AWS publishes (as listed)"
    if frozenset(dims) not in dimension_sets:
        return f"{watched.namespace}/{watched.metric}: dimensions {sorted(dims)}"
    resources = template["Resources"]
    for name, value in dims.items():
        if name in DIMENSION_OF_TYPES:
            types, attribute = DIMENSION_OF_TYPES[name]
            target = (
                value.get("Fn::GetAtt" if attribute else "Ref") if isinstance(value, dict) else None
            )
            logical = target[0] if isinstance(target, list) else target
            if isinstance(target, list) and target[1:] != [attribute]:
                return f"{name}: {value} is not the {attribute} of a resource"
            if resources.get(logical, {}).get("Type") not in types:
                return f"{name}: {value} names no {' or '.join(sorted(types))} of the template"
    if watched.namespace == "AWS/ApiGateway":
        apis = [r["Properties"] for r in resources_of(template, API_TYPES).values()]
        if not any(
            (a.get("Name"), a.get("StageName")) == (dims["ApiName"], dims["Stage"]) for a in apis
        ):
            return f"ApiName/Stage {dims}: not the Name and StageName of an API of the template"
    return ""


def alarm_metrics(properties: Mapping[str, Any]) -> list[Watched]:
    """The metrics an alarm watches: its own, or each MetricStat of its metric math."""
    stats = [properties] if "MetricName" in properties else []
    stats += [
        query["MetricStat"]["Metric"]
        for query in properties.get("Metrics", [])
        if "MetricStat" in query
    ]
    return [
        Watched(
            s["Namespace"],
            s["MetricName"],
            {d["Name"]: d["Value"] for d in s.get("Dimensions", [])},
        )
        for s in stats
    ]


def dashboard_metrics(body: Any) -> list[Watched]:
    """The metrics a dashboard's widgets plot (expressions aside). `body` is the
    DashboardBody as written: a `Fn::Sub` of JSON; `${X}` stands for `Ref` X, `${X.Y}` for
    `Fn::GetAtt` [X, Y], anything else with a `${...}` in it for that `Fn::Sub`."""
    text = body["Fn::Sub"] if isinstance(body, dict) else body
    tokens: dict[str, str] = {}

    def hold(match: re.Match[str]) -> str:
        tokens[f"@@{len(tokens)}@@"] = match.group(0)
        return f"@@{len(tokens) - 1}@@"

    parsed = json.loads(re.sub(r"\$\{[^}]+\}", hold, text))

    def as_written(value: str) -> Any:
        if value in tokens:
            inner = tokens[value][2:-1]
            if "." in inner:
                return {"Fn::GetAtt": inner.split(".", 1)}
            return {"Ref": inner}
        if "@@" in value:
            return {"Fn::Sub": re.sub(r"@@\d+@@", lambda m: tokens[m.group(0)], value)}
        return value

    watched = []
    for widget in parsed["widgets"]:
        for row in widget.get("properties", {}).get("metrics", []):
            parts = [p for p in row if isinstance(p, str)]
            if not parts:
                continue  # an expression over the other rows
            namespace, metric, *pairs = parts
            dims = {pairs[i]: as_written(pairs[i + 1]) for i in range(0, len(pairs), 2)}
            watched.append(Watched(namespace, metric, dims))
    return watched


def test_every_alarm_watches_a_metric_that_is_emitted(template, emissions) -> None:
    alarms = resources_of(template, {"AWS::CloudWatch::Alarm"})
    assert alarms
    problems = {
        logical: problem
        for logical, alarm in alarms.items()
        for watched in alarm_metrics(alarm["Properties"]) or [Watched("?", "?", {})]
        if (problem := metric_problem(watched, template, emissions))
    }
    assert problems == {}


def test_every_dashboard_figure_is_a_metric_that_is_emitted(template, emissions) -> None:
    dashboards = resources_of(template, {"AWS::CloudWatch::Dashboard"})
    assert dashboards
    for logical, dashboard in dashboards.items():
        watched = dashboard_metrics(dashboard["Properties"]["DashboardBody"])
        problems = [p for w in watched if (p := metric_problem(w, template, emissions))]
        assert problems == [], logical


def test_the_check_refuses_what_nothing_emits(template, emissions) -> None:
    service = {"service": "faultline"}
    refused = [
        Watched("Faultline", "NoSuchMetric", service),
        Watched("Faultline", "DueBacklogAge", {}),  # emitted with the service dimension only
        Watched("Faultline/Other", "DueBacklogAge", service),
        Watched("AWS/Lambda", "Errors", {"FunctionName": {"Ref": "NoSuchFunction"}}),
        Watched("AWS/Lambda", "Errors", {"FunctionName": {"Ref": "IngestDeadLetterQueue"}}),
        Watched("AWS/Lambda", "Errors", {"FunctionName": "faultline-IngestFault"}),
        Watched("AWS/Lambda", "MadeUp", {"FunctionName": {"Ref": "IngestFaultFunction"}}),
        Watched("AWS/SQS", "NumberOfMessagesSent", {"QueueName": {"Ref": "IngestDeadLetterQueue"}}),
        Watched("AWS/ApiGateway", "5XXError", {"ApiName": "other-api", "Stage": {"Ref": "Stage"}}),
    ]
    assert [w for w in refused if not metric_problem(w, template, emissions)] == []
    accepted = Watched(
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": {"Fn::GetAtt": ["IngestDeadLetterQueue", "QueueName"]}},
    )
    assert metric_problem(accepted, template, emissions) == ""


# --------------------------------------------------------------------------- coverage


def dead_letter_queues(template: Mapping[str, Any]) -> set[str]:
    """Queues something sends its failures to: a function's DeadLetterQueue, a queue's
    RedrivePolicy, an IoT rule's error action, an event source's OnFailure destination."""
    found: set[str] = set()

    def target(value: Any) -> None:
        if isinstance(value, dict):
            ref = value.get("Ref") or (value.get("Fn::GetAtt") or [None])[0]
            if ref in template["Resources"]:
                found.add(ref)

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "DeadLetterQueue" and isinstance(item, dict):
                    target(item.get("TargetArn"))
                elif key == "RedrivePolicy" and isinstance(item, dict):
                    target(item.get("deadLetterTargetArn"))
                elif key == "ErrorAction" and isinstance(item, dict) and "Sqs" in item:
                    target(item["Sqs"].get("QueueUrl"))
                elif key == "OnFailure" and isinstance(item, dict):
                    target(item.get("Destination"))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(template["Resources"])
    return found


def watched_by_alarms(template: Mapping[str, Any]) -> list[Watched]:
    return [
        w
        for alarm in resources_of(template, {"AWS::CloudWatch::Alarm"}).values()
        for w in alarm_metrics(alarm["Properties"])
    ]


def test_every_dead_letter_queue_has_an_alarm(template) -> None:
    queues = dead_letter_queues(template)
    assert "IngestDeadLetterQueue" in queues
    watched = {
        w.dimensions["QueueName"]["Fn::GetAtt"][0]
        for w in watched_by_alarms(template)
        if w.namespace == "AWS/SQS"
    }
    assert sorted(queues - watched) == [], "add an AWS/SQS alarm on each"


def test_the_alarms_the_issue_asks_for(template) -> None:
    watched = {
        (w.namespace, w.metric, json.dumps(w.dimensions)) for w in watched_by_alarms(template)
    }
    ingest = json.dumps({"FunctionName": {"Ref": "IngestFaultFunction"}})
    assert ("AWS/Lambda", "Errors", ingest) in watched
    assert ("AWS/Lambda", "Throttles", ingest) in watched
    assert {m for ns, m, _ in watched if ns == "AWS/ApiGateway"} == {"5XXError"}
    assert ("Faultline", "DueBacklogAge", json.dumps({"service": "faultline"})) in watched


def test_every_alarm_tells_the_operators(template) -> None:
    topics = resources_of(template, {"AWS::SNS::Topic"})
    assert "OperatorAlarmsTopic" in topics
    for logical, alarm in resources_of(template, {"AWS::CloudWatch::Alarm"}).items():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": "OperatorAlarmsTopic"}], logical
        assert properties.get("AlarmDescription"), f"{logical}: say what to do"
    # CloudWatch cannot publish to a topic under the AWS managed SNS key.
    key = topics["OperatorAlarmsTopic"]["Properties"]["KmsMasterKeyId"]
    assert key == {"Ref": "OperationsKey"}
    statements = template["Resources"]["OperationsKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s["Principal"].get("Service") == "cloudwatch.amazonaws.com" for s in statements)


def test_the_dashboard_shows_the_services_figures(template) -> None:
    (dashboard,) = resources_of(template, {"AWS::CloudWatch::Dashboard"}).values()
    shown = {
        (w.namespace, w.metric) for w in dashboard_metrics(dashboard["Properties"]["DashboardBody"])
    }
    # faults in and orders opened (every outcome), rejections by reason (every reason)
    assert {("Faultline", f"Fault_{o.value}") for o in Outcome} <= shown
    assert {("Faultline", f"Rejected_{r.value}") for r in RejectionReason} <= shown
    assert ("Faultline", "DispatchLatency") in shown
    # every dead-letter queue's depth
    depths = {
        w.dimensions["QueueName"]["Fn::GetAtt"][0]
        for w in dashboard_metrics(dashboard["Properties"]["DashboardBody"])
        if (w.namespace, w.metric) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    }
    assert depths == dead_letter_queues(template)


# --------------------------------------------------------------------------- logs


def test_every_function_logs_to_its_own_declared_group_with_a_retention(template) -> None:
    groups = resources_of(template, {"AWS::Logs::LogGroup"})
    used: list[str] = []
    for logical, function in resources_of(template, FUNCTION_TYPES).items():
        config = function["Properties"].get("LoggingConfig") or {}
        ref = (config.get("LogGroup") or {}).get("Ref")
        assert ref in groups, f"{logical}: LoggingConfig: LogGroup: !Ref <its AWS::Logs::LogGroup>"
        used.append(ref)
    assert len(used) == len(set(used)), "one group per function"
    for logical, group in groups.items():
        properties = group["Properties"]
        assert properties["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical
        assert properties["KmsKeyId"] == {"Fn::GetAtt": ["OperationsKey", "Arn"]}, logical


def test_every_api_writes_a_json_access_log_with_the_handlers_request_id(template) -> None:
    groups = resources_of(template, {"AWS::Logs::LogGroup"})
    apis = resources_of(template, API_TYPES)
    assert apis
    for logical, api in apis.items():
        setting = api["Properties"]["AccessLogSetting"]
        assert setting["DestinationArn"]["Fn::GetAtt"][0] in groups, logical
        # $context.error.messageString is quoted by API Gateway itself.
        line = setting["Format"].replace("$context.error.messageString", '"quoted"')
        fields = json.loads(line)
        # requestId: the handler logs it as correlation_id (functions/api/hygiene.py);
        # integrationRequestId: the invocation (function_request_id); the trace's id.
        assert fields["requestId"] == "$context.requestId"
        assert fields["integrationRequestId"] == "$context.integration.requestId"
        assert fields["xrayTraceId"] == "$context.xrayTraceId"
        assert {"status", "resourcePath", "httpMethod", "user"} <= set(fields)
