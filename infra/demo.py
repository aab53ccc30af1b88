"""`faultline demo`: the whole flow on the local stack, with a simulated fleet."""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from functions.dal.keys import LISTED_STATUSES
from functions.domain.catalog import default_catalog
from infra.api_client import ApiClient
from infra.seed import LOCAL_PASSWORD
from infra.stack import LocalStack, StackOptions
from iot.faults import sim_appliances
from iot.simulator import Fleet, PublishRecord
from schemas.orders import (
    OrderStatus,
    PartSource,
    Rejection,
    RepairOrder,
    SelectedPart,
    TimeWindow,
)

# The demo's share of the run per scenario: mostly real faults, then the unhappy paths.
PHASES = (("normal", 0.6), ("duplicates", 0.2), ("bad-input", 0.2))
SETTLE_SECONDS = 15.0
#: The seeded user the demo signs in as to read its results through the HTTP API.
RESULTS_READER = "operator"
#: How many waiting orders their homeowners approve (one more is declined, one left to
#: expire, one self-fixed; the others stay waiting).
APPROVALS = 8
#: The demo's approval expiry (the template's default is 3 days), so that the ticket left
#: unanswered expires while you watch; the sweeper runs every minute.
DEMO_EXPIRY_SECONDS = 90


@dataclass
class HomeownerAnswer:
    """What a homeowner did with a waiting order through the API, and where it ended."""

    order: RepairOrder
    decision: str  # approve | decline | self-fix | none (left to expire)
    answer_status: int | None = None
    detail: str = ""
    final: RepairOrder | None = None


@dataclass
class RunResult:
    records: list[PublishRecord]
    orders: list[RepairOrder]
    rejections: list[Rejection]
    status_messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def dispatch_latencies_ms(self) -> list[float]:
        return dispatch_latencies_ms(self.records, self.status_messages)


def dispatch_latencies_ms(
    records: list[PublishRecord], messages: list[tuple[str, dict[str, Any]]]
) -> list[float]:
    """Publish -> the appliance received its 'dispatched' status, per event."""
    published = {r.event_id: r.published_at for r in records if r.event_id}
    latencies = []
    for _thing, message in messages:
        sent = published.get(str(message.get("event_id")))
        if sent is not None and message.get("status") == OrderStatus.DISPATCHED.value:
            latencies.append((message["_received_at"] - sent) * 1000)
    return latencies


def status_messages_of(
    fleet: Fleet, records: list[PublishRecord]
) -> list[tuple[str, dict[str, Any]]]:
    things = sorted({r.thing_name for r in records})
    return [(t, m) for t in things for m in fleet.status_messages(t)]


def read_results(api: ApiClient, day: date) -> tuple[list[RepairOrder], list[Rejection]]:
    """The open orders of every listed status and the day's rejections, read through the
    HTTP API (as an operator: every home's orders and the triage lists)."""
    orders: dict[str, RepairOrder] = {}
    # Closed orders are not listed by status; the demo's orders are all still open.
    for status in LISTED_STATUSES:
        for item in _answer(api, f"/orders?status={status.value}")["orders"]:
            order = RepairOrder.model_validate(item)
            orders[order.order_id] = order
    listed = _answer(api, f"/rejections?day={day.isoformat()}")["rejections"]
    return list(orders.values()), [Rejection.model_validate(r) for r in listed]


def _answer(api: ApiClient, path: str) -> Any:
    status, body = api.get(path)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}: {body}")
    return body


def collect(stack: LocalStack, records: list[PublishRecord], fleet: Fleet) -> RunResult:
    orders, rejections = read_results(stack.api_as(RESULTS_READER), datetime.now(UTC).date())
    messages = status_messages_of(fleet, records)
    return RunResult(records, orders, rejections, messages)


def _part_text(part: SelectedPart) -> str:
    if part.source is PartSource.BACKORDER:
        return f"{part.part_number} (backorder {part.lead_time_days} d)"
    return part.part_number


