"""Access tokens: RS256 JWTs built and checked with simplejwt (CONTRACT §1).

Claims: `sub` (user id), `email`, `tier`, `iat`, `exp`, `iss`, `aud`, `jti`, `sid`
(the refresh-token family, i.e. the sign-in session), plus simplejwt's `token_type`.
Refresh tokens are not JWTs: see `accounts.services`.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import jwt
from django.conf import settings
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import Token

from accounts.keys import KidTokenBackend, get_keyring
from perpetua.api.exceptions import TokenExpired, Unauthorized

REQUIRED_CLAIMS = ("sub", "sid", "jti", "exp", "iat")
# Clock difference tolerated between the servers that sign and those that verify.
MAX_CLOCK_SKEW_SECONDS = 60


def _check_time_claims(payload: dict[str, Any]) -> None:
    """The one place access-token times are judged: integers describing a token we could have issued.

    A token signed with our key is still refused when its times are absurd (`exp` 1e20,
    year 10000, a float, a string): the libraries' date arithmetic overflows on those, and
    no token of ours lives longer than JWT_ACCESS_TTL_MINUTES. Raises TokenError, or
    ExpiredTokenError for a well-formed token whose time is up.
    """
    times = {claim: payload[claim] for claim in ("iat", "exp", "nbf") if claim in payload}
    if "iat" not in times or "exp" not in times or any(type(value) is not int for value in times.values()):
        raise TokenError("Token times are not integers.")
    now = int(time.time())
    iat, exp = times["iat"], times["exp"]
    nbf = times.get("nbf", iat)
    lifetime = access_token_ttl_seconds() + MAX_CLOCK_SKEW_SECONDS
    if iat > now + MAX_CLOCK_SKEW_SECONDS or not iat < exp <= iat + lifetime or not iat <= nbf < exp:
        raise TokenError("Token times are out of range.")
    if nbf > now + MAX_CLOCK_SKEW_SECONDS:
        raise TokenError("Token not yet valid.")
    if exp <= now:
        raise ExpiredTokenError("Token is expired.")


class AccessToken(Token):
    """simplejwt token signed with the current key, verified with the key named by `kid`."""

    token_type = "access"

    def __init__(self, token: str | None = None, verify: bool = True) -> None:
        self._backend = self._backend_for(token) if token is not None else get_keyring().signer
        super().__init__(token, verify=verify)  # type: ignore[arg-type]

    @property  # type: ignore[override]
    def lifetime(self) -> timedelta:
        return timedelta(minutes=settings.JWT_ACCESS_TTL_MINUTES)

    @staticmethod
    def _backend_for(token: str) -> KidTokenBackend:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenError("Malformed token.") from exc
        kid = header.get("kid")
        backend = get_keyring().verifiers.get(kid) if isinstance(kid, str) else None
        if backend is None or header.get("alg") != backend.algorithm:
            raise TokenError("Unknown signing key.")
        return backend

    def get_token_backend(self) -> KidTokenBackend:  # type: ignore[override]
        return self._backend

    def verify(self) -> None:
        _check_time_claims(self.payload)  # before simplejwt turns `exp` into a datetime
        super().verify()  # `exp` again (now known to be sane), `jti`, `token_type`


def access_token_ttl_seconds() -> int:
    return settings.JWT_ACCESS_TTL_MINUTES * 60


def access_token_for(*, user: Any, session_id: uuid.UUID | str | None = None) -> str:
    """A signed access token for `user` in session `session_id` (a fresh one when omitted)."""
    token = AccessToken()
    token["sub"] = str(user.pk)
    token["email"] = user.email
    token["tier"] = user.tier
    token["sid"] = str(session_id or uuid.uuid4())
    return str(token)


def access_token_decode(token: str) -> dict[str, Any]:
    """Verify `token` and return its claims.

    Raises TokenExpired (401 TOKEN_EXPIRED, refresh_required) for an expired but
    otherwise genuine token, Unauthorized for anything else (bad signature, unknown
    `kid`, wrong issuer/audience/type, missing claims).
    """
    try:
        payload = AccessToken(token).payload
    except ExpiredTokenError as exc:
        raise TokenExpired() from exc
    except TokenError as exc:
        raise Unauthorized("Invalid access token.") from exc
    if any(not payload.get(claim) for claim in REQUIRED_CLAIMS):
        raise Unauthorized("Invalid access token.")
    return payload
