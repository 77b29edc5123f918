"""CORS defaults (CONTRACT §0, §17): the SPA's dev origin works out of the box in development."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPA_DEV_ORIGIN = "http://localhost:3000"


def _origins_with(**env: str) -> list[str]:
    """CORS_ALLOWED_ORIGINS as a fresh process computes it, with CORS_ALLOWED_ORIGINS unset."""
    code = (
        "import sys, json; sys.modules['pytest'] = None  # skip a local .env, as under pytest\n"
        "import perpetua.settings as s; print(json.dumps(s.CORS_ALLOWED_ORIGINS))"
    )
    environment = {k: v for k, v in os.environ.items() if k not in ("CORS_ALLOWED_ORIGINS", "DEBUG", "TESTING")}
    environment.update(SECRET_KEY="x", **env)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_debug_default_allows_the_spa_dev_origin():
    assert SPA_DEV_ORIGIN in _origins_with(DEBUG="true", TESTING="false")


def test_production_default_allows_no_origin():
    assert _origins_with(DEBUG="false", TESTING="false") == []


def test_an_explicit_list_wins():
    assert _origins_with(DEBUG="true", TESTING="false", CORS_ALLOWED_ORIGINS="https://app.example.com") == [
        "https://app.example.com"
    ]


@pytest.mark.django_db
def test_the_spa_preflight_from_its_dev_origin_is_allowed(anon_client):
    """The SPA sends Content-Type on every call (GET and DELETE too), so every call is preflighted."""
    response = anon_client.options(
        "/api/v1/users/me",
        HTTP_ORIGIN=SPA_DEV_ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="DELETE",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type,idempotency-key",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SPA_DEV_ORIGIN
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
