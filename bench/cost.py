"""The cost per 1,000 faults: every billed item of the recorded operations, at the prices of
one table (`PRICES`, with where each price comes from and when it was read).

Per fault, the operations run as often as the assumptions of `bench.scale` say (the same
flow its scenarios replay: `operations_per_fault`), and each operation bills what the
recording saw it do: DynamoDB read and write request units at scale, IoT Core messages out
(each status message, metered per 5 KB), SNS publishes (per 64 KB) and their deliveries, API
Gateway requests and Lambda requests and GB-seconds for the function it runs in. A fault
also bills its own MQTT message in, the rule it triggers and the rule's Lambda action.
Cognito bills the homeowners who sign in during the month (monthly active users), which
depends on how many homes have a fault that month, not on the faults alone.

Not counted: DynamoDB storage and backups (PITR), CloudWatch Logs and metrics, X-Ray
traces, SnapStart's snapshot cache and restores, data transfer, the sweeper's schedule and
the queues' requests when nothing fails; the fixed monthly costs (the sweeper's runs, the
appliances' connection minutes) are shown apart from the per-fault lines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.scale import Assumptions, Profile

PRICES_READ_ON = "2026-12-03"  # when this table was put together from the sources below
IOT_METERED_BYTES = 5 * 1024  # IoT Core meters messages in 5 KB increments
SNS_BILLED_BYTES = 64 * 1024  # each 64 KB chunk of a publish is one request
MINUTES_PER_MONTH = 30 * 24 * 60

_IOT = (
    "AWS IoT Core pricing page, its Europe (Ireland) example (first billion messages a "
    "month); a transcription read 2026-09-20 (api-evangelist/amazon-iot-core), not AWS's page"
)
_LAMBDA = (
    "AWS Lambda pricing, us-east-1, arm64; third-party transcriptions of AWS's page, "
    "not verified on it"
)
_DYNAMODB = (
    "DynamoDB on-demand, us-east-1, after the reduction of 2024-11; a third-party "
    "transcription (airbyte.com), not verified on AWS's page"
)
_SNS = "Amazon SNS standard topics; factualminds.com, 2026-06-13, not AWS's page"


@dataclass(frozen=True)
class Price:
    amount: float  # dollars per `per` units, as the source states it
    per: int
    unit: str  # what is counted, plural
    source: str
    verified: bool = True  # False: no stored copy of a price page had it; assumed

    @property
    def dollars(self) -> float:
        """Per one unit."""
        return self.amount / self.per

    def __str__(self) -> str:
        per = "" if self.per == 1 else f"{self.per:,} "
        return f"${self.amount:g} per {per}{self.unit}"


PRICES: dict[str, Price] = {
    "iot_message": Price(1.00, 1_000_000, "messages (metered per 5 KB), in or out", _IOT),
    "iot_rule": Price(
        0.15,
        1_000_000,
        "rules triggered",
        "not in any stored copy of the IoT Core pricing page; AWS's long-standing list "
        "price, assumed",
        verified=False,
    ),
    "iot_action": Price(
        0.15,
        1_000_000,
        "rule actions executed",
        "as the rule price: assumed",
        verified=False,
    ),
    "iot_connection_minute": Price(0.08, 1_000_000, "connection minutes", _IOT),
    "lambda_request": Price(0.20, 1_000_000, "requests", _LAMBDA),
    "lambda_gb_second": Price(0.0000133334, 1, "GB-seconds (arm64)", _LAMBDA),
    "dynamodb_read": Price(0.125, 1_000_000, "read request units", _DYNAMODB),
    "dynamodb_write": Price(0.625, 1_000_000, "write request units", _DYNAMODB),
    "api_request": Price(
        3.50,
        1_000_000,
        "REST API requests (the first 333 million a month)",
        "Amazon API Gateway pricing, us-east-1; third-party transcriptions "
        "(api-evangelist/aws-api-gateway), not AWS's page",
    ),
    "sns_publish": Price(0.50, 1_000_000, "publishes (per 64 KB chunk)", _SNS),
    "sns_email": Price(2.00, 100_000, "e-mail deliveries", _SNS),
    "cognito_mau": Price(
        0.015,
        1,
        "monthly active users (Essentials tier, above the 10,000 free)",
        "Amazon Cognito pricing page; a transcription read 2026-09-20 "
        "(api-evangelist/amazon-cognito), not AWS's page. template.yaml sets no "
        "UserPoolTier, and a pool's tier defaults to ESSENTIALS (AWS SDK reference, "
        "UserPoolType.userPoolTier). LITE would cost $0.0055 per MAU up to 100,000, then "
        "$0.0046 (same transcription); its tiers beyond 1 M were not found",
    ),
}


@dataclass(frozen=True)
class Usage:
    """What bills beside the recorded requests; printed with the figures."""

    # Lambda: memory from template.yaml (run); durations assumed, not measured on AWS.
    memory_mb: Mapping[str, int] | None = None
    seconds: Mapping[str, float] | None = None  # per invocation, by function
    page_loads_per_visit: int = 1  # GET /app through the API, per homeowner or technician visit
    deliveries_per_notification: int = 1  # one e-mail per notification (the topic's filter)
    appliances: int = 10_000_000
    appliances_per_home: float = 2.5
    faults_per_month: int = 3_000_000  # the steady day, 30 times
    sign_in_share: float = 1.0  # homeowners with a fault who sign in that month

    def seconds_of(self, function: str) -> float:
        return (self.seconds or DEFAULT_SECONDS).get(function, 0.1)

    def gb_of(self, function: str) -> float:
        return (self.memory_mb or {}).get(function, 512) / 1024


DEFAULT_SECONDS = {"IngestFaultFunction": 0.3, "ApiFunction": 0.1, "SweepStuckOrdersFunction": 0.5}


def usage_from_template() -> Usage:
    """The functions' memory as template.yaml gives it."""
    from infra.template import functions, load_template

    memory = {name: spec.memory or 128 for name, spec in functions(load_template()).items()}
    return Usage(memory_mb=memory)


