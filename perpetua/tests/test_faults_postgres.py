"""Fault: PostgreSQL goes down under load and comes back (issue 13, "Faults, tested").

The production server (`python -m perpetua.server`, DEBUG off, pooled connections) runs
against a cluster of this test's own, under a steady load of reads and keyed writes from
a few threads. The cluster is stopped (`pg_ctl stop -m immediate`: a crash, every
connection dropped) and started again. While it is down every request answers 503
SERVICE_UNAVAILABLE in the contract's error shape within a bound and `/health/ready`
says the database is down; afterwards the same server process answers again, no write
is half-done or doubled, and every failed write can be retried with its own
Idempotency-Key.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest
from django.conf import settings

from accounts.tokens import access_token_for
from perpetua.tests.faults import PostgresCluster, production_env, request, start_server, wait_until

# The user is committed so that the copy of the test database carries it.
pytestmark = pytest.mark.django_db(transaction=True)

POOL_TIMEOUT = 1.5  # DATABASE_POOL_TIMEOUT of the server under test
IN_FLIGHT_TIMEOUT = 2  # IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS
ANSWER_BOUND = POOL_TIMEOUT + 8  # no request may take longer, database up or down (a loaded CI machine)


@dataclass
class Call:
    kind: str  # "read" or "write"
    started: float
    seconds: float
    status: int
    body: object
    title: str = ""
    key: str = ""


@pytest.fixture
def cluster():
    pg = PostgresCluster()
    pg.create()
    yield pg
    pg.destroy()


@pytest.fixture
def server(cluster, user, tmp_path):
    cluster.copy_database(settings.DATABASES["default"])
    env = production_env(
        DATABASE_URL=cluster.url,
        DATABASE_POOL_MIN_SIZE="2",
        DATABASE_POOL_MAX_SIZE="6",
        DATABASE_POOL_TIMEOUT=str(POOL_TIMEOUT),
        DATABASE_POOL_RECONNECT_TIMEOUT="5",
        DATABASE_CONNECT_TIMEOUT="2",
        IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS=str(IN_FLIGHT_TIMEOUT),
        HEALTH_CHECK_CACHE_SECONDS="0",
        HTTP_THREADS="6",
    )
    process, port = start_server(env, tmp_path / "server.log")
    yield port, {"Authorization": f"Bearer {access_token_for(user=user)}"}
    process.kill()


def _load(port, auth, calls, stop, lock):
    """Alternate a list read and a keyed task creation until `stop` is set."""
    while not stop.is_set():
        for kind in ("read", "write"):
            started = time.monotonic()
            title = key = ""
            if kind == "read":
                status, body, _ = request(port, "GET", "/api/v1/tasks?limit=5", headers=auth)
            else:
                title, key = f"load-{uuid.uuid4().hex[:12]}", str(uuid.uuid4())
                status, body, _ = request(
                    port, "POST", "/api/v1/tasks", {"title": title}, headers={**auth, "Idempotency-Key": key}
                )
            with lock:
                calls.append(Call(kind, started, time.monotonic() - started, status, body, title, key))


def _is_database_unavailable(call: Call) -> bool:
    error = call.body.get("error", {}) if isinstance(call.body, dict) else {}
    return call.status == 503 and error.get("code") == "SERVICE_UNAVAILABLE" and bool(error.get("request_id"))


def test_postgres_restart_under_load_answers_503_then_recovers_without_partial_writes(cluster, server):
    port, auth = server
    calls: list[Call] = []
    stop, lock = threading.Event(), threading.Lock()
    threads = [threading.Thread(target=_load, args=(port, auth, calls, stop, lock), daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: sum(c.status == 201 for c in calls) >= 6, timeout=20, what="writes before the fault")

        cluster.stop("immediate")
        down_at = time.monotonic()
        time.sleep(POOL_TIMEOUT * 2.5)
        ready_status, ready, _ = request(port, "GET", "/api/v1/health/ready")
        cluster.start()
        up_at = time.monotonic()

        # The same server process answers again, without a restart, within a bound.
        def recovered():
            return request(port, "GET", "/api/v1/tasks?limit=1", headers=auth)[0] == 200

        wait_until(recovered, timeout=15, what="the server to use PostgreSQL again", every=0.2)
        recovered_at = time.monotonic()
        time.sleep(1.0)  # more load on the recovered server
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)

    assert ready_status == 503
    assert ready["status"] == "error" and ready["checks"]["database"]["status"] in {"error", "timeout"}

    # Every answer is a success or the contract's 503: never a 500, a hang or a dropped connection.
    unexpected = [c for c in calls if c.status not in (200, 201) and not _is_database_unavailable(c)]
    assert unexpected == []
    assert max(c.seconds for c in calls) < ANSWER_BOUND
    # While PostgreSQL was down (with a margin for requests already past the database) nothing succeeded.
    during = [c for c in calls if down_at + 0.5 < c.started and c.started + c.seconds < up_at]
    assert during and all(_is_database_unavailable(c) for c in during)
    # Once one request succeeded again, all did.
    after = [c for c in calls if c.started > recovered_at]
    assert after and all(c.status in (200, 201) for c in after)

    # No partial write: every acknowledged task exists once, with its activity entry.
    writes = [c for c in calls if c.kind == "write"]
    titles = Counter(row[0] for row in cluster.query("SELECT title FROM tasks_task"))
    assert all(titles[c.title] == 1 for c in writes if c.status == 201)
    orphans = cluster.query(
        "SELECT t.title FROM tasks_task t LEFT JOIN recovery_activityentry a"
        " ON a.entity_id = t.id AND a.entity_type = 'task' AND a.action = 'created' WHERE a.id IS NULL"
    )
    assert orphans == []

    # Every failed write, retried with its own key, is done once: either at once, or after a clear
    # 409 CONFLICT while its key is still recorded as in flight by the request that lost the database.
    failed = [c for c in writes if c.status != 201]
    assert failed

    def retry(call):
        headers = {**auth, "Idempotency-Key": call.key}
        return request(port, "POST", "/api/v1/tasks", {"title": call.title}, headers=headers)

    in_flight = []
    for call in failed:
        status, body, headers = retry(call)
        if status == 409:
            assert body["error"]["code"] == "CONFLICT"
            assert 1 <= int(headers["retry-after"]) <= IN_FLIGHT_TIMEOUT
            in_flight.append(call)
        else:
            assert status == 201, body
    time.sleep(IN_FLIGHT_TIMEOUT + 0.2)
    assert [retry(call)[0] for call in in_flight] == [201] * len(in_flight)
    titles = Counter(row[0] for row in cluster.query("SELECT title FROM tasks_task"))
    assert all(titles[c.title] == 1 for c in writes)
    # No key of a failed write is left in flight. A 201 whose key could not be marked complete
    # (the database went away between the write's COMMIT and that UPDATE) keeps its key in
    # flight until IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS (README, Faults): only those may remain.
    left = {row[0] for row in cluster.query("SELECT key::text FROM api_idempotencykey WHERE state <> 'complete'")}
    assert left <= {c.key for c in writes if c.status == 201}
