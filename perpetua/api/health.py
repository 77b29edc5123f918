"""Liveness and readiness probes (CONTRACT §15).

- `GET /api/v1/health/live` → 200 `{"status": "ok"}`: the process answers; touches nothing.
- `GET /api/v1/health/ready` → `{"status": "ok"|"degraded"|"error", "checks": {name:
  {"status": "ok"|"error"|"timeout", "error"?: <exception class>}}}` for every
  configured database (`SELECT 1`), the cache (set/get) and the channel layer
  (send/receive on a throwaway channel). 503 `error` when the database fails: nothing
  can be served. 200 `degraded` when only the cache or the channel layer (Redis) fails:
  the API still answers every request (rate limits fail open, cache reads fall back to
  the database; live events do not reach other processes), so a load balancer must keep
  the process in rotation — Redis is shared, and a 503 would take every process out at once.

One run of the checks serves every probe of the process: probes arriving while a run
is in flight wait for that run's result (instead of reporting its checks as timeouts),
and a finished run's result is reused for HEALTH_CHECK_CACHE_SECONDS. However many
anonymous clients poll, the dependencies see at most one check per that interval, and
a 503 means a dependency really failed or hung.

Each check runs in its own daemon thread and is bounded by HEALTH_CHECK_TIMEOUT_SECONDS
(all run in parallel, so a run answers within that bound). A check still hanging from
an earlier run is reported as `timeout` at once instead of piling up another thread,
so a dependency that never answers costs at most one thread per check. Errors name
only the exception class: the probe is public and must not leak hosts. A failing run
logs one WARNING (not one ERROR per probe).

No authentication, no envelope, exempt from rate limiting, not in the idempotency path.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import caches
from django.db import connections
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from perpetua.api.serializers import CharField, ChoiceField

logger = logging.getLogger("perpetua.health")

Results = dict[str, dict[str, str]]


@dataclass
class _Run:
    """One execution of the checks, shared by every probe that arrives while it runs."""

    deadline: float
    results: Results = field(default_factory=dict)
    pending: int = 0
    done: threading.Event = field(default_factory=threading.Event)


_inflight: dict[str, threading.Thread] = {}  # check name → its thread, until that check returns
_inflight_lock = threading.Lock()  # guards _inflight, _current, _last and every _Run
_current: _Run | None = None
_last: tuple[float, Results] | None = None  # (monotonic time it finished, results)


def forget_results() -> None:
    """Drop the reused result, so the next probe runs the checks (tests, settings changes)."""
    global _last
    with _inflight_lock:
        _last = None


def database_connections() -> list[Any]:
    """The connections the probe checks: every configured alias, in the calling thread."""
    return [connections[alias] for alias in connections]


def check_databases() -> None:
    for conn in database_connections():
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        finally:
            conn.close()  # back to the pool; this thread is short-lived


def check_cache() -> None:
    cache = caches["default"]
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    try:
        if cache.get(key) != "1":
            raise RuntimeError("cache read back a different value")
    finally:
        cache.delete(key)


def check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS

    async def roundtrip() -> None:
        channel = await layer.new_channel("health.")
        await layer.send(channel, {"type": "health.ping"})
        message = await asyncio.wait_for(layer.receive(channel), timeout=timeout)
        if message.get("type") != "health.ping":
            raise RuntimeError("channel layer returned another message")

    async_to_sync(roundtrip)()


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_databases,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
}


def _run_check(name: str, check: Callable[[], None], run: _Run) -> None:
    try:
        check()
    except Exception as exc:  # any failure: the dependency is not ready
        result = {"status": "error", "error": type(exc).__name__}
    else:
        result = {"status": "ok"}
    with _inflight_lock:
        if _inflight.get(name) is threading.current_thread():
            del _inflight[name]
        run.results.setdefault(name, result)  # after the deadline the run already said `timeout`
        run.pending -= 1
        if run.pending == 0:
            run.done.set()


def _start_run(timeout: float) -> _Run:
    """Start a thread per check (caller holds _inflight_lock); hung checks are timeouts at once."""
    run = _Run(deadline=time.monotonic() + timeout)
    threads = []
    for name, check in CHECKS.items():
        if name in _inflight:  # an earlier run of this check never came back
            run.results[name] = {"status": "timeout"}
            continue
        thread = threading.Thread(target=_run_check, args=(name, check, run), name=f"health-{name}", daemon=True)
        _inflight[name] = thread
        threads.append(thread)
    run.pending = len(threads)
    if not threads:
        run.done.set()
    for thread in threads:
        thread.start()
    return run


def run_checks(timeout: float | None = None) -> Results:
    """The checks' results: a recent run's, the one in flight, or a new run's."""
    global _current, _last
    timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS if timeout is None else timeout
    with _inflight_lock:
        if _last is not None and time.monotonic() - _last[0] < settings.HEALTH_CHECK_CACHE_SECONDS:
            return _last[1]
        run = _current
        if run is None:
            run = _current = _start_run(timeout)
    run.done.wait(max(0.0, run.deadline - time.monotonic()))
    with _inflight_lock:
        for name in CHECKS:
            run.results.setdefault(name, {"status": "timeout"})
        results = {name: run.results[name] for name in CHECKS}
        if _current is not run:
            return results  # another waiter of this run already published it
        _current = None
        _last = (time.monotonic(), results)
    failing = {name: result for name, result in results.items() if result["status"] != "ok"}
    if failing:
        logger.warning("readiness checks failing: %s", failing)
    return results


_CHECK = inline_serializer(
    "HealthCheck",
    fields={
        "status": ChoiceField(choices=["ok", "error", "timeout"]),
        "error": CharField(required=False),
    },
)
_READY = inline_serializer(
    "Readiness",
    fields={
        "status": ChoiceField(choices=["ok", "degraded", "error"]),
        "checks": serializers.DictField(child=_CHECK),
    },
)


class _ProbeView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []


class LiveView(_ProbeView):
    @extend_schema(
        tags=["health"],
        summary="Liveness probe",
        responses={200: inline_serializer("Liveness", fields={"status": CharField()})},
    )
    def get(self, request: Any) -> Response:
        return Response({"status": "ok"})


class ReadyView(_ProbeView):
    @extend_schema(
        tags=["health"],
        summary="Readiness probe: database, cache and channel layer",
        responses={
            200: OpenApiResponse(_READY, description="`ok`, or `degraded`: the cache or channel layer is failing."),
            503: OpenApiResponse(_READY, description="The database is failing."),
        },
    )
    def get(self, request: Any) -> Response:
        checks = run_checks()
        failing = {name for name, result in checks.items() if result["status"] != "ok"}
        if "database" in failing:
            status, code = "error", 503
        else:
            status, code = ("degraded" if failing else "ok"), 200
        response = Response({"status": status, "checks": checks}, status=code)
        # A failing run logged one WARNING; Django would add an ERROR for every probe's 503.
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response
