"""The AWS emulator of the local stack: moto in server mode with template.yaml deployed.

``deploy_stack`` does what ``sam package`` + ``sam deploy`` do, against moto: zip the code,
upload it to S3, translate the SAM template with samtranslator and create a CloudFormation
stack from the result, so the tables, queue, roles and functions really come from
template.yaml.
"""

from __future__ import annotations

import copy
import functools
import gc
import inspect
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3

from infra.packaging import drop_published_versions, package_code, rewrite_code_uris
from infra.template import TEMPLATE_PATH, load_template, parameter_defaults

REPO_ROOT = TEMPLATE_PATH.parent

#: Dummy credentials for the emulator; only ever set on sessions we create.
TEST_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}

#: Resource types removed from the translated template before ``create_stack``.
#: moto's CloudFormation has no model for them: it logs "No Moto CloudFormation support"
#: and skips them, and the first ``Fn::GetAtt``/``Ref`` on one (the Lambda permission's
#: ``SourceArn: !GetAtt FaultTopicRule.Arn``, the HttpApi URL output) fails the whole
#: stack with "Fn::GetAtt references undefined resource". Resources and outputs that
#: reference a removed resource (the three AWS::Lambda::Permission resources: IoT rule and
#: HttpApi routes) are removed with them, see ``strip_unsupported``. None of it matters
#: locally: the IoT rule is evaluated by the local rule bridge from the template's SQL
#: (``infra.template.topic_rules``), the HTTP API is the chalice app served locally, and
#: moto does not enforce invoke permissions. Everything else (the six tables, the queue,
#: the IAM roles, both Lambda functions) is created by moto from the template.
UNSUPPORTED_RESOURCE_TYPES: frozenset[str] = frozenset(
    {
        "AWS::IoT::TopicRule",
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::ApiMapping",
        "AWS::ApiGatewayV2::Authorizer",
        "AWS::ApiGatewayV2::DomainName",
        "AWS::ApiGatewayV2::Integration",
        "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::Stage",
    }
)


def boto3_session(region: str = "us-east-1") -> boto3.Session:
    """A boto3 session with the emulator's dummy credentials (no global state touched)."""
    return boto3.Session(
        aws_access_key_id=TEST_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=TEST_CREDENTIALS["aws_secret_access_key"],
        aws_session_token=TEST_CREDENTIALS["aws_session_token"],
        region_name=region,
    )


# --------------------------------------------------------------------------- moto server


