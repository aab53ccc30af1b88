"""What each operation of the service reads, writes and sends, recorded from the real code.

Every operation runs through the functions' own use cases (ingest, the homeowner's ticket
and approval, the technician's steps, the sweeper's timers) against the in-process emulator
(`moto.mock_aws`), with the tables created from template.yaml's own definitions. Hooks on
the clients `functions/common/aws.py` builds (botocore's before-parameter-build and
after-call events) see every request: for DynamoDB, the item images before and after each
write and the items each read evaluated are read back from the emulator through a separate,
unhooked client, and priced by DynamoDB's rules (bench.capacity); for the IoT data plane and
SNS, the message sizes. Nothing is re-typed: a dal change shows up in the next recording.

The recording runs in a few seconds; `bench.scale` turns it into partition-key load and the
cost per 1,000 faults.
"""

from __future__ import annotations

import base64
import functools
import json
import random
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from bench.capacity import (
    TableShape,
    index_writes,
    item_bytes,
    partition_value,
    read_units,
    write_units,
)

if TYPE_CHECKING:
    from functions.common.wiring import Dependencies
    from functions.domain.catalog import Catalog
    from schemas.orders import RepairOrder
    from schemas.registry import Appliance

REGION = "us-east-1"
IOT_DATA_URL = f"https://data-ats.iot.{REGION}.amazonaws.com"
# A Monday morning: technicians work, windows are offered the same week.
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TECHNICIANS = 6  # more than dispatch's shortlist of five, all able to take the job
REPEATS = 51  # repeats of one open fault: past the 50 event ids an order lists
# Kept small: moto copies a table whole for every transaction that writes to it.
SERVICE_RADIUS_KM = 10.0

# Functions (template.yaml logical ids) an operation runs in.
INGEST = "IngestFaultFunction"
API = "ApiFunction"
SWEEPER = "SweepStuckOrdersFunction"


@dataclass(frozen=True)
class Access:
    """Capacity one request spent on one partition key of a table or index."""

    target: str  # "OrdersTable", or "OrdersTable/by_status" for an index
    key: str  # the partition key value
    kind: str  # "read" or "write"
    units: float
    size: int  # bytes the units were priced on
    items: int = 1  # items read (a Query's evaluated items)


@dataclass(frozen=True)
class Request:
    service: str  # dynamodb, iot-data, sns
    operation: str  # GetItem, TransactWriteItems, Publish...
    accesses: tuple[Access, ...] = ()
    message_bytes: int = 0  # iot-data and sns: the metered size
    failed: bool = False  # a condition failed (still billed)


@dataclass
class Operation:
    """One thing the service does, as the requests it made."""

    name: str
    what: str
    function: str  # the Lambda function it runs in
    requests: list[Request] = field(default_factory=list)
    # Placeholders of the recorded identifiers (thing, home, order, tech0...): how the
    # partition keys are generalised to any fault (bench.scale).
    ids: dict[str, str] = field(default_factory=dict)
    api_requests: int = 0  # HTTP API requests it is (0: not an API call)
    inbound_bytes: int = 0  # the device's MQTT message that started it (0: none)

    def accesses(self) -> list[Access]:
        return [a for r in self.requests for a in r.accesses]


# --------------------------------------------------------------------------- the recorder

# (table, key) -> the item as stored, or None.
ItemReader = Callable[[str, dict[str, Any]], "dict[str, Any] | None"]


