"""What every answer shares: one error shape with a request id, security headers, a body
cap, CORS for the web page's origin only; and the OpenAPI document made from the routes."""

from __future__ import annotations

import json
from typing import Any

from functions.api import openapi
from functions.api.app import WEB_ORIGIN, app
from functions.api.hygiene import MAX_BODY_BYTES, SECURITY_HEADERS
from functions.api.routing import PUBLIC_PAGES
from functions.auth.tokens import JwksUnavailable
from functions.common.wiring import dependencies
from infra.lambda_runtime import LocalContext


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.body
    body = response.json_body
    assert set(body) == {"code", "message", "request_id"}
    assert body["code"] == code and body["message"] and body["request_id"]
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    return body


def test_every_answer_carries_the_security_headers(client, operator) -> None:
    ok = client.http.get("/", headers={"Authorization": operator.authorization})
    assert ok.status_code == 200
    for name, value in SECURITY_HEADERS.items():
        assert ok.headers[name] == value
    assert "default-src 'none'" in ok.headers["Content-Security-Policy"]


def test_a_body_over_the_cap_is_a_413_before_anything_else(client, identity) -> None:
    tech = identity.user("technician", technician_id="tech-cap")
    body = json.dumps({"status": "en_route", "note": "x" * MAX_BODY_BYTES})
    for headers in ({}, {"Authorization": tech.authorization}):
        response = client.http.post(
            "/orders/ord_cap/progress",
            body=body,
            headers={"Content-Type": "application/json", **headers},
        )
        message = assert_error(response, 413, "payload_too_large")["message"]
        assert str(MAX_BODY_BYTES) in message


def test_chalices_own_errors_take_the_same_shape(client, identity) -> None:
    wrong_method = client.http.delete("/orders/ord_x")
    assert_error(wrong_method, 405, "method_not_allowed")
    tech = identity.user("technician", technician_id="tech-media")
    wrong_type = client.http.post(
        "/orders/ord_x/progress",
        body="status=en_route",
        headers={"Content-Type": "text/plain", "Authorization": tech.authorization},
    )
    assert_error(wrong_type, 415, "unsupported_media_type")


def rest_event(resource: str | None, path: str, method: str = "GET") -> dict[str, Any]:
    """An API Gateway REST (payload 1.0) proxy event, as Lambda hands it to the handler."""
    context: dict[str, Any] = {"httpMethod": method, "path": path, "requestId": "gw-req-1"}
    if resource is not None:
        context["resourcePath"] = resource
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": context,
        "body": None,
        "isBase64Encoded": False,
    }


def test_the_handler_answers_unknown_requests_in_the_shape(aws_stack) -> None:
    routes_before = set(app.routes)
    context = LocalContext("ApiFunction", 512, 29)
    unknown = app(rest_event("/nowhere", "/nowhere"), context)
    assert unknown["statusCode"] == 404
    body = json.loads(unknown["body"])
    assert body == {"code": "not_found", "message": "no route /nowhere", "request_id": "gw-req-1"}
    assert set(app.routes) == routes_before  # the lookup added no route
    # An event with no resource (an HTTP API 2.0 event) is not routed, and says so alike
    unrouted = app(rest_event(None, "/orders"), context)
    assert unrouted["statusCode"] == 500
    assert set(json.loads(unrouted["body"])) == {"code", "message", "request_id"}
    assert unrouted["headers"]["X-Frame-Options"] == "DENY"


def test_the_request_id_is_api_gateways(aws_stack) -> None:
    answer = app(rest_event("/", "/"), LocalContext("ApiFunction", 512, 29))
    assert answer["statusCode"] == 401
    assert json.loads(answer["body"])["request_id"] == "gw-req-1"


def test_unavailable_keys_are_a_503_not_a_401(client, monkeypatch, operator) -> None:
    def outage(header: str | None) -> None:
        raise JwksUnavailable("fetching the keys failed: timed out")

    monkeypatch.setattr(dependencies().token_verifier, "verify", outage)
    response = client.http.get("/", headers={"Authorization": operator.authorization})
    body = assert_error(response, 503, "unavailable")
    assert "retry" in body["message"] and "timed out" not in body["message"]


def test_a_crash_is_a_500_in_the_shape_without_the_trace(client, monkeypatch, operator) -> None:
    def broken(order_id: str) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(dependencies().orders, "get", broken)
    response = client.http.get("/orders/ord_x", headers={"Authorization": operator.authorization})
    body = assert_error(response, 500, "internal_error")
    assert "secret" not in response.body.decode() and "Traceback" not in body["message"]


def test_cors_admits_the_web_pages_origin_only(client, operator) -> None:
    answer = client.http.get("/", headers={"Authorization": operator.authorization})
    assert answer.headers["Access-Control-Allow-Origin"] == WEB_ORIGIN != "*"
    refused = client.http.get("/triage/orders")
    assert refused.headers["Access-Control-Allow-Origin"] == WEB_ORIGIN
    # Preflights are answered by the gateway (chalice's local one here) from the same config
    for methods in app.routes.values():
        for entry in methods.values():
            assert entry.cors.allow_origin == WEB_ORIGIN
            assert (
                "Authorization"
                in entry.cors.get_access_control_headers()["Access-Control-Allow-Headers"]
            )


def test_the_openapi_document_describes_every_route() -> None:
    document = openapi.document()
    operations = {
        (method.upper(), path) for path, methods in document["paths"].items() for method in methods
    }
    assert operations == {(m, p) for p, methods in app.routes.items() for m in methods}
    schemas = document["components"]["schemas"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    pages = {page.path for page in PUBLIC_PAGES}
    for path in pages:  # documents for everyone: no token, HTML
        (operation,) = document["paths"][path].values()
        assert operation["security"] == []
        assert set(operation["responses"]["200"]["content"]) == {"text/html"}
    for path, methods in document["paths"].items():
        if path in pages:
            continue
        for operation in methods.values():
            assert operation["security"] == [{"bearer": []}]
            for answer in operation["responses"].values():
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref.rpartition("/")[2] in schemas
            assert {"401", "403", "413", "503"} <= set(operation["responses"])
    progress = document["paths"]["/orders/{order_id}/progress"]["post"]
    body = progress["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "technician_id" not in schemas[body.rpartition("/")[2]]["properties"]
