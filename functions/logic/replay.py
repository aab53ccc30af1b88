"""Replay a dead-lettered ingest invocation: run the ingest use case on its event again."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from functions.domain.errors import RejectedInput
from functions.domain.intake import parse_fault, payload_bytes
from functions.logic.errors import NotAFaultEvent
from functions.logic.ingest import FaultIngestor, IngestResult
from schemas.device import IngestEvent


def fault_event_of(body: str) -> IngestEvent:
    """The ingest event a dead letter carries (Lambda sends the invocation's event as the
    message body); NotAFaultEvent when it carries something else."""
    try:
        return IngestEvent.model_validate_json(body)
    except ValidationError as exc:
        raise NotAFaultEvent(f"not an ingest event: {exc.error_count()} error(s)") from exc


def fault_event_identity(body: str) -> tuple[str, str | None] | None:
    """(thing name, event id) of the fault event a dead letter carries: None when it carries
    none (nothing to replay), an event id of None when its payload has none to read."""
    try:
        event = fault_event_of(body)
    except NotAFaultEvent:
        return None
    try:
        return event.thing_name, parse_fault(event, payload_bytes(event)).event_id
    except RejectedInput:
        return event.thing_name, None


@dataclass
class DeadLetterReplay:
    ingestor: FaultIngestor

    def replay(self, body: str) -> IngestResult:
        """Ingest the dead letter's event. Its attempts are all over (that is why it was
        dead-lettered), so work they left unsettled is finished now; the event marker keeps
        an event that did open its order from opening a second one."""
        return self.ingestor.ingest(fault_event_of(body), attempts_over=True)
