"""AccountsTable against the emulator: who owns what, read in one Query."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from functions.common.wiring import dependencies
from functions.dal.accounts import Access, AccountsTable
from functions.domain.errors import AccountAlreadyLinked


@pytest.fixture
def accounts(aws_stack) -> AccountsTable:
    return dependencies().accounts


def a_user() -> str:
    # One table for the whole test package: each test has users of its own.
    return str(uuid.uuid4())


class CountingClient:
    """The DynamoDB client, counting the requests made through it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self._client, name)


def test_a_user_with_no_grants_owns_nothing(accounts: AccountsTable) -> None:
    assert accounts.access_of(a_user()) == Access(frozenset(), None, None)


def test_what_a_user_owns_is_read_in_one_query(accounts: AccountsTable) -> None:
    user = a_user()
    accounts.grant_home(user, "home-1")
    accounts.grant_home(user, "home-2")
    accounts.grant_technician(user, "tech-7")
    accounts.grant_manufacturer(user, "Bosch")
    counting = CountingClient(dependencies().clients.dynamodb)
    table = AccountsTable(counting, dependencies().settings.accounts_table)  # type: ignore[arg-type]
    access = table.access_of(user)
    assert access == Access(frozenset({"home-1", "home-2"}), "tech-7", "Bosch")
    assert counting.calls == ["query"]


def test_grants_are_per_user(accounts: AccountsTable) -> None:
    owner, neighbour = a_user(), a_user()
    accounts.grant_home(owner, "home-a")
    accounts.grant_home(neighbour, "home-b")
    assert accounts.access_of(owner).home_ids == {"home-a"}
    assert accounts.access_of(neighbour).home_ids == {"home-b"}


def test_granting_twice_is_the_same_grant(accounts: AccountsTable) -> None:
    user = a_user()
    for _ in range(2):
        accounts.grant_home(user, "home-1")
        accounts.grant_technician(user, "tech-1")
        accounts.grant_manufacturer(user, "LG")
    assert accounts.access_of(user) == Access(frozenset({"home-1"}), "tech-1", "LG")


def test_a_user_is_one_technician(accounts: AccountsTable) -> None:
    user = a_user()
    accounts.grant_technician(user, "tech-1")
    with pytest.raises(AccountAlreadyLinked) as linked:
        accounts.grant_technician(user, "tech-2")
    assert (linked.value.user_id, linked.value.what, linked.value.existing) == (
        user,
        "technician",
        "tech-1",
    )
    assert accounts.access_of(user).technician_id == "tech-1"


def test_a_user_speaks_for_one_manufacturer(accounts: AccountsTable) -> None:
    user = a_user()
    accounts.grant_manufacturer(user, "Bosch")
    with pytest.raises(AccountAlreadyLinked, match="manufacturer Bosch"):
        accounts.grant_manufacturer(user, "Vaillant")
    assert accounts.access_of(user).manufacturer == "Bosch"