class Recorder:
    """Records every request of the hooked clients into the operation being recorded."""

    def __init__(self, shapes: dict[str, TableShape], side: Any, read_item: ItemReader) -> None:
        self.shapes = shapes
        self._side = side  # an unhooked DynamoDB client of the same emulator, for queries
        self._read_item = read_item  # an item as stored, read without a request
        self.current: Operation | None = None
        self._pending: dict[str, Any] = {}

    def attach(self, *clients: Any) -> None:
        for client in clients:
            client.meta.events.register("before-parameter-build", self._before)
            client.meta.events.register("after-call", self._after)

    @contextmanager
    def recording(self, operation: Operation) -> Iterator[Operation]:
        self.current = operation
        try:
            yield operation
        finally:
            self.current = None

    # -- hooks
    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.current is None:
            return
        service = model.service_model.service_name
        if service == "iot-data":  # metered on the topic and the payload
            size = len(params["topic"].encode()) + len(params.get("payload", b""))
        elif service == "sns":  # the message and its attributes count toward its size
            size = len(params["Message"].encode()) + sum(
                len(name) + sum(len(str(v)) for v in attribute.values())
                for name, attribute in params.get("MessageAttributes", {}).items()
            )
        else:
            written = self._written_keys(model.name, params)
            olds = {(t, k): self._get(t, _thawed(k)) for t, k in written}
            self._pending = {"old": olds, "params": dict(params)}
            return
        self._pending = {"message_bytes": size}

    def _after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        operation = self.current
        if operation is None:
            return
        service, name = model.service_model.service_name, model.name
        failed = "Error" in parsed
        pending, self._pending = self._pending, {}
        if service != "dynamodb":
            size = int(pending.get("message_bytes", 0))
            operation.requests.append(Request(service, name, message_bytes=size, failed=failed))
            return
        accesses = tuple(self._dynamodb(name, pending, failed))
        operation.requests.append(Request(service, name, accesses, failed=failed))

    # -- DynamoDB pricing
    def _dynamodb(self, name: str, pending: dict[str, Any], failed: bool) -> Iterator[Access]:
        params = pending["params"]
        if name in ("GetItem", "BatchGetItem"):
            yield from self._item_reads(name, params)
        elif name == "Query":
            yield self._query(params)
        else:
            yield from self._writes(name, params, pending["old"], failed)

    def _item_reads(self, name: str, params: dict[str, Any]) -> Iterator[Access]:
        requests = (
            params["RequestItems"]
            if name == "BatchGetItem"
            else {params["TableName"]: {**params, "Keys": [params["Key"]]}}
        )
        for table, request in requests.items():
            consistent = bool(request.get("ConsistentRead"))
            for item_key in request["Keys"]:
                size = item_bytes(self._get(table, item_key))
                yield Access(
                    table,
                    str(partition_value(item_key, self.shapes[table].partition_key)),
                    "read",
                    read_units(size, consistent),
                    size,
                )

    def _query(self, params: dict[str, Any]) -> Access:
        table = self.shapes[params["TableName"]]
        index = table.index(params["IndexName"]) if "IndexName" in params else None
        hash_key = index.partition_key if index else table.partition_key
        names = params.get("ExpressionAttributeNames", {})
        values = params.get("ExpressionAttributeValues", {})
        condition = params["KeyConditionExpression"]
        used = set(re.findall(r"[#:]\w+", condition))
        evaluated = self._side.query(
            **{
                k: v
                for k, v in params.items()
                if k in ("TableName", "IndexName", "Limit", "ExclusiveStartKey", "ScanIndexForward")
            },
            KeyConditionExpression=condition,
            **(
                {"ExpressionAttributeNames": {k: v for k, v in names.items() if k in used}}
                if any(k in used for k in names)
                else {}
            ),
            ExpressionAttributeValues={k: v for k, v in values.items() if k in used},
        )["Items"]
        size = sum(item_bytes(item) for item in evaluated)
        partition = _partition_in(condition, names, values, hash_key)
        target = f"{table.name}/{index.name}" if index else table.name
        units = read_units(size, bool(params.get("ConsistentRead")))
        return Access(target, partition, "read", units, size, len(evaluated))

    def _writes(
        self, name: str, params: dict[str, Any], olds: dict[Any, Any], failed: bool
    ) -> Iterator[Access]:
        transactional = name == "TransactWriteItems"
        for kind, table_name, item_key, put in _write_actions(name, params, self.shapes):
            table = self.shapes[table_name]
            old = olds.get((table_name, _frozen(item_key)))
            new = old if failed or kind == "ConditionCheck" else self._get(table_name, item_key)
            size = max(item_bytes(old), item_bytes(new), item_bytes(put) if failed else 0)
            yield Access(
                table_name,
                str(partition_value(item_key, table.partition_key)),
                "write",
                write_units(size, transactional),
                size,
            )
            if failed:
                continue  # nothing changed: no index entry moved
            for index in table.indexes:
                for entry, units in index_writes(old, new, table, index):
                    yield Access(
                        f"{table_name}/{index.name}",
                        str(partition_value(entry, index.partition_key)),
                        "write",
                        units,
                        item_bytes(entry),
                    )

    def _written_keys(self, name: str, params: dict[str, Any]) -> list[tuple[str, Any]]:
        if name not in WRITES:
            return []
        return [
            (table, _frozen(item_key))
            for _, table, item_key, _ in _write_actions(name, params, self.shapes)
        ]

    def _get(self, table: str, item_key: dict[str, Any]) -> dict[str, Any] | None:
        return self._read_item(table, item_key)


WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})


def _frozen(item_key: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in item_key.items()))


def _thawed(frozen: tuple[Any, ...]) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in frozen}


def _partition_in(
    condition: str, names: dict[str, str], values: dict[str, Any], hash_key: str
) -> str:
    for attribute, placeholder in re.findall(r"([#\w]+)\s*=\s*(:\w+)", condition):
        if names.get(attribute, attribute) == hash_key:
            return str(partition_value({"v": values[placeholder]}, "v"))
    raise ValueError(f"no partition key in {condition!r}")


def _write_actions(
    name: str, params: dict[str, Any], shapes: dict[str, TableShape]
) -> Iterator[tuple[str, str, Any, dict[str, Any] | None]]:
    """(kind, table, key, item put) of every item a write request touches."""

    def key_of(table: str, item: dict[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in shapes[table].keys}

    if name == "PutItem":
        yield (
            "Put",
            params["TableName"],
            key_of(params["TableName"], params["Item"]),
            params["Item"],
        )
    elif name in ("UpdateItem", "DeleteItem"):
        yield name.removesuffix("Item"), params["TableName"], params["Key"], None
    elif name == "TransactWriteItems":
        for action in params["TransactItems"]:
            ((kind, request),) = action.items()
            table = request["TableName"]
            if kind == "Put":
                yield kind, table, key_of(table, request["Item"]), request["Item"]
            else:
                yield kind, table, request["Key"], None
    elif name == "BatchWriteItem":
        for table, writes in params["RequestItems"].items():
            for write in writes:
                if "PutRequest" in write:
                    item = write["PutRequest"]["Item"]
                    yield "Put", table, key_of(table, item), item
                else:
                    yield "Delete", table, write["DeleteRequest"]["Key"], None


# --------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class Fault:
    """One appliance model and fault code, as the recording uses them."""

    manufacturer: str
    model: str
    category: str
    code: str


def sample_order(catalog: Catalog, fault: Fault, thing_name: str, home_id: str) -> RepairOrder:
    """The order ingest would open for this fault (diagnosis and kit from the catalog; no
    telemetry, no emulator)."""
    from functions.domain.approval import open_order
    from functions.domain.diagnosis import diagnose
    from functions.domain.learning import LearnedCounts
    from functions.domain.parts import VALUE_OF_FIRST_TIME_FIX, select_kit
    from schemas.device import FaultEvent
    from schemas.registry import Appliance, ApprovalPolicy, Category, GeoPoint, Home

    appliance = Appliance(
        thing_name=thing_name,
        home_id=home_id,
        manufacturer=fault.manufacturer,
        model=fault.model,
        category=Category(fault.category),
        serial="SN0000000000",
        installed_on=date(2024, 1, 1),
        warranty_until=date(2027, 1, 1),
    )
    home = Home(home_id=home_id, location=GeoPoint(lat=52.1, lon=5.1), policy=ApprovalPolicy())
    event = FaultEvent(
        event_id="evt-sample",
        occurred_at=START,
        fault_code=fault.code,
        firmware="1.2.3",
        telemetry={},
    )
    diagnosis = diagnose(catalog, appliance, event, LearnedCounts())
    parts = select_kit(catalog, appliance, diagnosis, value_of_fix=VALUE_OF_FIRST_TIME_FIX)
    return open_order(
        appliance=appliance,
        home=home,
        event=event,
        diagnosis=diagnosis,
        parts=parts,
        published_at=START,
        now=START,
    )


def representative_faults(catalog: Catalog) -> tuple[Fault, Fault]:
    """(the truck-roll fault whose order is the median size of the catalog's, an emergency):
    a code that sends a technician with parts, not an emergency and not a self-fix."""
    from bench.capacity import item_bytes
    from functions.dal.items import to_attributes

    sized: list[tuple[int, Fault]] = []
    emergencies: list[Fault] = []
    for info in catalog.models():
        for code in info.codes:
            entry = catalog.code(info.manufacturer, info.model, code)
            if entry is None or entry.self_fix:
                continue
            fault = Fault(info.manufacturer, info.model, info.category.value, code)
            if entry.urgency.value == "emergency":
                emergencies.append(fault)
                continue
            order = sample_order(catalog, fault, "appl-sample", "home-sample")
            if order.parts.parts:
                doc = to_attributes(order.model_dump(mode="json", by_alias=True))
                sized.append((item_bytes(doc), fault))
    sized.sort(key=lambda pair: (pair[0], pair[1].manufacturer, pair[1].model, pair[1].code))
    median = sized[len(sized) // 2][1]
    same_trade = [f for f in emergencies if f.category == median.category]
    return median, (same_trade or emergencies)[0]


def _settings(template: dict[str, Any], topic_arn: str) -> Any:
    """The functions' settings as template.yaml's environment gives them: every resource
    named by its logical id (the tables were created under it), the topic by its ARN."""
    from functions.common.settings import Settings
    from infra.template import functions, parameter_defaults, resolve_environment

    physical_ids = {logical_id: logical_id for logical_id in template["Resources"]}
    physical_ids["NotificationsTopic"] = topic_arn
    parameters = {**parameter_defaults(template), "IotDataEndpoint": IOT_DATA_URL}
    environment: dict[str, str] = {}
    for spec in functions(template).values():
        environment.update(resolve_environment(spec, physical_ids, parameters))
    return Settings.from_environment(environment)


def _moto_item_reader() -> ItemReader:
    """Items read straight from the in-process emulator's store: as the client would get
    them, without a request's serialisation (a recording reads back every item it touches)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]

    def read(table: str, item_key: dict[str, Any]) -> dict[str, Any] | None:
        item = backend.get_item(table, item_key)
        return None if item is None else dict(item.to_json()["Attributes"])

    return read


class Clock:
    """The functions' clock, moved on by the recording (the sweeper's timers)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


OperationResult = tuple[Operation, Any]


class World:
    """The emulator with template.yaml's tables, a home that approves by hand, one that
    approves by policy, technicians around them and an area whose technicians are all booked;
    the functions' dependencies with hooked clients."""

    HOME_WAIT = "home-wait"
    HOME_AUTO = "home-auto"
    HOME_FULL = "home-full"

    def __init__(self, deps: Dependencies, recorder: Recorder, clock: Clock) -> None:
        self.deps = deps  # the container the next operation runs in (see `fresh`)
        self.recorder = recorder
        self.clock = clock
        self.catalog = deps.catalog()
        self.fault, self.emergency = representative_faults(self.catalog)
        self.ids: dict[str, str] = {}  # recorded value -> placeholder
        self.area_techs: dict[str, list[str]] = {}  # home -> its area's technicians
        self.appliances: dict[str, Appliance] = {}
        self._events = 0
        self._rng = random.Random(16)

    # -- setting up
    @classmethod
    @contextmanager
    def started(cls) -> Iterator[World]:
        import botocore.session
        from moto import mock_aws

        from functions.common.aws import AwsClients
        from functions.common.wiring import Dependencies
        from infra.emulator import LOCAL_CREDENTIALS
        from infra.template import load_template

        with mock_aws():
            options: dict[str, Any] = {"region_name": REGION, **LOCAL_CREDENTIALS}
            side: Any = botocore.session.Session().create_client("dynamodb", **options)
            shapes: dict[str, TableShape] = {}
            template = load_template()
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] != "AWS::DynamoDB::Table":
                    continue
                properties = resource["Properties"]
                side.create_table(
                    TableName=logical_id,
                    **{
                        k: properties[k]
                        for k in (
                            "AttributeDefinitions",
                            "KeySchema",
                            "GlobalSecondaryIndexes",
                            "BillingMode",
                        )
                        if k in properties
                    },
                )
                shapes[logical_id] = TableShape.from_template(logical_id, properties)
            sns: Any = botocore.session.Session().create_client("sns", **options)
            topic = sns.create_topic(Name="faultline-notifications")["TopicArn"]
            settings = _settings(template, topic)
            clock = Clock(START)
            clients = AwsClients(IOT_DATA_URL, region=REGION, credentials=LOCAL_CREDENTIALS)
            deps = Dependencies(settings, clients, clock=clock)
            recorder = Recorder(shapes, side, _moto_item_reader())
            recorder.attach(clients.dynamodb, clients.iot_data, clients.sns)
            world = cls(deps, recorder, clock)
            world.seed()
            yield world

    def seed(self) -> None:
        from functions.dal.stock import WAREHOUSE
        from functions.domain.geo import geohash
        from schemas.registry import (
            Appliance,
            ApprovalPolicy,
            Category,
            GeoPoint,
            Home,
            Technician,
            WorkingHours,
        )

        city = GeoPoint(lat=52.0907, lon=5.1214)
        far = GeoPoint(lat=53.5, lon=6.5)  # no technician of the city reaches it
        homes = {
            self.HOME_WAIT: (city, ApprovalPolicy(auto_approve=False, emergencies_always=False)),
            self.HOME_AUTO: (city, ApprovalPolicy(auto_approve=True)),
            self.HOME_FULL: (far, ApprovalPolicy(auto_approve=True)),
        }
        things = {
            self.HOME_WAIT: [
                ("appl-main", self.fault),
                ("appl-decline", self.fault),
                ("appl-remind", self.fault),
                ("appl-repeat", self.fault),
                ("appl-emergency", self.emergency),
            ],
            self.HOME_AUTO: [("appl-auto", self.fault)],
            self.HOME_FULL: [(f"appl-full-{i}", self.fault) for i in range(6)],
        }
        for home_id, (location, policy) in homes.items():
            home = Home(home_id=home_id, location=location, timezone="UTC", policy=policy)
            appliances = [
                Appliance(
                    thing_name=thing,
                    home_id=home_id,
                    manufacturer=fault.manufacturer,
                    model=fault.model,
                    category=Category(fault.category),
                    serial=f"SN{4000000 + i:08d}",
                    installed_on=date(2023, 5, 1),
                    warranty_until=date(2025, 5, 1),
                )
                for i, (thing, fault) in enumerate(things[home_id])
            ]
            self.deps.registry.put_home(home, appliances)
            self.appliances.update({a.thing_name: a for a in appliances})
            self.deps.accounts.grant_home(f"user-{home_id}", home_id)
            self._name(home_id, "home")
            self._name(f"user-{home_id}", "user")
            self._name(geohash(location), "cell")
            for thing, _ in things[home_id]:
                self._name(thing, "thing")
        certifications = sorted(
            {c for f in (self.fault, self.emergency) for c in self._certifications(f)}
        )
        skills = sorted({Category(self.fault.category), Category(self.emergency.category)})
        hours = WorkingHours(weekdays=list(range(7)), start=time(7, 0), end=time(22, 0))
        for area, (home_id, center, count, most) in {
            "a": (self.HOME_AUTO, city, TECHNICIANS, 4),
            "f": (self.HOME_FULL, far, 5, 1),
        }.items():
            ids = [f"tech-{area}{i}" for i in range(count)]
            for i, tech_id in enumerate(ids):
                self.deps.technicians.put(
                    Technician(
                        technician_id=tech_id,
                        name=f"Technician {area.upper()}{i}",
                        skills=skills,
                        brands=[],
                        certifications=certifications,
                        home_base=GeoPoint(lat=center.lat + 0.01 * i, lon=center.lon),
                        service_radius_km=SERVICE_RADIUS_KM,
                        working_hours=hours,
                        rating=4.6,
                        max_active_orders=most,
                    )
                )
                self.deps.accounts.grant_technician(f"user-{tech_id}", tech_id)
                self._name(f"user-{tech_id}", "tech_user")
            self.area_techs[home_id] = ids
        self.area_techs[self.HOME_WAIT] = self.area_techs[self.HOME_AUTO]
        for category in Category:
            self._name(category.value, "skill")
        for fault in (self.fault, self.emergency):
            self._name(fault.code, "code")
        parts: set[str] = set()
        for fault in (self.fault, self.emergency):
            family = self.catalog.family(fault.manufacturer, fault.model)
            parts.update(part.part_number for part in family.parts) if family else None
        for part_number in sorted(parts):
            self.deps.stock.put(part_number, WAREHOUSE, 500, 5)
            self._name(part_number, "part")
        # Warm: the learned counts are read once per container, not per fault.
        self.deps.learned_counts.get()

    def _certifications(self, fault: Fault) -> list[str]:
        entry = self.catalog.code(fault.manufacturer, fault.model, fault.code)
        return list(entry.certifications) if entry else []

    def _name(self, value: str, placeholder: str) -> None:
        self.ids[value] = placeholder

    # -- recording
    def record(
        self,
        name: str,
        what: str,
        function: str,
        action: Callable[[], Any],
        *,
        home: str = HOME_WAIT,
        booked: Callable[[Any], str | None] = lambda _: None,
        api: int = 0,
        inbound_bytes: int = 0,
    ) -> OperationResult:
        """Run `action` as one operation; `booked`: the technician it leaves the order with
        (given the action's result), named first among its area's technicians."""
        operation = Operation(name, what, function, api_requests=api, inbound_bytes=inbound_bytes)
        self.fresh()
        with self.recorder.recording(operation):
            result = action()
        techs = list(self.area_techs[home])
        first = booked(result)
        if first in techs:
            techs.remove(first)
            techs.insert(0, first)
        operation.ids = {**self.ids, **{t: f"tech{i}" for i, t in enumerate(techs)}}
        for access in operation.accesses():
            # An order id nobody was given: the one a failed open tried (a duplicate, a
            # repeat) under a key of its own.
            for segment in access.key.split("#"):
                if segment.startswith("ord_") and segment not in operation.ids:
                    operation.ids[segment] = "new_order"
        return operation, result

    def fresh(self) -> None:
        """A container of its own for the next operation, as a fleet's requests mostly land
        in one that has not seen the appliance: nothing cached but the learned counts, which
        a container reads once when it starts, not per fault."""
        from functions.common.wiring import Dependencies

        self.deps = Dependencies(self.deps.settings, self.deps.clients, clock=self.clock)
        self.deps.learned_counts.get()

    def technician_of(self, order_id: str | None) -> str | None:
        offer = self.order(order_id).offer if order_id else None
        return offer.technician_id if offer is not None else None

    def event(self, thing: str, code: str, *, raw: bytes | None = None) -> Any:
        """The rule's event for a fault the appliance reports now (its telemetry drawn from
        the catalog, as the simulator draws it)."""
        from functions.common.topics import fault_topic
        from iot.faults import SimAppliance, encode, fault_telemetry
        from schemas.device import IngestEvent

        self._events += 1
        event_id = f"evt-{self._events:05d}-{uuid.UUID(int=self._rng.getrandbits(128)).hex[:12]}"
        self._name(event_id, "event")
        if raw is None:
            appliance = self.appliances[thing]
            sim = SimAppliance(
                thing, appliance.category.value, appliance.manufacturer, appliance.model, [code]
            )
            payload = {
                "schema": "fault/1",
                "event_id": event_id,
                "occurred_at": self.clock.now.isoformat(timespec="milliseconds"),
                "fault_code": code,
                "firmware": "4.2.1",
                "telemetry": fault_telemetry(self.catalog, sim, code, self._rng),
            }
            raw = encode(payload)
        return IngestEvent(
            raw=base64.b64encode(raw).decode(),
            thing_name=thing,
            client_id=thing,
            topic=fault_topic(thing),
            received_at=int(self.clock.now.timestamp() * 1000),
        )

    @staticmethod
    def inbound_bytes(event: Any) -> int:
        """What IoT Core meters for the device's publish: its topic and payload."""
        return len(event.topic.encode()) + len(base64.b64decode(event.raw))

    def ingest(self, name: str, what: str, event: Any, **options: Any) -> OperationResult:
        operation, result = self.record(
            name,
            what,
            INGEST,
            lambda: self.deps.fault_ingestor.ingest(event, request_id=uuid.uuid4().hex),
            inbound_bytes=self.inbound_bytes(event),
            **options,
        )
        if result.order_id:
            self._name(result.order_id, "order")
            operation.ids[result.order_id] = "order"
        return operation, result

    def caller(self, user_id: str, group: str) -> Any:
        from functions.api.access import Caller
        from functions.auth.tokens import Principal

        principal = Principal(user_id=user_id, username=user_id, groups=frozenset({group}))
        return Caller(principal, self.deps.accounts, self.deps.registry)

    def order(self, order_id: str) -> RepairOrder:
        order = self.deps.orders.get(order_id)
        assert order is not None
        return order


