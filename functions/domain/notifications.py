"""What to tell people about an order, in plain words: the Notification for each kind of
news, and the dispatched visit as an iCalendar file. Plain Python, no boto3."""

from __future__ import annotations

from datetime import UTC, datetime

from functions.domain.localtime import local_time, local_window
from schemas.notifications import Notification, NotificationKind, Recipient
from schemas.orders import DeadlineAction, OrderStatus, RepairOrder, TimeWindow, Urgency

K = NotificationKind

# The homeowner's news after a change of status (the API's, a technician's, the sweeper's).
# Opening is ingest's news (opened / awaiting_approval); a status the homeowner chose
# (approved, declined, self_fixed) or a step nobody waits for (offered, on_site) is none.
KIND_OF_STATUS: dict[OrderStatus, NotificationKind] = {
    OrderStatus.DISPATCHED: K.DISPATCHED,
    OrderStatus.EN_ROUTE: K.EN_ROUTE,
    OrderStatus.COMPLETED: K.COMPLETED,
    OrderStatus.UNRESOLVED: K.UNRESOLVED,
    OrderStatus.CANCELLED: K.CANCELLED,
    OrderStatus.EXPIRED: K.EXPIRED,
}


def ticket_link(web_url: str, order_id: str) -> str:
    return f"{web_url.rstrip('/')}/app#/orders/{order_id}"


def opening_kind(order: RepairOrder) -> NotificationKind | None:
    """The news of a newly opened order: it waits for its homeowner, or its policy
    approved it and it is on its way; None in any later status."""
    return {
        OrderStatus.AWAITING_APPROVAL: K.AWAITING_APPROVAL,
        OrderStatus.APPROVED: K.OPENED,
    }.get(order.status)


def _technician(order: RepairOrder) -> str:
    # The name the appliance's display shows too; never a phone number or an address.
    return order.offer.technician_name if order.offer else "A technician"


def _texts(
    order: RepairOrder, kind: NotificationKind, recipient: Recipient, zone: str
) -> tuple[str, str]:
    what = order.diagnosis.title or f"fault {order.fault_code}"
    appliance = order.category.value.replace("_", " ")
    safety = f"{order.diagnosis.safety_advice} " if order.diagnosis.safety_advice else ""
    emergency = order.diagnosis.urgency is Urgency.EMERGENCY
    window = order.offer.window if order.offer else None
    if kind is K.AWAITING_APPROVAL:
        if emergency:
            return (
                f"Emergency: {what}",
                f"{safety}Your {appliance} reports an emergency. Approve a visit now; "
                "our operators take over if you cannot.",
            )
        if order.diagnosis.self_fix:
            return (
                f"{what}: try the self-fix guide",
                f"{safety}Your {appliance} reports: {what}. The ticket has a guide you can "
                "try first; approve a visit if it does not help.",
            )
        return (
            f"{what}: approve the repair",
            f"{safety}Your {appliance} reports: {what}. Read the ticket, then approve a visit "
            "in a time window that suits you, or decline it.",
        )
    if kind is K.OPENED:
        return (
            f"{what}: repair on its way",
            f"{safety}Your {appliance} reports: {what}. Your approval policy approved the "
            "repair; we are booking a technician.",
        )
    if kind is K.REMINDER:  # sent as the reminder step set the expiry as the next deadline
        deadline = order.deadline
        answer_by = (
            deadline.due_at
            if deadline is not None and deadline.action is DeadlineAction.EXPIRE
            else None
        )
        expiry = f" It expires {local_time(answer_by, zone)}." if answer_by is not None else ""
        return (f"Reminder: {what}", f"Your repair ticket still waits for your approval.{expiry}")
    if kind is K.DISPATCHED:
        when = local_window(window, zone) if window else "soon"
        return (
            f"Visit booked: {when}",
            f"{_technician(order)} comes to repair your {appliance} ({what}), {when}. "
            "Add it to your calendar with the attached file.",
        )
    if kind is K.EN_ROUTE:
        return ("Technician on the way", f"{_technician(order)} is on the way to your {appliance}.")
    if kind is K.COMPLETED:
        return (
            "Repair completed",
            f"Your {appliance} is repaired. How was the visit? Rate it on the ticket.",
        )
    if kind is K.UNRESOLVED:
        return (
            "Repair not finished",
            f"The visit did not fix your {appliance} ({what}). We will contact you about "
            "the next step.",
        )
    if kind is K.CANCELLED:
        return ("Repair cancelled", f"The repair of your {appliance} ({what}) is cancelled.")
    if kind is K.EXPIRED:
        return (
            f"Ticket expired: {what}",
            f"Nobody approved the repair of your {appliance} in time, so the ticket is closed. "
            "If the fault comes back, the appliance opens a new one.",
        )
    if kind is K.NO_TECHNICIAN:
        return _no_technician_texts(order, what, appliance, recipient)
    # ESCALATED
    if recipient is Recipient.OPERATOR:
        return (
            f"Approval overdue: {what}",
            f"An {order.diagnosis.urgency.value} at home {order.home_id} waits for its "
            "homeowner's approval: call them, then approve or cancel it.",
        )
    return (
        f"Emergency passed to our operators: {what}",
        f"{safety}You have not approved the visit yet, so our operators will call you about it.",
    )


