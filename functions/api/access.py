"""Who may call which route, and what they may see: one code path for every request.

A route admits user pool groups; `authorize` verifies the caller's access token and checks
the group. What a caller owns (homes, a technician profile, a manufacturer) is read from
AccountsTable, never from a token claim. A resource the caller may not see is answered
exactly like one that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

import functools
from enum import StrEnum

from functions.api.errors import WrongGroup
from functions.auth.tokens import Principal, TokenVerifier
from functions.dal.accounts import Access, AccountsTable
from functions.dal.registry import RegistryTable
from schemas.orders import RepairOrder


class Group(StrEnum):
    HOMEOWNER = "homeowner"
    TECHNICIAN = "technician"
    MANUFACTURER = "manufacturer"
    OPERATOR = "operator"


EVERYONE = frozenset(Group)
OPERATORS = frozenset({Group.OPERATOR})
HOMEOWNERS = frozenset({Group.HOMEOWNER})
HOMEOWNERS_AND_OPERATORS = frozenset({Group.HOMEOWNER, Group.OPERATOR})


class Caller:
    """A verified caller of an admitted group; what they own is read once, when needed."""

    def __init__(
        self,
        principal: Principal,
        accounts: AccountsTable,
        registry: RegistryTable | None = None,
    ) -> None:
        self.principal = principal
        self._accounts = accounts
        self._registry = registry  # for the homeowners' consent; without it, none is given

    def is_in(self, group: Group) -> bool:
        return self.principal.in_group(group)

    @functools.cached_property
    def access(self) -> Access:
        return self._accounts.access_of(self.principal.user_id)

    @property
    def technician_id(self) -> str | None:
        """The technician profile the caller is, if they are in the technician group."""
        return self.access.technician_id if self.is_in(Group.TECHNICIAN) else None

    def owns_home(self, home_id: str) -> bool:
        """Whether the caller is the home's homeowner."""
        return self.is_in(Group.HOMEOWNER) and home_id in self.access.home_ids

    def may_act_on(self, order: RepairOrder, *, operators: bool = True) -> bool:
        """Whether the caller may act for the order's homeowner: they are it, or (when
        `operators`) an operator, who may act on any order."""
        return self.owns_home(order.home_id) or (operators and self.is_in(Group.OPERATOR))

    def may_read_order(self, order: RepairOrder) -> bool:
        """Operators read all; the home's homeowner, the technician it is offered or
        dispatched to read their own; the appliance's manufacturer reads it only while the
        homeowner consents to share the appliance's repair outcomes with them."""
        if self.may_act_on(order):
            return True
        technician = self.technician_id
        offered_to = order.offer.technician_id if order.offer is not None else None
        if technician is not None and offered_to == technician:
            return True
        maker = self.access.manufacturer if self.is_in(Group.MANUFACTURER) else None
        return maker is not None and order.manufacturer == maker and self._shares_outcomes(order)

    def _shares_outcomes(self, order: RepairOrder) -> bool:
        """Whether the order's appliance, still in the order's home, shares its outcomes
        (Appliance.share_outcomes; one cached registry read, made for manufacturers only)."""
        if self._registry is None:
            return False
        registered = self._registry.get_appliance(order.thing_name)
        return (
            registered is not None
            and registered.appliance.home_id == order.home_id
            and registered.appliance.share_outcomes
        )

    def may_list_home(self, home_id: str, registry: RegistryTable) -> bool:
        """The home's homeowner; operators, for a home that exists (an unknown home is
        answered alike for everyone)."""
        if self.owns_home(home_id):
            return True
        return self.is_in(Group.OPERATOR) and registry.home_exists(home_id)


def authorize(
    authorization_header: str | None,
    admits: frozenset[Group],
    verifier: TokenVerifier,
    accounts: AccountsTable,
    registry: RegistryTable | None = None,
) -> Caller:
    """The caller, if their token verifies and they are in a group the route admits.

    Raises TokenError (401), JwksUnavailable (503) or WrongGroup (403).
    """
    principal = verifier.verify(authorization_header)
    if not principal.groups & admits:
        raise WrongGroup(admits)
    return Caller(principal, accounts, registry)
