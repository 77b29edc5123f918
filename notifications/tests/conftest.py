"""Fixtures for Web Push tests: VAPID keys, fake browsers and a fake push service on 127.0.0.1.

The fake speaks the real protocol (RFC 8030 / 8291 / 8292): it accepts `POST /push/<token>`,
checks `TTL`, `Content-Encoding: aes128gcm` and the `Authorization: vapid t=<jwt>, k=<key>`
header (ES256 signature, `aud` = its own origin, `exp` in the next 24 h, `sub` present, `k`
equal to the applicationServerKey the browser subscribed with), decrypts the body with the
browser's private key and auth secret (http_ece), and answers 201 — or the statuses a test
configured for that endpoint (410 for a gone subscription, 500 for a flaky service, ...).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.core.management import call_command


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


# --- VAPID --------------------------------------------------------------------------------------------


@dataclass
class VapidKeys:
    private_key: ec.EllipticCurvePrivateKey

    @property
    def raw(self) -> str:
        """What `web-push generate-vapid-keys` prints as the private key."""
        return b64url(self.private_key.private_numbers().private_value.to_bytes(32, "big"))

    @property
    def pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode()

    @property
    def pkcs8_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def public(self) -> str:
        return b64url(public_point(self.private_key))


def make_vapid_keys() -> VapidKeys:
    return VapidKeys(ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture
def vapid(settings) -> VapidKeys:
    """Fresh VAPID keys, configured in settings (raw base64url, as web-push tools generate them)."""
    keys = make_vapid_keys()
    settings.VAPID_PRIVATE_KEY = keys.raw
    settings.VAPID_PUBLIC_KEY = keys.public
    settings.VAPID_SUBJECT = "mailto:ops@perpetua.test"
    settings.PUSH_TTL_SECONDS = 3600
    settings.PUSH_TIMEOUT_SECONDS = 5.0
    return keys


def verify_vapid(authorization: str, *, origin: str, application_server_key: str | None) -> dict[str, Any]:
    """RFC 8292: check the header the way a push service does; returns the JWT claims."""
    scheme, _, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError(f"scheme {scheme!r}")
    parts = dict(item.strip().split("=", 1) for item in params.split(","))
    token, key = parts["t"], parts["k"]
    if application_server_key is not None and key != application_server_key:
        raise PermissionError("k is not the applicationServerKey the subscription was made with")
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(unb64url(header_b64))
    if header.get("alg") != "ES256" or header.get("typ", "JWT") != "JWT":
        raise ValueError(f"JWT header {header}")
    signature = unb64url(signature_b64)
    if len(signature) != 64:
        raise ValueError("ES256 signature must be r||s, 64 bytes")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    public_key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    claims = json.loads(unb64url(claims_b64))
    if claims.get("aud") != origin:
        raise ValueError(f"aud {claims.get('aud')!r} != {origin!r}")
    now = time.time()
    if not now < claims["exp"] <= now + 24 * 3600:
        raise ValueError(f"exp {claims['exp']} not within 24 h")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise ValueError(f"sub {claims.get('sub')!r}")
    return {**claims, "k": key}


# --- fake browsers and push service -------------------------------------------------------------------


@dataclass
class Browser:
    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    application_server_key: str | None
    statuses: list[int] = field(default_factory=list)

    def subscription_json(self) -> dict[str, Any]:
        """`PushSubscription.toJSON()` as the browser gives it."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(public_point(self.private_key)), "auth": b64url(self.auth_secret)},
        }


@dataclass
class Received:
    token: str
    status: int
    headers: dict[str, str]
    body: bytes
    vapid_claims: dict[str, Any] | None = None
    vapid_error: str | None = None
    payload: dict[str, Any] | None = None
    decrypt_error: str | None = None


class FakePushService:
    def __init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        self.received: list[Received] = []
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                service.handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def browser(self, *, application_server_key: str | None = None, statuses: list[int] | None = None) -> Browser:
        """A browser subscribed at this service; `statuses` are answered in turn (the last one sticks)."""
        token = uuid.uuid4().hex
        browser = Browser(
            token=token,
            endpoint=f"{self.origin}/push/{token}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=os.urandom(16),
            application_server_key=application_server_key,
            statuses=list(statuses or []),
        )
        self.browsers[token] = browser
        return browser

    def to(self, browser: Browser) -> list[Received]:
        return [r for r in self.received if r.token == browser.token]

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in request.headers.items()}
        token = request.path.removeprefix("/push/")
        browser = self.browsers.get(token)
        record = Received(token=token, status=201, headers=headers, body=body)
        if browser is None or not request.path.startswith("/push/"):
            record.status = 404
        else:
            try:
                record.vapid_claims = verify_vapid(
                    headers.get("authorization", ""),
                    origin=self.origin,
                    application_server_key=browser.application_server_key,
                )
            except PermissionError as exc:
                record.vapid_error, record.status = str(exc), 403
            except (ValueError, KeyError, InvalidSignature) as exc:
                record.vapid_error, record.status = repr(exc), 401
            if record.status == 201 and ("ttl" not in headers or headers.get("content-encoding") != "aes128gcm"):
                record.status = 400
            if record.status == 201:
                try:
                    plaintext = http_ece.decrypt(
                        body, private_key=browser.private_key, auth_secret=browser.auth_secret, version="aes128gcm"
                    )
                    record.payload = json.loads(plaintext)
                except Exception as exc:  # the test asserts on it
                    record.decrypt_error, record.status = repr(exc), 400
            if record.status == 201 and browser.statuses:
                record.status = browser.statuses.pop(0) if len(browser.statuses) > 1 else browser.statuses[0]
        with self.lock:
            self.received.append(record)
        request.send_response(record.status)
        if record.status == 201:
            request.send_header("Location", f"{self.origin}/message/{uuid.uuid4().hex}")
        request.send_header("Content-Length", "0")
        request.end_headers()


@pytest.fixture
def push_service(settings):
    """The fake push service, and the settings that let the worker reach it: its IP literal on
    the allow-list and plain http (production: https on the browsers' push services only)."""
    service = FakePushService()
    settings.PUSH_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.PUSH_REQUIRE_HTTPS = False
    yield service
    service.close()


# --- the real worker ----------------------------------------------------------------------------------


@pytest.fixture
def run_worker():
    """Run `manage.py run_worker` until the queue is empty (restoring pytest's signal handlers)."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}

    def _run(**options: Any) -> None:
        call_command("run_worker", **{"batch": True, "startup_delay": False, "interval": 0, "verbosity": 0, **options})

    yield _run
    for sig, handler in saved.items():
        signal.signal(sig, handler)
