"""Scale-out: two production server processes and two job workers sharing PostgreSQL and Redis.

Started once for the module as real OS processes, exactly as the README's Production
section runs them (`python -m perpetua.server`, `manage.py run_worker`, DEBUG off,
REDIS_URL for the cache, the rate-limit counters, the auth cache and the channel layer),
all on this test's database. The tests talk to the two servers (A and B) over real
HTTP and check what a client would see: one rate limit, one idempotent effect, one
reminder notification, one logout, whichever process answers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult
from model_bakery import baker

from accounts.models import User
from accounts.services import session_start
from accounts.tokens import access_token_for
from billing.services import subscription_grant_pro
from notifications.models import Notification
from perpetua.tests.processes import ROOT, production_env, start_server, start_worker, stop
from tasks.models import Reminder, Task

# One set of processes for the module, shared by its tests: conftest.py's ONE_WORKER_MODULES
# keeps them on one xdist worker.
pytestmark = pytest.mark.django_db(transaction=True)

RATE_LIMIT = 40  # RATE_LIMIT_GENERAL of the servers, per user and minute
ME = "/api/v1/users/me"
FIRE_JOB = "tasks.services.reminders.reminders_fire_due_job"

# What the servers' environment makes of itself: the backends REDIS_URL selects, and the
# system checks (django-ratelimit's refuse a cache that processes do not share).
_REPORT = """
import json
from django.conf import settings
from django.core import checks
print(json.dumps({
    "cache": settings.CACHES["default"]["BACKEND"],
    "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "auth_cache_seconds": settings.AUTH_CACHE_SECONDS,
    "check_errors": [str(m) for m in checks.run_checks() if m.level >= checks.ERROR and not m.is_silenced()],
}))
"""


@dataclass
class Cluster:
    a: httpx.Client  # server process A
    b: httpx.Client  # server process B
    redis_url: str
    report: dict  # what a process with the servers' environment says of its settings


@pytest.fixture(scope="module")
def cluster(django_db_setup, redis_url, tmp_path_factory):
    env = production_env(redis_url=redis_url, RATE_LIMIT_GENERAL=str(RATE_LIMIT))
    logs = tmp_path_factory.mktemp("scale-out")
    servers = [start_server(name=name, env=env, log_dir=logs) for name in ("a", "b")]
    workers = [start_worker(name=name, env=env, log_dir=logs) for name in ("w1", "w2")]
    try:
        report = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", _REPORT], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert report.returncode == 0, report.stderr[-3000:]
        for server in servers:
            server.wait_until_listening()
        with (
            httpx.Client(base_url=servers[0].url, timeout=60) as a,
            httpx.Client(base_url=servers[1].url, timeout=60) as b,
        ):
            for client in (a, b):  # the first request loads the application
                assert client.get("/api/v1/health/live").status_code == 200
            yield Cluster(a=a, b=b, redis_url=redis_url, report=json.loads(report.stdout.splitlines()[-1]))
    finally:
        stop([*workers, *servers])
    for process in [*workers, *servers]:
        assert "Traceback" not in process.output(), f"{process.name}:\n{process.output()[-3000:]}"


@pytest.fixture(autouse=True)
def _fresh_redis(cluster):
    """Rate-limit counters and cached sessions of an earlier test do not leak into the next."""
    redis.Redis.from_url(cluster.redis_url).flushall()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def in_a_fresh_window(make_user, cluster) -> tuple[User, dict[str, str]]:
    """A user whose one-minute rate-limit window has at least 40 s left (each key has its own
    window offset), after one counted request: the requests that follow fall in that window."""
    while True:
        user = make_user()
        headers = bearer(access_token_for(user=user))
        reset = int(cluster.a.get(ME, headers=headers).headers["X-RateLimit-Reset"])
        if reset - time.time() >= 40:
            return user, headers


def assert_rate_limited(response: httpx.Response) -> None:
    """A 429 in the contract's shape (§0): code, retry_after, Retry-After and the limit headers."""
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "RATE_LIMIT_EXCEEDED"
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert 1 <= error["retry_after"] <= 60
    assert int(response.headers["Retry-After"]) == error["retry_after"]
    assert response.headers["X-RateLimit-Limit"] == str(RATE_LIMIT)
    assert response.headers["X-RateLimit-Remaining"] == "0"


# --- the environment ------------------------------------------------------------------------


