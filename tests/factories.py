"""Builders for test data: valid by default, override what the test is about."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, TypeVar

from schemas.device import FaultEvent
from schemas.orders import (
    CauseEstimate,
    Diagnosis,
    OrderStatus,
    PartSelection,
    PartSource,
    RepairOrder,
    SelectedPart,
    Urgency,
)
from schemas.registry import Appliance, ApprovalPolicy, Category, GeoPoint, Home, Technician

T = TypeVar("T")

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
HOME_LOCATION = GeoPoint(lat=52.09, lon=5.12)


def a_home(**overrides: Any) -> Home:
    fields: dict[str, Any] = {
        "home_id": "home-1",
        "location": HOME_LOCATION,
        "timezone": "Europe/Amsterdam",
        "policy": ApprovalPolicy(auto_approve=True),
    }
    return Home(**(fields | overrides))


def an_appliance(**overrides: Any) -> Appliance:
    fields: dict[str, Any] = {
        "thing_name": "washer-1",
        "home_id": "home-1",
        "manufacturer": "Bosch",
        "model": "WAW28750GB",
        "category": Category.WASHER,
        "serial": "SN1",
        "installed_on": date(2025, 1, 1),
        "warranty_until": date(2027, 1, 1),
    }
    return Appliance(**(fields | overrides))


def a_fault(**overrides: Any) -> FaultEvent:
    fields: dict[str, Any] = {
        "event_id": "evt-1",
        "occurred_at": NOW,
        "fault_code": "E18",
        "firmware": "1.2.3",
        "telemetry": {},
    }
    return FaultEvent(**(fields | overrides))


def fault_event(code: str = "E18", **telemetry: Any) -> FaultEvent:
    """A fault with this code and telemetry (the rest fixed)."""
    return a_fault(fault_code=code, telemetry=telemetry)


def a_diagnosis(**overrides: Any) -> Diagnosis:
    fields: dict[str, Any] = {
        "fault_code": "E18",
        "known_code": True,
        "title": "Water not draining",
        "causes": [CauseEstimate(cause_id="pump", description="Drain pump failed", probability=1)],
        "confidence": 0.9,
        "required_skill": Category.WASHER,
        "urgency": Urgency.NORMAL,
    }
    return Diagnosis(**(fields | overrides))


def a_selected_part(
    part_number: str, source: PartSource = PartSource.WAREHOUSE, quantity: int = 1
) -> SelectedPart:
    return SelectedPart(
        part_number=part_number,
        description="part",
        for_causes=["pump"],
        quantity=quantity,
        unit_price=10.0,
        source=source,
    )


def an_order(**overrides: Any) -> RepairOrder:
    fields: dict[str, Any] = {
        "order_id": "ord_1",
        "thing_name": "washer-1",
        "home_id": "home-1",
        "manufacturer": "Bosch",
        "model": "WAW28750GB",
        "category": Category.WASHER,
        "fault_code": "E18",
        "event_ids": ["evt-1"],
        "first_published_at": NOW,
        "status": OrderStatus.AWAITING_APPROVAL,
        "diagnosis": a_diagnosis(),
        "parts": PartSelection(),
        "created_at": NOW,
        "updated_at": NOW,
    }
    return RepairOrder(**(fields | overrides))


def a_technician(**overrides: Any) -> Technician:
    fields: dict[str, Any] = {
        "technician_id": "tech-1",
        "name": "Anouk A.",
        "skills": [Category.WASHER],
        "brands": [],
        "home_base": GeoPoint(lat=52.10, lon=5.10),
        "service_radius_km": 30,
    }
    return Technician(**(fields | overrides))


def present(value: T | None) -> T:
    """`value`, which the test expects to exist (a lookup that may return None)."""
    assert value is not None
    return value
