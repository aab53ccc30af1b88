"""The web page as the API serves it: what its policy admits is exactly what it holds, it
runs no inline handler, every control has a label, and its configuration cannot break out
of its data block. (In a real browser: tests/e2e/test_web_page_e2e.py.)"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from functions.api.page import WEB_DIR, cognito_endpoint, render, source_hash
from functions.common.settings import Settings

ENVIRONMENT = {
    "REGISTRY_TABLE": "registry",
    "ORDERS_TABLE": "orders",
    "TECHNICIANS_TABLE": "technicians",
    "REJECTIONS_TABLE": "rejections",
    "LEARNING_TABLE": "learning",
    "STOCK_TABLE": "stock",
    "ACCOUNTS_TABLE": "accounts",
    "NOTIFICATIONS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:notifications",
    "USER_POOL_CLIENT_ID": "4d2u6kq0l8fv1c7r3kq9s5e2hb",
    "TOKEN_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf",
    "JWKS_URL": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf/.well-known/jwks.json",
    "IOT_DATA_ENDPOINT": "a1b2c3-ats.iot.eu-west-1.amazonaws.com",
    "COGNITO_ENDPOINT": "https://cognito-idp.eu-west-1.amazonaws.com/",
    "COGNITO_REGION": "eu-west-1",
}


def settings(**changes: str) -> Settings:
    return Settings.from_environment({**ENVIRONMENT, **changes})


class Elements(HTMLParser):
    """The document's elements (tag, attributes) and the text of its scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.elements: list[tuple[str, dict[str, Any]]] = []
        self.inline: dict[str, list[str]] = {"script": [], "style": []}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._open = tag if tag in self.inline else None
        if self._open:
            self.inline[tag].append("")

    def handle_data(self, data: str) -> None:
        if self._open:
            self.inline[self._open][-1] += data

    def handle_endtag(self, tag: str) -> None:
        self._open = None


def parsed(html: str) -> Elements:
    elements = Elements()
    elements.feed(html)
    return elements


def test_the_policy_admits_exactly_the_pages_own_script_and_style() -> None:
    page = render(settings())
    doc = parsed(page.html)
    scripts = [
        text
        for (tag, attrs), text in zip(
            [e for e in doc.elements if e[0] == "script"], doc.inline["script"], strict=True
        )
        if attrs.get("type") != "application/json"  # the configuration: data, never run
    ]
    (script,), (style,) = scripts, doc.inline["style"]
    directives = {
        name: value
        for name, _, value in (d.partition(" ") for d in page.content_security_policy.split("; "))
    }
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == source_hash(script)
    assert directives["style-src"] == source_hash(style)
    assert directives["connect-src"] == "'self' https://cognito-idp.eu-west-1.amazonaws.com/"
    assert directives["frame-ancestors"] == "'none'" and directives["base-uri"] == "'none'"
    assert "unsafe" not in page.content_security_policy


def test_nothing_runs_from_attributes_or_html_strings() -> None:
    page = render(settings())
    handlers = [
        (tag, name)
        for tag, attrs in parsed(page.html).elements
        for name in attrs
        if name.startswith("on")
    ]
    assert handlers == []
    assert "javascript:" not in page.html
    script = (WEB_DIR / "page.js").read_text(encoding="utf-8")
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        'setAttribute("on',
        "localStorage",
    ):
        assert sink not in script, sink


def test_every_control_has_a_label_and_the_document_a_language() -> None:
    doc = parsed(render(settings()).html)
    tags = dict(doc.elements)
    assert tags["html"]["lang"] == "en"
    labelled = {attrs["for"] for tag, attrs in doc.elements if tag == "label" and "for" in attrs}
    controls = [attrs for tag, attrs in doc.elements if tag in ("input", "textarea", "select")]
    assert controls and all(c["id"] in labelled for c in controls)
    live = [attrs for _tag, attrs in doc.elements if "aria-live" in attrs]
    assert {a.get("role") for a in live} == {"status", "alert"}


def test_the_configuration_cannot_close_its_element() -> None:
    hostile = render(settings(USER_POOL_CLIENT_ID="</script><script>alert(1)</script><!--"))
    assert hostile.html.count("<script") == 2  # the data block and the page's script
    assert "alert(1)</script>" not in hostile.html
    assert "\\u003c/script\\u003e" in hostile.html


@pytest.mark.parametrize(
    "endpoint",
    [
        "javascript:alert(1)",
        "https://evil.example; script-src *",
        "https://a.example 'unsafe-inline'",
        "ftp://cognito.example/",
    ],
)
def test_an_endpoint_that_is_no_http_origin_is_refused(endpoint: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        cognito_endpoint(settings(COGNITO_ENDPOINT=endpoint))


def test_the_endpoint_is_the_settings_or_the_issuers_host() -> None:
    local = settings(COGNITO_ENDPOINT="http://127.0.0.1:5000")
    assert cognito_endpoint(local) == "http://127.0.0.1:5000/"
    unset = {k: v for k, v in ENVIRONMENT.items() if k != "COGNITO_ENDPOINT"}
    fallback = Settings.from_environment(unset)
    assert cognito_endpoint(fallback) == "https://cognito-idp.eu-west-1.amazonaws.com/"
    assert re.search(r'"cognito_endpoint": "http://127\.0\.0\.1:5000/"', render(local).html)
