"""From the IoT rule's event to a validated fault, or a rejection with its reason."""

from __future__ import annotations

import base64
import binascii
import json

from pydantic import ValidationError

from schemas.device import MAX_PAYLOAD_BYTES, FaultEvent, IngestEvent
from schemas.orders import RejectionReason


class RejectedInput(Exception):
    """The event cannot open an order; the reason is recorded for operators."""

    def __init__(self, reason: RejectionReason, detail: str, event_id: str | None = None) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.event_id = event_id


def payload_bytes(ingest: IngestEvent) -> bytes:
    try:
        return base64.b64decode(ingest.raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RejectedInput(
            RejectionReason.MALFORMED_JSON, f"payload is not base64: {exc}"
        ) from exc


def summarize_validation_error(error: ValidationError, limit: int = 5) -> str:
    parts = []
    for item in error.errors()[:limit]:
        where = ".".join(str(p) for p in item["loc"]) or "(payload)"
        parts.append(f"{where}: {item['msg']}")
    more = error.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def parse_fault(ingest: IngestEvent, raw: bytes) -> FaultEvent:
    """Validate the payload; raise RejectedInput with the first rule it breaks."""
    if ingest.client_id and ingest.client_id != ingest.thing_name:
        raise RejectedInput(
            RejectionReason.IDENTITY_MISMATCH,
            f"client {ingest.client_id!r} published on the topic of {ingest.thing_name!r}",
        )
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise RejectedInput(
            RejectionReason.PAYLOAD_TOO_LARGE,
            f"{len(raw)} bytes is over the {MAX_PAYLOAD_BYTES}-byte limit",
        )
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RejectedInput(RejectionReason.MALFORMED_JSON, f"not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise RejectedInput(
            RejectionReason.MALFORMED_JSON, f"expected a JSON object, got {type(document).__name__}"
        )
    event_id = document.get("event_id")
    try:
        return FaultEvent.model_validate(document)
    except ValidationError as exc:
        raise RejectedInput(
            RejectionReason.SCHEMA_VIOLATION,
            summarize_validation_error(exc),
            event_id=event_id if isinstance(event_id, str) else None,
        ) from exc
