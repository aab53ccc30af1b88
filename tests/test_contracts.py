"""The JSON Schema files in schemas/json are generated from the models and must not drift."""

import json

import pytest

from schemas import generate
from schemas.device import FaultEvent


@pytest.mark.parametrize("path", sorted(generate.expected_files()), ids=lambda p: p.name)
def test_checked_in_schema_matches_the_model(path):
    expected = generate.expected_files()[path]
    assert path.exists(), f"{path.name} is missing: run `faultline schemas`"
    assert path.read_text() == expected, f"{path.name} drifted: run `faultline schemas`"


def test_every_public_model_carries_a_schema_version():
    for name, model in generate.PUBLIC_MODELS.items():
        properties = model.model_json_schema(by_alias=True)["properties"]
        assert "schema" in properties or name == "ingest-event-1", name


def test_fault_schema_rejects_identity_in_the_payload():
    schema = json.loads((generate.JSON_DIR / "fault-1.schema.json").read_text())
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"event_id", "occurred_at", "fault_code", "firmware"}
    assert "manufacturer" not in schema["properties"]
    assert FaultEvent.model_json_schema(by_alias=True) == schema
