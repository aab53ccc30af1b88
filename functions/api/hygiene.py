"""What every answer of the API shares, whatever produced it (a view, a refused token,
chalice's own 405 or 415, a crash): one JSON error shape, the security headers, a request
id to quote, and a cap on the request body. Installed once as chalice HTTP middleware.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from chalice import Chalice, Response
from chalice.app import Request

from functions.common.observability import logged_invocation
from schemas.api import ErrorAnswer

#: The largest request body accepted; every body the API takes is a small JSON document.
MAX_BODY_BYTES = 16 * 1024

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # Answers are per caller: never kept by a browser or a shared cache.
    "Cache-Control": "no-store",
    # JSON only: nothing in an answer may load, run or be framed.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}

# The error shape's `code`, by HTTP status.
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def error_code(status: int) -> str:
    return ERROR_CODES.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "_")


def _message(body: Any, status: int) -> str:
    # chalice answers {"Code", "Message"}, ours {"code", "message", ...}; anything else
    # (a debug trace) is not shown.
    if isinstance(body, dict):
        for name in ("Message", "message"):
            if isinstance(body.get(name), str):
                return str(body[name])
    return HTTPStatus(status).phrase


def _request_id(app: Chalice, request: Request | None) -> str:
    """API Gateway's request id (the one its logs and the caller's x-amzn-RequestId
    carry), else the Lambda invocation's."""
    if request is not None and request.context.get("requestId"):
        return str(request.context["requestId"])
    context = getattr(app, "lambda_context", None)
    return str(getattr(context, "aws_request_id", "") or "")


def error_response(status: int, message: str, request_id: str) -> Response:
    answer = ErrorAnswer(code=error_code(status), message=message, request_id=request_id)
    return Response(body=answer.model_dump(), status_code=status)


def _finished(response: Response, request_id: str) -> Response:
    status = response.status_code
    if status >= 400:
        headers = response.headers
        response = error_response(status, _message(response.body, status), request_id)
        response.headers.update(headers)
        response.headers["Content-Type"] = "application/json"
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    # A document the API serves (the web page) says itself what it may load and run.
    own_policy = response.headers.get("Content-Security-Policy") if status < 400 else None
    response.headers.update(SECURITY_HEADERS)
    if own_policy:
        response.headers["Content-Security-Policy"] = own_policy
    return response


def install(app: Chalice, logger: Logger) -> None:
    """Register the middleware on `app` (call after nothing else: it wraps every route).
    What `logger` writes while a request is answered carries its request id as the
    correlation id: the id API Gateway's access log and the error answers carry."""

    @app.middleware("http")
    def correlated(request: Request | None, get_response: Callable[[Any], Response]) -> Response:
        context = getattr(app, "lambda_context", None)
        with logged_invocation(logger, context, _request_id(app, request)):
            return get_response(request)

    @app.middleware("http")
    def hygiene(request: Request | None, get_response: Callable[[Any], Response]) -> Response:
        request_id = _request_id(app, request)
        if request is not None:
            resource = request.context.get("resourcePath")
            if resource not in app.routes:
                # Answered here: chalice would look the path up in its route table (a
                # defaultdict) and add it as a route with no methods.
                missing = error_response(404, f"no route {resource}", request_id)
                return _finished(missing, request_id)
            if len(request.raw_body) > MAX_BODY_BYTES:
                too_large = f"the request body is over {MAX_BODY_BYTES} bytes"
                return _finished(error_response(413, too_large, request_id), request_id)
        return _finished(get_response(request), request_id)
