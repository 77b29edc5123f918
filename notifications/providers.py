"""Web Push (RFC 8030 + RFC 8291 aes128gcm + RFC 8292 VAPID): the one module that talks to push services.

    from notifications.providers import push_send, PushGone, PushTemporaryFailure

    push_send(endpoint=..., p256dh=..., auth=..., payload={"title": ...})

Configuration (settings, read at call time so tests can override them):

- `VAPID_PRIVATE_KEY`: the application server's P-256 private key, either base64url raw
  (the 32-byte scalar that `web-push generate-vapid-keys` prints), base64url DER, or PEM
  (SEC1 "EC PRIVATE KEY" or PKCS#8 "PRIVATE KEY"; literal `\\n` are accepted). Parsed once
  per process per value, not per send.
- `VAPID_PUBLIC_KEY`: informative; the key served to the SPA is derived from the private
  key (a mismatching configured value is logged), or this value when no private key is set.
- `VAPID_SUBJECT` (`mailto:` or `https:` contact), `PUSH_TTL_SECONDS`, `PUSH_TIMEOUT_SECONDS`.

Outcomes are exceptions with a meaning for the caller:
`PushNotConfigured` (no/invalid VAPID key: skip), `PushGone` (404/410: the subscription is dead,
delete it), `PushTemporaryFailure` (429, 5xx, timeouts, connection errors: retry later),
`PushRejected` (any other refusal, e.g. 400/403/413 or a key the encryption refuses: do not retry),
`PushEndpointRefused` (the endpoint is no push service we may contact, or its host resolves to a
non-public address — notifications.endpoints: nothing was sent; delete the subscription).
Redirects are not followed (a push service never redirects; following one would let a stored
endpoint bounce the worker's POST elsewhere): a 3xx is `PushRejected`. A host name is connected
to at an address checked when the connection opens (requests-hardened's IP filter), not at
whatever a later DNS answer says.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from py_vapid import Vapid, VapidException
from pywebpush import WebPushException, webpush
from requests_hardened import Config as HardenedConfig
from requests_hardened import HTTPSession as HardenedSession
from requests_hardened.ip_filter import InvalidIPAddress

from notifications import endpoints

logger = logging.getLogger(__name__)

# RFC 8291: a push message body is at most 4096 octets; aes128gcm adds an 86-octet header
# (salt 16, rs 4, idlen 1, keyid 65), a 16-octet tag and a 1-octet padding delimiter.
MAX_PLAINTEXT_BYTES = 4096 - 86 - 16 - 1
P256_PUBLIC_KEY_BYTES = 65
AUTH_SECRET_BYTES = 16


class PushError(Exception):
    """Base of the outcomes below (the message never contains the endpoint's secret path)."""


class PushNotConfigured(PushError):
    pass


class PushGone(PushError):
    pass


class PushTemporaryFailure(PushError):
    pass


class PushRejected(PushError):
    pass


class PushEndpointRefused(PushError):
    pass


# --- base64url and keys ---------------------------------------------------------------------------


def b64url_decode(value: str) -> bytes:
    """Strict base64url (RFC 4648 §5), padding optional. Raises ValueError otherwise."""
    text = value.strip().rstrip("=")
    if not text or any(ch not in _B64URL_ALPHABET for ch in text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_B64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def p256_public_key_from_bytes(raw: bytes) -> ec.EllipticCurvePublicKey:
    """An uncompressed P-256 point (65 bytes, 0x04 || X || Y) on the curve, else ValueError."""
    if len(raw) != P256_PUBLIC_KEY_BYTES or raw[0] != 0x04:
        raise ValueError("not an uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def _public_key_b64url(key: ec.EllipticCurvePublicKey) -> str:
    return b64url_encode(key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


def _load_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    text = text.strip().replace("\\n", "\n")
    if text.startswith("-----BEGIN"):
        key: Any = serialization.load_pem_private_key(text.encode(), password=None)
    else:
        raw = b64url_decode(text.replace("\n", "").replace("+", "-").replace("/", "_"))
        if len(raw) == 32:
            key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
        else:
            key = serialization.load_der_private_key(raw, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("VAPID needs a P-256 (prime256v1) key")
    return key


@functools.lru_cache(maxsize=4)
def _vapid(private_key: str) -> Vapid | None:
    """The signer for a configured key value, parsed once per process (None if unusable)."""
    try:
        return Vapid(private_key=_load_private_key(private_key))
    except (ValueError, TypeError, VapidException):
        logger.error("VAPID_PRIVATE_KEY is not a P-256 private key (base64url raw, base64url DER or PEM)")
        return None


def _configured_vapid() -> Vapid | None:
    value = settings.VAPID_PRIVATE_KEY
    return _vapid(value) if value and value.strip() else None


@functools.lru_cache(maxsize=4)
def _public_key_for(private_key: str, configured_public: str) -> str | None:
    signer = _vapid(private_key) if private_key.strip() else None
    derived = _public_key_b64url(signer.public_key) if signer is not None else None
    configured = _normalise_public_key(configured_public) if configured_public.strip() else None
    if derived and configured and configured != derived:
        logger.error("VAPID_PUBLIC_KEY does not match VAPID_PRIVATE_KEY; serving the key derived from the private key")
    return derived or configured


def _normalise_public_key(value: str) -> str | None:
    text = value.strip().replace("\\n", "\n")
    try:
        if text.startswith("-----BEGIN"):
            key: Any = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise ValueError("not an EC key")
        else:
            key = p256_public_key_from_bytes(b64url_decode(text))
    except (ValueError, TypeError):
        logger.error("VAPID_PUBLIC_KEY is not a P-256 public key (base64url raw point or PEM)")
        return None
    return _public_key_b64url(key)


def vapid_public_key() -> str | None:
    """The applicationServerKey the SPA passes to `pushManager.subscribe` (base64url point), or None."""
    return _public_key_for(settings.VAPID_PRIVATE_KEY or "", settings.VAPID_PUBLIC_KEY or "")


def push_configured() -> bool:
    return _configured_vapid() is not None


# --- sending --------------------------------------------------------------------------------------


class _NoRedirectSession(requests.Session):
    def get_redirect_target(self, resp: requests.Response) -> None:
        return None


def _session_for(endpoint: str) -> requests.Session:
    """A session that may reach `endpoint`'s host, and nothing else (notifications.endpoints).

    Raises PushEndpointRefused (delete, never contacted) or PushTemporaryFailure (DNS down).
    """
    origin = endpoint_origin(endpoint)
    refusal = endpoints.endpoint_refusal(endpoint)
    if refusal is not None:
        raise PushEndpointRefused(f"{origin}: {refusal}")
    target = endpoints.parse_endpoint(endpoint)
    try:
        refusal = endpoints.resolved_refusal(target)
    except OSError as exc:
        raise PushTemporaryFailure(f"{origin} does not resolve now ({type(exc).__name__})") from None
    if refusal is not None:
        raise PushEndpointRefused(f"{origin}: {refusal}")
    if target.allow_listed_literal:
        return _NoRedirectSession()  # an address the operator listed: nothing to resolve
    return HardenedSession(
        HardenedConfig(
            ip_filter_enable=True,
            ip_filter_allow_loopback_ips=False,
            never_redirect=True,
            default_timeout=(settings.PUSH_TIMEOUT_SECONDS, settings.PUSH_TIMEOUT_SECONDS),
        )
    )


def endpoint_origin(endpoint: str) -> str:
    """`scheme://host[:port]`: safe to log (the path is the subscription's capability)."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def encode_payload(payload: dict[str, Any]) -> str:
    """Compact JSON that fits one push message: the body, then the action URL, are cut if needed."""
    message = dict(payload)
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    for field in ("body", "action_url"):
        if len(text.encode()) <= MAX_PLAINTEXT_BYTES:
            break
        message[field] = "" if field == "body" else None
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    return text


def push_send(*, endpoint: str, p256dh: str, auth: str, payload: dict[str, Any]) -> None:
    """Encrypt `payload` (JSON) for one subscription and POST it to its push service.

    Returns on 2xx; otherwise raises one of the PushError subclasses (module docstring).
    """
    signer = _configured_vapid()
    if signer is None:
        raise PushNotConfigured("VAPID_PRIVATE_KEY is not set or invalid")
    origin = endpoint_origin(endpoint)
    with _session_for(endpoint) as session:
        try:
            webpush(
                {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
                data=encode_payload(payload),
                vapid_private_key=signer,
                # pywebpush writes `aud` and `exp` into this dict: a fresh one per call.
                vapid_claims={"sub": settings.VAPID_SUBJECT},
                ttl=settings.PUSH_TTL_SECONDS,
                timeout=settings.PUSH_TIMEOUT_SECONDS,
                requests_session=session,
            )
        except WebPushException as exc:
            status = exc.status_code
            if status in (404, 410):
                raise PushGone(f"{origin} answered {status}") from None
            if status is not None and (status == 429 or status >= 500):
                raise PushTemporaryFailure(f"{origin} answered {status}") from None
            raise PushRejected(f"{origin} refused the push ({status or exc.message})") from None
        except InvalidIPAddress as exc:  # DNS answered differently when the connection opened
            raise PushEndpointRefused(f"{origin} resolved to {exc}, not a public address") from None
        except requests.RequestException as exc:
            raise PushTemporaryFailure(f"{origin} unreachable ({type(exc).__name__})") from None
        except VapidException as exc:
            raise PushRejected(f"VAPID signing failed for {origin}: {exc}") from None
        except ValueError as exc:  # keys the encryption cannot use
            raise PushRejected(f"cannot encrypt for {origin}: {exc}") from None
