"""MQTT topic names: the cloud side owns them (rules, status publishing); devices use them too."""

from __future__ import annotations

FAULT_TOPIC_FILTER = "dt/repair/+/fault"


def fault_topic(thing_name: str) -> str:
    """Topic an appliance publishes its faults on."""
    return f"dt/repair/{_check_thing(thing_name)}/fault"


def status_topic(thing_name: str) -> str:
    """Topic an appliance subscribes to for repair status on its display."""
    return f"cmd/repair/{_check_thing(thing_name)}/status"


def _check_thing(thing_name: str) -> str:
    # A wildcard or separator in a thing name would widen or break the topic.
    if not thing_name or any(ch in thing_name for ch in "/+#"):
        raise ValueError(f"invalid thing name: {thing_name!r}")
    return thing_name
