"""From the IoT rule's event to a validated fault, or a rejection with its reason."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from functions.domain.errors import RejectedInput
from schemas.device import MAX_PAYLOAD_BYTES, FaultEvent, IngestEvent
from schemas.orders import RejectionReason

# The window an event's own timestamp must fall in, around the broker's receive time.
# Ahead: device clocks drift, and NTP-less appliances by minutes, so a little is tolerated.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# Behind: a week covers a device that buffered its faults through an outage. It must stay
# well below the event marker's lifetime (dal.events.EVENT_MARKER_TTL_SECONDS, 30 days):
# any redelivery that arrives after its marker expired is then older than this, and is
# rejected instead of opening a second order.
MAX_EVENT_AGE = timedelta(days=7)


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
    except (ValueError, RecursionError) as exc:
        # ValueError also covers bad UTF-8 and integers over Python's 4300-digit limit;
        # RecursionError is nesting deeper than the decoder goes (a few KiB of brackets).
        raise RejectedInput(RejectionReason.MALFORMED_JSON, f"not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise RejectedInput(
            RejectionReason.MALFORMED_JSON, f"expected a JSON object, got {type(document).__name__}"
        )
    event_id = document.get("event_id")
    try:
        event = FaultEvent.model_validate(document)
    except ValidationError as exc:
        raise RejectedInput(
            RejectionReason.SCHEMA_VIOLATION,
            summarize_validation_error(exc),
            event_id=event_id if isinstance(event_id, str) else None,
        ) from exc
    check_event_time(event, received_at(ingest))
    return event


def received_at(ingest: IngestEvent) -> datetime:
    """When the broker received the message: the rule's `timestamp()`, ms since the epoch."""
    return datetime.fromtimestamp(ingest.received_at / 1000, UTC)


def check_event_time(event: FaultEvent, received: datetime) -> None:
    """Reject an event whose `occurred_at` is outside the sane window around `received`.

    Measured against the broker's receive time, not the function's clock, so a Lambda retry
    or a dead-letter replay hours later gets the same answer as the first attempt.

    Both edges reject (`clock_skew`, `stale_event`) rather than accept with a note:
    - too old: a replayed or long-buffered report describes a state that may be gone, and,
      above all, a redelivery after its event marker expired would open a second order;
      the age limit is what keeps "one order per event" true beyond the marker's lifetime;
    - ahead: a device clock that far ahead cannot be trusted for the age check either (a
      replay from such a device would look fresh), so it is no better than a stale one.
    A device with a broken clock then shows up in the operators' rejection list under its
    own reason, instead of being hidden in orders; a fault that persists is reported again
    (and opens its order) once the clock is right.
    """
    if event.occurred_at > received + MAX_CLOCK_SKEW:
        raise RejectedInput(
            RejectionReason.CLOCK_SKEW,
            f"occurred_at {event.occurred_at.isoformat()} is more than {MAX_CLOCK_SKEW} after "
            f"the broker received it ({received.isoformat()})",
            event_id=event.event_id,
        )
    if event.occurred_at < received - MAX_EVENT_AGE:
        raise RejectedInput(
            RejectionReason.STALE_EVENT,
            f"occurred_at {event.occurred_at.isoformat()} is more than {MAX_EVENT_AGE.days} "
            f"days before the broker received it ({received.isoformat()})",
            event_id=event.event_id,
        )
