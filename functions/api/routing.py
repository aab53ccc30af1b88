"""The chalice app and how its routes are declared: `route(...)` says which groups a route
admits, what it answers and what body it takes; one wrapper authorizes each request
(functions.api.access) before the view runs. Domain errors become HTTP answers here, in one
place. `ROUTES` is what the route index and the OpenAPI document (functions.api.openapi)
are made from.

The views live in modules by who uses them (functions.api.app imports them all), so that
each concern's routes sit together and one file does not hold every view.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from chalice import (
    BadRequestError,
    Chalice,
    ChaliceViewError,
    ConflictError,
    CORSConfig,
    ForbiddenError,
    NotFoundError,
    TooManyRequestsError,
    UnauthorizedError,
)
from pydantic import BaseModel, ValidationError

from functions.api import hygiene
from functions.api.access import Caller, Group, authorize
from functions.api.errors import HomeNotFound, ServiceUnavailableError, WrongGroup
from functions.auth.tokens import JwksUnavailable, TokenError
from functions.common.wiring import dependencies
from functions.domain.errors import (
    InvalidTransition,
    ItemBusy,
    NotEligible,
    OfferExpired,
    OfferNotPending,
    OutOfStock,
    SlotTaken,
    StaleOrder,
    TechnicianFullyBooked,
    WindowNotOffered,
    WindowTaken,
    WriteConflict,
)
from functions.domain.intake import summarize_validation_error
from functions.logic.errors import (
    AlreadyApproved,
    ApplianceNotFound,
    BadCursor,
    NotAssigned,
    NotBooked,
    OrderClosed,
    OrderNotFound,
    RefusedChange,
    TooManyAttempts,
    UnknownCause,
    UnknownHome,
    UnknownTechnician,
)

# No chalice log handler: Powertools' Logger (the same "faultline-api" logger) writes each
# record once, as JSON with the correlation id; chalice's would repeat it in plain text.
app = Chalice(app_name="faultline-api", configure_logs=False)
logger = Logger(service="faultline-api")
tracer = Tracer(service="faultline-api")

#: The web page's origin, the only one whose scripts may read answers. Read from the
#: environment because chalice fixes CORS when the routes are declared (on import);
#: locally the template's default applies.
WEB_ORIGIN = os.environ.get("WEB_ORIGIN", "http://localhost:8000")
app.api.cors = CORSConfig(
    allow_origin=WEB_ORIGIN, allow_headers=["Authorization", "Content-Type"], max_age=600
)
hygiene.install(app, logger)

# Domain errors -> HTTP answers, in one place. A resource the caller may not see answers
# like a missing one: OrderNotFound and NotAssigned give the same 404. An error is answered
# by its own class's entry, else by its nearest base class's (`answer_for`): a new kind of
# WriteConflict is a 409 before anyone writes its entry.
ERROR_ANSWERS: dict[type[Exception], Callable[[Any], ChaliceViewError]] = {
    TokenError: lambda e: UnauthorizedError(str(e)),
    JwksUnavailable: lambda _e: ServiceUnavailableError(
        "signing in cannot be checked right now; retry shortly"
    ),
    WrongGroup: lambda e: ForbiddenError(str(e)),
    OrderNotFound: lambda e: NotFoundError(f"no order {e.order_id}"),
    NotAssigned: lambda e: NotFoundError(f"no order {e.order_id}"),
    HomeNotFound: lambda e: NotFoundError(f"no home {e.home_id}"),
    UnknownCause: lambda e: BadRequestError(str(e)),
    InvalidTransition: lambda e: ConflictError(str(e)),
    StaleOrder: lambda e: ConflictError(f"{e}; read the order again and retry"),
    TechnicianFullyBooked: lambda e: ConflictError(f"{e}; choose another technician"),
    OutOfStock: lambda e: ConflictError(f"{e}; the kit must be chosen again"),
    ItemBusy: lambda e: ConflictError(f"{e}; retry"),
    # The homeowner's side (functions.api.homes): a wrong serial is an unknown appliance.
    UnknownHome: lambda e: NotFoundError(f"no home {e.home_id}"),
    ApplianceNotFound: lambda e: NotFoundError(f"no appliance {e.thing_name}"),
    TooManyAttempts: lambda e: TooManyRequestsError(str(e)),
    BadCursor: lambda e: BadRequestError(str(e)),
    RefusedChange: lambda e: ConflictError(str(e)),
    WindowNotOffered: lambda e: BadRequestError(f"{e}; choose one of the ticket's windows"),
    WindowTaken: lambda e: ConflictError(f"{e}; read the ticket again and choose another"),
    SlotTaken: lambda e: ConflictError(f"{e}; read the ticket again and choose another window"),
    OrderClosed: lambda e: ConflictError(str(e)),
    AlreadyApproved: lambda e: ConflictError(str(e)),
    NotBooked: lambda e: ConflictError(str(e)),
    # Offers (functions.api.offers): answered too late, twice, or to an ineligible choice.
    OfferExpired: lambda e: ConflictError(str(e)),
    OfferNotPending: lambda e: ConflictError(str(e)),
    NotEligible: lambda e: ConflictError(str(e)),
    UnknownTechnician: lambda e: BadRequestError(f"{e}; name a technician who has a profile"),
    # The base class: a condition of the write no longer held.
    WriteConflict: lambda e: ConflictError(f"{e}; read again and retry"),
}


def answer_for(error: Exception) -> ChaliceViewError | None:
    """The HTTP answer to `error`: the entry of the first class in its MRO that has one
    (its own, else its nearest base's); None for an error no entry answers (a 500)."""
    for kind in type(error).__mro__:
        answer = ERROR_ANSWERS.get(kind)
        if answer is not None:
            return answer(error)
    return None


@contextmanager
def domain_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        answer = answer_for(error)
        if answer is None:
            raise
        raise answer from error


#: A check that the resource a path names is the caller's, given the caller and the path's
#: parameters; it raises the resource's not-found error (404) for anyone else.
OwnerCheck = Callable[..., object]


@dataclass(frozen=True)
class Route:
    """A declared route: who it admits, what it takes and answers (for the OpenAPI file)."""

    method: str
    path: str
    admits: frozenset[Group]
    summary: str
    answer: type[BaseModel]
    body: type[BaseModel] | None = None
    query: dict[str, str] = field(default_factory=dict)  # name -> description
    errors: tuple[int, ...] = ()  # answers beyond 401, 403, 413 and 503
    owner: OwnerCheck | None = None
    owner_in_use_case: bool = False


ROUTES: list[Route] = []


def route(
    path: str,
    *,
    admits: frozenset[Group],
    answer: type[BaseModel],
    summary: str,
    method: str = "GET",
    body: type[BaseModel] | None = None,
    query: dict[str, str] | None = None,
    errors: tuple[int, ...] = (),
    owner: OwnerCheck | None = None,
    owner_in_use_case: bool = False,
) -> Callable[[Callable[..., BaseModel]], Callable[..., dict[str, Any]]]:
    """Declare a route. Its view gets the authorized `Caller` first, then the request's body
    parsed as `body` (when the route takes one; a body that does not parse is a 400 naming
    what is wrong), then the path's parameters, and returns a model (dumped as the answer).
    The view is traced (a subsegment named after it).

    `owner` checks that the path's resource is the caller's before the body is read, so a
    body never tells a stranger anything: someone else's resource answers like a missing
    one, whatever the body. With `owner_in_use_case`, the view's use case makes that check
    itself, on its one read of the resource; the route then makes it only before answering
    a bad body, so a good one costs no second read.
    """
    declared = Route(
        method,
        path,
        admits,
        summary,
        answer,
        body,
        dict(query or {}),
        errors,
        owner,
        owner_in_use_case,
    )
    ROUTES.append(declared)

    def register(view: Callable[..., BaseModel]) -> Callable[..., dict[str, Any]]:
        traced = tracer.capture_method(view)

        @functools.wraps(view)
        def authorized(**path_params: str) -> dict[str, Any]:
            request = app.current_request
            header = request.headers.get("authorization") if request else None
            deps = dependencies()
            with domain_errors():
                caller = authorize(
                    header, admits, deps.token_verifier, deps.accounts, deps.registry
                )
                if owner is not None and not owner_in_use_case:
                    owner(caller, **path_params)
                if body is None:
                    return dump(traced(caller, **path_params))
                try:
                    parsed = _parsed_body(body)
                except BadRequestError:
                    if owner is not None and owner_in_use_case:  # the use case is not reached
                        owner(caller, **path_params)
                    raise
                return dump(traced(caller, parsed, **path_params))

        app.route(path, methods=[method])(authorized)
        return authorized

    return register


@dataclass(frozen=True)
class PublicPage:
    """A document served to anyone, with no token (the web page): code, never data. Its
    script then calls the token-guarded routes."""

    path: str
    summary: str


PUBLIC_PAGES: list[PublicPage] = []


def public_page(path: str, *, summary: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Declare a GET route that authorizes nobody because it serves nobody's data."""
    PUBLIC_PAGES.append(PublicPage(path, summary))

    def register(view: Callable[[], Any]) -> Callable[[], Any]:
        app.route(path, methods=["GET"])(view)
        return view

    return register


def query_param(name: str) -> str | None:
    request = app.current_request
    params = request.query_params if request else None
    return params.get(name) if params else None


# DynamoDB holds numbers of up to 38 significant digits: an integer longer than that is
# outside what any of the models can store.
_MAX_INT_DIGITS = 38


def _constant(name: str) -> object:
    raise BadRequestError(
        f"the body is not standard JSON: {name} is not a number JSON allows; send a finite number"
    )


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadRequestError(f"the number {text} is too large: numbers must be finite")
    return value


def _held_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise BadRequestError(
            f"the number {text[:20]}... is too large: at most {_MAX_INT_DIGITS} digits"
        )
    return int(text)


def check_numbers(raw: bytes | str) -> None:
    """400 for a body number the model cannot hold: the non-standard constants `NaN`,
    `Infinity`, `-Infinity` (Python's json accepts them), a float that overflows to
    infinity (`1e400`) or an integer longer than DynamoDB's 38 digits, at any depth.
    A body that is not JSON at all is left to the model's own message."""
    try:
        json.loads(
            raw,
            parse_constant=_constant,
            parse_float=_finite_float,
            parse_int=_held_int,
        )
    except RecursionError:
        raise BadRequestError("the body is nested too deeply") from None
    except ValueError:  # not JSON (or not UTF-8): the model's validation names it
        return


def _parsed_body(model: type[BaseModel]) -> BaseModel:
    """The request's JSON body as `model`; a 400 naming what is wrong otherwise."""
    request = app.current_request
    raw = request.raw_body if request else b""
    check_numbers(raw)
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise BadRequestError(summarize_validation_error(error)) from None


def day_param() -> date:
    day_text = query_param("day") or datetime.now(UTC).date().isoformat()
    try:
        return date.fromisoformat(day_text)
    except ValueError:
        raise BadRequestError(f"day must be YYYY-MM-DD, got {day_text!r}") from None


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


__all__ = ["Caller", "app", "logger", "route", "tracer"]
