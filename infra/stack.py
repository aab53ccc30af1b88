"""The local stack: broker, AWS emulator with template.yaml deployed, rules bridge, API.

Handlers run in this process, like warm Lambda containers, with the environment the
template gives them (resolved against the emulator's resources).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import shutil
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from chalice.config import Config as ChaliceConfig
from chalice.local import ChaliceRequestHandler, LocalDevServer

from functions.common.aws import AwsClients
from functions.common.settings import Settings
from functions.common.wiring import Dependencies, provided
from functions.dal.dead_letters import DeadLetter, DeadLetterQueue
from functions.domain.catalog import default_catalog
from infra import seed as seeding
from infra.api_client import ApiClient
from infra.aws import DeployedStack, deploy_stack
from infra.bridge import DataPlaneServer, RulesBridge, routes_from_template
from infra.broker import (
    DATA_PLANE_IDENTITY,
    RULES_ENGINE_IDENTITY,
    Broker,
    free_port,
    start_broker,
)
from infra.cognito import sign_in
from infra.dead_letters import ReplayReport, dead_letter_attributes, replay_dead_letters
from infra.emulator import LOCAL_CREDENTIALS, MotoEndpoint, MotoProcess, start_moto
from infra.lambda_runtime import AsyncInvoker, FunctionOutput, Invocation
from infra.outbox import SentNotification, list_outbox, outbox_queue_name, subscribe_queue
from infra.scheduler import Scheduler
from infra.template import functions as template_functions
from infra.template import queue_sources, resolve_environment, schedules, topic_rules
from iot.pki import CertificateAuthority, ClientCertificate

REGION = "us-east-1"


@dataclass
class StackOptions:
    host: str = "127.0.0.1"
    mqtt_port: int = 0  # 0: pick a free port
    aws_port: int = 0
    api_port: int = 0
    iot_data_port: int = 0
    broker: str = "auto"  # auto | amqtt | mosquitto
    homes: int = 40
    technicians: int = 16
    seed: int = 1
    stack_name: str = "faultline-local"
    concurrency: int = 8
    #: Mosquitto with mutual TLS and the per-thing ACL (device identity as on IoT Core).
    tls: bool = False
    #: The local CA's directory (`faultline up` uses iot.pki.default_pki_dir()); None: a
    #: temporary one, removed on stop, so tests and demos never share or leave keys.
    pki_dir: Path | None = None
    schedules: bool = True  # fire the template's schedules (the stuck-order sweeper)
    #: Template parameters to override, e.g. {"ApprovalExpirySeconds": "90"} for a demo
    #: that lets an order expire within a couple of minutes.
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass
class LocalStack:
    options: StackOptions = field(default_factory=StackOptions)
    broker: Broker | None = None
    moto: MotoEndpoint | MotoProcess | None = None
    deployed: DeployedStack | None = None
    data_plane: DataPlaneServer | None = None
    invoker: AsyncInvoker | None = None
    bridge: RulesBridge | None = None
    scheduler: Scheduler | None = None
    seed_data: seeding.SeedData | None = None
    #: The seeded users of the pool: username -> group, sub, password, what they own.
    users: dict[str, seeding.SeedUser] = field(default_factory=dict)
    api_url: str = ""
    _api: LocalDevServer | None = None
    dependencies: Dependencies | None = None
    _output: FunctionOutput | None = None
    function_log: Path | None = None
    pki: CertificateAuthority | None = None
    #: With tls: each seeded appliance's certificate, by thing name.
    device_certificates: dict[str, ClientCertificate] = field(default_factory=dict)
    _temporary_pki: Path | None = None
    #: The local outbox: a queue subscribed to the notifications topic (infra/outbox.py).
    outbox_url: str = ""
    _api_port: int = 0

    def start(self) -> LocalStack:
        opts = self.options
        try:
            self._start_pki()
            server = self.pki.issue_server(opts.host) if self.pki else None
            self.broker = start_broker(opts.broker, opts.host, opts.mqtt_port, tls=server)
            self.data_plane = DataPlaneServer(
                opts.host,
                opts.iot_data_port,
                self.broker.host,
                self.broker.port,
                tls=self._service_certificate(DATA_PLANE_IDENTITY),
            )
            self.moto = start_moto(opts.host, opts.aws_port, separate_process=True)
            # The API's port is chosen first: the ticket links in notifications name it.
            self._api_port = opts.api_port or free_port(opts.host)
            self.deployed = deploy_stack(
                self.moto.url,
                stack_name=opts.stack_name,
                parameters={
                    "IotDataEndpoint": self.data_plane.url,
                    "WebUrl": f"http://{opts.host}:{self._api_port}",
                    **opts.parameters,
                },
                region=REGION,
            )
            self.outbox_url = subscribe_outbox(self.deployed)
            self.dependencies = function_dependencies(
                self.deployed, self.moto.url, self.data_plane.url
            )
            leave_queue_polling_to_the_local_runtime(self.deployed)
            use_powertools_settings(self.deployed.template)
            # Powertools keeps one metric set per process; Lambda runs one invocation per
            # process, this runtime several at once, so one flush finds another's set empty.
            warnings.filterwarnings("ignore", message="No application metrics to publish")
            self.seed_data = seeding.build(
                default_catalog(), homes=opts.homes, technicians=opts.technicians, seed=opts.seed
            )
            seeding.load(
                self.seed_data,
                default_catalog(),
                self.dependencies.registry,
                self.dependencies.technicians,
                self.dependencies.stock,
            )
            if self.pki is not None:
                self.device_certificates = {
                    a.thing_name: self.pki.ensure_client(a.thing_name)
                    for a in self.seed_data.appliances
                }
            assert self.deployed.user_pool is not None, "template.yaml declares the user pool"
            self.users = seeding.load_users(
                seeding.users(self.seed_data),
                self.deployed.session(),
                self.deployed.user_pool,
                self.dependencies.accounts,
            )
            self._capture_function_output()
            self._start_rules_engine()
            if opts.schedules:
                self._start_scheduler()
            self._start_api()
            # The start-up objects live as long as the stack: keep the collector's full
            # passes (hundreds of ms with them in view) from pausing the handlers.
            gc.collect()
            gc.freeze()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_pki(self) -> None:
        if not self.options.tls:
            return
        directory = self.options.pki_dir
        if directory is None:
            directory = self._temporary_pki = Path(tempfile.mkdtemp(prefix="faultline-pki-"))
        self.pki = CertificateAuthority(directory)

    def _service_certificate(self, identity: str) -> ClientCertificate | None:
        return self.pki.ensure_client(identity, service=True) if self.pki else None

    def _function_specs(self) -> dict[str, Any]:
        assert self.deployed is not None
        return template_functions(self.deployed.template)

    @property
    def data_plane_url(self) -> str:
        return self.data_plane.url if self.data_plane else ""

    def _dead_letter_url(self, function: str) -> str | None:
        assert self.deployed is not None
        props = self.deployed.template["Resources"][function].get("Properties", {})
        target = (props.get("DeadLetterQueue") or {}).get("TargetArn")
        if isinstance(target, dict) and "Fn::GetAtt" in target:
            return self.deployed.physical_ids.get(target["Fn::GetAtt"][0])
        return None

    def _send_to_queue(self, queue_url: str, body: str) -> None:
        assert self.deployed is not None
        self.deployed.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body)

    def _dead_letter(self, invocation: Invocation) -> None:
        """As Lambda: the event itself as the body, what failed in the attributes."""
        url = self._dead_letter_url(invocation.function)
        if url:
            assert self.deployed is not None
            self.deployed.client("sqs").send_message(
                QueueUrl=url,
                MessageBody=json.dumps(invocation.event),
                MessageAttributes=dead_letter_attributes(invocation),
            )

    def _capture_function_output(self) -> None:
        self.function_log = Path(tempfile.gettempdir()) / f"{self.options.stack_name}-functions.log"
        self._output = FunctionOutput.capture(self.function_log, self._thread_prefix)

    @property
    def _thread_prefix(self) -> str:
        return f"lambda:{self.options.stack_name}"

    def _start_rules_engine(self) -> None:
        assert self.deployed is not None and self.broker is not None
        assert self.dependencies is not None
        specs = self._function_specs()
        self.invoker = AsyncInvoker(
            {fid: (s.handler, s.memory or 128, s.timeout or 3) for fid, s in specs.items()},
            self._dead_letter,
            self.dependencies,
            concurrency=self.options.concurrency,
            thread_prefix=self._thread_prefix,
        )
        routes = routes_from_template(
            topic_rules(self.deployed.template), self.deployed.physical_ids
        )
        self.bridge = RulesBridge(
            self.broker.host,
            self.broker.port,
            routes,
            self.invoker,
            self._send_to_queue,
            tls=self._service_certificate(RULES_ENGINE_IDENTITY),
        )
        self.bridge.start()

    def _start_scheduler(self) -> None:
        assert self.deployed is not None and self.invoker is not None
        invoker = self.invoker
        self.scheduler = Scheduler(
            schedules(self.deployed.template),
            lambda function, event: invoker.invoke_async(function, event),  # as EventBridge
            region=REGION,
            account=self.deployed.parameters.get("AWS::AccountId", "123456789012"),
        ).start()

    def _start_api(self) -> None:
        from functions.api.app import app

        assert self.dependencies is not None
        handler_cls = type(
            "StackRequestHandler",
            (_LocalRequestHandler,),
            {"dependencies": self.dependencies, "thread_name": f"{self._thread_prefix}_api"},
        )
        self._api = LocalDevServer(
            app, ChaliceConfig(), self.options.host, self._api_port, handler_cls=handler_cls
        )
        port = self._api.server.server_address[1]
        self.api_url = f"http://{self.options.host}:{port}"
        threading.Thread(target=self._api.server.serve_forever, daemon=True).start()

    def cold_containers(self) -> Dependencies:
        """Invocations from now on run as in new Lambda containers: new clients, empty
        caches (the registry's, the learned counts')."""
        assert self.deployed is not None and self.moto is not None and self.invoker is not None
        self.dependencies = function_dependencies(self.deployed, self.moto.url, self.data_plane_url)
        self.invoker.dependencies = self.dependencies
        return self.dependencies

    def endpoints(self) -> dict[str, str]:
        assert self.broker is not None and self.moto is not None
        tls = ", mutual TLS" if self.broker.tls else ""
        return {
            "mqtt": f"{self.broker.host}:{self.broker.port} ({self.broker.kind}{tls})",
            "aws": self.moto.url,
            "api": self.api_url,
            "web": f"{self.api_url}/app",
            "iot_data": self.data_plane_url,
            "function_log": str(self.function_log),
            "outbox": self.outbox_url,
            **({"device_pki": str(self.pki.directory)} if self.pki else {}),
        }

    @property
    def dead_letter_queue_url(self) -> str:
        assert self.deployed is not None
        return self.deployed.physical_ids["IngestDeadLetterQueue"]

    def list_dead_letters(self) -> list[DeadLetter]:
        """Every message waiting in the dead-letter queue (rule errors and failed
        invocations), left in it."""
        assert self.deployed is not None
        queue = DeadLetterQueue(self.deployed.client("sqs"), self.dead_letter_queue_url)
        return queue.peek(limit=None)

    def outbox(self) -> list[SentNotification]:
        """The notifications sent so far (left in the outbox queue), oldest first."""
        assert self.deployed is not None
        return list_outbox(self.deployed.client("sqs"), self.outbox_url)

    def replay_dead_letters(self) -> ReplayReport:
        """Drain the dead-letter queue through its consumer, as Lambda's SQS poller would."""
        assert self.deployed is not None and self.invoker is not None
        return replay_through_consumer(self.deployed, self.invoker, self.dead_letter_queue_url)

    def connection_details(self) -> dict[str, Any]:
        """Every endpoint, the user pool and the seeded users, as one JSON-able object
        (what `faultline up --endpoints-file` writes, for scripts driving the stack)."""
        assert self.broker is not None and self.deployed is not None
        pool = self.deployed.user_pool
        assert pool is not None
        return {
            "endpoints": self.endpoints(),
            "mqtt": {
                "host": self.broker.host,
                "port": self.broker.port,
                "broker": self.broker.kind,
            },
            "region": self.deployed.region,
            "user_pool": {
                "pool_id": pool.pool_id,
                "client_id": pool.client_id,
                "issuer": pool.issuer,
                "jwks_url": pool.jwks_url,
            },
            "users": {name: dataclasses.asdict(user) for name, user in self.users.items()},
        }

    def api_as(self, username: str) -> ApiClient:
        """The HTTP API called as the seeded user `username` (e.g. "operator",
        "owner-home-000", "tech-tech-003"), signed in with the standard USER_PASSWORD_AUTH
        flow: its requests carry the user's access token."""
        assert self.deployed is not None and self.deployed.user_pool is not None
        user = self.users[username]
        token = sign_in(self.deployed.session(), self.deployed.user_pool, username, user.password)
        return ApiClient(self.api_url, token)

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        if self._api is not None:
            self._api.shutdown()
            self._api.server.server_close()
            self._api = None
        if self.bridge is not None:
            self.bridge.stop()
            self.bridge = None
        if self.invoker is not None:
            self.invoker.shutdown()
            self.invoker = None
        if self.data_plane is not None:
            self.data_plane.stop()
            self.data_plane = None
        if self.moto is not None:
            self.moto.stop()
            self.moto = None
        if self.broker is not None:
            self.broker.stop()
            self.broker = None
        if self._output is not None:
            self._output.release(self._thread_prefix)
            self._output = None
        if self._temporary_pki is not None:
            shutil.rmtree(self._temporary_pki, ignore_errors=True)
            self._temporary_pki = None
        gc.unfreeze()  # what start() froze can be collected again

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _LocalRequestHandler(ChaliceRequestHandler):
    """Serves one request with its stack's dependencies, as a Lambda container would."""

    dependencies: ClassVar[Dependencies]
    thread_name: ClassVar[str]

    def handle_one_request(self) -> None:
        # Named as the stack's function threads, so the API's logs go to its function log
        # (as Lambda sends them to CloudWatch), not into the console of a demo or a test.
        threading.current_thread().name = self.thread_name
        with provided(self.dependencies):
            super().handle_one_request()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown the demo's output


