"""End to end in a real browser: Debian's Chromium, driven by Playwright, opens the web page
the local stack's API serves, signs a homeowner in against the stack's user pool (the
emulator's Cognito, called from the browser), and works a ticket that a fault published
over MQTT opened.

Chromium is required in CI (`.ci/run` installs it) and skipped locally when absent.
Playwright's own browser download is not used: it launches /usr/bin/chromium.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from functions.domain.catalog import default_catalog
from functions.domain.localtime import home_zone
from infra.stack import LocalStack, StackOptions
from iot.faults import SimAppliance
from iot.simulator import Fleet
from schemas.orders import Urgency
from schemas.registry import Appliance
from tests.e2e.test_end_to_end import owner_of

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: How long the page may take for one step (a sign-in, an approval through the stack).
STEP_MS = 20_000

#: Seeds what the fleet (tests/e2e/conftest.py) publishes.
FLEET_SEED = 13


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"chromium is not installed ({CHROMIUM}): CI must run the browser test")
        pytest.skip(f"chromium is not installed ({CHROMIUM}; apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def stack(browser: Browser) -> Iterator[LocalStack]:
    # After the browser: no stack is started for a test that skips for want of chromium.
    options = StackOptions(homes=10, technicians=16, seed=7, stack_name="faultline-e2e-web")
    with LocalStack(options) as running:
        yield running


class Console:
    """What the page reported: script errors and refused loads (CSP violations included)."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def violations(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e or "uncaught" in e]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # A phone, in one locale and time zone, so what the page writes can be checked.
    context = browser.new_context(
        locale="en-GB", timezone_id="UTC", viewport={"width": 390, "height": 844}
    )
    opened = context.new_page()
    opened.set_default_timeout(STEP_MS)
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("FAULTLINE_SCREENSHOTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def waiting_appliance(stack: LocalStack, fleet: Fleet) -> tuple[Appliance, SimAppliance, str]:
    """An appliance with no order yet, in a home that approves nothing by itself, and a
    fault code of it that waits for approval: a visit (no self-fix guide first) and no
    emergency (under the default policy an emergency is dispatched at once)."""
    assert stack.seed_data is not None and stack.dependencies is not None
    catalog = default_catalog()
    homes = {h.home_id: h for h in stack.seed_data.homes}
    for appliance in stack.seed_data.appliances:
        home = homes[appliance.home_id]
        if home.policy.auto_approve or stack.dependencies.orders.list_by_home(home.home_id):
            continue
        sim = fleet.appliances[appliance.thing_name]
        for code in sim.fault_codes:
            entry = catalog.code(sim.manufacturer, sim.model, code)
            if entry and not entry.self_fix and entry.urgency != Urgency.EMERGENCY:
                return appliance, sim, code
    raise AssertionError("no appliance left in the seed data for a fault that waits")


def awaiting_order(fleet: Fleet, sim: SimAppliance, code: str) -> str:
    """Publish a fault over MQTT; the order it opens waits for the homeowner's approval."""
    payload = {
        "schema": "fault/1",
        "event_id": uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC).isoformat(),
        "fault_code": code,
        "firmware": "3.0.1",
        "telemetry": {},
    }
    fleet.publish(sim.thing_name, payload)
    got = fleet.wait_for_status(lambda _t, m: m.get("event_id") == payload["event_id"], 20)
    assert got is not None, "the appliance heard nothing back"
    assert got[1]["status"] == "awaiting_approval", got
    return str(got[1]["order_id"])