def print_report(result: RunResult, out: TextIO = sys.stdout) -> None:
    kinds = Counter(r.kind for r in result.records)
    by_status = Counter(o.status.value for o in result.orders)
    reasons = Counter(r.reason.value for r in result.rejections)
    print("\nPublished:", ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())), file=out)
    print(
        f"Orders opened {len(result.orders)} | awaiting approval "
        f"{by_status.get('awaiting_approval', 0)} | dispatched {by_status.get('dispatched', 0)} | "
        f"approved, no technician {by_status.get('approved', 0)} | "
        f"rejected events {len(result.rejections)}",
        file=out,
    )
    if reasons:
        print("Rejections:", ", ".join(f"{k} {n}" for k, n in sorted(reasons.items())), file=out)
    header = f"{'order':<26}{'appliance':<22}{'code':<7}{'status':<19}{'technician':<14}parts"
    print("\n" + header, file=out)
    print("-" * len(header), file=out)
    for order in sorted(result.orders, key=lambda o: o.created_at):
        tech = order.offer.technician_name if order.offer else "-"
        parts = ", ".join(_part_text(p) for p in order.parts.parts) or "-"
        flag = " [triage]" if order.needs_triage else ""
        repeats = f" x{order.occurrences}" if order.occurrences > 1 else ""
        print(
            f"{order.order_id:<26}{order.thing_name:<22}{order.fault_code:<7}"
            f"{order.status.value + repeats:<19}{tech:<14}{parts}{flag}",
            file=out,
        )
    explained = next(
        (o for o in result.orders if any(c.evidence for c in o.diagnosis.causes)), None
    )
    if explained is not None:
        print(f"\nWhy {explained.order_id} ({explained.fault_code}):", file=out)
        print(f"  {explained.diagnosis.explanation}", file=out)
        print(f"  kit P(first-time fix) {explained.parts.fix_probability:.0%}", file=out)
    latencies = result.dispatch_latencies_ms()
    if latencies:
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            f"\nPublish -> dispatched (appliance got its status): n={len(latencies)} "
            f"median {statistics.median(latencies):.0f} ms, p99 {p99:.0f} ms, "
            f"max {latencies[-1]:.0f} ms",
            file=out,
        )


def _homeowner(stack: LocalStack, order: RepairOrder) -> ApiClient:
    return stack.api_as(f"owner-{order.home_id}")


def _window_text(start: datetime, end: datetime, timezone: str) -> str:
    """A visit window as its homeowner reads it: in the home's time zone."""
    zone = ZoneInfo(timezone)
    start, end = start.astimezone(zone), end.astimezone(zone)
    return f"{start:%a %d %b %H:%M}-{end:%H:%M %Z}"


def _timezone(stack: LocalStack, home_id: str) -> str:
    assert stack.seed_data is not None
    return next((h.timezone for h in stack.seed_data.homes if h.home_id == home_id), "UTC")


def answer_as_homeowners(stack: LocalStack, orders: list[RepairOrder]) -> list[HomeownerAnswer]:
    """Homeowners, each signed in as themselves, answer some waiting tickets through the
    API: approve with the first window their ticket proposes, decline one, report a
    self-fix that worked, and leave one unanswered to expire."""
    waiting = sorted(
        (o for o in orders if o.status is OrderStatus.AWAITING_APPROVAL),
        key=lambda o: o.created_at,
    )
    self_fixable = [o for o in waiting if o.diagnosis.self_fix]
    needs_visit = [o for o in waiting if not o.diagnosis.self_fix]
    answers: list[HomeownerAnswer] = []
    if self_fixable:
        order = self_fixable[0]
        status, body = _homeowner(stack, order).post(
            f"/orders/{order.order_id}/self-fix", {"result": "fixed"}
        )
        answers.append(HomeownerAnswer(order, "self-fix", status, _said(status, body, "fixed")))
    if needs_visit:
        order = needs_visit.pop(0)
        reason = "we are replacing the appliance"
        status, body = _homeowner(stack, order).post(
            f"/orders/{order.order_id}/decline", {"reason": reason}
        )
        answers.append(HomeownerAnswer(order, "decline", status, _said(status, body, reason)))
    if needs_visit:
        answers.append(HomeownerAnswer(needs_visit.pop(0), "none", None, "left unanswered"))
    for order in needs_visit[:APPROVALS]:
        api = _homeowner(stack, order)
        status, ticket = api.get(f"/orders/{order.order_id}/ticket")
        windows = ticket.get("windows", []) if status == 200 else []
        if not windows:
            answers.append(HomeownerAnswer(order, "approve", status, "no window offered"))
            continue
        status, body = api.post(f"/orders/{order.order_id}/approve", {"window": windows[0]})
        window = TimeWindow.model_validate(windows[0])
        chosen = _window_text(window.start, window.end, _timezone(stack, order.home_id))
        answers.append(HomeownerAnswer(order, "approve", status, _said(status, body, chosen)))
    return answers


def _said(status: int, body: Any, ok: str) -> str:
    if status == 200:
        return ok
    return f"{status} {body.get('message', '') if isinstance(body, dict) else body}"


def wait_for_expiry(
    stack: LocalStack, answers: list[HomeownerAnswer], expiry_seconds: float, out: TextIO
) -> None:
    """Wait until the ticket left unanswered has expired (the sweeper runs every minute)."""
    unanswered = [a.order for a in answers if a.decision == "none"]
    if not unanswered:
        return
    order = unanswered[0]
    api = stack.api_as(RESULTS_READER)
    deadline = order.created_at.timestamp() + expiry_seconds + 75
    print(
        f"\nWaiting for {order.order_id}, left unanswered, to expire "
        f"(ApprovalExpirySeconds={expiry_seconds:g}; the sweeper runs every minute)...",
        file=out,
        flush=True,
    )
    while time.time() < deadline:
        status, body = api.get(f"/orders/{order.order_id}")
        if status == 200 and body["status"] == OrderStatus.EXPIRED.value:
            return
        time.sleep(2)


