"""The homeowner's own side: their orders, homes, approval policy, appliances (pairing with
proof of possession, consent). What they do on an order (approve, self-fix, rate...) is
functions.logic.tickets.OrderActions.

Plain orchestration: who may act on which home is decided by the API before these run; the
tables' modules do the writes, each one operation.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from functions.dal.accounts import AccountsTable
from functions.dal.keys import newest_first
from functions.dal.orders import OrdersTable
from functions.dal.registry import UNPAIRED, RegistryTable
from functions.domain.errors import ApplianceNotInHome, ApplianceTaken
from functions.logic.errors import (
    ApplianceNotFound,
    BadCursor,
    RefusedChange,
    TooManyAttempts,
    UnknownHome,
)
from schemas.homes import ApplianceSummary, MyHome, MyHomes, MyOrders, OrderSummary
from schemas.orders import OrderStatus, RepairOrder
from schemas.registry import Appliance, ApprovalPolicy

#: Failed pairings a user may make per window before they must wait (guessing serials).
PAIRING_ATTEMPTS = 5
PAIRING_WINDOW = timedelta(minutes=15)
DEFAULT_PAGE = 20
MAX_PAGE = 100
_MAX_CURSOR_CHARS = 200


def encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The sort key a cursor stands for. It only positions a listing inside the caller's
    own homes, so a forged one shows nothing it should not; a malformed one is refused."""
    if len(cursor) > _MAX_CURSOR_CHARS:
        raise BadCursor("cursor is not one this API handed out")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor("cursor is not one this API handed out") from None
    if "#" not in text or not text.isprintable():
        raise BadCursor("cursor is not one this API handed out")
    return text


def summary_of(appliance: Appliance) -> ApplianceSummary:
    return ApplianceSummary(
        thing_name=appliance.thing_name,
        manufacturer=appliance.manufacturer,
        model=appliance.model,
        category=appliance.category,
        share_outcomes=appliance.share_outcomes,
    )


def _normalized_serial(serial: str) -> bytes:
    """As printed, read by a person: case and surrounding spaces do not matter."""
    return serial.strip().upper().encode()


@dataclass
class Homes:
    orders: OrdersTable
    registry: RegistryTable
    accounts: AccountsTable
    clock: Callable[[], datetime]

    # ------------------------------------------------------------------ listings

    def my_orders(
        self,
        home_ids: Iterable[str],
        *,
        status: OrderStatus | None = None,
        limit: int = DEFAULT_PAGE,
        cursor: str | None = None,
    ) -> MyOrders:
        """The homes' orders, newest first, one page. Raises BadCursor."""
        before = decode_cursor(cursor) if cursor else None
        pages = [
            [(sk, (sk, order)) for sk, order in page]
            for page in (
                self.orders.page_by_home(home_id, limit + 1, before=before, status=status)
                for home_id in sorted(home_ids)
            )
        ]
        merged = newest_first(pages, limit + 1)
        shown = merged[:limit]
        more = len(merged) > limit
        return MyOrders(
            orders=[OrderSummary.of(order) for _sk, order in shown],
            next_cursor=encode_cursor(shown[-1][0]) if more and shown else None,
        )

    def my_homes(self, home_ids: Iterable[str]) -> MyHomes:
        homes = []
        for home_id in sorted(home_ids):
            found = self.registry.home_with_appliances(home_id)
            if found is None:
                continue  # granted, but not registered (yet): nothing to show
            home, appliances = found
            homes.append(
                MyHome(
                    home_id=home.home_id,
                    timezone=home.timezone,
                    policy=home.policy,
                    appliances=[summary_of(a) for a in appliances],
                )
            )
        return MyHomes(homes=homes)

    # ------------------------------------------------------------------ policy

    def policy(self, home_id: str) -> ApprovalPolicy:
        home = self.registry.get_home(home_id)
        if home is None:
            raise UnknownHome(home_id)
        return home.policy

    def set_policy(self, home_id: str, policy: ApprovalPolicy) -> ApprovalPolicy:
        """The home's new policy; orders opened from now on are decided by it."""
        home = self.registry.put_policy(home_id, ApprovalPolicy.model_validate(policy.model_dump()))
        if home is None:
            raise UnknownHome(home_id)
        return home.policy

    # ------------------------------------------------------------------ appliances

    def pair(self, user_id: str, home_id: str, thing_name: str, serial: str) -> ApplianceSummary:
        """Pair the appliance to the home, if `serial` is the one printed on it.

        An unknown thing, a wrong serial and an appliance paired to another home raise the
        same ApplianceNotFound. Every attempt takes one of the user's PAIRING_ATTEMPTS per
        PAIRING_WINDOW (which opens at their first attempt) before the serial is compared,
        so parallel guesses are counted too; a successful one gives it back. Raises
        TooManyAttempts once they are used up, until the window closes.
        """
        now = self.clock().timestamp()
        refused_until = self.accounts.take_attempt(
            user_id,
            "pairing",
            limit=PAIRING_ATTEMPTS,
            window_seconds=int(PAIRING_WINDOW.total_seconds()),
            now=int(now),
        )
        if refused_until is not None:
            raise TooManyAttempts(timedelta(seconds=refused_until - now))
        home = self.registry.get_home(home_id)
        if home is None:
            self.accounts.give_back_attempt(user_id, "pairing")
            raise UnknownHome(home_id)
        appliance = self.registry.appliance(thing_name)
        printed = appliance.serial if appliance is not None else "-" * len(serial)
        proven = hmac.compare_digest(_normalized_serial(printed), _normalized_serial(serial))
        if appliance is None or not proven:
            raise ApplianceNotFound(thing_name)
        if appliance.home_id == home_id:  # paired here already: the same answer again
            self.accounts.give_back_attempt(user_id, "pairing")
            return summary_of(appliance)
        if appliance.home_id != UNPAIRED:
            raise ApplianceNotFound(thing_name)  # a neighbour's: no hint that it exists
        try:
            paired = self.registry.pair(thing_name, home)
        except ApplianceTaken:
            raise ApplianceNotFound(thing_name) from None
        self.accounts.give_back_attempt(user_id, "pairing")
        return summary_of(paired)

    def unpair(self, home_id: str, thing_name: str) -> None:
        """Take the appliance out of the home. Refused (RefusedChange) while it has open
        orders there: they would stay the old home's, and its faults would fold into them."""
        appliance = self.registry.appliance(thing_name)
        if appliance is None or appliance.home_id != home_id:
            raise ApplianceNotFound(thing_name)
        still_open = [
            o.order_id
            for o in self._home_orders(home_id)
            if o.thing_name == thing_name and o.is_open
        ]
        if still_open:
            raise RefusedChange(
                f"appliance {thing_name} has open orders ({', '.join(still_open)}); "
                "cancel them or let them finish before unpairing it"
            )
        try:
            self.registry.unpair(thing_name, home_id)
        except ApplianceNotInHome:
            raise ApplianceNotFound(thing_name) from None

    def _home_orders(self, home_id: str) -> list[RepairOrder]:
        found: list[RepairOrder] = []
        before: str | None = None
        while True:
            page = self.orders.page_by_home(home_id, MAX_PAGE, before=before)
            found += [order for _sk, order in page]
            if len(page) < MAX_PAGE:
                return found
            before = page[-1][0]

    def consent(self, home_id: str, thing_name: str, share_outcomes: bool) -> ApplianceSummary:
        try:
            return summary_of(self.registry.set_consent(thing_name, home_id, share_outcomes))
        except ApplianceNotInHome:
            raise ApplianceNotFound(thing_name) from None