def _quiet_moto_server(host: str, port: int) -> Any:
    """moto's ThreadedMotoServer without a werkzeug access-log line per request."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        """moto's request handler without an access-log line, on connections that stay open.

        werkzeug's own ``run_wsgi`` answers every request with ``Connection: close`` and
        then waits 10 ms for stray body bytes (http.server cannot otherwise drain a body the
        application left unread). So each AWS call paid a TCP connect, a new server thread
        and that wait. Here the body is read in full before the application runs, the
        response goes out with its length, and the HTTP/1.1 connection serves the client's
        next request. The environ is still werkzeug's (and moto's) ``make_environ``.
        """

        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Head and body go out as two writes; without this the body waits for the
            # client's delayed ACK of the head (40 ms) on a connection that stays open.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def run_wsgi(self) -> None:
            if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            environ = self.make_environ()
            if environ.pop("wsgi.input_terminated", False):  # chunked: read to its end
                body = environ["wsgi.input"].read()
                environ.pop("HTTP_TRANSFER_ENCODING", None)
            else:
                body = self.rfile.read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            started: list[Any] = []

            def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> Any:
                started[:] = [status, headers]
                return chunks.append

            chunks: list[bytes] = []
            try:
                result = self.server.app(environ, start_response)
                try:
                    chunks.extend(result)
                finally:
                    if hasattr(result, "close"):
                        result.close()
            except Exception as exc:  # what werkzeug would answer, then close
                self.close_connection = True
                self.send_error(500, f"{type(exc).__name__}: {exc}")
                return
            data = b"".join(chunks)
            status, headers = started
            code = int(status.split(" ", 1)[0])
            self.send_response(code, status.partition(" ")[2])
            # HEAD answers carry the length of what a GET would return: keep the app's.
            keep_length = self.command == "HEAD" or 100 <= code < 200 or code in (204, 304)
            for name, value in headers:
                if name.lower() in ("connection", "transfer-encoding"):
                    continue
                if name.lower() == "content-length" and not keep_length:
                    continue
                self.send_header(name, value)
            if not keep_length:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data and not keep_length:
                self.wfile.write(data)

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return None

    class QuietServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)
            # moto's backends are not thread-safe (a transaction deep-copies tables that a
            # concurrent write is changing), so the emulator serves one request at a time.
            one_at_a_time = threading.Lock()

            def serialized(environ: Any, start_response: Any) -> Any:
                with one_at_a_time:
                    return list(app(environ, start_response))

            self._server = make_server(
                self._ip_address, self._port, serialized, True, request_handler=QuietHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    return QuietServer(ip_address=host, port=port, verbose=False)


def _item_level_transaction_rollback() -> None:
    """Make moto's TransactWriteItems back up only the items it touches.

    moto deep-copies every table a transaction names, so each transaction costs time in
    proportion to the table's size and the local stack slows down as orders accumulate.
    Backing up just the touched items gives the same all-or-nothing result.
    """
    import moto.dynamodb.models as ddb_models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    backend_cls = ddb_models.DynamoDBBackend
    if getattr(backend_cls.transact_write_items, "item_level_rollback", False):
        return
    original = backend_cls.transact_write_items

    class _TablesAreNotCopied:
        """moto's module-level `copy`, except that a Table is 'copied' as itself."""

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    ddb_models.copy = _TablesAreNotCopied  # type: ignore[assignment]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups: list[tuple[Any, Any, Any, Any]] = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            attrs = op.get("Key") or op.get("Item") or {}
            if table is None or table.hash_key_attr not in attrs:
                continue
            hash_value = DynamoType(attrs[table.hash_key_attr])
            range_attr = table.range_key_attr
            range_value = DynamoType(attrs[range_attr]) if range_attr in attrs else None
            if table.has_range_key and range_value is None:
                continue
            current = table.get_item(hash_value, range_value)
            backups.append((table, hash_value, range_value, copy.deepcopy(current)))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, saved in reversed(backups):
                if saved is None:
                    if table.get_item(hash_value, range_value) is not None:
                        table.delete_item(hash_value, range_value)
                elif range_value is not None:
                    table.items[hash_value][range_value] = saved
                else:
                    table.items[hash_value] = saved
            raise

    transact_write_items.item_level_rollback = True  # type: ignore[attr-defined]
    backend_cls.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _linear_item_size_check() -> None:
    """Make moto build an item with one 400 KB size check instead of one per attribute.

    moto's item attribute dict re-sizes the whole item (recursively) on every attribute it
    is given, so building an item costs O(attributes^2); an order with its history made
    that a fifth of the emulator's CPU under the benchmark. Sizes are not negative, so
    checking the total once raises ItemSizeTooLarge for exactly the same items. Later
    single-attribute updates keep moto's own check.
    """
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    if getattr(Item.__init__, "linear_size_check", False):
        return

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        typed = {key: DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(key) + value.size() for key, value in typed.items()) > 405000:
            raise ItemSizeTooLarge  # moto's limit, see LimitedSizeDict
        self.attrs = LimitedSizeDict.__new__(LimitedSizeDict)
        dict.update(self.attrs, typed)

    __init__.linear_size_check = True  # type: ignore[attr-defined]
    Item.__init__ = __init__  # type: ignore[method-assign]


def _partition_scoped_queries() -> None:
    """Make moto's Query on a table's own key read only that partition.

    moto filters every item of the table for each Query, so a Query slows down as the
    table grows; DynamoDB reads just the partition. Index queries are left as they are.
    """
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "partition_scoped", False):
        return
    original = Table.query

    signature = inspect.signature(original)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = signature.bind(self, *args, **kwargs)
        if call.arguments.get("index_name") is not None or not self.range_key_attr:
            return original(self, *args, **kwargs)
        partition = list(self.items.get(call.arguments["hash_key"], {}).values())
        self.all_items = lambda: partition  # shadows the method for this call only
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    query.partition_scoped = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]


