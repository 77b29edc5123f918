"""Rate limits (CONTRACT §0): buckets, headers, 429 shape, exemptions."""

import os
import subprocess
import sys
import time

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

pytestmark = [pytest.mark.urls("perpetua.tests.urls"), pytest.mark.django_db]


@pytest.fixture
def limits(settings):
    # Windows are fixed minutes: a test that straddles a minute boundary would see its counter reset.
    if (into := time.time() % 60) > 55:
        time.sleep(60.05 - into)
    settings.RATE_LIMIT_GENERAL = 3
    settings.RATE_LIMIT_AI = 2
    settings.RATE_LIMIT_AUTH = 2
    return settings


def headers(response):
    return (
        int(response["X-RateLimit-Limit"]),
        int(response["X-RateLimit-Remaining"]),
        int(response["X-RateLimit-Reset"]),
    )


def test_headers_count_each_request_once_then_429(api, limits):
    now = int(time.time())
    remaining = []
    for _ in range(3):
        response = api.get("/api/v1/echo")
        assert response.status_code == 200
        limit, left, reset = headers(response)
        assert limit == 3
        assert now <= reset <= now + 61
        remaining.append(left)
    assert remaining == [2, 1, 0]

    response = api.get("/api/v1/echo")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "RATE_LIMIT_EXCEEDED"
    assert isinstance(error["retry_after"], int) and 1 <= error["retry_after"] <= 61
    assert int(response["Retry-After"]) == error["retry_after"]
    assert error["request_id"] == response["X-Request-ID"]
    assert headers(response)[:2] == (3, 0)


def test_rate_limited_request_runs_nothing(api, limits):
    for _ in range(3):
        api.post("/api/v1/echo", {"title": "x"}, format="json")
    assert api.post("/api/v1/echo", {"title": "x"}, format="json").status_code == 429
    assert Group.objects.count() == 3


def test_buckets_are_independent(api, limits):
    for _ in range(2):
        assert api.post("/api/v1/ai/echo", {}, format="json", HTTP_IDEMPOTENCY_KEY=_uuid()).status_code == 200
    limited = api.post("/api/v1/ai/echo", {}, format="json", HTTP_IDEMPOTENCY_KEY=_uuid())
    assert limited.status_code == 429
    assert headers(limited)[0] == 2
    general = api.get("/api/v1/echo")
    assert general.status_code == 200
    assert headers(general)[:2] == (3, 2)


def test_general_bucket_is_per_user(client_for, make_user, limits):
    alice, bob = client_for(make_user()), client_for(make_user())
    for _ in range(3):
        alice.get("/api/v1/echo")
    assert alice.get("/api/v1/echo").status_code == 429
    assert bob.get("/api/v1/echo").status_code == 200


def test_auth_bucket_is_per_client_ip(limits, client_for, user):
    first_ip = APIClient(REMOTE_ADDR="203.0.113.1")
    for _ in range(2):
        assert first_ip.post("/api/v1/auth/ping", {}, format="json").status_code == 200
    assert first_ip.post("/api/v1/auth/ping", {}, format="json").status_code == 429
    # Same IP, now signed in: still the auth bucket of that IP.
    signed_in = client_for(user)
    signed_in.defaults["REMOTE_ADDR"] = "203.0.113.1"
    assert signed_in.post("/api/v1/auth/ping", {}, format="json").status_code == 429
    other_ip = APIClient(REMOTE_ADDR="203.0.113.2")
    assert other_ip.post("/api/v1/auth/ping", {}, format="json").status_code == 200
    # The auth bucket did not touch the general one.
    assert headers(signed_in.get("/api/v1/echo"))[:2] == (3, 2)


def test_zero_disables_a_bucket(api, settings):
    settings.RATE_LIMIT_GENERAL = 0
    for _ in range(5):
        response = api.get("/api/v1/echo")
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response


def test_requests_that_never_reach_a_throttle_count_per_ip(limits):
    anonymous = APIClient(REMOTE_ADDR="198.51.100.7")
    unknown = anonymous.get("/api/v1/no-such-endpoint")
    assert unknown.status_code == 404
    assert headers(unknown)[:2] == (3, 2)
    unauthenticated = anonymous.get("/api/v1/echo")  # 401 before DRF's throttling
    assert unauthenticated.status_code == 401
    assert headers(unauthenticated)[:2] == (3, 1)
    assert anonymous.get("/api/v1/no-such-endpoint").status_code == 404
    limited = anonymous.get("/api/v1/echo")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert "Retry-After" in limited


def test_plain_django_view_is_counted_before_it_runs(limits):
    anonymous = APIClient(REMOTE_ADDR="198.51.100.8")
    for expected_left in (2, 1, 0):
        response = anonymous.get("/api/v1/plain")
        assert response.status_code == 200
        assert headers(response)[1] == expected_left
    assert anonymous.get("/api/v1/plain").status_code == 429
    assert Group.objects.filter(name__startswith="plain-").count() == 3


