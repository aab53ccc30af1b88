"""Signing Cognito-shaped tokens in tests, and the bad tokens every authorization test walks.

One kit for two keys: a key generated in the test (unit tests serve its JWKS through an
injected fetcher) and the emulator's own key (moto signs its tokens with a key it ships), so
a bad token re-signed with it fails for the one reason it was made for and no other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from functions.auth.tokens import TokenProblem


@dataclass(frozen=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey
    kid: str

    @classmethod
    def generate(cls, kid: str = "test-key") -> SigningKey:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048), kid)

    @classmethod
    def of_the_emulator(cls) -> SigningKey:
        """The key moto signs every user pool's tokens with (kid "dummy")."""
        from moto.utilities.utils import load_resource

        private_jwk = load_resource("cognitoidp/resources/jwks-private.json")
        key = jwt.PyJWK(private_jwk, algorithm="RS256").key
        assert isinstance(key, rsa.RSAPrivateKey)
        return cls(key, str(private_jwk["kid"]))

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True)
class TokenMinter:
    """Access tokens shaped like Cognito's (and moto's), for one pool and app client."""

    key: SigningKey
    issuer: str
    client_id: str

    def claims(
        self,
        *,
        sub: str | None = None,
        username: str = "someone",
        groups: tuple[str, ...] = ("homeowner",),
        now: float | None = None,
    ) -> dict[str, Any]:
        issued = int(time.time() if now is None else now)
        return {
            "iss": self.issuer,
            "sub": sub or str(uuid.uuid4()),
            "client_id": self.client_id,
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "auth_time": issued,
            "iat": issued,
            "exp": issued + 3600,
            "jti": str(uuid.uuid4()),
            "username": username,
            "cognito:groups": list(groups),
        }

    def sign(self, claims: dict[str, Any], *, key: SigningKey | None = None) -> str:
        signer = key or self.key
        return jwt.encode(
            claims, signer.private_key, algorithm="RS256", headers={"kid": signer.kid}
        )

    def access(self, **overrides: Any) -> str:
        return self.sign(self.claims(**overrides))


@dataclass(frozen=True)
class BadToken:
    """An Authorization header that must be refused, and why."""

    name: str
    header: str | None
    problem: TokenProblem
    message: str  # a part of the refusal's message

    def __str__(self) -> str:  # readable pytest ids
        return self.name


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def bad_tokens(minter: TokenMinter, claims: dict[str, Any] | None = None) -> list[BadToken]:
    """One header per way a token can be bad; each otherwise like `claims` (a valid access
    token's claims: pass a real user's to show that even an owner's bad token is refused)."""
    good = dict(claims or minter.claims())
    now = int(time.time())
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": minter.key.kid}, good)
    # PyJWT refuses to use a PEM key as an HMAC secret, so this forgery is made by hand.
    hs256_mac = hmac.new(minter.key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    stranger = SigningKey.generate(kid="not-the-pools-key")
    genuine_signature = minter.sign(good).rpartition(".")[2]
    tampered = _unsigned(
        {"alg": "RS256", "typ": "JWT", "kid": minter.key.kid},
        {**good, "cognito:groups": ["operator"]},
    )
    cases = [
        ("missing", None, TokenProblem.MISSING, "no Authorization header"),
        ("not bearer", "Basic dXNlcjpwYXNz", TokenProblem.NOT_BEARER, "not a Bearer token"),
        ("empty bearer", "Bearer ", TokenProblem.EMPTY_BEARER, "Bearer token is empty"),
        ("not a jwt", "Bearer not-a-jwt", TokenProblem.MALFORMED, "not a JWT"),
        (
            "alg none",
            f"Bearer {_unsigned({'alg': 'none', 'typ': 'JWT'}, good)}.",
            TokenProblem.ALG_NONE,
            "alg none",
        ),
        (
            "hs256 with the public key",
            f"Bearer {signing_input}.{_b64(hs256_mac)}",
            TokenProblem.WRONG_ALGORITHM,
            "HS256 are not accepted",
        ),
        (
            "unknown kid",
            f"Bearer {minter.sign(good, key=stranger)}",
            TokenProblem.UNKNOWN_KEY,
            "'not-the-pools-key' is not one of the user pool's keys",
        ),
        (
            "tampered claims",
            f"Bearer {tampered}.{genuine_signature}",
            TokenProblem.BAD_SIGNATURE,
            "signature does not verify",
        ),
        (
            "expired",
            f"Bearer {minter.sign({**good, 'iat': now - 7200, 'exp': now - 3600})}",
            TokenProblem.EXPIRED,
            "expired at",
        ),
        (
            "not yet valid",
            f"Bearer {minter.sign({**good, 'nbf': now + 3600})}",
            TokenProblem.NOT_YET_VALID,
            "not valid before",
        ),
        (
            "wrong issuer",
            f"Bearer {minter.sign({**good, 'iss': 'https://issuer.example/other-pool'})}",
            TokenProblem.WRONG_ISSUER,
            "not by this user pool",
        ),
        (
            "wrong client",
            f"Bearer {minter.sign({**good, 'client_id': 'another-app-client'})}",
            TokenProblem.WRONG_CLIENT,
            "another app client",
        ),
        (
            "id token",
            f"Bearer {minter.sign(_as_id_token(good))}",
            TokenProblem.NOT_ACCESS_TOKEN,
            "an ID token was sent",
        ),
    ]
    return [BadToken(name, header, problem, message) for name, header, problem, message in cases]


def _as_id_token(access: dict[str, Any]) -> dict[str, Any]:
    """The ID token Cognito issues beside an access token: `aud` instead of `client_id`."""
    claims = {k: v for k, v in access.items() if k not in ("client_id", "scope", "username")}
    return {
        **claims,
        "token_use": "id",
        "aud": access["client_id"],
        "cognito:username": access["username"],
    }