def tab_to(page: Page, selector: str, *, limit: int = 40) -> None:
    """Press Tab (only) until the focus is on an element matching `selector`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    focused = page.evaluate("document.activeElement.outerHTML")
    raise AssertionError(f"{limit} Tabs never reached {selector}; the focus is on {focused}")


def sign_in_with_the_keyboard(page: Page, stack: LocalStack, username: str) -> None:
    tab_to(page, "#username")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(stack.users[username].password)
    page.keyboard.press("Enter")


def unlabelled_controls(page: Page) -> list[str]:
    """Visible form controls a screen reader could not name."""
    return list(
        page.evaluate(
            """() => Array.from(document.querySelectorAll('input, textarea, select, button'))
                .filter(e => e.offsetParent !== null)
                .filter(e => !(e.labels && e.labels.length) && !e.textContent.trim()
                             && !e.getAttribute('aria-label'))
                .map(e => e.outerHTML)"""
        )
    )


#: WCAG 2 contrast of every visible text against the background it is drawn on.
CONTRAST = """() => {
  const rgb = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const channel = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.offsetParent === null) continue;
    const text = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!text) continue;
    const style = getComputedStyle(el);
    const [hi, lo] = [luminance(rgb(style.color)), luminance(background(el))].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) low.push(`${ratio.toFixed(2)}: ${el.textContent.trim()}`);
  }
  return low;
}"""


def low_contrast_text(page: Page) -> list[str]:
    """Visible texts below WCAG AA contrast (4.5:1, or 3:1 for large text)."""
    return list(page.evaluate(CONTRAST))


def api_order(stack: LocalStack, order_id: str) -> dict[str, Any]:
    status, order = stack.api_as("operator").get(f"/orders/{order_id}")
    assert status == 200, order
    return dict(order)


def test_the_page_is_served_with_its_own_strict_policy(stack: LocalStack, page: Page) -> None:
    console = Console(page)
    response = page.goto(f"{stack.api_url}/app")
    assert response is not None and response.status == 200
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "'unsafe-inline'" not in policy
    assert "script-src 'sha256-" in policy
    # The script ran under that policy (it shows the sign-in form), and nothing was refused.
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "en"
    assert unlabelled_controls(page) == []
    assert low_contrast_text(page) == []
    assert console.violations() == []


def test_a_homeowner_signs_in_from_the_browser_and_sees_the_ticket_of_their_home(
    stack: LocalStack, fleet: Fleet, page: Page, screenshots: Path
) -> None:
    appliance, sim, code = waiting_appliance(stack, fleet)
    order_id = awaiting_order(fleet, sim, code)
    order = api_order(stack, order_id)
    owner = owner_of(appliance)
    console = Console(page)
    # A link to the home's tickets, opened signed out: the sign-in comes first
    page.goto(f"{stack.api_url}/app#/homes/{appliance.home_id}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    # A wrong password is refused in words, said aloud by the alert region
    page.get_by_label("Username or email").fill(owner)
    page.get_by_label("Password").fill("not-the-password-2026")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The username or password is not right.")
    page.get_by_label("Username or email").fill("")
    page.get_by_label("Password").fill("")
    # Signed in with the keyboard alone, against the stack's user pool, from the browser
    page.locator("body").focus()
    sign_in_with_the_keyboard(page, stack, owner)
    expect(page.locator("#who")).to_have_text(f"Signed in as {owner}")
    expect(page.get_by_role("status")).to_have_text("1 ticket for this home.")
    card = page.locator(f"#home-list li[data-order-id='{order_id}']")
    expect(card).to_contain_text(order["diagnosis"]["title"])
    expect(card).to_contain_text("Waiting for your approval")
    expect(page.get_by_role("alert")).to_be_hidden()
    # The token stays in the tab (sessionStorage at most): nothing in cookies or localStorage
    assert page.context.cookies() == []
    assert page.evaluate("window.localStorage.length") == 0
    shot = screenshots / "home-tickets.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(PNG_SIGNATURE)
    assert unlabelled_controls(page) == []
    assert low_contrast_text(page) == []
    assert console.violations() == []


def test_a_homeowner_approves_a_ticket_with_the_keyboard_and_it_is_dispatched(
    stack: LocalStack, fleet: Fleet, page: Page, screenshots: Path
) -> None:
    appliance, sim, code = waiting_appliance(stack, fleet)
    order_id = awaiting_order(fleet, sim, code)
    diagnosis = api_order(stack, order_id)["diagnosis"]
    console = Console(page)
    page.goto(f"{stack.api_url}/app")
    page.locator("body").focus()
    sign_in_with_the_keyboard(page, stack, owner_of(appliance))
    # My open tickets (GET /my/orders) list it; its ticket (GET /orders/{id}/ticket) opens
    card = page.locator(f"#orders-list li[data-order-id='{order_id}']")
    expect(card).to_contain_text("Waiting for your approval")
    card.get_by_role("link").click()
    status = page.locator("#ticket-status")
    expect(status).to_have_attribute("data-status", "awaiting_approval")
    expect(page.locator("#ticket-diagnosis")).to_contain_text(diagnosis["title"])
    expect(page.locator("#ticket-explanation")).not_to_be_empty()
    if diagnosis["safety_advice"]:  # safety advice comes before anything else
        expect(page.locator("#ticket-safety")).to_contain_text(diagnosis["safety_advice"])
        assert page.evaluate(
            "() => document.getElementById('ticket-safety').compareDocumentPosition("
            "document.getElementById('ticket-diagnosis')) & Node.DOCUMENT_POSITION_FOLLOWING"
        )
    windows = page.locator("#approve-windows input[name=window]")
    expect(windows.first).to_be_visible()
    assert unlabelled_controls(page) == []
    assert low_contrast_text(page) == []
    # Keyboard only: Tab into the windows, Space chooses one, Tab to approve, Enter
    page.locator("#ticket-title").focus()
    tab_to(page, "input[name=window]")
    page.keyboard.press("Space")
    chosen: dict[str, str] = page.evaluate(
        "() => ({...document.activeElement.closest('label').querySelector('.window').dataset})"
    )
    assert page.evaluate("document.activeElement.checked")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "approve-button"
    page.keyboard.press("Enter")
    # The page shows the order approved: offered to a technician (or dispatched at once,
    # to one who accepts offers automatically)
    expect(status).to_have_attribute(
        "data-status", re.compile("^(offered|dispatched)$"), timeout=STEP_MS
    )
    expect(page.locator("#status")).to_contain_text("Approved")
    offered = api_order(stack, order_id)
    if offered["status"] == "offered":  # the technician, signed in as themselves, accepts
        technician = offered["offer"]["technician_id"]
        answered, accepted = stack.api_as(f"tech-{technician}").post(
            f"/orders/{order_id}/accept", {}
        )
        assert answered == 200, accepted
        page.reload()  # the ticket as it is now (the tab keeps its sign-in)
    # The page shows the order dispatched, the booked window and the technician
    expect(status).to_have_attribute("data-status", "dispatched", timeout=STEP_MS)
    booked = page.locator("#ticket-booked-text .window")
    expect(booked).to_have_attribute("data-start", chosen["start"])
    # And so does the order, through the API, with the chosen window
    order = api_order(stack, order_id)
    assert order["status"] == "dispatched"
    start, end = (datetime.fromisoformat(chosen[k]).astimezone(UTC) for k in ("start", "end"))
    window = order["approval"]["window"]
    assert (datetime.fromisoformat(window["start"]), datetime.fromisoformat(window["end"])) == (
        start,
        end,
    )
    # And the appliance hears it over MQTT, with the same window
    told = fleet.wait_for_status(
        lambda thing, m: (
            (thing, m.get("order_id"), m["status"]) == (sim.thing_name, order_id, "dispatched")
        ),
        timeout=20,
    )
    assert told is not None, fleet.status_messages(sim.thing_name)
    assert datetime.fromisoformat(told[1]["window_start"]) == start
    # What the page showed when the screenshot was taken: the diagnosis and the window
    shot = screenshots / "ticket-dispatched.png"
    shown_before = page.locator("main").inner_text()
    page.screenshot(path=str(shot), full_page=True)
    shown = page.locator("main").inner_text()
    assert shown == shown_before, "the page changed while the screenshot was taken"
    assert diagnosis["title"] in shown
    # in the home's zone, named by its abbreviation (not the browser's zone, unlabelled)
    status_code, shown_ticket = stack.api_as("operator").get(f"/orders/{order_id}/ticket")
    assert status_code == 200, shown_ticket
    zone = home_zone(shown_ticket["timezone"])
    here, until = start.astimezone(zone), end.astimezone(zone)
    assert f"{here:%H:%M} to {until:%H:%M} {until.tzname()}" in shown, shown
    assert f"{here:%A}" in shown
    assert "Technician booked" in shown
    png = shot.read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    assert console.violations() == []