@functools.cache
def recorded_operations() -> dict[str, Operation]:
    """`record_operations`, once per process (a few seconds; the bench, its doc and the
    tests share it). Callers must not change what it returns."""
    return record_operations()


def _advance(world: World, order_id: str, status: Any, cause: str | None = None) -> Operation:
    """A technician's step through the API: the caller's profile (accounts), then the use
    case."""
    tech = world.technician_of(order_id)

    def step() -> Any:
        caller = world.caller(f"user-{tech}", "technician")
        technician_id = caller.technician_id
        assert technician_id == tech
        return world.deps.order_progress.advance(
            order_id, status, technician_id=technician_id, confirmed_cause=cause
        )

    what = f"the technician reports {status.value.replace('_', ' ')} (POST progress)"
    return world.record(status.value, what, API, step, booked=lambda _: tech, api=1)[0]


def record_operations() -> dict[str, Operation]:
    """Every operation of a fault's life, recorded in order (see the module docstring)."""
    from schemas.orders import OrderStatus

    operations: dict[str, Operation] = {}

    def keep(result: OperationResult) -> Any:
        operations[result[0].name] = result[0]
        return result[1]

    with World.started() as world:
        fault, emergency = world.fault, world.emergency
        timings = world.deps.settings.approval_timings
        owner = f"user-{World.HOME_WAIT}"

        def homeowner() -> Any:  # a new request: its access is read again
            return world.caller(owner, "homeowner")

        # The sweeper's timers first, while only their orders wait. A timer's operation is
        # what the sweep does for that one order; the queries of every index shard it makes
        # each minute, due or not, are `sweep_idle`.
        start = world.clock.now
        waiting = world.ingest("setup", "", world.event("appl-remind", fault.code))[1]
        urgent = world.ingest("setup", "", world.event("appl-emergency", emergency.code))[1]

        def sweep(name: str, what: str, at: timedelta) -> None:
            world.clock.now = start + at + timedelta(minutes=1)
            operation, _ = world.record(
                name, what, SWEEPER, lambda: world.deps.stuck_order_sweeper.sweep()
            )
            if name != "sweep_idle":
                operation.requests = [r for r in operation.requests if not _index_scan(r)]
            operations[name] = operation

        sweep("escalation", "the sweeper escalates a waiting emergency", timings.escalate_after)
        world.deps.order_actions.decline(
            urgent.order_id, "handled by phone", by=owner, may_act=homeowner().may_act_on
        )
        sweep("reminder", "the sweeper reminds a homeowner", timings.remind_after)
        sweep("expiry", "the sweeper expires an unanswered order", timings.expire_after)
        sweep("sweep_idle", "one sweep, nothing due (every minute)", timings.expire_after)
        assert world.order(waiting.order_id).status is OrderStatus.EXPIRED

        # A fault that waits for its homeowner, its redelivery, the homeowner's visit.
        event = world.event("appl-main", fault.code)
        opened = keep(world.ingest("fault_waiting", "a new fault, waiting for approval", event))
        keep(world.ingest("duplicate", "the same event delivered again", event))
        order_id = opened.order_id
        ticket = keep(
            world.record(
                "ticket",
                "the homeowner reads the ticket and its windows (GET ticket)",
                API,
                lambda: world.deps.order_actions.ticket(order_id, homeowner().may_act_on),
                api=1,
            )
        )
        keep(
            world.record(
                "my_orders",
                "the homeowner lists their orders (GET /my/orders)",
                API,
                lambda: world.deps.homes.my_orders(homeowner().access.home_ids),
                api=1,
            )
        )
        keep(
            world.record(
                "approve",
                "the homeowner approves a window, booked at once (POST approve)",
                API,
                lambda: world.deps.order_actions.approve(
                    order_id, ticket.windows[0], by=owner, may_act=homeowner().may_act_on
                ),
                booked=lambda order: order.offer.technician_id,
                api=1,
            )
        )
        keep(
            world.record(
                "ticket_booked",
                "the homeowner reads the booked ticket (GET ticket)",
                API,
                lambda: world.deps.order_actions.ticket(order_id, homeowner().may_act_on),
                booked=lambda _: world.technician_of(order_id),
                api=1,
            )
        )
        entry = world.catalog.code(fault.manufacturer, fault.model, fault.code)
        assert entry is not None
        for status in (OrderStatus.EN_ROUTE, OrderStatus.ON_SITE):
            operations[status.value] = _advance(world, order_id, status)
        operations["completed"] = _advance(
            world, order_id, OrderStatus.COMPLETED, entry.causes[0].cause_id
        )

        def home_orders() -> Any:
            caller = homeowner()
            assert caller.owns_home(World.HOME_WAIT)
            return world.deps.orders.list_by_home(World.HOME_WAIT)

        keep(
            world.record(
                "home_orders",
                "a home's orders, newest first (GET /homes/{id}/orders)",
                API,
                home_orders,
                api=1,
            )
        )

        # A fault the home's policy approves: dispatched and booked by ingest.
        keep(
            world.ingest(
                "fault_auto",
                "a new fault the policy approves: dispatched and booked",
                world.event("appl-auto", fault.code),
                home=World.HOME_AUTO,
                booked=lambda result: world.technician_of(result.order_id),
            )
        )

        # A declined order.
        declined = world.ingest("setup", "", world.event("appl-decline", fault.code))[1]
        keep(
            world.record(
                "decline",
                "the homeowner declines (POST decline)",
                API,
                lambda: world.deps.order_actions.decline(
                    declined.order_id, "too expensive", by=owner, may_act=homeowner().may_act_on
                ),
                api=1,
            )
        )

        # An appliance re-reporting its open fault, past the event ids an order lists.
        world.ingest("setup", "", world.event("appl-repeat", fault.code))
        for n in range(1, REPEATS + 1):
            repeat = world.event("appl-repeat", fault.code)
            result = keep(world.ingest(f"repeat_{n}", f"repeat {n} of an open fault", repeat))
            assert result.outcome.value == "occurrence", result

        # An area whose technicians are all booked: the order goes to the operators.
        for i in range(5):
            full = world.event(f"appl-full-{i}", fault.code)
            world.ingest("setup", "", full, home=World.HOME_FULL)
        result = keep(
            world.ingest(
                "fault_no_technician",
                "a new fault the policy approves, nobody free: flagged for the operators",
                world.event("appl-full-5", fault.code),
                home=World.HOME_FULL,
            )
        )
        assert result.outcome.value == "no_technician", result

        # A malformed report.
        bad = world.event("appl-main", fault.code, raw=b'{"schema": "fault/1", "event_id": ')
        keep(world.ingest("rejected", "a malformed report, recorded for the operators", bad))
    return operations


