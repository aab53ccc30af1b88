"""The single reader of ``template.yaml`` for the local stack.

template.yaml is the only place where IoT rules, functions, tables and API routes are
declared; the local stack and the tests read them from here so nothing about routing is
written twice.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "template.yaml"

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
TOPIC_RULE = "AWS::IoT::TopicRule"


# --------------------------------------------------------------------------- YAML loading


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation short-form intrinsic tags."""


def _construct_node(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(
        None, None, f"unexpected node {node!r}", node.start_mark
    )


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value = _construct_node(loader, node)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML template into plain dicts (long-form intrinsics)."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=CfnLoader)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a template (top level is {type(data).__name__})")
    return data


# --------------------------------------------------------------------------- topic rules


@dataclass(frozen=True)
class TopicRuleSpec:
    logical_id: str
    sql: str
    sql_version: str
    lambda_function_logical_id: str | None
    error_action_queue_logical_id: str | None


def _resources(template: Mapping[str, Any]) -> dict[str, Any]:
    resources = template.get("Resources") or {}
    if not isinstance(resources, dict):
        raise ValueError("template Resources is not a mapping")
    return resources


def _logical_id_of(value: Any, resources: Mapping[str, Any]) -> str | None:
    """Logical id referenced by ``Ref``/``Fn::GetAtt``/``Fn::Sub`` (``${X.Arn}``), if any."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str):
            # SAM's `Function.Alias` / `Function.Version` name the function's alias/version.
            name = arg.split(".", 1)[0]
            return name if name in resources else None
        if key == "Fn::GetAtt":
            if isinstance(arg, str):
                arg = arg.split(".", 1)
            if isinstance(arg, list) and arg and isinstance(arg[0], str):
                return arg[0] if arg[0] in resources else None
        if key == "Fn::Sub":
            text = arg[0] if isinstance(arg, list) else arg
            if isinstance(text, str):
                for name in re.findall(r"\$\{([^}!]+)\}", text):
                    candidate = name.split(".", 1)[0]
                    if candidate in resources:
                        return candidate
    return None


def _error_action_queue(error_action: Any, resources: Mapping[str, Any]) -> str | None:
    if not isinstance(error_action, dict):
        return None
    sqs = error_action.get("Sqs")
    if isinstance(sqs, dict):
        return _logical_id_of(sqs.get("QueueUrl"), resources)
    return None


def _lambda_action(actions: Any, resources: Mapping[str, Any]) -> str | None:
    for action in actions or []:
        if isinstance(action, dict) and isinstance(action.get("Lambda"), dict):
            return _logical_id_of(action["Lambda"].get("FunctionArn"), resources)
    return None


def topic_rules(template: Mapping[str, Any]) -> list[TopicRuleSpec]:
    """Every IoT topic rule: explicit ``AWS::IoT::TopicRule`` and SAM ``IoTRule`` events."""
    resources = _resources(template)
    rules: list[TopicRuleSpec] = []
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        rtype = resource.get("Type")
        props = resource.get("Properties") or {}
        if rtype == TOPIC_RULE:
            payload = props.get("TopicRulePayload") or {}
            rules.append(
                TopicRuleSpec(
                    logical_id=logical_id,
                    sql=str(payload.get("Sql", "")),
                    sql_version=str(payload.get("AwsIotSqlVersion", "2015-10-08")),
                    lambda_function_logical_id=_lambda_action(payload.get("Actions"), resources),
                    error_action_queue_logical_id=_error_action_queue(
                        payload.get("ErrorAction"), resources
                    ),
                )
            )
        elif rtype == SERVERLESS_FUNCTION:
            for event_id, event in (props.get("Events") or {}).items():
                if not isinstance(event, dict) or event.get("Type") != "IoTRule":
                    continue
                event_props = event.get("Properties") or {}
                rules.append(
                    TopicRuleSpec(
                        # SAM names the generated rule <Function><Event>.
                        logical_id=f"{logical_id}{event_id}",
                        sql=str(event_props.get("Sql", "")),
                        sql_version=str(event_props.get("AwsIotSqlVersion", "2015-10-08")),
                        lambda_function_logical_id=logical_id,
                        error_action_queue_logical_id=None,
                    )
                )
    return rules


# --------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    environment: dict[str, Any] = field(default_factory=dict)
    timeout: int | None = None
    memory: int | None = None


def _env_variables(props: Mapping[str, Any]) -> dict[str, Any]:
    env = props.get("Environment") or {}
    variables = env.get("Variables") if isinstance(env, dict) else None
    return dict(variables) if isinstance(variables, dict) else {}


def _as_int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):  # e.g. an unresolved !Ref
        return None


def functions(template: Mapping[str, Any]) -> dict[str, FunctionSpec]:
    """Every Lambda function (SAM or plain), with Globals merged in like SAM does."""
    globals_fn = ((template.get("Globals") or {}).get("Function")) or {}
    result: dict[str, FunctionSpec] = {}
    for logical_id, resource in _resources(template).items():
        if not isinstance(resource, dict):
            continue
        rtype = resource.get("Type")
        if rtype not in (SERVERLESS_FUNCTION, LAMBDA_FUNCTION):
            continue
        props = resource.get("Properties") or {}
        env: dict[str, Any] = {}
        if rtype == SERVERLESS_FUNCTION:
            env.update(copy.deepcopy(_env_variables(globals_fn)))
            timeout = props.get("Timeout", globals_fn.get("Timeout"))
            memory = props.get("MemorySize", globals_fn.get("MemorySize"))
            handler = props.get("Handler", globals_fn.get("Handler"))
        else:
            timeout, memory = props.get("Timeout"), props.get("MemorySize")
            handler = props.get("Handler")
        env.update(copy.deepcopy(_env_variables(props)))
        result[logical_id] = FunctionSpec(
            logical_id=logical_id,
            handler=str(handler or ""),
            environment=env,
            timeout=_as_int(timeout),
            memory=_as_int(memory),
        )
    return result


# --------------------------------------------------------------------------- resolution

_PSEUDO_DEFAULTS = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "faultline-local",
}


def _resolve_ref(name: str, physical_ids: Mapping[str, str], parameters: Mapping[str, str]) -> str:
    if name in parameters:
        return str(parameters[name])
    if name in physical_ids:
        return str(physical_ids[name])
    if name in _PSEUDO_DEFAULTS:
        return _PSEUDO_DEFAULTS[name]
    raise KeyError(f"cannot resolve Ref {name!r}: not a parameter or known resource")


def _resolve_value(
    value: Any, physical_ids: Mapping[str, str], parameters: Mapping[str, str]
) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str):
            return _resolve_ref(arg, physical_ids, parameters)
        if key == "Fn::Sub":
            text, local = (arg[0], arg[1]) if isinstance(arg, list) else (arg, {})
            if not isinstance(text, str):
                raise ValueError(f"unsupported Fn::Sub form: {arg!r}")

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in local:
                    return _resolve_value(local[name], physical_ids, parameters)
                return _resolve_ref(name, physical_ids, parameters)

            return re.sub(r"\$\{([^}!]+)\}", substitute, text)
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            sep, items = arg
            return str(sep).join(_resolve_value(i, physical_ids, parameters) for i in items)
    raise ValueError(f"unsupported intrinsic in environment value: {value!r}")


def resolve_environment(
    spec: FunctionSpec,
    physical_ids: Mapping[str, str],
    parameters: Mapping[str, str],
) -> dict[str, str]:
    """The function's environment with ``Ref``/simple ``Fn::Sub``/``Fn::Join`` resolved.

    ``Ref`` to a resource gives its physical id (a table's name, a queue's URL), ``Ref`` to
    a parameter gives the parameter's value. Pseudo parameters (``AWS::Region``...) resolve
    to ``parameters`` entries when given there, else to local defaults.
    """
    return {
        name: _resolve_value(value, physical_ids, parameters)
        for name, value in spec.environment.items()
    }


def parameter_defaults(template: Mapping[str, Any]) -> dict[str, str]:
    """Default values of the template's parameters (those that have one)."""
    out: dict[str, str] = {}
    for name, decl in (template.get("Parameters") or {}).items():
        if isinstance(decl, dict) and "Default" in decl:
            out[name] = str(decl["Default"])
    return out