def test_redis_url_moves_cache_channels_and_auth_cache_to_redis_and_both_servers_are_ready(cluster):
    assert cluster.report == {
        "cache": "perpetua.api.cache.RedisCache",  # Django's, one redis-py client per pool
        "channel_layer": "channels_redis.core.RedisChannelLayer",
        "auth_cache_seconds": 60,
        "check_errors": [],  # django-ratelimit's shared-cache checks pass: not silenced with Redis
    }
    for server in (cluster.a, cluster.b):
        for _ in range(5):  # each check is bounded to 2 s, which a busy machine may miss once
            response = server.get("/api/v1/health/ready")
            if response.status_code == 200:
                break
            time.sleep(1)  # a result is reused for a second
        assert response.status_code == 200, response.text
        assert response.json()["checks"] == {name: {"status": "ok"} for name in ("database", "cache", "channel_layer")}


# --- 1. one rate limit ----------------------------------------------------------------------


def test_a_rate_limit_counts_requests_to_both_processes_in_one_bucket(cluster, make_user):
    _user, headers = in_a_fresh_window(make_user, cluster)  # one request counted on A

    responses = [(cluster.a, cluster.b)[i % 2].get(ME, headers=headers) for i in range(RATE_LIMIT + 2)]

    assert [r.status_code for r in responses] == [200] * (RATE_LIMIT - 1) + [429] * 3
    # Each answer counts down from where the other process left off.
    remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in responses[: RATE_LIMIT - 1]]
    assert remaining == list(range(RATE_LIMIT - 2, -1, -1))
    assert len({r.headers["X-RateLimit-Reset"] for r in responses}) == 1  # one window
    for response in responses[RATE_LIMIT - 1 :]:
        assert_rate_limited(response)


def test_a_burst_split_between_the_processes_passes_exactly_the_limit(cluster, make_user, concurrently):
    _user, headers = in_a_fresh_window(make_user, cluster)
    burst = RATE_LIMIT + 20

    responses = concurrently(burst, lambda i: (cluster.a, cluster.b)[i % 2].get(ME, headers=headers))

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: RATE_LIMIT - 1, 429: burst - RATE_LIMIT + 1}, statuses
    for response in responses:
        if response.status_code == 429:
            assert_rate_limited(response)


# --- 2. one idempotent effect ----------------------------------------------------------------


def test_an_idempotency_key_used_on_one_process_replays_on_the_other(cluster, user):
    headers = bearer(access_token_for(user=user))
    key = str(uuid.uuid4())
    body = {"title": "Buy milk"}

    first = cluster.a.post("/api/v1/tasks", json=body, headers={**headers, "Idempotency-Key": key})
    replay = cluster.b.post("/api/v1/tasks", json=body, headers={**headers, "Idempotency-Key": key})
    other_body = cluster.b.post("/api/v1/tasks", json={"title": "Other"}, headers={**headers, "Idempotency-Key": key})

    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    assert (replay.status_code, replay.headers["Idempotent-Replayed"]) == (201, "true")
    assert replay.json() == first.json()
    assert (other_body.status_code, other_body.json()["error"]["code"]) == (409, "CONFLICT")
    assert list(Task.objects.filter(user=user).values_list("pk", "title")) == [
        (uuid.UUID(first.json()["data"]["id"]), "Buy milk")
    ]


def test_one_key_raced_on_both_processes_has_one_effect(cluster, user, concurrently):
    headers = bearer(access_token_for(user=user))
    for round_ in range(5):  # a few rounds: the outcome must not depend on which one wins
        key, body = str(uuid.uuid4()), {"title": f"race {round_}"}
        responses = concurrently(
            2,
            lambda i: (cluster.a, cluster.b)[i].post(
                "/api/v1/tasks", json=body, headers={**headers, "Idempotency-Key": key}
            ),
        )

        assert Task.objects.filter(user=user, title=body["title"]).count() == 1
        executed = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r.headers]
        assert len(executed) == 1, [(r.status_code, r.text) for r in responses]
        other = next(r for r in responses if r is not executed[0])
        if other.status_code == 409:  # arrived while the first was still running
            assert other.json()["error"]["code"] == "CONFLICT"
        else:  # arrived after it: the stored response
            assert (other.status_code, other.headers["Idempotent-Replayed"]) == (201, "true")
            assert other.json() == executed[0].json()


# --- 3. one reminder notification ------------------------------------------------------------