def test_health_and_metrics_are_exempt(limits, anon_client, settings):
    settings.METRICS_TOKEN = "t0ken"
    for _ in range(5):
        response = anon_client.get("/api/v1/health/live")
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response
        metrics = anon_client.get("/metrics", HTTP_AUTHORIZATION="Bearer t0ken")
        assert metrics.status_code == 200
        assert "X-RateLimit-Limit" not in metrics
    # ...and they consumed nothing from the IP's general bucket.
    assert headers(anon_client.get("/api/v1/nothing-here"))[1] == 2


def test_429_keeps_cors_headers(limits, anon_client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    for _ in range(3):
        anon_client.get("/api/v1/unknown", HTTP_ORIGIN="https://app.example.com")
    limited = anon_client.get("/api/v1/unknown", HTTP_ORIGIN="https://app.example.com")
    assert limited.status_code == 429
    assert limited["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_cors_preflights_are_not_counted(limits, anon_client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    for _ in range(5):
        preflight = anon_client.options(
            "/api/v1/echo", HTTP_ORIGIN="https://app.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
        )
        assert preflight.status_code == 200
    assert headers(anon_client.get("/api/v1/unknown"))[1] == 2


def _uuid():
    import uuid

    return str(uuid.uuid4())


def _auth_pings(count, **client_kwargs):
    client = APIClient(**client_kwargs)
    return [client.post("/api/v1/auth/ping", {}, format="json").status_code for _ in range(count)]


@pytest.fixture
def behind_one_proxy(limits):
    limits.RATELIMIT_CLIENT_IP_META_KEY = "HTTP_X_FORWARDED_FOR"
    limits.RATELIMIT_TRUSTED_PROXIES = 1  # our proxy appends the address it saw
    return limits


def test_a_forged_forwarded_for_entry_does_not_open_a_new_bucket(behind_one_proxy):
    statuses = [
        APIClient(HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 198.51.100.7").post("/api/v1/auth/ping", {}, format="json")
        for n in range(3)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    other = APIClient(HTTP_X_FORWARDED_FOR="10.0.0.1, 198.51.100.8").post("/api/v1/auth/ping", {}, format="json")
    assert other.status_code == 200


def test_with_two_trusted_proxies_the_second_entry_from_the_right_counts(behind_one_proxy):
    behind_one_proxy.RATELIMIT_TRUSTED_PROXIES = 2
    assert _auth_pings(2, HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.20, 10.0.0.1") == [200, 200]
    # Another forged prefix and another inner proxy hop: the same client, the same bucket.
    assert _auth_pings(1, HTTP_X_FORWARDED_FOR="203.0.113.50, 198.51.100.20, 10.0.0.2") == [429]
    assert _auth_pings(1, HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.21, 10.0.0.1") == [200]


def test_a_request_that_bypassed_the_proxy_counts_its_peer_address(behind_one_proxy):
    assert _auth_pings(3, REMOTE_ADDR="198.51.100.30") == [200, 200, 429]
    assert _auth_pings(1, REMOTE_ADDR="198.51.100.31") == [200]


@pytest.mark.parametrize(
    ("first", "then", "same_bucket"),
    [
        ("::ffff:1.2.3.4", "1.2.3.4", True),  # IPv4 clients of a dual-stack bind keep their own bucket
        ("1.2.3.4:5555", "1.2.3.4", True),  # a port some proxies add is not part of the client
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::9", True),  # an IPv6 client owns its /64
        ("[2001:db8::1]:443", "2001:db8::2", True),
        ("2001:db8:1:2::1", "2001:db8:1:3::1", False),  # the next /64 is another client
        ("1.2.3.4", "1.2.3.5", False),
    ],
)
def test_client_addresses_are_bucketed_per_client(behind_one_proxy, first, then, same_bucket):
    assert _auth_pings(2, HTTP_X_FORWARDED_FOR=f"10.0.0.1, {first}") == [200, 200]
    assert _auth_pings(1, HTTP_X_FORWARDED_FOR=f"10.0.0.1, {then}") == [429 if same_bucket else 200]


def test_ipv6_peers_are_bucketed_per_64_without_a_proxy(limits):
    assert _auth_pings(2, REMOTE_ADDR="2001:db8:5:6::1") == [200, 200]
    assert _auth_pings(1, REMOTE_ADDR="2001:db8:5:6:ffff::2") == [429]
    assert _auth_pings(1, REMOTE_ADDR="2001:db8:5:7::1") == [200]


def test_the_retired_proxy_setting_name_refuses_to_start():
    """An old deployment's RATELIMIT_IP_META_KEY must not be ignored (every client would share one bucket)."""
    env = {
        **os.environ,
        "RATELIMIT_IP_META_KEY": "HTTP_X_FORWARDED_FOR",
        "DJANGO_SETTINGS_MODULE": "perpetua.settings",
        "TESTING": "true",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "RATELIMIT_CLIENT_IP_META_KEY" in result.stderr
    env["RATELIMIT_IP_META_KEY"] = "REMOTE_ADDR"  # an unchanged copy of the old .env.example still starts
    assert subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env, timeout=60).returncode == 0
