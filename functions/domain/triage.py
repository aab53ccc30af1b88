"""What an operator can do next about an item of the triage queue, in plain actions."""

from __future__ import annotations

from schemas.orders import RejectionReason, TriageReason

ORDER_STEPS: dict[TriageReason, tuple[str, ...]] = {
    TriageReason.UNKNOWN_MANUFACTURER: (
        "add the manufacturer's fault-code catalog (check it with `faultline catalog validate`)",
        "until then, diagnose by hand and offer the order to a technician",
    ),
    TriageReason.UNKNOWN_MODEL: (
        "add the model to its manufacturer's catalog",
        "check the appliance's registry entry for a mistyped model",
    ),
    TriageReason.UNKNOWN_CODE: (
        "ask the manufacturer what the code means and add it to the catalog",
        "read the fault's telemetry on the order and choose the parts by hand",
    ),
    TriageReason.DIAGNOSIS_FAILED: (
        "report the order id to the team: diagnosis raised on this catalog entry",
        "check the catalog entry for the code (`faultline catalog validate`)",
    ),
    TriageReason.NO_TECHNICIAN: (
        "add a technician with the skill near the home, or widen one's service area",
        "offer the order to a technician by hand",
        "tell the homeowner the visit is delayed",
    ),
    TriageReason.APPROVAL_OVERDUE: (
        "call the homeowner: an emergency waits for their approval (the safety advice first)",
        "approve it for them if they agree, or cancel it if they decline",
    ),
}

REJECTION_STEPS: dict[RejectionReason, tuple[str, ...]] = {
    RejectionReason.PAYLOAD_TOO_LARGE: (
        "tell the manufacturer: the firmware sends payloads over the size limit",
    ),
    RejectionReason.MALFORMED_JSON: (
        "read the payload excerpt and tell the manufacturer which firmware sends it",
    ),
    RejectionReason.SCHEMA_VIOLATION: (
        "compare the payload excerpt with schemas/json/fault-1.schema.json",
        "tell the manufacturer which firmware breaks the contract",
    ),
    RejectionReason.UNKNOWN_THING: (
        "register the appliance in its home if it is a customer's",
        "else revoke the device's certificate",
    ),
    RejectionReason.UNPAIRED_THING: (
        "nothing to do unless it persists: its homeowner unpaired it (sold, moved out); "
        "its faults open orders again once someone pairs it",
    ),
    RejectionReason.CLOCK_SKEW: (
        "the appliance's clock runs ahead: tell the manufacturer which firmware it runs",
    ),
    RejectionReason.STALE_EVENT: (
        "the appliance sent an old event (a long outage, or a stuck queue on the device): "
        "check it reconnects and reports current faults",
    ),
    RejectionReason.IDENTITY_MISMATCH: (
        "a device published on another appliance's topic: revoke its certificate",
        "check the IoT policy attached to it",
    ),
}

REPLAYABLE_DEAD_LETTER_STEPS = (
    "replay the queue once the error is fixed (`faultline dlq replay`, or a redrive to the "
    "replay function): the event is ingested once, never twice",
    "if it failed on our side, report the error and the event id to the team",
)
OTHER_DEAD_LETTER_STEPS = (
    "read the error: an IoT rule could not deliver this message to the function",
    "fix the rule or the function's permissions, then delete the message",
)


def order_steps(reasons: list[TriageReason]) -> list[str]:
    """Each reason's steps, once each, in the order the reasons came."""
    steps: list[str] = []
    for reason in reasons:
        steps += [s for s in ORDER_STEPS[reason] if s not in steps]
    return steps


def rejection_steps(reason: RejectionReason) -> list[str]:
    return list(REJECTION_STEPS[reason])


def dead_letter_steps(replayable: bool) -> list[str]:
    return list(REPLAYABLE_DEAD_LETTER_STEPS if replayable else OTHER_DEAD_LETTER_STEPS)
