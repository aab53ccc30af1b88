"""ApiClient: every request carries the signed-in user's access token, and an error answer
comes back as the API's JSON, not as an exception."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from infra.api_client import ApiClient


class Recorder(BaseHTTPRequestHandler):
    """Answers 200 with what it was sent, or 404 for /missing."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        seen = {
            "method": self.command,
            "path": self.path,
            "authorization": self.headers.get("Authorization"),
            "content_type": self.headers.get("Content-Type"),
            "body": self.rfile.read(length).decode() if length else None,
        }
        status = 404 if self.path == "/missing" else 200
        payload = json.dumps(
            {"code": "not_found", "message": "no such thing"} if status == 404 else seen
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_every_request_carries_the_access_token(server_url: str) -> None:
    api = ApiClient(server_url, "token-of-the-user")
    status, seen = api.get("/orders?status=dispatched")
    assert status == 200
    assert (seen["method"], seen["path"]) == ("GET", "/orders?status=dispatched")
    assert seen["authorization"] == "Bearer token-of-the-user"
    status, seen = api.post("/orders/ord_1/progress", {"status": "en_route"})
    assert (status, seen["method"], seen["authorization"]) == (
        200,
        "POST",
        "Bearer token-of-the-user",
    )
    assert seen["content_type"] == "application/json"
    assert json.loads(seen["body"]) == {"status": "en_route"}


def test_put_and_delete_carry_the_token_and_put_its_json_body(server_url: str) -> None:
    api = ApiClient(server_url, "token-of-the-user")
    status, seen = api.put("/homes/h-1/policy", {"auto_approve": True})
    assert (status, seen["method"], seen["authorization"]) == (
        200,
        "PUT",
        "Bearer token-of-the-user",
    )
    assert json.loads(seen["body"]) == {"auto_approve": True}
    status, seen = api.delete("/homes/h-1/appliances/washer-1")
    assert (status, seen["method"], seen["path"], seen["body"]) == (
        200,
        "DELETE",
        "/homes/h-1/appliances/washer-1",
        None,
    )
    assert seen["authorization"] == "Bearer token-of-the-user"


def test_an_error_answer_is_returned_with_its_body(server_url: str) -> None:
    assert ApiClient(server_url, "t").get("/missing") == (
        404,
        {"code": "not_found", "message": "no such thing"},
    )
