"""Health probes (CONTRACT §15)."""

import logging
import socket
import threading
import time

import pytest
from django.db import connections
from django.db.utils import load_backend

from perpetua.api import health

pytestmark = pytest.mark.urls("perpetua.tests.urls")


@pytest.mark.django_db
def test_live_touches_nothing(anon_client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = anon_client.get("/api/v1/health/live", HTTP_AUTHORIZATION="Bearer garbage")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_when_everything_answers(anon_client):
    response = anon_client.get("/api/v1/health/ready")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {
        "database": {"status": "ok"},
        "cache": {"status": "ok"},
        "channel_layer": {"status": "ok"},
    }


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_ready_is_503_when_the_database_is_unreachable(anon_client, monkeypatch):
    settings_dict = {
        **connections["default"].settings_dict,
        "HOST": "127.0.0.1",
        "PORT": _closed_port(),
        "OPTIONS": {"connect_timeout": 1},  # no pool: a plain connection attempt
    }

    def with_unreachable():
        # Built in the probe's thread, as a dynamically created connection (an alias
        # Django's test case does not manage), pointing at a port nobody listens on.
        unreachable = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "unreachable")
        return [*original(), unreachable]

    original = health.database_connections
    monkeypatch.setattr(health, "database_connections", with_unreachable)
    response = anon_client.get("/api/v1/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"] == {"status": "error", "error": "OperationalError"}
    assert body["checks"]["cache"] == {"status": "ok"}
    assert str(settings_dict["PORT"]) not in response.content.decode()


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers (a hung Redis)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                accepted.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()  # the hung client now gets EOF and its probe thread ends
    server.close()
    deadline = time.monotonic() + 5
    while health._inflight and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.django_db
def test_ready_answers_degraded_within_the_bound_when_the_cache_hangs(anon_client, settings, silent_server):
    # A bound a healthy database check meets even on a loaded CI machine (a fresh connection
    # in the check's thread); the hanging cache never answers, whatever the bound.
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 1.5
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{silent_server}/0",
        }
    }
    started = time.monotonic()
    response = anon_client.get("/api/v1/health/ready")
    elapsed = time.monotonic() - started
    assert response.status_code == 200  # the API still answers without its cache: stay in rotation
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["cache"] == {"status": "timeout"}
    assert response.json()["checks"]["database"] == {"status": "ok"}
    assert elapsed < 3.0
    # While the first probe still hangs, the next one answers at once, without a new thread.
    started = time.monotonic()
    again = anon_client.get("/api/v1/health/ready")
    assert again.json()["checks"]["cache"] == {"status": "timeout"}
    assert time.monotonic() - started < 1.0


def _probe_concurrently(count: int, *, stagger: float = 0.0) -> list:
    """`count` anonymous probes from their own threads (and clients), started `stagger` s apart."""
    from django.test import Client

    responses: list = [None] * count

    def probe(index: int) -> None:
        responses[index] = Client().get("/api/v1/health/ready")

    threads = [threading.Thread(target=probe, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
        time.sleep(stagger)
    for thread in threads:
        thread.join(10)
    return responses


@pytest.fixture
def counted_database_check(monkeypatch):
    """The real database check against PostgreSQL, slowed a little and counted."""
    calls = []
    original = health.CHECKS["database"]

    def check():
        calls.append(time.monotonic())
        time.sleep(0.3)  # a healthy but not instant database: probes overlap its run
        original()

    monkeypatch.setitem(health.CHECKS, "database", check)
    return calls


@pytest.mark.django_db(transaction=True)
def test_concurrent_probes_share_one_run_and_all_see_ready(counted_database_check):
    responses = _probe_concurrently(30)
    assert [r.status_code for r in responses] == [200] * 30
    assert all(r.json()["checks"]["database"] == {"status": "ok"} for r in responses)
    assert len(counted_database_check) == 1


@pytest.mark.django_db(transaction=True)
def test_probes_arriving_during_a_run_wait_for_it_instead_of_reporting_a_timeout(counted_database_check):
    responses = _probe_concurrently(10, stagger=0.02)  # each arrives while the first run is in flight
    assert [r.status_code for r in responses] == [200] * 10
    assert len(counted_database_check) == 1


@pytest.mark.django_db(transaction=True)
def test_a_result_is_reused_for_the_cache_interval_then_checked_again(counted_database_check, settings):
    settings.HEALTH_CHECK_CACHE_SECONDS = 0.5
    for _ in range(5):
        assert _probe_concurrently(1)[0].status_code == 200
    assert len(counted_database_check) == 1
    time.sleep(0.6)
    assert _probe_concurrently(1)[0].status_code == 200
    assert len(counted_database_check) == 2


@pytest.mark.django_db(transaction=True)
def test_a_really_failing_dependency_is_503_for_every_probe_with_one_warning_and_no_error(monkeypatch, caplog):
    def failing():
        raise ConnectionError("postgres://10.0.0.7:5432 refused")

    monkeypatch.setitem(health.CHECKS, "database", failing)
    with caplog.at_level(logging.INFO):
        responses = _probe_concurrently(20)
    assert [r.status_code for r in responses] == [503] * 20
    assert all(r.json()["checks"]["database"] == {"status": "error", "error": "ConnectionError"} for r in responses)
    assert "10.0.0.7" not in responses[0].content.decode()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len([r for r in caplog.records if r.name == "perpetua.health" and r.levelno == logging.WARNING]) == 1