def operations_per_fault(a: Assumptions) -> dict[str, float]:
    """How often each operation runs per fault: the flow bench.scale replays, in expectation
    (every visit booked: a steady fleet with technicians to spare)."""
    waiting = 1 - a.auto_approved
    answered = waiting * (1 - a.unanswered)
    approved = answered * (1 - a.declined)
    booked = a.auto_approved + approved
    return {
        "fault_auto": a.auto_approved,
        "fault_waiting": waiting,
        "duplicate": a.redelivered,
        "reminder": waiting * a.unanswered,
        "expiry": waiting * a.unanswered,
        "my_orders": answered,
        "ticket": answered,
        "decline": answered * a.declined,
        "approve": approved,
        "ticket_booked": booked,
        "en_route": booked,
        "on_site": booked,
        "completed": booked,
    }


def monthly_active_share(usage: Usage) -> float:
    """Homeowners signing in per fault: a home with faults that month counts once. Faults
    fall on homes at random (Poisson): with λ faults per home and month, a share 1 - e^-λ of
    homes has one or more, so per fault (1 - e^-λ) / λ homeowners."""
    homes = usage.appliances / usage.appliances_per_home
    faults_per_home = usage.faults_per_month / homes
    return usage.sign_in_share * (1 - math.exp(-faults_per_home)) / faults_per_home


