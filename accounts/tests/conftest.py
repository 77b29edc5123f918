"""Fixtures for the accounts tests: a fake Google certs server speaking Google's v1 format."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt
from google.auth import jwt as google_jwt
from rest_framework.test import APIClient

from accounts import providers

CLIENT_ID = "perpetua-test.apps.googleusercontent.com"


def _self_signed_cert(key: rsa.RSAPrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-google-certs")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class FakeGoogle:
    """Serves `{kid: x509 PEM}` like https://www.googleapis.com/oauth2/v1/certs and counts hits."""

    def __init__(self) -> None:
        self.hits = 0
        self.max_age = 3600
        self.status = 200
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.current_kid = self.rotate()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/oauth2/v1/certs"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def rotate(self) -> str:
        """Google publishes a new key and drops the old one."""
        kid = uuid.uuid4().hex
        self.keys = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        self.current_kid = kid
        return kid

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.hits += 1
                if fake.status != 200:
                    self.send_response(fake.status)
                    self.end_headers()
                    return
                body = json.dumps({kid: _self_signed_cert(key) for kid, key in fake.keys.items()}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Cache-Control", f"public, max-age={fake.max_age}, must-revalidate, no-transform")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def id_token(self, *, key: rsa.RSAPrivateKey | None = None, kid: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": "https://accounts.google.com",
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "sub": "google-sub-1",
            "email": "ada@example.com",
            "email_verified": True,
            "name": "Ada Lovelace",
            "picture": "https://lh3.googleusercontent.com/a/ada.png",
            "iat": now,
            "exp": now + 3600,
        }
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        kid = kid or self.current_kid
        signing_key = key or self.keys[kid]
        signer = crypt.RSASigner.from_string(_private_pem(signing_key), key_id=kid)
        return google_jwt.encode(signer, payload).decode()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()


@pytest.fixture
def google(settings):
    fake = FakeGoogle()
    settings.GOOGLE_CERTS_URL = fake.url
    settings.GOOGLE_CLIENT_IDS = ["another-client.apps.googleusercontent.com", CLIENT_ID]
    providers.google_certs_cache_clear()
    yield fake
    providers.google_certs_cache_clear()
    fake.stop()


@pytest.fixture
def sign_in(anon_client, google):
    """POST a Google ID token to the callback; returns the response."""

    def _sign_in(client: APIClient | None = None, **claims: Any):
        return (client or anon_client).post(
            "/api/v1/auth/google/callback", {"id_token": google.id_token(**claims)}, format="json"
        )

    return _sign_in


def bearer(access_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client
