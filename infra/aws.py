"""template.yaml deployed into the AWS emulator (``infra.emulator``).

``deploy_stack`` does what ``sam package`` + ``sam deploy`` do, against moto: zip the code,
upload it to S3, translate the SAM template with samtranslator and create a CloudFormation
stack from the result, so the tables, queue, roles and functions really come from
template.yaml.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from infra.alarms import ALARM_RESOURCE_TYPES, create_alarms
from infra.cognito import COGNITO_RESOURCE_TYPES, UserPoolIds, create_user_pool
from infra.emulator import boto3_session
from infra.packaging import drop_published_versions, package_code, rewrite_code_uris
from infra.template import TEMPLATE_PATH, load_template, parameter_defaults, with_physical_ids

REPO_ROOT = TEMPLATE_PATH.parent

#: Resource types removed from the translated template before ``create_stack``.
#: moto's CloudFormation has no model for some (the IoT topic rule, the API's stage): it
#: logs "No Moto CloudFormation support" and skips them, and the first ``Fn::GetAtt``/``Ref``
#: on one (the Lambda permission's ``SourceArn: !GetAtt FaultTopicRule.Arn``) fails the
#: whole stack with "Fn::GetAtt references undefined resource". Its REST API model takes a
#: name and ignores the OpenAPI body SAM puts the routes and the authorizer in: an API
#: without a single method, which no deployment can be made of. Resources and outputs that
#: reference a removed resource (the AWS::Lambda::Permission resources of the IoT rule and
#: of each API route, the API's URL) are removed with them, see ``strip_unsupported``.
#: None of it matters locally: the IoT rule is evaluated by the local rule bridge from the
#: template's SQL (``infra.template.topic_rules``), the API is the chalice app served
#: locally (and its routes checked against the template's by the tests), and moto does not
#: enforce invoke permissions. The Cognito user pool, client and groups are created before
#: the stack through the cognito-idp API (``infra.cognito``), and every reference to them
#: replaced by their ids, so nothing depends on them when they are removed. The alarms
#: are created after the stack through the CloudWatch API (``infra.alarms``; moto keeps
#: them but never evaluates them), and the account's API Gateway logging role setting
#: (``AWS::ApiGateway::Account``) has no API to go to without the REST API. Everything
#: else (the tables, the queues, the IAM roles, the functions, the appliances' IoT policy
#: and thing type, the log groups and their key, the alarm topic, the dashboard) is
#: created by moto from the template.
UNSUPPORTED_RESOURCE_TYPES: frozenset[str] = frozenset(
    {
        "AWS::IoT::TopicRule",
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Stage",
        "AWS::ApiGateway::Account",
        *COGNITO_RESOURCE_TYPES,
        *ALARM_RESOURCE_TYPES,
    }
)


# --------------------------------------------------------------------------- translation


class LocalManagedPolicyLoader:
    """samtranslator's managed-policy loader without an AWS account.

    samtranslator calls ``load()`` only when a function lists AWS managed policies by
    name; those resolve to ``arn:aws:iam::aws:policy/<path><name>``.
    """

    KNOWN: Mapping[str, str] = {
        "AWSLambdaBasicExecutionRole": "service-role/",
        "AWSLambdaVPCAccessExecutionRole": "service-role/",
        "AWSLambdaDynamoDBExecutionRole": "service-role/",
        "AWSLambdaSQSQueueExecutionRole": "service-role/",
        "AWSXrayWriteOnlyAccess": "",
        "AWSXRayDaemonWriteAccess": "",
    }

    def __init__(self, partition: str = "aws") -> None:
        self.partition = partition

    def load(self) -> dict[str, str]:
        return {
            name: f"arn:{self.partition}:iam::aws:policy/{path}{name}"
            for name, path in self.KNOWN.items()
        }


def translate(
    template: Mapping[str, Any],
    parameters: Mapping[str, str],
    code_s3_uri: str | None = None,
    region: str = "us-east-1",
) -> dict[str, Any]:
    """SAM -> CloudFormation, with ``CodeUri: .`` rewritten to ``code_s3_uri`` first.

    Same steps as ``samtranslator.translator.transform.transform``, but the translator gets
    a session with an explicit region: ``transform`` builds ``boto3.Session()`` from the
    process environment and fails with NoRegionFound when AWS_DEFAULT_REGION is unset.
    """
    from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import (
        to_py27_compatible_template,
        undo_mark_unicode_str_in_template,
    )

    sam = copy.deepcopy(dict(template))
    if code_s3_uri is not None:
        rewrite_code_uris(sam, code_s3_uri)
        drop_published_versions(sam)
    parameter_values: dict[str, Any] = dict(parameters)
    loader = LocalManagedPolicyLoader()
    to_py27_compatible_template(sam, parameter_values)
    metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
    translator = Translator(None, Parser(), boto_session=boto3_session(region), metrics=metrics)
    translated = translator.translate(
        sam, parameter_values=parameter_values, get_managed_policy_map=loader.load
    )
    metrics.publish()  # to the dummy publisher; silences "There are unpublished metrics"
    return undo_mark_unicode_str_in_template(translated)


def strip_unsupported(translated: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Drop UNSUPPORTED_RESOURCE_TYPES, then (transitively) what references them.

    Returns the deployable template and the removed resources (logical id -> type).
    Outputs that reference a removed resource are dropped too.
    """
    out = copy.deepcopy(dict(translated))
    resources: dict[str, Any] = out.get("Resources", {})
    removed: dict[str, str] = {
        logical_id: res["Type"]
        for logical_id, res in resources.items()
        if res.get("Type") in UNSUPPORTED_RESOURCE_TYPES
    }
    while True:
        dependents = {
            logical_id: res["Type"]
            for logical_id, res in resources.items()
            if logical_id not in removed and _references(res.get("Properties"), set(removed))
        }
        if not dependents:
            break
        removed.update(dependents)
    for logical_id in removed:
        del resources[logical_id]
    for res in resources.values():
        depends = res.get("DependsOn")
        if isinstance(depends, list):
            kept = [d for d in depends if d not in removed]
            if kept:
                res["DependsOn"] = kept
            else:
                del res["DependsOn"]
        elif isinstance(depends, str) and depends in removed:
            del res["DependsOn"]
    outputs: dict[str, Any] = out.get("Outputs", {})
    for name in [n for n, o in outputs.items() if _references(o, set(removed))]:
        del outputs[name]
    return out, removed


