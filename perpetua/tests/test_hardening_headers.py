"""Headers and throttles a hostile network or client meets (issue 9, item 10), on the real URLconf."""

import os
import subprocess
import sys

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"
JWKS = "/api/v1/auth/.well-known/jwks.json"


def vary(response) -> set[str]:
    return {part.strip().lower() for part in response.get("Vary", "").split(",") if part.strip()}


def test_authenticated_answers_are_no_store_and_vary_by_authorization(api):
    for response in (api.get(ME), api.get("/api/v1/tasks/00000000-0000-4000-8000-000000000000"), api.get("/nope")):
        if not response.wsgi_request.path.startswith("/api/"):
            continue
        assert response["Cache-Control"] == "no-store", response.wsgi_request.path
        assert "authorization" in vary(response)


def test_an_invalid_token_is_answered_no_store_too(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer nope")
    response = anon_client.get(ME)
    assert response.status_code == 401
    assert response["Cache-Control"] == "no-store"


def test_anonymous_answers_still_vary_by_authorization(anon_client):
    response = anon_client.get("/api/v1/health/live")
    assert "authorization" in vary(response)


def test_the_public_jwks_keeps_its_own_cache_policy(api):
    response = api.get(JWKS)
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300"


def test_hsts_is_sent_over_https_only(anon_client, settings):
    assert settings.SECURE_HSTS_SECONDS == 31_536_000  # DEBUG is off under the suite, as in production
    assert "Strict-Transport-Security" not in anon_client.get("/api/v1/health/live")
    response = anon_client.get("/api/v1/health/live", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000"


def test_behind_a_tls_proxy_the_forwarded_proto_header_counts_as_https(anon_client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = anon_client.get("/api/v1/health/live", HTTP_X_FORWARDED_PROTO="https")
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in anon_client.get("/api/v1/health/live", HTTP_X_FORWARDED_PROTO="http")


def _production_settings(**env) -> subprocess.CompletedProcess:
    code = (
        "import django, json; from django.conf import settings; django.setup(); "
        "print(json.dumps([settings.SECURE_HSTS_SECONDS, settings.SECURE_PROXY_SSL_HEADER, "
        "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SECURE_SSL_REDIRECT]))"
    )
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("SECURE_", "DEBUG", "TESTING"))
    }
    environment.update({"DJANGO_SETTINGS_MODULE": "perpetua.settings", "SECRET_KEY": "x" * 50, **env})
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60)


def test_production_settings_turn_https_hardening_on_and_read_the_proxy_header():
    result = _production_settings(SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[31536000, ["HTTP_X_FORWARDED_PROTO", "https"], true, true, false]'
    debug = _production_settings(DEBUG="true")
    assert debug.stdout.strip() == "[0, null, false, false, false]"
    bad = _production_settings(SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO")
    assert bad.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER" in bad.stderr


# --- rate limits ---------------------------------------------------------------------


def test_jwks_is_not_in_the_auth_bucket(anon_client, settings):
    settings.RATE_LIMIT_AUTH = 2
    settings.RATE_LIMIT_GENERAL = 50
    for _ in range(5):
        response = anon_client.get(JWKS)
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == "50"
    # ... and fetching it spent none of the sign-in budget.
    refresh = anon_client.post("/api/v1/auth/refresh", {"refresh_token": "nope"}, format="json")
    assert refresh.status_code == 401
    assert refresh["X-RateLimit-Limit"] == "2"
    assert refresh["X-RateLimit-Remaining"] == "1"


@pytest.fixture
def staff(make_user):
    user = make_user(email="staff@example.com", is_staff=True, is_superuser=True)
    user.set_password("correct horse")
    user.save()
    return user


def login(password: str, *, username: str = "staff@example.com", ip: str = "10.1.1.1"):
    return APIClient().post("/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_failed_admin_logins_are_throttled_per_ip_and_per_username(staff, settings):
    settings.ADMIN_LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        assert login("wrong").status_code == 200  # the form again, with its error
    blocked = login("correct horse")
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) >= 1
    # The same username from elsewhere is blocked too; another username from elsewhere is not.
    assert login("correct horse", ip="10.2.2.2").status_code == 429
    assert login("wrong", username="other@example.com", ip="10.3.3.3").status_code == 200


def test_successful_admin_logins_are_never_counted(staff, settings):
    settings.ADMIN_LOGIN_MAX_FAILURES = 2
    for _ in range(4):
        assert login("correct horse").status_code == 302
    assert login("wrong").status_code == 200