def subscribe_outbox(deployed: DeployedStack) -> str:
    """The local outbox: a queue subscribed to the template's notifications topic, as an
    e-mail or SMS subscription would be in AWS. Returns its URL."""
    return subscribe_queue(
        deployed.client("sqs"),
        deployed.client("sns"),
        deployed.physical_ids["NotificationsTopic"],
        outbox_queue_name(deployed.stack_name),
    )


def function_settings(deployed: DeployedStack, iot_data_url: str) -> Settings:
    """The settings Lambda's environment would give the functions, resolved against the
    deployed stack's physical ids."""
    env: dict[str, str] = {}
    parameters = {**deployed.parameters, "IotDataEndpoint": iot_data_url}
    for spec in template_functions(deployed.template).values():
        env.update(resolve_environment(spec, deployed.physical_ids, parameters))
    if deployed.user_pool is not None:
        # The tokens keep Cognito's issuer; the keys come from the emulator.
        env["JWKS_URL"] = deployed.user_pool.jwks_url
        if deployed.user_pool.endpoint_url:  # browsers sign in at the emulator
            env["COGNITO_ENDPOINT"] = f"{deployed.user_pool.endpoint_url}/"
    return Settings.from_environment(env)


def function_dependencies(deployed: DeployedStack, aws_url: str, iot_data_url: str) -> Dependencies:
    """The functions' dependencies against the emulator: its tables, endpoint and keys."""
    settings = function_settings(deployed, iot_data_url)
    clients = AwsClients(
        settings.iot_data_url,
        endpoint_url=aws_url,
        region=REGION,
        credentials=LOCAL_CREDENTIALS,
    )
    return Dependencies(settings, clients)


