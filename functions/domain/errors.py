"""The domain's errors, in one place: why a write lost to a concurrent one (each condition
a write depends on has its own `WriteConflict` type), a change the order's state machine
does not allow, an event that cannot open an order, a catalog that does not validate.

Plain Python, so the use cases and the API tell these apart (and map them to answers)
without knowing how the data-access layer detected them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from functions.domain.catalog.format import CatalogIssue
    from schemas.orders import OrderStatus, RejectionReason


class WriteConflict(Exception):
    """A condition this write depended on no longer held; the data changed meanwhile."""


class StaleOrder(WriteConflict):
    """Someone else changed the order first (its version moved on, or it closed)."""

    def __init__(self, order_id: str, why: str = "changed meanwhile") -> None:
        super().__init__(f"order {order_id} {why}")
        self.order_id = order_id


class DuplicateEvent(WriteConflict):
    """The event was applied before. `settled` says whether its follow-up work finished;
    `request_id` names the invocation that applied it (Lambda's retries of an asynchronous
    invocation keep its request id)."""

    def __init__(self, order_id: str, settled: bool, request_id: str = "") -> None:
        super().__init__(f"event already applied to {order_id}")
        self.order_id = order_id
        self.settled = settled
        self.request_id = request_id


class OpenOrderExists(WriteConflict):
    """The appliance already has an open order for this fault code."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"open order {order_id} exists for this appliance and code")
        self.order_id = order_id


class TechnicianFullyBooked(WriteConflict):
    """The technician reached their maximum of active orders before this booking."""

    def __init__(self, technician_id: str) -> None:
        super().__init__(f"technician {technician_id} is fully booked")
        self.technician_id = technician_id


class OutOfStock(WriteConflict):
    """Fewer units of a part than the kit needs are left where it was to come from."""

    def __init__(self, part_number: str, location: str, wanted: int, available: int) -> None:
        super().__init__(
            f"part {part_number}: {wanted} wanted from {location}, {available} available"
        )
        self.part_number = part_number
        self.location = location
        self.wanted = wanted
        self.available = available


class ItemBusy(WriteConflict):
    """A concurrent transaction held an item this write needed; trying again may succeed."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is being changed by a concurrent write")
        self.what = what


class AccountAlreadyLinked(WriteConflict):
    """A user already stands for another technician profile or manufacturer: one user is
    one technician, or speaks for one manufacturer."""

    def __init__(self, user_id: str, what: str, existing: str) -> None:
        super().__init__(f"user {user_id} is already linked to {what} {existing}")
        self.user_id = user_id
        self.what = what
        self.existing = existing


class TechnicianGone(WriteConflict):
    """The technician's profile no longer exists (nothing to count a rating on)."""

    def __init__(self, technician_id: str) -> None:
        super().__init__(f"technician {technician_id} has no profile any more")
        self.technician_id = technician_id


class ApplianceTaken(WriteConflict):
    """The appliance is paired to a home already (or has no registry entry at all)."""

    def __init__(self, thing_name: str) -> None:
        super().__init__(f"appliance {thing_name} cannot be paired")
        self.thing_name = thing_name


class ApplianceNotInHome(WriteConflict):
    """The appliance is not (or no longer) paired to that home."""

    def __init__(self, thing_name: str, home_id: str) -> None:
        super().__init__(f"appliance {thing_name} is not paired to home {home_id}")
        self.thing_name = thing_name
        self.home_id = home_id


class SlotTaken(WriteConflict):
    """Another booking holds part of this window of the technician's time."""

    def __init__(self, technician_id: str, block: str) -> None:
        super().__init__(f"technician {technician_id} is booked at {block}")
        self.technician_id = technician_id
        self.block = block


class WindowTaken(Exception):
    """No eligible technician is free at the chosen window any more (taken meanwhile)."""

    def __init__(self, order_id: str, window: str) -> None:
        super().__init__(f"order {order_id}: the window {window} was taken meanwhile")
        self.order_id = order_id
        self.window = window


class WindowNotOffered(Exception):
    """The chosen window is not one the technicians' schedules offer (past, off the slot
    grid, the wrong length, or outside everyone's working hours)."""

    def __init__(self, order_id: str, window: str, why: str = "is not among those offered") -> None:
        super().__init__(f"order {order_id}: the window {window} {why}")
        self.order_id = order_id
        self.window = window


class OfferNotPending(Exception):
    """The order's offer is not waiting for an answer (accepted already, declined, passed
    on, or no offer at all): nothing to accept or decline (409)."""

    def __init__(self, order_id: str, why: str) -> None:
        super().__init__(f"order {order_id}: {why}")
        self.order_id = order_id


class OfferExpired(Exception):
    """The offer's acceptance deadline passed: it goes to the next candidate (409)."""

    def __init__(self, order_id: str, deadline: str) -> None:
        super().__init__(
            f"order {order_id}: the offer expired at {deadline} and goes to the next technician"
        )
        self.order_id = order_id


class NotEligible(Exception):
    """An operator assigned a technician who cannot take the job, without `force` (409)."""

    def __init__(self, technician_id: str, why: str) -> None:
        super().__init__(
            f"technician {technician_id} is not eligible: {why}; send force: true to assign "
            "them anyway"
        )
        self.technician_id = technician_id


class InvalidTransition(Exception):
    """The order's current state does not allow the requested change."""

    def __init__(self, order_id: str, current: OrderStatus, requested: OrderStatus) -> None:
        super().__init__(f"order {order_id}: {current.value} -> {requested.value} is not allowed")
        self.order_id = order_id
        self.current = current
        self.requested = requested


class RejectedInput(Exception):
    """The event cannot open an order; the reason is recorded for operators."""

    def __init__(self, reason: RejectionReason, detail: str, event_id: str | None = None) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = storable(detail)
        self.event_id = None if event_id is None else storable(event_id)


def storable(text: str) -> str:
    """`text` with lone surrogates (a JSON escape like \\ud800 decodes to one) written out as
    escapes: DynamoDB takes UTF-8 only, and the rejection must be recorded whatever it holds."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class CatalogError(Exception):
    """A catalog file did not validate; nothing was loaded."""

    def __init__(self, issues: list[CatalogIssue]) -> None:
        self.issues = issues
        shown = "; ".join(str(i) for i in issues[:5])
        more = f" (+{len(issues) - 5} more)" if len(issues) > 5 else ""
        super().__init__(f"{len(issues)} catalog issue(s): {shown}{more}")


class InstanceError(ValueError):
    """The file is not a VRPTW instance this reader understands; the message says why."""


class PlanningInputError(ValueError):
    """The visits or technicians given to the planner contradict themselves."""