# --------------------------------------------------------------------------- key templates

# Sharded partitions: the shard is a hash of the order (or event, or rejection), so a key
# template names the shard, and bench.scale computes it for each fault.
_SHARDS = {
    "QUEUE": "queue_shard",
    "DUE": "due_shard",
    "UNSETTLED": "unsettled_shard",
    "TRIAGE": "triage_shard",
}
_RECORDED_ID = re.compile(r"^(appl|home|tech|user|evt|ord|rej)[-_]")


def key_template(key: str, ids: dict[str, str]) -> str:
    """`key` with every recorded identifier replaced by its placeholder: "ORDER#ord_1f.." ->
    "ORDER#{order}", "QUEUE#dispatched#07" -> "QUEUE#dispatched#{queue_shard}". Raises
    ValueError when an identifier of the recording has no placeholder (it would otherwise
    become one key every simulated fault shares)."""
    segments = key.split("#")
    out = [f"{{{ids[s]}}}" if s in ids else s for s in segments]
    head = segments[0]
    if head in _SHARDS and len(out) >= 2:
        out[-1] = f"{{{_SHARDS[head]}}}"
    elif head == "DAY" and len(out) == 3:
        out[1:] = ["{day}", "{rejection_shard}"]
    for segment in out:
        if _RECORDED_ID.match(segment):
            raise ValueError(f"{key}: {segment!r} has no placeholder")
    return "#".join(out)


def recorded_parts(operation: Operation) -> int:
    """How many parts of the kit the operation's keys name (the unit of a per-part use)."""
    parts = {
        segment
        for access in operation.accesses()
        for segment in access.key.split("#")
        if operation.ids.get(segment) == "part"
    }
    return len(parts)


def _index_scan(request: Request) -> bool:
    """A query of the sweeper's index shards (`due`, `unsettled`)."""
    return request.operation == "Query" and all(
        a.target.endswith(("/due", "/unsettled")) for a in request.accesses
    )
