"""The homeowner's web page, `GET /app`: one HTML document with its style and script
inline, served by the API itself, so the page and the routes it calls share one origin.

Public: it holds code and the sign-in configuration (the app client id and where Cognito
is), never anyone's data; the script signs in against the user pool from the browser and
sends the access token to the guarded routes. Its Content-Security-Policy admits exactly
its own style and script (by hash: no inline handlers, nothing injected runs) and lets it
talk to the API and Cognito only. The sources are the files in `web/` next to this module
(shipped with the API function: infra.packaging takes the data folders a module names).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from chalice import Response

from functions.api.routing import public_page
from functions.common.settings import Settings
from functions.common.wiring import dependencies

WEB_DIR = Path(__file__).resolve().parent / "web"
PAGE_PATH = "/app"


@dataclass(frozen=True)
class Page:
    html: str
    content_security_policy: str


def source_hash(text: str) -> str:
    """A CSP hash source admitting exactly this inline script or style."""
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


@cache
def _sources() -> tuple[str, str, str]:
    html, style, script = (
        (WEB_DIR / name).read_text(encoding="utf-8")
        for name in ("page.html", "page.css", "page.js")
    )
    if "</style" in style.lower() or "</script" in script.lower():
        raise ValueError("the page's style or script would close its own element")
    return html, style, script


def cognito_endpoint(settings: Settings) -> str:
    """Where the browser sends InitiateAuth, as an origin with a trailing slash (checked:
    it goes into the CSP). The setting; else the tokens' issuer's host (AWS's form)."""
    configured = settings.cognito_endpoint or settings.token_issuer
    parts = urlsplit(configured)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(c in parts.netloc for c in " ;,'\"")
    ):
        raise ValueError(f"the Cognito endpoint {configured!r} is not an http(s) origin")
    return f"{parts.scheme}://{parts.netloc}/"


def _config_json(config: dict[str, str | None]) -> str:
    # Inside a <script> data block: nothing in it may close the element or open a comment.
    text = json.dumps(config, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(settings: Settings) -> Page:
    html, style, script = _sources()
    endpoint = cognito_endpoint(settings)
    config = {
        "client_id": settings.user_pool_client_id,
        "region": settings.cognito_region,
        "cognito_endpoint": endpoint,
    }
    document = Template(html).substitute(style=style, script=script, config=_config_json(config))
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {source_hash(script)}",
            f"style-src {source_hash(style)}",
            f"connect-src 'self' {endpoint}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return Page(document, policy)


@public_page(PAGE_PATH, summary="The homeowner's web page (HTML; signs in with the user pool)")
def web_page() -> Response:
    page = render(dependencies().settings)
    return Response(
        body=page.html,
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": page.content_security_policy,
        },
    )