def _references(value: Any, logical_ids: set[str]) -> bool:
    if isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and arg in logical_ids:
                return True
            if key == "Fn::GetAtt" and isinstance(arg, list) and arg and arg[0] in logical_ids:
                return True
            if key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                if isinstance(text, str) and any(
                    f"${{{lid}}}" in text or f"${{{lid}." in text for lid in logical_ids
                ):
                    return True
            if _references(arg, logical_ids):
                return True
    elif isinstance(value, list):
        return any(_references(v, logical_ids) for v in value)
    return False


# --------------------------------------------------------------------------- deployment


@dataclass
class DeployedStack:
    stack_name: str
    endpoint_url: str
    region: str
    physical_ids: dict[str, str]
    outputs: dict[str, str]
    template: dict[str, Any]
    translated: dict[str, Any]
    #: Parameter values used (given, else template defaults) plus the pseudo parameters,
    #: ready for ``infra.template.resolve_environment``.
    parameters: dict[str, str] = field(default_factory=dict)
    #: Resources of ``translated`` not deployed to moto (logical id -> type).
    skipped: dict[str, str] = field(default_factory=dict)
    #: The template's user pool, created in the emulator beside the stack.
    user_pool: UserPoolIds | None = None

    def session(self) -> boto3.Session:
        return boto3_session(self.region)

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]

    def resource(self, service: str) -> Any:
        return self.session().resource(service, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]


