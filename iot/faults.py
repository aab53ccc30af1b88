"""What simulated appliances send: `fault/1` payloads with telemetry drawn from the catalog,
the bad-input kinds and the scenarios that mix them. Pure generation, no MQTT: the fleet in
`iot.simulator` publishes what this module makes.
"""

from __future__ import annotations

import itertools
import json
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions.domain.catalog import Catalog, default_catalog
from iot.readings import Reading, cause_readings, draw_cause, healthy_readings
from schemas.registry import Appliance

SCENARIOS = ("normal", "duplicates", "bad-input", "repeat")
KINDS = (
    "new",
    "duplicate",
    "malformed_json",
    "schema_violation",
    "unknown_code",
    "oversized",
    "repeat",
)
OVERSIZED_BYTES = 17 * 1024  # above the 16 KiB limit in schemas.device.MAX_PAYLOAD_BYTES
DUPLICATE_RATE = 0.2

# Example codes for the standalone CLI, which has no appliance registry to draw from.
EXAMPLE_CODES: dict[str, list[str]] = {
    "washer": ["E21", "F05", "E18"],
    "dishwasher": ["E24", "E15"],
    "refrigerator": ["ER-CF", "22E"],
    "oven": ["F9", "E03"],
    "boiler": ["F28", "F22"],
    "heat_pump": ["E200", "E106"],
    "water_heater": ["E1", "F05"],
    "dryer": ["E21", "F01"],
}

Message = tuple[str, bytes, str]  # (thing name, payload, kind)


@dataclass
class SimAppliance:
    """One simulated appliance; `thing_name` is its IoT thing name and MQTT client id."""

    thing_name: str
    category: str
    manufacturer: str
    model: str
    fault_codes: list[str]


def sim_appliances(appliances: Iterable[Appliance], catalog: Catalog) -> list[SimAppliance]:
    """The simulator's view of registry appliances, with the fault codes their model has."""
    fleet = []
    for appliance in appliances:
        info = catalog.find_model(appliance.manufacturer, appliance.model)
        fleet.append(
            SimAppliance(
                thing_name=appliance.thing_name,
                category=appliance.category.value,
                manufacturer=appliance.manufacturer,
                model=appliance.model,
                fault_codes=sorted(info.codes) if info else [],
            )
        )
    return fleet


def example_appliances(count: int) -> list[SimAppliance]:
    """`count` appliances `sim-<category>-<n>`, cycling through the categories."""
    categories = list(EXAMPLE_CODES)
    appliances = []
    for n in range(1, count + 1):
        category = categories[(n - 1) % len(categories)]
        appliances.append(
            SimAppliance(
                thing_name=f"sim-{category.replace('_', '-')}-{n}",
                category=category,
                manufacturer="Simulated",
                model=f"SIM-{category[:3].upper()}-{n:03d}",
                fault_codes=list(EXAMPLE_CODES[category]),
            )
        )
    return appliances


# --------------------------------------------------------------------------- payloads


def fault_telemetry(
    catalog: Catalog,
    appliance: SimAppliance,
    fault_code: str,
    rng: random.Random,
    *,
    cause_id: str | None = None,
) -> dict[str, Reading]:
    """What the appliance reports with `fault_code`: healthy readings of its category, and for
    a code the catalog knows, the readings its rules use as `cause_id` (drawn by the code's
    priors when None) would show them."""
    readings = healthy_readings(rng, catalog.telemetry, appliance.category)
    entry = catalog.code(appliance.manufacturer, appliance.model, fault_code)
    if entry is not None:
        cause = cause_id or draw_cause(rng, entry)
        readings.update(cause_readings(rng, catalog.telemetry, entry, cause))
    return readings


def _event_id(rng: random.Random) -> str:
    # Drawn from the seeded RNG (not uuid4()) so a run is reproducible.
    return uuid.UUID(int=rng.getrandbits(128), version=4).hex


