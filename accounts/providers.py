"""Google ID-token verification: the one module that talks to Google (CONTRACT §1).

Google's signing certificates (v1 PEM format, `{kid: x509 PEM}`) are fetched from
`GOOGLE_CERTS_URL` and kept in process memory for as long as the response's
`Cache-Control: max-age` allows, so a sign-in normally costs no outbound call. A token
naming a `kid` we do not hold triggers one refetch (Google rotates keys), never more
per verification. The signature, `exp`/`iat` and audience are checked by google-auth;
the issuer and `email_verified` are checked here because google-auth does not.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from google.auth import exceptions as google_exceptions
from google.auth import jwt as google_jwt

from perpetua.api.exceptions import ServiceUnavailable, Unauthorized

logger = logging.getLogger(__name__)

GOOGLE_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})
_CLOCK_SKEW_SECONDS = 10
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)


@dataclass(frozen=True)
class GoogleIdentity:
    sub: str
    email: str
    name: str
    picture: str


@dataclass
class _CachedCerts:
    certs: dict[str, str]
    expires_at: float  # time.monotonic()
    fetched_at: float = 0.0  # time.monotonic()


_cache: dict[str, _CachedCerts] = {}
_lock = threading.Lock()


def google_certs_cache_clear() -> None:
    with _lock:
        _cache.clear()


def _max_age(cache_control: str) -> int:
    if "no-store" in cache_control.lower() or "no-cache" in cache_control.lower():
        return 0
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else getattr(settings, "GOOGLE_CERTS_DEFAULT_MAX_AGE_SECONDS", 300)


def _fetch_certs(url: str) -> _CachedCerts:
    try:
        response = requests.get(url, timeout=settings.GOOGLE_CERTS_TIMEOUT_SECONDS)
        response.raise_for_status()
        certs = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("fetching Google certs from %s failed: %s", url, exc)
        raise ServiceUnavailable("Google sign-in is temporarily unavailable.") from exc
    if not isinstance(certs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in certs.items()):
        logger.warning("Google certs from %s are not a {kid: PEM} object", url)
        raise ServiceUnavailable("Google sign-in is temporarily unavailable.")
    now = time.monotonic()
    return _CachedCerts(
        certs=certs, expires_at=now + _max_age(response.headers.get("Cache-Control", "")), fetched_at=now
    )


def google_certs(*, force_refresh: bool = False) -> dict[str, str]:
    """Google's current certificates, from memory while fresh, else from the network.

    A forced refresh (a token names an unknown `kid`) fetches at most once every
    GOOGLE_CERTS_MIN_REFETCH_SECONDS: tokens with made-up kids cannot make us hammer
    Google or hold every sign-in behind the fetch lock.
    """
    url = settings.GOOGLE_CERTS_URL
    with _lock:
        cached = _cache.get(url)
        now = time.monotonic()
        fresh_enough = cached is not None and cached.expires_at > now
        if fresh_enough and (not force_refresh or now - cached.fetched_at < settings.GOOGLE_CERTS_MIN_REFETCH_SECONDS):
            return cached.certs
        # Fetch under the lock: concurrent sign-ins with a stale cache share one request.
        fresh = _fetch_certs(url)
        _cache[url] = fresh
        return fresh.certs


def _invalid(reason: str) -> Unauthorized:
    logger.info("Google ID token refused: %s", reason)
    return Unauthorized("Invalid Google ID token.")


def google_id_token_verify(*, id_token: str) -> GoogleIdentity:
    """Verify a Google ID token; Unauthorized when it is not genuine, current and ours.

    ServiceUnavailable (503) when Google's certificates cannot be fetched, or when no
    client id is configured (no token could ever pass the audience check).
    """
    audiences = [client_id for client_id in settings.GOOGLE_CLIENT_IDS if client_id]
    if not audiences:
        logger.error("GOOGLE_CLIENT_IDS is empty: Google sign-in cannot verify any token")
        raise ServiceUnavailable("Google sign-in is not configured.")
    try:
        header = google_jwt.decode_header(id_token)
    except (ValueError, TypeError, google_exceptions.GoogleAuthError) as exc:
        raise _invalid(f"malformed: {exc}") from exc
    if header.get("alg") != "RS256":
        raise _invalid(f"algorithm {header.get('alg')!r}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _invalid("no kid")

    certs = google_certs()
    if kid not in certs:
        certs = google_certs(force_refresh=True)  # Google rotated its keys: look once more.
        if kid not in certs:
            raise _invalid(f"unknown kid {kid!r}")

    try:
        claims: dict[str, Any] = google_jwt.decode(
            id_token, certs={kid: certs[kid]}, audience=audiences, clock_skew_in_seconds=_CLOCK_SKEW_SECONDS
        )
    except (ValueError, TypeError, google_exceptions.GoogleAuthError) as exc:
        raise _invalid(str(exc)) from exc

    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise _invalid(f"issuer {claims.get('iss')!r}")
    if "exp" not in claims:
        raise _invalid("no exp")
    email_verified = claims.get("email_verified")
    if email_verified is not True and str(email_verified).lower() != "true":
        raise _invalid("email not verified")
    sub, email = claims.get("sub"), claims.get("email")
    if not isinstance(sub, str) or not sub or not isinstance(email, str) or "@" not in email:
        raise _invalid("no sub or email")
    name = claims.get("name")
    picture = claims.get("picture")
    return GoogleIdentity(
        sub=sub,
        email=email.strip().lower(),
        name=name.strip() if isinstance(name, str) else "",
        picture=picture if isinstance(picture, str) else "",
    )
