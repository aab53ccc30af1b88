"""TokenVerifier without an emulator: tokens signed with a key made here, its JWKS served
through the injected fetcher."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest

from functions.auth.tokens import (
    JwksUnavailable,
    Principal,
    TokenError,
    TokenProblem,
    TokenVerifier,
    fetch_jwks_over_http,
)
from tests.tokens import BadToken, SigningKey, TokenMinter, bad_tokens

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool"
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"
CLIENT_ID = "test-app-client"
KEY = SigningKey.generate()
MINTER = TokenMinter(KEY, ISSUER, CLIENT_ID)


class Jwks:
    """An injected fetcher: serves whatever key set the test gives it, counting fetches."""

    def __init__(self, *keys: SigningKey) -> None:
        self.document: dict[str, Any] = {"keys": [k for key in keys for k in key.jwks()["keys"]]}
        self.fetches: list[str] = []
        self.failure: Exception | None = None

    def __call__(self, url: str) -> Mapping[str, Any]:
        self.fetches.append(url)
        if self.failure is not None:
            raise self.failure
        return self.document


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def verifier(jwks: Jwks | None = None, clock: Clock | None = None) -> TokenVerifier:
    return TokenVerifier(
        ISSUER,
        JWKS_URL,
        CLIENT_ID,
        clock=clock or time.time,
        fetch_jwks=jwks or Jwks(KEY),
    )


def test_a_valid_access_token_gives_the_principal() -> None:
    claims = MINTER.claims(sub="user-1", username="owner-home-001", groups=("homeowner",))
    principal = verifier().verify(f"Bearer {MINTER.sign(claims)}")
    assert principal == Principal("user-1", "owner-home-001", frozenset({"homeowner"}))
    assert principal.in_group("homeowner")
    assert not principal.in_group("operator")


def test_a_user_in_no_group_has_no_groups() -> None:
    claims = MINTER.claims()
    del claims["cognito:groups"]
    assert verifier().verify(f"Bearer {MINTER.sign(claims)}").groups == frozenset()


def test_the_scheme_is_case_insensitive() -> None:
    assert verifier().verify(f"bearer {MINTER.access()}").username == "someone"


@pytest.mark.parametrize("bad", bad_tokens(MINTER), ids=str)
def test_every_bad_token_is_refused_with_its_reason(bad: BadToken) -> None:
    with pytest.raises(TokenError) as refused:
        verifier().verify(bad.header)
    assert refused.value.problem is bad.problem
    assert bad.message in str(refused.value)


def test_the_bad_token_kinds_cover_every_problem_but_missing_claims() -> None:
    kinds = {bad.problem for bad in bad_tokens(MINTER)}
    assert kinds == set(TokenProblem) - {TokenProblem.MISSING_CLAIM}


@pytest.mark.parametrize("claim", ["sub", "username", "exp", "iat"])
def test_a_token_without_a_required_claim_is_refused(claim: str) -> None:
    claims = MINTER.claims()
    del claims[claim]
    with pytest.raises(TokenError, match=f"'{claim}'") as refused:
        verifier().verify(f"Bearer {MINTER.sign(claims)}")
    assert refused.value.problem is TokenProblem.MISSING_CLAIM


def test_groups_that_are_not_a_list_are_refused() -> None:
    claims = {**MINTER.claims(), "cognito:groups": "operator"}
    with pytest.raises(TokenError, match="cognito:groups") as refused:
        verifier().verify(f"Bearer {MINTER.sign(claims)}")
    assert refused.value.problem is TokenProblem.MALFORMED


def test_an_unknown_token_use_is_named() -> None:
    claims = {**MINTER.claims(), "token_use": "refresh"}
    with pytest.raises(TokenError, match="a token of use 'refresh' was sent"):
        verifier().verify(f"Bearer {MINTER.sign(claims)}")


def test_a_token_issued_in_the_future_is_not_yet_valid() -> None:
    claims = MINTER.claims(now=time.time() + 3600)
    with pytest.raises(TokenError, match="issued in the future") as refused:
        verifier().verify(f"Bearer {MINTER.sign(claims)}")
    assert refused.value.problem is TokenProblem.NOT_YET_VALID


def test_expiry_allows_a_small_clock_skew() -> None:
    clock = Clock()
    claims = MINTER.claims(now=clock.now - 3600)  # expires right now
    token = f"Bearer {MINTER.sign(claims)}"
    check = verifier(clock=clock)
    clock.now += 20
    assert check.verify(token).username == "someone"
    clock.now += 20
    with pytest.raises(TokenError, match="expired at"):
        check.verify(token)


def test_the_keys_are_fetched_once_per_container() -> None:
    jwks = Jwks(KEY)
    check = verifier(jwks)
    for _ in range(3):
        check.verify(f"Bearer {MINTER.access()}")
    assert jwks.fetches == [JWKS_URL]


def test_a_rotated_key_is_fetched_once_then_unknown_kids_wait_for_the_interval() -> None:
    clock = Clock()
    jwks = Jwks(KEY)
    check = verifier(jwks, clock)
    check.verify(f"Bearer {MINTER.access()}")
    rotated = SigningKey.generate(kid="rotated")
    jwks.document = {"keys": jwks.document["keys"] + rotated.jwks()["keys"]}
    clock.now += 61
    assert check.verify(f"Bearer {MINTER.sign(MINTER.claims(), key=rotated)}")
    assert len(jwks.fetches) == 2
    stranger = SigningKey.generate(kid="stranger")
    for _ in range(5):  # a flood of unknown kids causes no fetch within the interval
        with pytest.raises(TokenError, match="'stranger' is not one"):
            check.verify(f"Bearer {MINTER.sign(MINTER.claims(), key=stranger)}")
    assert len(jwks.fetches) == 2
    clock.now += 61
    with pytest.raises(TokenError):
        check.verify(f"Bearer {MINTER.sign(MINTER.claims(), key=stranger)}")
    assert len(jwks.fetches) == 3


def test_unreachable_keys_are_an_outage_not_a_bad_token() -> None:
    clock = Clock()
    jwks = Jwks(KEY)
    jwks.failure = OSError("connection refused")
    check = verifier(jwks, clock)
    with pytest.raises(JwksUnavailable, match="connection refused"):
        check.verify(f"Bearer {MINTER.access()}")
    with pytest.raises(JwksUnavailable):  # within the interval: no new fetch, same outage
        check.verify(f"Bearer {MINTER.access()}")
    assert len(jwks.fetches) == 1
    jwks.failure = None
    clock.now += 61
    assert check.verify(f"Bearer {MINTER.access()}").username == "someone"


def test_a_key_set_without_keys_is_an_outage() -> None:
    jwks = Jwks()
    jwks.document = {"not": "a key set"}
    with pytest.raises(JwksUnavailable, match="no key list"):
        verifier(jwks).verify(f"Bearer {MINTER.access()}")


def test_keys_of_no_use_for_rs256_are_ignored() -> None:
    jwks = Jwks(KEY)
    (entry,) = jwks.document["keys"]
    jwks.document = {
        "keys": [
            {**entry, "use": "enc"},
            {**entry, "alg": "RS512"},
            {"kid": KEY.kid, "kty": "EC"},
            {"kid": KEY.kid, "kty": "RSA", "n": "broken"},
            "not a key",
        ]
    }
    with pytest.raises(TokenError, match="not one of the user pool's keys"):
        verifier(jwks).verify(f"Bearer {MINTER.access()}")


def test_fetching_over_http_reads_a_json_object(tmp_path: Any) -> None:
    path = tmp_path / "jwks.json"
    path.write_text('{"keys": []}')
    assert fetch_jwks_over_http(path.as_uri()) == {"keys": []}
    path.write_text("[]")
    with pytest.raises(ValueError, match="not answer a JSON object"):
        fetch_jwks_over_http(path.as_uri())
