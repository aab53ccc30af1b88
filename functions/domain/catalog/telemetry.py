"""Telemetry ranges as data: the shipped `telemetry/1` file, and what a usable number is."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from functions.domain.catalog.format import (
    TELEMETRY_SCHEMA,
    TelemetryFile,
    TelemetrySpec,
    read_file,
)
from functions.domain.errors import CatalogError
from schemas.registry import Category

CATALOG_DIR = Path(__file__).resolve().parent.parent.parent / "catalog_data"
TELEMETRY_FILE = CATALOG_DIR / "telemetry.json"


def load_telemetry(path: Path = TELEMETRY_FILE) -> dict[str, TelemetrySpec]:
    """Every telemetry name with its spec; CatalogError when the file does not validate."""
    parsed, issues = read_file(Path(path), TelemetryFile, TELEMETRY_SCHEMA)
    if parsed is None:
        raise CatalogError(issues)
    return dict(parsed.telemetry)


def reported_by(specs: Mapping[str, TelemetrySpec], category: Category | str) -> list[str]:
    """The telemetry names an appliance of `category` reports, sorted."""
    return sorted(name for name, spec in specs.items() if category in spec.categories)


def is_valid_number(value: object) -> bool:
    """A finite number a float can hold: NaN, infinities and an integer too large for a
    float (10**400, which `math.isfinite` cannot even convert) are not."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond a float's range
        return False