class MotoEndpoint:
    """A moto server running in a thread of this process.

    moto keeps its state in process-wide backends: every moto server (and any ``mock_aws``)
    in one process sees the same accounts and resources. While several endpoints run they
    share that state; when the last running endpoint stops, the state is reset, so the
    next ``start_moto`` (e.g. in the next test module) begins empty.
    """

    _running = 0
    _lock = threading.Lock()

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        _item_level_transaction_rollback()
        _partition_scoped_queries()
        _linear_item_size_check()
        self._server = _quiet_moto_server(host, port)
        self._server.start()
        bound_host, bound_port = self._server.get_host_and_port()
        self.host = bound_host
        self.port = bound_port
        self.url = f"http://{bound_host}:{bound_port}"
        self._stopped = False
        with MotoEndpoint._lock:
            MotoEndpoint._running += 1

    def reset(self) -> None:
        """Forget every resource in moto (process-wide)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        with MotoEndpoint._lock:
            MotoEndpoint._running -= 1
            last = MotoEndpoint._running == 0
            if last:
                self.reset()
            self._server.stop()

    def __enter__(self) -> MotoEndpoint:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"MotoEndpoint({self.url!r})"


class MotoProcess:
    """A moto server in a process of its own: the local stack's emulator.

    Its own interpreter (and GIL) keeps the emulator's CPU from slowing the handlers and the
    broker clients; the state dies with the process.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "infra.aws", host, str(port)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
        assert self._process.stdout is not None
        ready = self._process.stdout.readline().split()  # "ready <port>"
        if len(ready) != 2 or ready[0] != "ready":
            self._process.kill()
            raise RuntimeError(f"the AWS emulator did not start (exit {self._process.wait()})")
        self.host = host
        self.port = int(ready[1])
        self.url = f"http://{host}:{self.port}"

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> MotoProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_moto(
    host: str = "127.0.0.1", port: int = 0, *, separate_process: bool = False
) -> MotoEndpoint | MotoProcess:
    """Start moto's server (a thread here, or its own process); ``port=0`` picks a free port."""
    if separate_process:
        return MotoProcess(host=host, port=port)
    return MotoEndpoint(host=host, port=port)


#: The services the local stack deploys into and calls (see ``_freeze_startup_heap``).
EMULATED_SERVICES: tuple[str, ...] = (
    "cloudformation",
    "dynamodb",
    "iam",
    "lambda",
    "s3",
    "sqs",
    "sts",
)


def _list_moto_modules_once() -> None:
    """moto's dispatcher lists its package directory (a listdir and ~60 stats) on every
    request to tell a service name from a host name; the listing never changes while the
    emulator runs."""
    from moto import backends

    if isinstance(backends.list_of_moto_modules, functools._lru_cache_wrapper):
        return
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = functools.cache(lambda: modules)


def _keep_full_collections_short(services: Iterable[str] = EMULATED_SERVICES) -> None:
    """Keep the garbage collector's full passes out of the emulator's request latency.

    The server answers one request at a time, so a pause of the collector is a pause of
    every caller. moto's CloudFormation backend imports nearly every moto backend (over
    200,000 objects that live as long as the process), and the tables' items (tens of
    thousands of ``DynamoType`` objects) only ever grow; each full collection walked all
    of it again (100-250 ms on the benchmark machine), which was the tail of the local
    end-to-end latency. So: load the services' backends up front, freeze that heap, and
    after every full collection freeze its survivors too. A full pass then walks only what
    was promoted since the last one. Frozen objects are still freed by reference counting;
    only a reference cycle that dies after it was frozen is not reclaimed, and the
    emulator's long-lived data (items, tables) holds no cycles.
    """
    from moto.moto_server.werkzeug_app import create_backend_app

    _list_moto_modules_once()
    for service in services:
        create_backend_app(service)  # type: ignore[arg-type]
    gc.collect()
    gc.freeze()

    def freeze_survivors(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info.get("generation") == 2:
            gc.freeze()

    gc.callbacks.append(freeze_survivors)


def _serve(host: str, port: int) -> None:
    """Entry point of MotoProcess: serve until terminated."""
    _item_level_transaction_rollback()
    _partition_scoped_queries()
    _linear_item_size_check()
    _keep_full_collections_short()
    server = _quiet_moto_server(host, port)
    server.start()
    print("ready", server.get_host_and_port()[1], flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    parent = os.getppid()
    # Also end when the parent is gone (killed without a chance to stop us).
    while not stop.wait(1.0) and os.getppid() == parent:
        pass
    server.stop()


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
    deployable, skipped = strip_unsupported(translated)
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

    physical_ids: dict[str, str] = {}
    paginator = cfn.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            if summary.get("PhysicalResourceId"):
                physical_ids[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
    _apply_table_settings(
        session.client("dynamodb", endpoint_url=endpoint_url), deployable, physical_ids
    )
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}
    return DeployedStack(
        stack_name=stack_name,
        endpoint_url=endpoint_url,
        region=region,
        physical_ids=physical_ids,
        outputs=outputs,
        template=template,
        translated=translated,
        parameters={
            **params,
            "AWS::Region": region,
            "AWS::AccountId": str(stack["StackId"]).split(":")[4],
            "AWS::Partition": "aws",
            "AWS::StackName": stack_name,
            "AWS::URLSuffix": "amazonaws.com",
        },
        skipped=skipped,
    )


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


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]))