def print_outbox(stack: LocalStack, out: TextIO = sys.stdout) -> None:
    kinds = Counter(sent.notification.kind.value for sent in stack.outbox())
    if kinds:
        listed = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        print(f"\nNotifications sent (local outbox, `faultline outbox`): {listed}", file=out)


def final_states(stack: LocalStack, answers: list[HomeownerAnswer]) -> None:
    """Each answered order as it is now, read through the API as the operator (closed
    orders are not in the by-status listing)."""
    api = stack.api_as(RESULTS_READER)
    for answer in answers:
        status, body = api.get(f"/orders/{answer.order.order_id}")
        answer.final = RepairOrder.model_validate(body) if status == 200 else None


def print_answers(
    stack: LocalStack, answers: list[HomeownerAnswer], out: TextIO = sys.stdout
) -> None:
    if not answers:
        return
    header = f"{'order':<26}{'homeowner did':<15}{'answer':<34}{'now':<12}technician, visit"
    print("\nHomeowners answered through the API:\n" + header, file=out)
    print("-" * len(header), file=out)
    for answer in answers:
        final = answer.final
        now = final.status.value if final else "?"
        tech = "-"
        if final is not None and final.offer is not None:
            window = final.offer.window
            when = _window_text(window.start, window.end, _timezone(stack, final.home_id))
            tech = f"{final.offer.technician_name}, {when}"
        print(
            f"{answer.order.order_id:<26}{answer.decision:<15}{answer.detail[:33]:<34}"
            f"{now:<12}{tech}",
            file=out,
        )
    dispatched = sum(
        1
        for a in answers
        if a.decision == "approve" and a.final and a.final.status is OrderStatus.DISPATCHED
    )
    approved = sum(1 for a in answers if a.decision == "approve" and a.answer_status == 200)
    print(f"Approvals that became dispatches: {dispatched} of {approved}", file=out)


def run(duration: float, rate: float, options: StackOptions, out: TextIO = sys.stdout) -> int:
    parameters = {"ApprovalExpirySeconds": str(DEMO_EXPIRY_SECONDS), **options.parameters}
    options = dataclasses.replace(options, parameters=parameters)
    expiry_seconds = float(parameters["ApprovalExpirySeconds"])
    print("Starting the local stack (broker, AWS emulator, template deploy, seed)...", file=out)
    with LocalStack(options) as stack:
        for name, url in stack.endpoints().items():
            print(f"  {name:<13} {url}", file=out)
        assert stack.broker is not None and stack.seed_data is not None
        fleet_members = sim_appliances(stack.seed_data.appliances, default_catalog())
        counts: Counter[str] = Counter()

        def progress(record: PublishRecord) -> None:
            counts[record.kind] += 1
            total = sum(counts.values())
            if total % max(1, int(rate)) == 0:
                summary = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
                print(f"  published {total:>4}: {summary}", file=out, flush=True)

        print(
            f"\n{len(fleet_members)} appliances in {len(stack.seed_data.homes)} homes; "
            f"publishing {rate:g} faults/s for {duration:g} s",
            file=out,
        )
        with Fleet(
            stack.broker.host,
            stack.broker.port,
            fleet_members,
            seed=options.seed,
            certificates=stack.device_certificates or None,
        ) as fleet:
            records: list[PublishRecord] = []
            for scenario, share in PHASES:
                records += fleet.run(rate, duration * share, scenario, on_publish=progress)
            assert stack.invoker is not None
            stack.invoker.wait_idle(SETTLE_SECONDS)
            time.sleep(0.5)  # the last status messages are in flight to the appliances
            print(
                f"\nReading the results through the HTTP API as {RESULTS_READER!r} "
                "(signed in: Authorization: Bearer <access token>)",
                file=out,
            )
            result = collect(stack, records, fleet)
        print_report(result, out)
        print("\nHomeowners answer waiting tickets, each signed in as themselves...", file=out)
        answers = answer_as_homeowners(stack, result.orders)
        assert stack.invoker is not None
        stack.invoker.wait_idle(SETTLE_SECONDS)
        wait_for_expiry(stack, answers, expiry_seconds, out)
        final_states(stack, answers)
        print_answers(stack, answers, out)
        print_outbox(stack, out)
        print(
            f"\nThe homeowner's page: {stack.api_url}/app (sign in as owner-<home id>, "
            f"password {LOCAL_PASSWORD})",
            file=out,
        )
        dead = stack.list_dead_letters()
        if dead:
            print(f"\nDead-letter queue: {len(dead)} message(s)", file=out)
    return 0
