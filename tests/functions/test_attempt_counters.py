"""Rate-limit counters in AccountsTable: a window opens at a user's first attempt, holds
`limit` attempts, and concurrent attempts never count past it."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context

import pytest

from functions.common.wiring import dependencies
from functions.dal.accounts import AccountsTable

WINDOW = 900
T0 = 2_000_000_000


@pytest.fixture
def accounts(aws_stack) -> AccountsTable:
    return dependencies().accounts


def test_a_window_holds_the_limit_then_refuses_until_it_closes(accounts):
    user = str(uuid.uuid4())

    def take(now: int) -> int | None:
        return accounts.take_attempt(user, "pairing", limit=3, window_seconds=WINDOW, now=now)

    # Given three attempts in the window opened by the first
    assert [take(T0), take(T0 + 10), take(T0 + 20)] == [None, None, None]
    # Then the fourth is refused, told when the window closes, however late in it
    assert take(T0 + 30) == T0 + WINDOW
    assert take(T0 + WINDOW - 1) == T0 + WINDOW
    # And once it closed, a new window opens at the next attempt
    assert take(T0 + WINDOW) is None
    assert [take(T0 + WINDOW + 1), take(T0 + WINDOW + 2)] == [None, None]
    assert take(T0 + WINDOW + 3) == T0 + 2 * WINDOW


def test_an_attempt_given_back_is_not_counted(accounts):
    user = str(uuid.uuid4())

    def take() -> int | None:
        return accounts.take_attempt(user, "pairing", limit=2, window_seconds=WINDOW, now=T0)

    assert take() is None and take() is None
    accounts.give_back_attempt(user, "pairing")
    assert take() is None
    assert take() == T0 + WINDOW
    # Giving back more than was taken never goes below nothing
    for _ in range(4):
        accounts.give_back_attempt(user, "pairing")
    assert [take(), take(), take()] == [None, None, T0 + WINDOW]


def test_concurrent_attempts_never_count_past_the_limit(accounts):
    user = str(uuid.uuid4())

    def take(_: int) -> int | None:
        return accounts.take_attempt(user, "pairing", limit=5, window_seconds=WINDOW, now=T0)

    # When twenty guesses arrive at once, as the window opens
    context = copy_context()
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda n: context.copy().run(take, n), range(20)))
    # Then five were counted, and fifteen refused
    assert answers.count(None) == 5
    assert answers.count(T0 + WINDOW) == 15