def deploy_stack(
    endpoint_url: str,
    stack_name: str = "faultline-local",
    parameters: dict[str, str] | None = None,
    region: str = "us-east-1",
    template_path: Path | str = TEMPLATE_PATH,
    timeout: float = 60.0,
) -> DeployedStack:
    """Package, translate and deploy template.yaml into the emulator at ``endpoint_url``.

    ``parameters`` override the template's defaults; ``IotDataEndpoint`` defaults to
    ``endpoint_url``. Raises RuntimeError when the stack does not reach CREATE_COMPLETE.
    """
    template = load_template(template_path)
    # IotDataEndpoint defaults to moto itself (moto serves iot-data Publish); the functions
    # accept a host or a full URL there.
    params = {
        "IotDataEndpoint": endpoint_url,
        **parameter_defaults(template),
        **(parameters or {}),
    }
    session = boto3_session(region)

    # sam package: code zip -> S3, CodeUri rewritten to the s3:// uri.
    s3 = session.client("s3", endpoint_url=endpoint_url)
    bucket = f"{stack_name}-artifacts".lower()
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(
            Bucket=bucket,
            CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item,unused-ignore]
        )
    code = package_code(Path(template_path).resolve())
    key = f"{stack_name}/code.zip"
    s3.put_object(Bucket=bucket, Key=key, Body=code)

    translated = translate(template, params, code_s3_uri=f"s3://{bucket}/{key}", region=region)
    user_pool = create_user_pool(
        translated,
        session,
        endpoint_url=endpoint_url,
        parameters={**params, "AWS::Region": region, "AWS::StackName": stack_name},
    )
    created_outside = (
        with_physical_ids(translated, user_pool.physical_ids, user_pool.attributes())
        if user_pool
        else translated
    )
    deployable, skipped = strip_unsupported(created_outside)
    declared = set(deployable.get("Parameters", {}))

    cfn = session.client("cloudformation", endpoint_url=endpoint_url)
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(deployable),
        Parameters=[
            {"ParameterKey": k, "ParameterValue": v} for k, v in params.items() if k in declared
        ],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack = _wait_for_create(cfn, stack_name, timeout)

    physical_ids = _physical_ids(cfn, stack_name)
    _apply_table_settings(
        session.client("dynamodb", endpoint_url=endpoint_url), deployable, physical_ids
    )
    if user_pool is not None:
        physical_ids.update(user_pool.physical_ids)
    parameters = _with_pseudo_parameters(params, stack, region)
    # The alarms moto's CloudFormation cannot create, through its CloudWatch API instead.
    cloudwatch = session.client("cloudwatch", endpoint_url=endpoint_url)
    physical_ids.update(create_alarms(cloudwatch, translated, physical_ids, parameters))
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}
    return DeployedStack(
        stack_name=stack_name,
        endpoint_url=endpoint_url,
        region=region,
        physical_ids=physical_ids,
        outputs=outputs,
        template=template,
        translated=translated,
        parameters=parameters,
        skipped=skipped,
        user_pool=user_pool,
    )


def attach_stack(
    endpoint_url: str, stack_name: str = "faultline-local", region: str = "us-east-1"
) -> DeployedStack:
    """A stack `deploy_stack` created earlier, e.g. by `faultline up` in another process."""
    session = boto3_session(region)
    cfn = session.client("cloudformation", endpoint_url=endpoint_url)
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    template = load_template()
    params = {
        **parameter_defaults(template),
        **{p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])},
    }
    return DeployedStack(
        stack_name=stack_name,
        endpoint_url=endpoint_url,
        region=region,
        physical_ids=_physical_ids(cfn, stack_name),
        outputs={o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])},
        template=template,
        translated={},
        parameters=_with_pseudo_parameters(params, stack, region),
    )


def _physical_ids(cfn: Any, stack_name: str) -> dict[str, str]:
    """Logical id -> physical id of the stack's resources that have one."""
    physical_ids: dict[str, str] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            if summary.get("PhysicalResourceId"):
                physical_ids[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
    return physical_ids


def _with_pseudo_parameters(
    params: Mapping[str, str], stack: Mapping[str, Any], region: str
) -> dict[str, str]:
    return {
        **params,
        "AWS::Region": region,
        "AWS::AccountId": str(stack["StackId"]).split(":")[4],
        "AWS::Partition": "aws",
        "AWS::StackName": str(stack["StackName"]),
        "AWS::URLSuffix": "amazonaws.com",
    }


def _apply_table_settings(
    dynamodb: Any, deployable: Mapping[str, Any], physical_ids: Mapping[str, str]
) -> None:
    """Apply the table properties moto's CloudFormation ignores, from the same template.

    moto's ``AWS::DynamoDB::Table`` model drops ``TimeToLiveSpecification`` and
    ``PointInTimeRecoverySpecification``; the data layer relies on TTL (``expires_at``),
    so they are applied here through the DynamoDB API, exactly as declared.
    """
    for logical_id, res in (deployable.get("Resources") or {}).items():
        if res.get("Type") != "AWS::DynamoDB::Table" or logical_id not in physical_ids:
            continue
        props = res.get("Properties") or {}
        table = physical_ids[logical_id]
        ttl = props.get("TimeToLiveSpecification")
        if isinstance(ttl, dict) and ttl.get("Enabled") in (True, "true", "True"):
            dynamodb.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        pitr = props.get("PointInTimeRecoverySpecification")
        if isinstance(pitr, dict) and pitr.get("PointInTimeRecoveryEnabled") in (
            True,
            "true",
            "True",
        ):
            dynamodb.update_continuous_backups(
                TableName=table,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )


def _wait_for_create(cfn: Any, stack_name: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stack: dict[str, Any] = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            return stack
        if not status.endswith("_IN_PROGRESS"):
            raise RuntimeError(
                f"stack {stack_name} ended in {status}: {stack.get('StackStatusReason', '')}"
            )
        if time.monotonic() > deadline:
            raise TimeoutError(f"stack {stack_name} still {status} after {timeout}s")
        time.sleep(0.05)
