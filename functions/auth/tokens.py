"""Verifying the API's bearer tokens: one code path on Lambda, in the local stack and in tests.

Only Cognito ACCESS tokens of our app client are accepted: they carry the user's groups and
``client_id`` (Cognito access tokens have no ``aud``), and an ID token is meant for the
client, not for calling an API. RS256 only, against the user pool's JWKS, fetched once per
container and again (at most once a minute) when a token names a key id it does not know,
so a key rotation is picked up without letting garbage tokens hammer the JWKS endpoint.

PyJWT (with ``cryptography``) is imported on the first verification, not with this module:
every function's composition root imports this module, and the ingest function, which never
verifies a token, should not pay ~100 ms of cold start for it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

ACCEPTED_ALGORITHM = "RS256"
#: Clock skew tolerated on exp / nbf / iat, in seconds.
LEEWAY_SECONDS = 30.0
#: The least time between two JWKS fetches caused by unknown key ids, in seconds.
MIN_REFETCH_SECONDS = 60.0
JWKS_TIMEOUT_SECONDS = 3.0


class TokenProblem(StrEnum):
    """Why a token was refused: lets callers and tests tell refusals apart without
    reading messages."""

    MISSING = "missing"
    NOT_BEARER = "not_bearer"
    EMPTY_BEARER = "empty_bearer"
    MALFORMED = "malformed"
    ALG_NONE = "alg_none"
    WRONG_ALGORITHM = "wrong_algorithm"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    MISSING_CLAIM = "missing_claim"
    WRONG_ISSUER = "wrong_issuer"
    NOT_ACCESS_TOKEN = "not_access_token"
    WRONG_CLIENT = "wrong_client"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"


class TokenError(Exception):
    """The caller's token does not prove who they are (the API answers 401 with the message)."""

    def __init__(self, problem: TokenProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


class JwksUnavailable(Exception):
    """The user pool's keys could not be fetched: our outage, not the caller's fault."""


@dataclass(frozen=True)
class Principal:
    """The verified caller: the user pool's subject, username and groups."""

    user_id: str  # the token's `sub`: stable, never reused (usernames can be)
    username: str
    groups: frozenset[str]

    def in_group(self, name: str) -> bool:
        return name in self.groups


JwksFetcher = Callable[[str], Mapping[str, Any]]


def fetch_jwks_over_http(url: str) -> Mapping[str, Any]:
    """GET the JSON Web Key Set at `url`."""
    # Imported here, as PyJWT is: the ingest function shares the composition root but never
    # verifies a token, so its cold start should not pay for an HTTP client it never uses.
    import urllib.request

    with urllib.request.urlopen(url, timeout=JWKS_TIMEOUT_SECONDS) as response:
        document = json.load(response)
    if not isinstance(document, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return document


class TokenVerifier:
    """Turns an ``Authorization`` header into a `Principal`, or raises `TokenError`."""

    def __init__(
        self,
        issuer: str,
        jwks_url: str,
        client_id: str,
        *,
        clock: Callable[[], float] = time.time,
        fetch_jwks: JwksFetcher = fetch_jwks_over_http,
        leeway: float = LEEWAY_SECONDS,
        min_refetch_interval: float = MIN_REFETCH_SECONDS,
    ) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.client_id = client_id
        self._clock = clock
        self._fetch_jwks = fetch_jwks
        self._leeway = leeway
        self._min_refetch_interval = min_refetch_interval
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._last_fetch_failed = False
        self._lock = threading.Lock()

    def verify(self, authorization_header: str | None) -> Principal:
        import jwt  # see the module docstring

        token = _bearer_token(authorization_header)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise TokenError(TokenProblem.MALFORMED, "the Bearer token is not a JWT") from None
        key = self._signing_key(header)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ACCEPTED_ALGORITHM],
                # Only the signature here: the claims are checked below, against our clock
                # and with a message for each.
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_sub": False,
                    "verify_jti": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise TokenError(
                TokenProblem.BAD_SIGNATURE, "the token's signature does not verify"
            ) from None
        except jwt.InvalidTokenError:
            raise TokenError(TokenProblem.MALFORMED, "the Bearer token is not a JWT") from None
        return self._principal(claims)

    # ------------------------------------------------------------------ keys

    def _signing_key(self, header: Mapping[str, Any]) -> Any:
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm.lower() == "none":
            raise TokenError(TokenProblem.ALG_NONE, "unsigned tokens (alg none) are not accepted")
        if algorithm != ACCEPTED_ALGORITHM:
            raise TokenError(
                TokenProblem.WRONG_ALGORITHM,
                f"tokens signed with {algorithm} are not accepted; {ACCEPTED_ALGORITHM} only",
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenError(TokenProblem.UNKNOWN_KEY, "the token names no signing key (kid)")
        with self._lock:
            key = self._keys.get(kid)
            if key is None:
                if self._may_fetch():
                    self._refresh_keys()
                elif self._last_fetch_failed:
                    raise JwksUnavailable(
                        f"the user pool's keys at {self.jwks_url} are unavailable"
                    )
                key = self._keys.get(kid)
        if key is None:
            raise TokenError(
                TokenProblem.UNKNOWN_KEY,
                f"the token's signing key {kid!r} is not one of the user pool's keys",
            )
        return key

    def _may_fetch(self) -> bool:
        return (
            self._fetched_at is None
            or self._clock() - self._fetched_at >= self._min_refetch_interval
        )

    def _refresh_keys(self) -> None:
        self._fetched_at = self._clock()
        try:
            document = self._fetch_jwks(self.jwks_url)
        except Exception as error:  # any failure to fetch is the same outage to the caller
            self._last_fetch_failed = True
            raise JwksUnavailable(f"fetching {self.jwks_url} failed: {error}") from error
        self._last_fetch_failed = False
        self._keys = _rsa_signing_keys(document)

    # ------------------------------------------------------------------ claims

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        issuer = claims.get("iss")
        if issuer != self.issuer:
            raise TokenError(
                TokenProblem.WRONG_ISSUER,
                f"the token was issued by {issuer!r}, not by this user pool",
            )
        token_use = claims.get("token_use")
        if token_use != "access":
            what = "an ID token" if token_use == "id" else f"a token of use {token_use!r}"
            raise TokenError(
                TokenProblem.NOT_ACCESS_TOKEN,
                f"{what} was sent; the API accepts access tokens only",
            )
        if claims.get("client_id") != self.client_id:
            raise TokenError(
                TokenProblem.WRONG_CLIENT, "the token was issued to another app client"
            )
        self._check_times(claims)
        user_id = _text_claim(claims, "sub")
        username = _text_claim(claims, "username")
        groups = claims.get("cognito:groups", [])
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise TokenError(TokenProblem.MALFORMED, "the token's cognito:groups is not a list")
        return Principal(user_id=user_id, username=username, groups=frozenset(groups))

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = self._clock()
        expires = _time_claim(claims, "exp", required=True)
        issued = _time_claim(claims, "iat", required=True)
        not_before = _time_claim(claims, "nbf", required=False)
        if expires is not None and now > expires + self._leeway:
            raise TokenError(TokenProblem.EXPIRED, f"the token expired at {_iso(expires)}")
        if not_before is not None and now + self._leeway < not_before:
            raise TokenError(
                TokenProblem.NOT_YET_VALID, f"the token is not valid before {_iso(not_before)}"
            )
        if issued is not None and now + self._leeway < issued:
            raise TokenError(
                TokenProblem.NOT_YET_VALID, f"the token was issued in the future, {_iso(issued)}"
            )


def _bearer_token(authorization_header: str | None) -> str:
    if authorization_header is None or not authorization_header.strip():
        raise TokenError(
            TokenProblem.MISSING,
            "no Authorization header: send 'Authorization: Bearer <access token>'",
        )
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise TokenError(TokenProblem.NOT_BEARER, "the Authorization header is not a Bearer token")
    token = token.strip()
    if not token:
        raise TokenError(TokenProblem.EMPTY_BEARER, "the Bearer token is empty")
    return token


def _rsa_signing_keys(document: Mapping[str, Any]) -> dict[str, Any]:
    """kid -> public key, for the set's RSA signing keys (others are of no use for RS256)."""
    import jwt

    keys = document.get("keys")
    if not isinstance(keys, list):
        raise JwksUnavailable("the user pool's JWKS has no key list")
    found: dict[str, Any] = {}
    for entry in keys:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
            continue
        if entry.get("alg", ACCEPTED_ALGORITHM) != ACCEPTED_ALGORITHM:
            continue
        try:
            found[entry["kid"]] = jwt.PyJWK(entry, algorithm=ACCEPTED_ALGORITHM).key
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError):
            continue  # a malformed key cannot have signed anything we accept
    return found


def _text_claim(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise TokenError(TokenProblem.MISSING_CLAIM, f"the token has no {name!r} claim")
    return value


def _time_claim(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenError(TokenProblem.MISSING_CLAIM, f"the token has no numeric {name!r} claim")
    return float(value)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")