def _no_technician_texts(
    order: RepairOrder, what: str, appliance: str, recipient: Recipient
) -> tuple[str, str]:
    emergency = order.diagnosis.urgency is Urgency.EMERGENCY
    if recipient is Recipient.OPERATOR:
        return (
            f"No technician: {what}",
            f"No technician took the {order.diagnosis.urgency.value} at home {order.home_id} "
            f"(order {order.order_id}): assign one by hand from the triage queue.",
        )
    meanwhile = (
        f" Until then: {order.diagnosis.safety_advice}" if order.diagnosis.safety_advice else ""
    )
    if emergency:
        return (
            f"Emergency: our operators are finding a technician: {what}",
            "No technician nearby could take your emergency straight away, so our operators "
            "have it now: they will call you and send someone as soon as possible."
            f"{meanwhile}",
        )
    return (
        f"Still finding a technician: {what}",
        f"No technician is free to repair your {appliance} at the moment. Our operators will "
        "assign one by hand; you will get the booked time as soon as they do. You need to do "
        f"nothing.{meanwhile}",
    )


def notification(
    order: RepairOrder,
    kind: NotificationKind,
    *,
    web_url: str,
    now: datetime,
    recipient: Recipient = Recipient.HOMEOWNER,
    timezone: str = "UTC",
) -> Notification:
    """The notification of `kind` about `order` as it is now, for `recipient`; times in
    the home's `timezone` (the registry's home copy), named."""
    title, text = _texts(order, kind, recipient, timezone)
    link = ticket_link(web_url, order.order_id)
    window = order.offer.window if order.offer and kind is K.DISPATCHED else None
    return Notification(
        notification_id=f"{order.order_id}:{kind.value}:{recipient.value}:v{order.version}",
        kind=kind,
        order_id=order.order_id,
        home_id=order.home_id,
        recipient=recipient,
        urgency=order.diagnosis.urgency,
        title=title[:120],
        text=text[:1000],
        link=link,
        window=window,
        calendar=visit_calendar(order, window, link=link, now=now) if window else None,
        sent_at=now,
    )


def fits(kind: NotificationKind, order: RepairOrder) -> bool:
    """Whether news of `kind` is still true of the order as it is now (a retry re-sends
    only those: the news of a later change was sent with that change)."""
    if kind is K.NO_TECHNICIAN:
        return order.status is OrderStatus.APPROVED and order.offer is None
    if kind in (K.OPENED, K.AWAITING_APPROVAL, K.REMINDER, K.ESCALATED):
        return order.status is OrderStatus.AWAITING_APPROVAL or (
            kind is K.OPENED and order.status in (OrderStatus.APPROVED, OrderStatus.OFFERED)
        )
    return KIND_OF_STATUS.get(order.status) is kind


# ----------------------------------------------------------------------------- iCalendar


def _ics_text(value: str) -> str:
    """RFC 5545 TEXT: backslash, semicolon, comma and newline escaped."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _ics_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> list[str]:
    """A content line folded at 75 octets, continuations starting with a space."""
    data = line.encode()
    if len(data) <= 75:
        return [line]
    parts: list[str] = []
    limit = 75
    while data:
        cut = min(limit, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:  # not inside a UTF-8 character
            cut -= 1
        parts.append(data[:cut].decode())
        data = data[cut:]
        limit = 74  # a continuation's leading space counts
    return [parts[0], *(f" {p}" for p in parts[1:])]


def visit_calendar(order: RepairOrder, window: TimeWindow, *, link: str, now: datetime) -> str:
    """The booked visit as an iCalendar object (RFC 5545) with one VEVENT: the same UID for
    every booking of the order, its version as SEQUENCE, so a rescheduled visit updates the
    calendar entry instead of adding one."""
    what = order.diagnosis.title or f"fault {order.fault_code}"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Faultline//Repair visits//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{order.order_id}@faultline",
        f"SEQUENCE:{order.version}",
        f"DTSTAMP:{_ics_time(now)}",
        f"DTSTART:{_ics_time(window.start)}",
        f"DTEND:{_ics_time(window.end)}",
        f"SUMMARY:{_ics_text(f'Repair visit: {what}')}",
        "DESCRIPTION:"
        + _ics_text(f"{_technician(order)} repairs your {order.category.value}. Ticket: {link}"),
        f"URL:{link}",
        "STATUS:CONFIRMED",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(f"{folded}\r\n" for line in lines for folded in _fold(line))
