"""MQTT topic names shared by appliances, IoT rules and the local stack."""

from __future__ import annotations

FAULT_TOPIC_FILTER = "dt/repair/+/fault"
STATUS_TOPIC_FILTER = "cmd/repair/+/status"


def fault_topic(thing_name: str) -> str:
    """Topic an appliance publishes its faults on."""
    return f"dt/repair/{_check_thing(thing_name)}/fault"


def status_topic(thing_name: str) -> str:
    """Topic an appliance subscribes to for repair status on its display."""
    return f"cmd/repair/{_check_thing(thing_name)}/status"


def thing_from_status_topic(topic: str) -> str:
    """The thing name in `cmd/repair/{thing}/status`; ValueError for any other topic."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[:2] != ["cmd", "repair"] or parts[3] != "status" or not parts[2]:
        raise ValueError(f"not a status topic: {topic!r}")
    return parts[2]


def _check_thing(thing_name: str) -> str:
    # A wildcard or separator in a thing name would widen or break the topic.
    if not thing_name or any(ch in thing_name for ch in "/+#"):
        raise ValueError(f"invalid thing name: {thing_name!r}")
    return thing_name