def _firmware(appliance: SimAppliance) -> str:
    # Stable per appliance: a device keeps its firmware version between faults.
    r = random.Random(appliance.thing_name)
    return f"{r.randint(1, 4)}.{r.randint(0, 12)}.{r.randint(0, 30)}"


def make_fault(
    appliance: SimAppliance,
    rng: random.Random,
    *,
    fault_code: str | None = None,
    catalog: Catalog | None = None,
) -> dict[str, Any]:
    """A realistic `fault/1` payload for the appliance (valid against schemas.device.FaultEvent),
    its telemetry drawn from `catalog` (the shipped one when None)."""
    event_id = _event_id(rng)
    code = fault_code or rng.choice(appliance.fault_codes)
    return {
        "schema": "fault/1",
        "event_id": event_id,
        "occurred_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "fault_code": code,
        "firmware": _firmware(appliance),
        "telemetry": fault_telemetry(catalog or default_catalog(), appliance, code, rng),
    }


def encode(payload: dict[str, Any]) -> bytes:
    """Compact JSON, as a device would put it on the wire."""
    return json.dumps(payload, separators=(",", ":")).encode()


def _schema_violation(fault: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A fault with one typical contract break; the event_id stays intact when present."""
    broken = dict(fault)
    match rng.randrange(5):
        case 0:
            del broken["fault_code"]
        case 1:
            broken["telemetry"] = [1, 2, 3]
        case 2:
            broken["occurred_at"] = "2024-13-45T25:61:00"  # no such date, no timezone
        case 3:
            broken["fault_code"] = 21  # number instead of string
        case _:
            broken["schema"] = "fault/0"
    return broken


def _unknown_code(appliance: SimAppliance, rng: random.Random) -> str:
    while True:
        code = f"Z{rng.randint(100, 999)}"
        if code not in appliance.fault_codes:
            return code


# --------------------------------------------------------------------------- scenarios


def scenario_messages(
    scenario: str,
    appliances: Sequence[SimAppliance],
    rng: random.Random,
    catalog: Catalog | None = None,
) -> Callable[[], Message]:
    """A source of (thing, payload, kind) for the scenario, drawing from `rng`."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}")
    catalog = catalog or default_catalog()
    sent: list[tuple[str, bytes]] = []

    def new() -> Message:
        appliance = rng.choice(appliances)
        return appliance.thing_name, encode(make_fault(appliance, rng, catalog=catalog)), "new"

    def duplicates() -> Message:
        if sent and rng.random() < DUPLICATE_RATE:
            thing, data = rng.choice(sent)
            return thing, data, "duplicate"
        thing, data, kind = new()
        sent.append((thing, data))
        return thing, data, kind

    def bad_input() -> Message:
        appliance = rng.choice(appliances)
        fault = make_fault(appliance, rng, catalog=catalog)
        kind = rng.choice(
            ["new", "new", "malformed_json", "schema_violation", "unknown_code", "oversized"]
        )
        if kind == "malformed_json":
            text = encode(fault)
            return appliance.thing_name, text[: len(text) // 2], kind
        if kind == "schema_violation":
            return appliance.thing_name, encode(_schema_violation(fault, rng)), kind
        if kind == "unknown_code":
            fault["fault_code"] = _unknown_code(appliance, rng)
        data = encode(fault)
        if kind == "oversized":
            # Valid JSON and a valid fault except for its size, so only the size check trips.
            data += b" " * (OVERSIZED_BYTES - len(data))
        return appliance.thing_name, data, kind

    repeat_of = rng.choice(appliances)
    repeat_code = rng.choice(repeat_of.fault_codes)
    repeats = itertools.count()

    def repeat() -> Message:
        fault = make_fault(repeat_of, rng, fault_code=repeat_code, catalog=catalog)
        kind = "new" if next(repeats) == 0 else "repeat"
        return repeat_of.thing_name, encode(fault), kind

    sources = {"normal": new, "duplicates": duplicates, "bad-input": bad_input, "repeat": repeat}
    return sources[scenario]
