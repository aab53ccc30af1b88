"""Faultline contracts: pydantic v2 models, the single source of the JSON Schema files."""