def per_thousand_faults(
    profiles: Mapping[str, Profile], a: Assumptions, usage: Usage
) -> dict[str, Any]:
    """Every billed item per 1,000 faults: quantity, price and dollars per line."""
    mix = {name: 1000 * share for name, share in operations_per_fault(a).items()}
    inbound = 1000 * (1 + a.redelivered)
    fault_bytes = profiles["fault_waiting"].inbound_bytes
    iot_in = inbound * math.ceil(fault_bytes / IOT_METERED_BYTES)
    iot_out = sum(
        n * sum(math.ceil(b / IOT_METERED_BYTES) for b in profiles[op].iot_messages)
        for op, n in mix.items()
    )
    notifications = sum(n * len(profiles[op].sns_messages) for op, n in mix.items())
    publishes = sum(
        n * sum(math.ceil(b / SNS_BILLED_BYTES) for b in profiles[op].sns_messages)
        for op, n in mix.items()
    )
    answered, booked = mix["my_orders"], mix["ticket_booked"]
    page_loads = usage.page_loads_per_visit * (answered + booked + booked)
    api = sum(n * profiles[op].api_requests for op, n in mix.items()) + page_loads
    invocations = {"IngestFaultFunction": inbound, "ApiFunction": api}
    gb_seconds = sum(
        n * usage.seconds_of(function) * usage.gb_of(function)
        for function, n in invocations.items()
    )
    reads = sum(n * profiles[op].units("read", a) for op, n in mix.items())
    writes = sum(n * profiles[op].units("write", a) for op, n in mix.items())
    users = 1000 * monthly_active_share(usage)
    lines = [
        _line("IoT messages in (faults)", iot_in, "iot_message"),
        _line("IoT messages out (status to the appliance)", iot_out, "iot_message"),
        _line("IoT rules triggered", inbound, "iot_rule"),
        _line("IoT rule actions (Lambda)", inbound, "iot_action"),
        _line("Lambda requests (ingest, API)", inbound + api, "lambda_request"),
        _line("Lambda duration", gb_seconds, "lambda_gb_second"),
        _line("DynamoDB reads", reads, "dynamodb_read"),
        _line("DynamoDB writes", writes, "dynamodb_write"),
        _line("API Gateway requests", api, "api_request"),
        _line("SNS publishes (notifications)", publishes, "sns_publish"),
        _line(
            "SNS deliveries (e-mail)",
            notifications * usage.deliveries_per_notification,
            "sns_email",
        ),
        _line("Cognito monthly active users", users, "cognito_mau"),
    ]
    return {
        "operations_per_1000_faults": {k: round(v, 1) for k, v in mix.items()},
        "lines": lines,
        "total_dollars": round(sum(line["dollars"] for line in lines), 4),
        "without_cognito_dollars": round(
            sum(line["dollars"] for line in lines if line["price"] != "cognito_mau"), 4
        ),
    }


def fixed_per_month(
    profiles: Mapping[str, Profile], a: Assumptions, usage: Usage
) -> dict[str, Any]:
    """What bills whether or not anything faults: the sweeper's run every minute, and every
    appliance's always-on MQTT connection; and per 1,000 faults at `faults_per_month`."""
    sweeps = MINUTES_PER_MONTH
    sweeper = "SweepStuckOrdersFunction"
    lines = [
        _line("sweeper: Lambda requests", sweeps, "lambda_request"),
        _line(
            "sweeper: Lambda duration",
            sweeps * usage.seconds_of(sweeper) * usage.gb_of(sweeper),
            "lambda_gb_second",
        ),
        _line(
            "sweeper: DynamoDB reads of the idle index shards",
            sweeps * profiles["sweep_idle"].units("read", a),
            "dynamodb_read",
        ),
        _line(
            "IoT connection minutes (every appliance, always on)",
            usage.appliances * MINUTES_PER_MONTH,
            "iot_connection_minute",
        ),
    ]
    total = sum(line["dollars"] for line in lines)
    return {
        "lines": lines,
        "total_dollars": round(total, 2),
        "per_1000_faults_dollars": round(1000 * total / usage.faults_per_month, 4),
    }


def _line(item: str, quantity: float, price: str) -> dict[str, Any]:
    dollars = quantity * PRICES[price].dollars
    return {
        "item": item,
        "quantity": round(quantity, 1),
        "price": price,
        "dollars": round(dollars, 6),
    }
