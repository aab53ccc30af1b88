"""The API layer's own errors, in one place: a caller in none of the groups a route admits,
a home that is not the caller's, and the 503 answer chalice has no class for. The errors of
the layers below are mapped to answers in functions.api.routing.ERROR_ANSWERS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import ChaliceViewError

if TYPE_CHECKING:
    from functions.api.access import Group


class WrongGroup(Exception):
    """The caller is signed in, but in none of the groups the route admits (403)."""

    def __init__(self, admits: frozenset[Group]) -> None:
        super().__init__(f"this route is for: {', '.join(sorted(admits))}")
        self.admits = admits


class HomeNotFound(Exception):
    """No such home, or not the caller's: the same answer (404)."""

    def __init__(self, home_id: str) -> None:
        super().__init__(f"no home {home_id}")
        self.home_id = home_id


class ServiceUnavailableError(ChaliceViewError):
    """Our outage, not the caller's fault (503): chalice has no class for it."""

    STATUS_CODE = 503