def test_reminders_due_at_once_fire_exactly_once_across_the_two_workers(cluster, user):
    """Each reminder created through A or B schedules a firing job at its time; when that
    time comes the two workers take those jobs at the same moment and race for the same rows."""
    headers = bearer(access_token_for(user=user))
    tasks = baker.make(Task, user=user, title="due", _quantity=24, _bulk_create=True)
    in_an_hour = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    for i, task in enumerate(tasks):
        response = (cluster.a, cluster.b)[i % 2].post(
            f"/api/v1/tasks/{task.pk}/reminders", json={"type": "absolute", "scheduled_at": in_an_hour}, headers=headers
        )
        assert response.status_code == 201, response.text
    jobs = DBTaskResult.objects.filter(task_path=FIRE_JOB)
    assert jobs.count() == len(tasks)  # one per write, in its transaction
    assert not jobs.exclude(status="READY").exists()  # not due yet: no worker took one

    with transaction.atomic():  # the hour passes: every reminder and its job due at once
        now = datetime.now(UTC)
        Reminder.objects.filter(user=user).update(scheduled_at=now)
        jobs.update(run_after=now)

    deadline = time.monotonic() + 30
    while jobs.exclude(status="SUCCESSFUL").exists():
        assert time.monotonic() < deadline, list(jobs.values_list("status", "worker_ids"))
        time.sleep(0.1)

    per_task = Counter(Notification.objects.filter(user=user, type="reminder").values_list("task_id", flat=True))
    assert per_task == {task.pk: 1 for task in tasks}
    assert not Reminder.objects.filter(user=user, fired=False).exists()
    assert {w for ids in jobs.values_list("worker_ids", flat=True) for w in ids} <= {"w1", "w2"}
    assert cluster.a.get("/api/v1/notifications", headers=headers).json()["unread_count"] == len(tasks)


# --- 4. one logout ----------------------------------------------------------------------------


def test_a_session_cached_by_both_processes_ends_on_both_at_once(cluster, make_user, settings):
    user = make_user(name="Ada")
    settings.CACHES = {"default": {"BACKEND": "perpetua.api.cache.RedisCache", "LOCATION": cluster.redis_url}}
    settings.AUTH_CACHE_SECONDS = 60  # this process writes like the servers: it invalidates in Redis
    session = session_start(user=user)
    headers = bearer(session.access_token)
    assert cluster.a.get(ME, headers=headers).json()["data"]["name"] == "Ada"  # A caches the user

    with connection.cursor() as cursor:  # behind the app's back: no invalidation
        cursor.execute("UPDATE accounts_user SET name = 'Changed in SQL' WHERE id = %s", [user.pk])
    assert cluster.b.get(ME, headers=headers).json()["data"]["name"] == "Ada"  # B reads what A cached

    assert cluster.a.patch(ME, json={"name": "Grace"}, headers=headers).status_code == 200
    assert cluster.b.get(ME, headers=headers).json()["data"]["name"] == "Grace"  # seen on B at once

    subscription_grant_pro(user=User.objects.get(pk=user.pk))  # a third process: billing's renewal
    assert cluster.b.get(ME, headers=headers).json()["data"]["tier"] == "pro"

    logout = cluster.a.post("/api/v1/auth/logout", json={"refresh_token": session.refresh_token})
    assert logout.status_code == 200, logout.text

    for server in (cluster.b, cluster.a):
        refused = server.get(ME, headers=headers)
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "UNAUTHORIZED")


def test_refresh_token_reuse_and_account_deletion_on_one_process_are_refused_by_the_other(cluster, user):
    first = session_start(user=user)
    rotated = cluster.a.post("/api/v1/auth/refresh", json={"refresh_token": first.refresh_token})
    assert rotated.status_code == 200, rotated.text
    rotated_headers = bearer(rotated.json()["access_token"])
    for server in (cluster.a, cluster.b):
        assert server.get(ME, headers=bearer(first.access_token)).status_code == 200
        assert server.get(ME, headers=rotated_headers).status_code == 200

    reuse = cluster.b.post("/api/v1/auth/refresh", json={"refresh_token": first.refresh_token})
    assert (reuse.status_code, reuse.json()["error"]["code"]) == (401, "INVALID_REFRESH_TOKEN")
    assert cluster.a.get(ME, headers=bearer(first.access_token)).status_code == 401
    assert cluster.a.get(ME, headers=rotated_headers).status_code == 401

    other = session_start(user=user)
    headers = bearer(other.access_token)
    assert cluster.a.get(ME, headers=headers).status_code == 200
    assert cluster.b.delete(ME, headers=headers).status_code == 200
    refused = cluster.a.get(ME, headers=headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "UNAUTHORIZED")
    assert not User.objects.filter(pk=user.pk).exists()
