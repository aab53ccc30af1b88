"""The OpenAPI document of the HTTP API, made from the app's declared routes and the
pydantic models they take and answer (checked in as schemas/openapi.json)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from functions.api.app import ROUTES, Route, app
from functions.api.hygiene import MAX_BODY_BYTES
from functions.api.routing import PUBLIC_PAGES, PublicPage
from schemas.api import ErrorAnswer

# Every route verifies the token (401), checks the group (403), caps the body (413) and
# depends on the user pool's keys (503).
COMMON_ERRORS = (401, 403, 413, 503)
ERROR_WORDS = {
    400: "The request is malformed",
    401: "No valid access token",
    403: "The caller's groups are not admitted",
    404: "Not found, or not the caller's (the same answer)",
    409: "The order changed meanwhile, or the step is not allowed from its status",
    413: f"The body is over {MAX_BODY_BYTES} bytes",
    429: "Too many failed attempts; wait and try again",
    503: "The user pool's keys cannot be fetched; retry",
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(model)}}


def _operation(declared: Route) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", declared.path)
    ]
    parameters += [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": words,
            "schema": {"type": "string"},
        }
        for name, words in declared.query.items()
    ]
    responses: dict[str, Any] = {"200": {"description": "OK", "content": _json(declared.answer)}}
    for status in sorted({*COMMON_ERRORS, *declared.errors}):
        responses[str(status)] = {"description": ERROR_WORDS[status], "content": _json(ErrorAnswer)}
    operation: dict[str, Any] = {
        "operationId": app.routes[declared.path][declared.method].view_name,
        "summary": declared.summary,
        "description": f"For: {', '.join(sorted(declared.admits))}.",
        "security": [{"bearer": []}],
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = parameters
    if declared.body is not None:
        operation["requestBody"] = {"required": True, "content": _json(declared.body)}
    return operation


def _page_operation(page: PublicPage) -> dict[str, Any]:
    return {
        "operationId": app.routes[page.path]["GET"].view_name,
        "summary": page.summary,
        "description": "For everyone: no token (the document holds no data).",
        "security": [],
        "responses": {
            "200": {"description": "OK", "content": {"text/html": {"schema": {"type": "string"}}}}
        },
    }


def _component_schemas() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorAnswer, "serialization")]
    for declared in ROUTES:
        models.append((declared.answer, "serialization"))
        if declared.body is not None:
            models.append((declared.body, "validation"))
    unique = list(dict.fromkeys(models))
    _, document = models_json_schema(
        unique, by_alias=True, ref_template="#/components/schemas/{model}"
    )
    return dict(document.get("$defs", {}))


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document; raises if a chalice route was declared around `route()`."""
    declared_routes = {(r.path, r.method) for r in ROUTES} | {(p.path, "GET") for p in PUBLIC_PAGES}
    chalice_routes = {(p, m) for p, methods in app.routes.items() for m in methods}
    if declared_routes != chalice_routes:
        raise ValueError(f"routes not declared with route(): {chalice_routes - declared_routes}")
    paths: dict[str, dict[str, Any]] = {}
    for declared in ROUTES:
        paths.setdefault(declared.path, {})[declared.method.lower()] = _operation(declared)
    for page in PUBLIC_PAGES:
        paths.setdefault(page.path, {})["get"] = _page_operation(page)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Faultline API",
            "version": "1",
            "description": "Repair orders for homeowners, technicians, manufacturers and "
            "operators. Every error answers the ErrorAnswer shape.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": _component_schemas(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Cognito access token of the Faultline app client",
                }
            },
        },
    }
