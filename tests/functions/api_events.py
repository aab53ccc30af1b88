"""API Gateway REST proxy events (payload 1.0), recorded one per route in tests/events/api,
and the API handler called with them exactly as Lambda calls it.

A recorded event keeps everything API Gateway sends; `api_request` replaces only what
belongs to one request: the caller's token (and its claims, as the Cognito authorizer
passes them on), the ids in the path, the query, the body and the request id.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jwt

from functions.api.app import app
from infra.lambda_runtime import LocalContext, load_handler
from infra.template import FunctionSpec, api_routes, functions, load_template

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
RECORDED_API_EVENTS = EVENTS_DIR / "api"

#: A route as API Gateway and chalice name it: (method, path template).
Route = tuple[str, str]


def chalice_routes() -> set[Route]:
    """Every route the API's chalice app serves."""
    return {(method, path) for path, methods in app.routes.items() for method in methods}


def template_routes() -> set[Route]:
    """Every route template.yaml sends to the API's function."""
    function = api_function().logical_id
    return {(r.method, r.path) for r in api_routes(load_template()) if r.function == function}


@cache
def api_function() -> FunctionSpec:
    """The template's function whose handler is the chalice app."""
    (spec,) = [s for s in functions(load_template()).values() if s.handler.endswith(".api.app.app")]
    return spec


def recorded_events() -> dict[Route, Path]:
    """Each recorded event's file, by the route it was recorded on."""
    found: dict[Route, Path] = {}
    for path in sorted(RECORDED_API_EVENTS.glob("*.json")):
        event = json.loads(path.read_text())
        route = (event["httpMethod"], event["resource"])
        if route in found:
            raise ValueError(f"{path.name} and {found[route].name} both record {route}")
        found[route] = path
    return found


def authorizer_claims(token: str) -> dict[str, str]:
    """The token's claims as API Gateway's Cognito authorizer passes them to a REST proxy
    integration: every value a string, groups comma-separated, exp and iat as dates."""
    claims = jwt.decode(token, options={"verify_signature": False})

    def text(name: str, value: Any) -> str:
        if name in ("exp", "iat"):
            return datetime.fromtimestamp(value, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
        if isinstance(value, list):
            return ",".join(str(v) for v in value)
        return str(value)

    return {name: text(name, value) for name, value in claims.items()}


def api_request(
    route: Route,
    *,
    token: str | None,
    path: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    body: Any = None,
) -> dict[str, Any]:
    """The recorded event of `route` as API Gateway sends this request.

    `path`: a value for each of the route's path parameters (the recorded ones); `query`
    and `body` (JSON-encoded unless a string) replace the recorded ones when given.
    `token` None: a request without one, on a public route (the gateway's authorizer
    passes no claims; the recorded event has none).
    """
    recorded_file = recorded_events().get(route)
    if recorded_file is None:
        raise LookupError(f"no recorded event of {route} in {RECORDED_API_EVENTS}")
    event: dict[str, Any] = json.loads(recorded_file.read_text())
    parameters = dict(path or {})
    recorded_parameters = set(event["pathParameters"] or {})
    if set(parameters) != recorded_parameters:
        raise ValueError(f"{route} takes the path parameters {sorted(recorded_parameters)}")
    resource = event["resource"]
    for name, value in parameters.items():
        resource = resource.replace(f"{{{name}}}", quote(value, safe=""))
    context = event["requestContext"]
    event["path"] = resource
    event["pathParameters"] = parameters or None
    context["path"] = f"/{context['stage']}{resource}"
    if token is None:
        event["headers"].pop("Authorization", None)
        event["multiValueHeaders"].pop("Authorization", None)
        context.pop("authorizer", None)
    else:
        event["headers"]["Authorization"] = f"Bearer {token}"
        event["multiValueHeaders"]["Authorization"] = [f"Bearer {token}"]
        context["authorizer"] = {"claims": authorizer_claims(token)}
    if query is not None:
        event["queryStringParameters"] = dict(query) or None
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} or None
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    now = datetime.now(UTC)
    context["requestId"] = str(uuid.uuid4())
    context["requestTimeEpoch"] = int(now.timestamp() * 1000)
    context["requestTime"] = now.strftime("%d/%b/%Y:%H:%M:%S +0000")
    return event


@dataclass(frozen=True)
class ApiAnswer:
    """What the handler returned to API Gateway."""

    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def call_api(event: Mapping[str, Any]) -> ApiAnswer:
    """The template's API handler called with `event`, as Lambda calls it."""
    spec = api_function()
    handler = load_handler(spec.handler)
    context = LocalContext(spec.logical_id, spec.memory or 128, spec.timeout or 3)
    response = handler(event, context)
    return ApiAnswer(response["statusCode"], dict(response.get("headers") or {}), response["body"])
