"""What crosses the wire between an appliance and the cloud."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints

from schemas.contract import Contract

MAX_PAYLOAD_BYTES = 16 * 1024

EventId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
FaultCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,16}$")]
TelemetryName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
TelemetryValue = bool | int | float | Annotated[str, StringConstraints(max_length=64)]


class FaultEvent(Contract):
    """`fault/1`: an appliance reports a fault. Identity comes from the topic, never from here."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="FaultEvent")

    schema_version: Literal["fault/1"] = Field("fault/1", alias="schema")
    event_id: EventId
    occurred_at: AwareDatetime
    fault_code: FaultCode
    firmware: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    telemetry: dict[TelemetryName, TelemetryValue] = Field(default_factory=dict, max_length=64)


class StatusMessage(Contract):
    """`status/1`: what the appliance shows on its display about its repair."""

    model_config = ConfigDict(extra="forbid", title="StatusMessage")

    schema_version: Literal["status/1"] = Field("status/1", alias="schema")
    order_id: str
    event_id: str
    status: str
    display: Annotated[str, StringConstraints(max_length=160)]
    technician: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    sent_at: datetime


class IngestEvent(Contract):
    """The event the IoT rule hands to the ingest function (shape set by the rule's SELECT)."""

    model_config = ConfigDict(extra="ignore", title="IngestEvent")

    raw: str = Field(description="The MQTT payload, base64-encoded by the rule")
    thing_name: str
    client_id: str | None = None
    topic: str
    received_at: int = Field(description="Broker receive time, ms since the epoch")
