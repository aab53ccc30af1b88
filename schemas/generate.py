"""Write the JSON Schema files in schemas/json from the models (`faultline schemas`)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from schemas.device import FaultEvent, IngestEvent, StatusMessage
from schemas.notifications import Notification
from schemas.orders import (
    Diagnosis,
    Offer,
    PartSelection,
    ProgressUpdate,
    Rejection,
    RepairOrder,
)
from schemas.registry import Appliance, Home, Technician

JSON_DIR = Path(__file__).parent / "json"
OPENAPI_FILE = Path(__file__).parent / "openapi.json"

PUBLIC_MODELS: dict[str, type[BaseModel]] = {
    "fault-1": FaultEvent,
    "status-1": StatusMessage,
    "ingest-event-1": IngestEvent,
    "appliance-1": Appliance,
    "home-1": Home,
    "technician-1": Technician,
    "diagnosis-1": Diagnosis,
    "parts-1": PartSelection,
    "order-1": RepairOrder,
    "offer-1": Offer,
    "rejection-1": Rejection,
    "progress-2": ProgressUpdate,
    "notification-1": Notification,
}


def render(model: type[BaseModel]) -> str:
    schema = model.model_json_schema(by_alias=True)
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def render_openapi() -> str:
    # Imported here: the app module builds a chalice app, which the schemas alone do not need.
    from functions.api import openapi

    return json.dumps(openapi.document(), indent=2, sort_keys=True) + "\n"


def expected_files() -> dict[Path, str]:
    files = {JSON_DIR / f"{name}.schema.json": render(m) for name, m in PUBLIC_MODELS.items()}
    files[OPENAPI_FILE] = render_openapi()
    return files


def write_all() -> list[Path]:
    JSON_DIR.mkdir(exist_ok=True)
    written = []
    for path, text in expected_files().items():
        path.write_text(text)
        written.append(path)
    return written
