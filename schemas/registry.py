"""The appliance registry, homes and technicians."""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from schemas.contract import Contract


class Category(StrEnum):
    WASHER = "washer"
    DRYER = "dryer"
    DISHWASHER = "dishwasher"
    REFRIGERATOR = "refrigerator"
    OVEN = "oven"
    BOILER = "boiler"
    HEAT_PUMP = "heat_pump"
    WATER_HEATER = "water_heater"


class GeoPoint(Contract):
    model_config = ConfigDict(frozen=True)

    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class PreferredWindow(Contract):
    """When the homeowner would rather have visits: offered windows inside these come first."""

    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4, 5, 6], description="0 is Monday"
    )
    start: time
    end: time


class ApprovalPolicy(Contract):
    """A homeowner's standing answer to auto-created tickets."""

    auto_approve: bool = False
    max_auto_cost: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description="Auto-approve only when the estimated cost is at most this",
    )
    emergencies_always: bool = Field(True, description="Approve emergencies regardless of cost")
    warranty_repairs: bool = Field(False, description="Approve repairs the warranty covers")
    preferred_windows: list[PreferredWindow] = Field(default_factory=list)


class Home(Contract):
    model_config = ConfigDict(title="Home")

    schema_version: Literal["home/1"] = Field("home/1", alias="schema")
    home_id: str
    location: GeoPoint
    timezone: str = "UTC"
    policy: ApprovalPolicy = Field(default_factory=ApprovalPolicy)


class Appliance(Contract):
    model_config = ConfigDict(title="Appliance")

    schema_version: Literal["appliance/1"] = Field("appliance/1", alias="schema")
    thing_name: str
    home_id: str
    manufacturer: str
    model: str
    category: Category
    serial: str
    installed_on: date
    warranty_until: date | None = None
    share_outcomes: bool = Field(
        False, description="The homeowner consents to share repair outcomes with the manufacturer"
    )

    def under_warranty(self, on: date) -> bool:
        return self.warranty_until is not None and on <= self.warranty_until


class WorkingHours(Contract):
    """Weekly availability: the technician takes visits on these weekdays between the times."""

    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4]
    )
    start: time = time(8, 0)
    end: time = time(18, 0)


class Technician(Contract):
    model_config = ConfigDict(title="Technician")

    schema_version: Literal["technician/1"] = Field("technician/1", alias="schema")
    technician_id: str
    name: str
    skills: list[Category]
    brands: list[str] = Field(description="Manufacturers serviced; empty means all")
    certifications: list[str] = Field(default_factory=list)
    home_base: GeoPoint
    service_radius_km: Annotated[float, Field(gt=0)]
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    rating: Annotated[float, Field(ge=0, le=5)] = 4.5
    ratings_count: Annotated[int, Field(ge=0)] = Field(0, description="Visits rated by homeowners")
    ratings_total: Annotated[int, Field(ge=0)] = Field(0, description="Their stars, summed")
    on_call: bool = Field(False, description="Takes emergency visits out of working hours")
    max_active_orders: Annotated[int, Field(ge=1)] = 4
    active_orders: Annotated[int, Field(ge=0)] = 0
    auto_accept_offers: bool = Field(
        True, description="Offers within the technician's constraints are accepted at once"
    )
