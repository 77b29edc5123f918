"""Fault: Redis goes down and comes back (issue 13, "Faults, tested").

The production server runs with REDIS_URL pointing at a redis-server of this test's own
(cache, rate-limit counters, auth cache, channel layer) and the suite's test database.
The redis-server is killed: rate limiting fails open, reads and writes keep answering
from the database, `/health/ready` answers 200 `degraded` naming the cache and the
channel layer. It is started again (empty, on the same port): the same server process
counts rate limits and caches in it again.
"""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from django.conf import settings

from accounts.tokens import access_token_for
from ai.services.counter import ai_task_request_count
from perpetua.tests.faults import RedisServer, free_port, production_env, request, start_server, wait_until
from tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 5  # RATE_LIMIT_GENERAL of the server under test, per minute


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def api(redis_server, user, tmp_path):
    db = settings.DATABASES["default"]
    env = production_env(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=redis_server.url,
        REDIS_TIMEOUT_SECONDS="1",
        RATE_LIMIT_GENERAL=str(LIMIT),
        HEALTH_CHECK_CACHE_SECONDS="0",
    )
    process, port = start_server(env, tmp_path / "server.log")
    auth = {"Authorization": f"Bearer {access_token_for(user=user)}"}

    def call(method, path, body=None):
        return request(port, method, path, body, headers=auth, timeout=15)

    yield port, call
    process.kill()


def test_redis_down_fails_open_and_the_api_keeps_answering_then_uses_redis_again(redis_server, api, user):
    port, call = api
    store = redis.Redis.from_url(redis_server.url)

    status, _, headers = call("GET", "/api/v1/users/me")
    assert status == 200 and headers["x-ratelimit-remaining"] == str(LIMIT - 1)
    assert store.dbsize() > 0  # counters and the auth cache live in Redis
    assert request(port, "GET", "/api/v1/health/ready")[:2] == (
        200,
        {"status": "ok", "checks": {name: {"status": "ok"} for name in ("database", "cache", "channel_layer")}},
    )

    redis_server.kill()
    answers = []
    for index in range(LIMIT + 3):  # more than the limit: nothing counts them, nothing refuses them
        started = time.monotonic()
        if index % 2:
            answers.append((*call("POST", "/api/v1/tasks", {"title": f"while redis is down {index}"}), started))
        else:
            answers.append((*call("GET", "/api/v1/tasks"), started))
    assert [status for status, *_ in answers] == [200, 201] * ((LIMIT + 3) // 2)
    assert all("x-ratelimit-remaining" not in headers for _, _, headers, _ in answers)  # not counted
    assert Task.objects.filter(user=user, title__startswith="while redis is down").count() == (LIMIT + 3) // 2
    ready_status, ready, _ = request(port, "GET", "/api/v1/health/ready")
    assert ready_status == 200  # the API answers: the process stays in rotation
    assert ready["status"] == "degraded"
    assert ready["checks"]["database"] == {"status": "ok"}
    assert ready["checks"]["cache"]["status"] != "ok" and ready["checks"]["channel_layer"]["status"] != "ok"

    redis_server.start()  # empty: what it counted before is gone

    def counted_again():
        status, _, headers = call("GET", "/api/v1/users/me")
        return status == 200 and headers.get("x-ratelimit-remaining") == str(LIMIT - 1)

    wait_until(counted_again, timeout=10, what="rate limits counted in Redis again", every=0.2)
    assert store.dbsize() > 1  # the counter and the token's cached user and session
    wait_until(
        lambda: request(port, "GET", "/api/v1/health/ready")[1]["status"] == "ok", timeout=10, what="ready to say ok"
    )

    def exhaust():
        answers = [call("GET", "/api/v1/users/me") for _ in range(LIMIT + 1)]
        return [(status, body) for status, body, _ in answers], {h.get("x-ratelimit-reset") for *_, h in answers}

    answers, windows = exhaust()
    if len(windows) > 1:  # a new minute began in between: once more, inside one window
        answers, windows = exhaust()
    assert (429, "RATE_LIMIT_EXCEEDED") in [(s, b["error"]["code"] if s == 429 else "") for s, b in answers]


def test_the_ai_task_counter_fails_open_without_redis(settings):
    """An AI request naming a task is counted in Redis (ai.services.counter); down, it is
    served uncounted (no warning, never a 500), like the rate limits."""
    settings.CACHES = {
        "default": {
            "BACKEND": "perpetua.api.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
            "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
        }
    }
    settings.AI_TASK_MAX_REQUESTS = 1
    assert [ai_task_request_count(sid="s", task_id=uuid.uuid4()) for _ in range(3)] == [False] * 3