def use_powertools_settings(template: dict[str, Any]) -> None:
    """Powertools reads its settings (service name, metrics namespace, log level) from the
    process environment: set the template's once, the same for every stack in the process.
    No X-Ray daemon runs locally, so tracing is off."""
    for spec in template_functions(template).values():
        for name, value in spec.environment.items():
            if name.startswith("POWERTOOLS_") and isinstance(value, str):
                os.environ.setdefault(name, value)
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


def leave_queue_polling_to_the_local_runtime(deployed: DeployedStack) -> None:
    """moto would run an SQS event source's function itself, in a container, as messages
    arrive (and hide them meanwhile); here the functions run in this process, so the
    mappings are disabled and the local runtime feeds the consumer (`dlq replay`)."""
    lambda_client = deployed.client("lambda")
    for mapping in lambda_client.list_event_source_mappings().get("EventSourceMappings", []):
        lambda_client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)


def replay_through_consumer(
    deployed: DeployedStack, invoker: AsyncInvoker, queue_url: str
) -> ReplayReport:
    """Feed `queue_url`'s messages to the function whose SQS event source it is."""
    queue_ids = {url: logical for logical, url in deployed.physical_ids.items()}
    [source] = [s for s in queue_sources(deployed.template) if s.queue == queue_ids[queue_url]]

    def consume(event: dict[str, Any]) -> dict[str, Any]:
        invocation = invoker.invoke(source.function, event)
        if invocation.error is not None:  # the whole batch failed: every record stays
            return {
                "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]
            }
        return dict(invocation.result or {})

    return replay_dead_letters(
        deployed.client("sqs"), queue_url, consume, batch_size=source.batch_size, region=REGION
    )
