"""The template's CloudWatch alarms in the AWS emulator, and their state.

moto's CloudFormation has no model of ``AWS::CloudWatch::Alarm`` (it would log "No Moto
CloudFormation support" and leave the alarm out), but its CloudWatch API keeps alarms. So
``infra.aws.deploy_stack`` takes the alarms out of the stack and, once the stack exists,
creates each one with ``put_metric_alarm`` from the template's own properties, resolved
against the stack's physical ids: the same alarms, names, metrics, thresholds and actions
as in AWS (as the user pool is created from its properties, ``infra.cognito``).

What the emulator does not do: evaluate an alarm. moto stores it with the state it was
given (``INSUFFICIENT_DATA`` when created here) and never compares a metric with a threshold;
the local functions' EMF metrics go to the function log, not to CloudWatch, and no alarm
ever publishes to OperatorAlarmsTopic locally. ``faultline alarms`` shows them as stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.template import resolve_properties, with_physical_ids

ALARM = "AWS::CloudWatch::Alarm"
ALARM_RESOURCE_TYPES: frozenset[str] = frozenset({ALARM})
QUEUE = "AWS::SQS::Queue"
NOT_EVALUATED = "Not evaluated: the emulator keeps alarms but never evaluates them"


def template_alarms(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id -> properties of every alarm in the template (as written)."""
    return {
        logical_id: dict(resource.get("Properties") or {})
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict) and resource.get("Type") == ALARM
    }


def _attributes(
    template: Mapping[str, Any], physical_ids: Mapping[str, str], region: str
) -> dict[tuple[str, str], str]:
    """The ``Fn::GetAtt`` values alarms use: a queue's name and ARN, from its URL (the
    physical id of a queue: ``<endpoint>/<account>/<name>``)."""
    found: dict[tuple[str, str], str] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        url = physical_ids.get(logical_id)
        if isinstance(resource, dict) and resource.get("Type") == QUEUE and url:
            account, name = url.rstrip("/").split("/")[-2:]
            found[(logical_id, "QueueName")] = name
            found[(logical_id, "Arn")] = f"arn:aws:sqs:{region}:{account}:{name}"
    return found


def resolved_alarms(
    template: Mapping[str, Any],
    physical_ids: Mapping[str, str],
    parameters: Mapping[str, str],
) -> dict[str, dict[str, Any]]:
    """Logical id -> ``put_metric_alarm`` arguments: the alarm's properties with every
    ``Ref``/``Fn::GetAtt``/``Fn::Sub`` resolved against the deployed stack. An alarm
    without an ``AlarmName`` gets ``<stack>-<logical id>``."""
    attributes = _attributes(template, physical_ids, parameters["AWS::Region"])
    alarms: dict[str, dict[str, Any]] = {}
    for logical_id, properties in template_alarms(template).items():
        substituted = with_physical_ids(properties, physical_ids, attributes)
        request = dict(resolve_properties(substituted, physical_ids, parameters))
        request.setdefault("AlarmName", f"{parameters['AWS::StackName']}-{logical_id}")
        alarms[logical_id] = request
    return alarms


def create_alarms(
    cloudwatch: Any,
    template: Mapping[str, Any],
    physical_ids: Mapping[str, str],
    parameters: Mapping[str, str],
) -> dict[str, str]:
    """Create the template's alarms; logical id -> alarm name (the physical id).

    Each starts in INSUFFICIENT_DATA, as in AWS until its first evaluation (moto would
    show OK, "Unchecked: Initial alarm creation"), with a reason that says why it stays so.
    """
    created: dict[str, str] = {}
    for logical_id, request in resolved_alarms(template, physical_ids, parameters).items():
        cloudwatch.put_metric_alarm(**request)
        name = request["AlarmName"]
        cloudwatch.set_alarm_state(
            AlarmName=name, StateValue="INSUFFICIENT_DATA", StateReason=NOT_EVALUATED
        )
        created[logical_id] = name
    return created


@dataclass(frozen=True)
class AlarmState:
    """An alarm of the stack as the emulator keeps it."""

    logical_id: str
    name: str
    state: str  # OK | ALARM | INSUFFICIENT_DATA
    reason: str
    namespace: str
    metric: str
    dimensions: dict[str, str]
    statistic: str
    comparison: str
    threshold: float
    actions: list[str]


def alarm_states(
    cloudwatch: Any,
    template: Mapping[str, Any],
    physical_ids: Mapping[str, str],
    parameters: Mapping[str, str],
) -> list[AlarmState]:
    """The template's alarms, in template order, with the state the emulator keeps; an
    alarm the emulator does not have is listed with the state ``MISSING``."""
    wanted = {
        request["AlarmName"]: logical_id
        for logical_id, request in resolved_alarms(template, physical_ids, parameters).items()
    }
    kept: dict[str, dict[str, Any]] = {}
    names = list(wanted)
    for start in range(0, len(names), 100):  # describe_alarms takes 100 names at a time
        answer = cloudwatch.describe_alarms(AlarmNames=names[start : start + 100])
        kept |= {alarm["AlarmName"]: alarm for alarm in answer["MetricAlarms"]}
    states = []
    for name, logical_id in wanted.items():
        alarm = kept.get(name, {})
        states.append(
            AlarmState(
                logical_id=logical_id,
                name=name,
                state=alarm.get("StateValue", "MISSING"),
                reason=alarm.get("StateReason", "not in the emulator"),
                namespace=alarm.get("Namespace", ""),
                metric=alarm.get("MetricName", ""),
                dimensions={d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])},
                statistic=alarm.get("Statistic") or alarm.get("ExtendedStatistic", ""),
                comparison=alarm.get("ComparisonOperator", ""),
                threshold=float(alarm.get("Threshold", 0.0)),
                actions=list(alarm.get("AlarmActions", [])),
            )
        )
    return states
