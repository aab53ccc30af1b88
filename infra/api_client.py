"""The HTTP API called as a signed-in user, the way a web page or a script calls it: the
user's Cognito access token in `Authorization: Bearer ...` on every request."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class ApiClient:
    base_url: str
    access_token: str

    def get(self, path: str) -> tuple[int, Any]:
        """(status, JSON body) of GET `path` (with its query string)."""
        return self._send(urllib.request.Request(self.base_url + path, method="GET"))

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        """(status, JSON body) of POST `path` with `body` as JSON."""
        return self._send(self._with_body("POST", path, body))

    def put(self, path: str, body: Any) -> tuple[int, Any]:
        """(status, JSON body) of PUT `path` with `body` as JSON."""
        return self._send(self._with_body("PUT", path, body))

    def delete(self, path: str) -> tuple[int, Any]:
        """(status, JSON body) of DELETE `path`."""
        return self._send(urllib.request.Request(self.base_url + path, method="DELETE"))

    def _with_body(self, method: str, path: str, body: Any) -> urllib.request.Request:
        return urllib.request.Request(
            self.base_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method=method,
        )

    def _send(self, request: urllib.request.Request) -> tuple[int, Any]:
        request.add_header("Authorization", f"Bearer {self.access_token}")
        request.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:  # a 4xx/5xx still has the API's JSON answer
            return error.code, json.loads(error.read())