# --------------------------------------------------------------------------- event sources


@dataclass(frozen=True)
class ScheduleSpec:
    """A SAM `Schedule`/`ScheduleV2` event: EventBridge invokes `function` on `expression`."""

    name: str  # SAM names the generated rule <Function><Event>
    function: str
    expression: str
    enabled: bool = True


@dataclass(frozen=True)
class QueueSourceSpec:
    """A SAM `SQS` event: Lambda's poller feeds `function` batches from `queue`."""

    function: str
    queue: str  # logical id
    batch_size: int = 10
    report_batch_item_failures: bool = False


def _function_events(template: Mapping[str, Any], kinds: set[str]) -> list[tuple[str, str, Any]]:
    found = []
    for logical_id, resource in _resources(template).items():
        if not isinstance(resource, dict) or resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        for event_id, event in ((resource.get("Properties") or {}).get("Events") or {}).items():
            if isinstance(event, dict) and event.get("Type") in kinds:
                found.append((logical_id, event_id, event.get("Properties") or {}))
    return found


def schedules(template: Mapping[str, Any]) -> list[ScheduleSpec]:
    """Every scheduled function event (moto stores schedules but never fires them)."""
    return [
        ScheduleSpec(
            name=f"{function}{event_id}",
            function=function,
            expression=str(props.get("Schedule") or props.get("ScheduleExpression") or ""),
            enabled=props.get("Enabled", True) not in (False, "false")
            and props.get("State", "ENABLED") != "DISABLED",
        )
        for function, event_id, props in _function_events(template, {"Schedule", "ScheduleV2"})
    ]


