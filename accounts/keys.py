"""The RS256 key ring that signs and verifies access tokens (CONTRACT §1, §17).

Keys are parsed once per process and cached here: the per-request path only looks a
`kid` up in a dict. Signing always uses the current key; verification accepts the
current key or the previous one (rotation), chosen by the token's `kid` header.

When `JWT_PRIVATE_KEY` is unset: under the test suite a throwaway key is generated once
per process; with `DEBUG` one is generated and persisted to `JWT_DEV_KEY_FILE` so local
sessions survive restarts; anywhere else that is a configuration error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
_KEY_SETTINGS = {
    "JWT_PRIVATE_KEY",
    "JWT_PUBLIC_KEY",
    "JWT_KEY_ID",
    "JWT_PREVIOUS_PUBLIC_KEY",
    "JWT_PREVIOUS_KEY_ID",
    "JWT_DEV_KEY_FILE",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "DEBUG",
    "TESTING",
}


class KidTokenBackend(TokenBackend):
    """simplejwt's backend, plus the `kid` header it does not write by itself."""

    def __init__(self, *, kid: str, signing_key: str | None, verifying_key: str) -> None:
        super().__init__(
            ALGORITHM,
            signing_key=signing_key,
            verifying_key=verifying_key,
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
        )
        self.kid = kid

    def decode(self, token: Any, verify: bool = True) -> dict[str, Any]:
        """Signature, algorithm, issuer and audience only: the times are judged by
        `accounts.tokens` (PyJWT's checks would answer "expired" for an `exp` of `true`)."""
        try:
            return jwt.decode(
                token,
                self.get_verifying_key(token),
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "verify_aud": self.audience is not None,
                    "verify_signature": verify,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc

    def encode(self, payload: dict[str, Any]) -> str:
        if self.signing_key is None:
            raise ImproperlyConfigured("This key can only verify tokens.")
        claims = {**payload, "aud": self.audience, "iss": self.issuer}
        return jwt.encode(claims, self.prepared_signing_key, algorithm=self.algorithm, headers={"kid": self.kid})


@dataclass(frozen=True)
class KeyRing:
    signer: KidTokenBackend
    verifiers: dict[str, KidTokenBackend]
    jwks: dict[str, Any] = field(default_factory=dict)


_lock = threading.Lock()
_keyring: KeyRing | None = None
_test_private_pem: str | None = None


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _public_jwk_fields(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    return {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}


def key_thumbprint(public_key: rsa.RSAPublicKey) -> str:
    """RFC 7638 JWK thumbprint: a stable `kid` derived from the key itself."""
    canonical = json.dumps(_public_jwk_fields(public_key), separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def generate_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _public_pem(public_key: rsa.RSAPublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(
        "ascii"
    )


def _load_public(pem: str, *, name: str) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a PEM public key.") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ImproperlyConfigured(f"{name} must be an RSA key (RS256).")
    return key


def _dev_private_pem(path: Path) -> str:
    """Read the persisted local-development key, creating it (mode 0600) on first start."""
    if path.exists():
        return path.read_text()
    pem = generate_private_key_pem()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text()
    with os.fdopen(fd, "w") as handle:
        handle.write(pem)
    logger.warning("generated a development JWT signing key at %s", path)
    return pem


def _private_pem() -> str:
    global _test_private_pem
    if settings.JWT_PRIVATE_KEY:
        return settings.JWT_PRIVATE_KEY
    if getattr(settings, "TESTING", False):
        if _test_private_pem is None:
            _test_private_pem = generate_private_key_pem()
        return _test_private_pem
    if settings.DEBUG:
        return _dev_private_pem(Path(settings.JWT_DEV_KEY_FILE))
    raise ImproperlyConfigured("JWT_PRIVATE_KEY must be set when DEBUG is off.")


def _build_keyring() -> KeyRing:
    private_pem = _private_pem()
    try:
        private_key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured("JWT_PRIVATE_KEY is not an unencrypted PEM private key.") from exc
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ImproperlyConfigured("JWT_PRIVATE_KEY must be an RSA key (RS256).")
    public_key = private_key.public_key()
    if settings.JWT_PUBLIC_KEY:
        configured = _load_public(settings.JWT_PUBLIC_KEY, name="JWT_PUBLIC_KEY")
        if configured.public_numbers() != public_key.public_numbers():
            raise ImproperlyConfigured("JWT_PUBLIC_KEY does not match JWT_PRIVATE_KEY.")
    kid = settings.JWT_KEY_ID or key_thumbprint(public_key)
    signer = KidTokenBackend(kid=kid, signing_key=private_pem, verifying_key=_public_pem(public_key))
    verifiers = {kid: signer}
    jwk_keys = [{**_public_jwk_fields(public_key), "kid": kid, "use": "sig", "alg": ALGORITHM}]

    if settings.JWT_PREVIOUS_PUBLIC_KEY:
        previous = _load_public(settings.JWT_PREVIOUS_PUBLIC_KEY, name="JWT_PREVIOUS_PUBLIC_KEY")
        previous_kid = settings.JWT_PREVIOUS_KEY_ID or key_thumbprint(previous)
        if previous_kid == kid:
            raise ImproperlyConfigured("JWT_PREVIOUS_KEY_ID must differ from the current key id.")
        verifiers[previous_kid] = KidTokenBackend(
            kid=previous_kid, signing_key=None, verifying_key=_public_pem(previous)
        )
        jwk_keys.append({**_public_jwk_fields(previous), "kid": previous_kid, "use": "sig", "alg": ALGORITHM})

    # Parse the PEMs now, once, rather than on the first request that needs them.
    signer.prepared_signing_key  # noqa: B018
    for backend in verifiers.values():
        backend.prepared_verifying_key  # noqa: B018
    return KeyRing(signer=signer, verifiers=verifiers, jwks={"keys": jwk_keys})


def get_keyring() -> KeyRing:
    global _keyring
    keyring = _keyring
    if keyring is None:
        with _lock:
            if _keyring is None:
                _keyring = _build_keyring()
            keyring = _keyring
    return keyring


def reset_keyring() -> None:
    """Forget the parsed keys (tests changing JWT settings; key rotation in-process)."""
    global _keyring
    with _lock:
        _keyring = None


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in _KEY_SETTINGS:
        reset_keyring()


def jwks_document() -> dict[str, Any]:
    """The public half of the key ring as a standard JWKS (RFC 7517)."""
    return get_keyring().jwks