def queue_sources(template: Mapping[str, Any]) -> list[QueueSourceSpec]:
    """Every SQS event source of a function, with the queue's logical id."""
    resources = _resources(template)
    specs = []
    for function, _, props in _function_events(template, {"SQS"}):
        queue = _logical_id_of(props.get("Queue"), resources)
        if queue is None:
            continue
        specs.append(
            QueueSourceSpec(
                function=function,
                queue=queue,
                batch_size=_as_int(props.get("BatchSize")) or 10,
                report_batch_item_failures="ReportBatchItemFailures"
                in (props.get("FunctionResponseTypes") or []),
            )
        )
    return specs


@dataclass(frozen=True)
class ApiRouteSpec:
    """A SAM `Api` event: API Gateway's REST API sends `method` `path` to `function`."""

    function: str
    event_id: str
    path: str  # the path template, as chalice spells it: /orders/{order_id}
    method: str  # upper case, as API Gateway's `httpMethod` and chalice spell it
    rest_api: str | None  # the AWS::Serverless::Api's logical id; None: SAM's implicit API


def api_routes(template: Mapping[str, Any]) -> list[ApiRouteSpec]:
    """Every REST API route of the template's functions (SAM `Api` events)."""
    resources = _resources(template)
    return [
        ApiRouteSpec(
            function=function,
            event_id=event_id,
            path=str(props.get("Path", "")),
            method=str(props.get("Method", "")).upper(),
            rest_api=_logical_id_of(props.get("RestApiId"), resources),
        )
        for function, event_id, props in _function_events(template, {"Api"})
    ]


_INTRINSICS = frozenset({"Ref", "Fn::Sub", "Fn::Join"})


def resolve_properties(
    value: Any, physical_ids: Mapping[str, str], parameters: Mapping[str, str]
) -> Any:
    """A resource's properties with ``Ref``/``Fn::Sub``/``Fn::Join`` resolved (as strings,
    like ``resolve_environment``); plain values keep their types (numbers, booleans)."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in _INTRINSICS:
            return _resolve_value(value, physical_ids, parameters)
        return {k: resolve_properties(v, physical_ids, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_properties(v, physical_ids, parameters) for v in value]
    return value


# --------------------------------------------------------------------------- resolution


def with_physical_ids(
    template: Mapping[str, Any],
    physical_ids: Mapping[str, str],
    attributes: Mapping[tuple[str, str], str],
) -> dict[str, Any]:
    """The template with ``Ref``/``Fn::GetAtt``/``Fn::Sub`` of resources created outside the
    stack replaced by their values, as CloudFormation would resolve them."""

    def substitute(value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref" and arg in physical_ids:
                    return physical_ids[arg]
                if key == "Fn::GetAtt":
                    target = tuple(arg.split(".", 1) if isinstance(arg, str) else arg)
                    if target in attributes:
                        return attributes[target]
                if key == "Fn::Sub":
                    text, local = (arg[0], arg[1:]) if isinstance(arg, list) else (arg, [])
                    if isinstance(text, str):
                        for logical_id, physical_id in physical_ids.items():
                            text = text.replace(f"${{{logical_id}}}", physical_id)
                        for (logical_id, name), attribute in attributes.items():
                            text = text.replace(f"${{{logical_id}.{name}}}", attribute)
                        return {key: [text, *substitute(local)] if local else text}
            return {k: substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [substitute(v) for v in value]
        return value

    return dict(substitute(template))
