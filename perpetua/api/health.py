"""Liveness and readiness probes (CONTRACT §15).

- `GET /api/v1/health/live` → 200 `{"status": "ok"}`: the process answers; touches nothing.
- `GET /api/v1/health/ready` → 200 or 503 `{"status": "ok"|"error", "checks": {name:
  {"status": "ok"|"error"|"timeout", "error"?: <exception class>}}}` for every
  configured database (`SELECT 1`), the cache (set/get) and the channel layer
  (send/receive on a throwaway channel).

Each check runs in its own daemon thread and is bounded by HEALTH_CHECK_TIMEOUT_SECONDS
(all run in parallel, so the whole probe answers within that bound). A check still
hanging from an earlier probe is reported as `timeout` at once instead of piling up
another thread, so a dependency that never answers costs at most one thread per check.
Errors name only the exception class: the probe is public and must not leak hosts.

No authentication, no envelope, exempt from rate limiting, not in the idempotency path.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
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

_inflight: dict[str, threading.Thread] = {}
_inflight_lock = threading.Lock()


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


def _run_check(name: str, check: Callable[[], None], results: dict[str, dict[str, str]]) -> None:
    try:
        check()
    except Exception as exc:  # any failure: the dependency is not ready
        results[name] = {"status": "error", "error": type(exc).__name__}
    else:
        results[name] = {"status": "ok"}
    finally:
        with _inflight_lock:
            if _inflight.get(name) is threading.current_thread():
                del _inflight[name]


def run_checks(timeout: float | None = None) -> dict[str, dict[str, str]]:
    timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS if timeout is None else timeout
    results: dict[str, dict[str, str]] = {}
    started: list[tuple[str, threading.Thread]] = []
    with _inflight_lock:
        for name, check in CHECKS.items():
            if name in _inflight:  # an earlier probe of this check never came back
                results[name] = {"status": "timeout"}
                continue
            thread = threading.Thread(
                target=_run_check, args=(name, check, results), name=f"health-{name}", daemon=True
            )
            _inflight[name] = thread
            started.append((name, thread))
    for _, thread in started:
        thread.start()
    deadline = time.monotonic() + timeout
    for name, thread in started:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            results.setdefault(name, {"status": "timeout"})
    return {name: results.get(name, {"status": "timeout"}) for name in CHECKS}


_CHECK = inline_serializer(
    "HealthCheck",
    fields={
        "status": serializers.ChoiceField(choices=["ok", "error", "timeout"]),
        "error": serializers.CharField(required=False),
    },
)
_READY = inline_serializer(
    "Readiness",
    fields={
        "status": serializers.ChoiceField(choices=["ok", "error"]),
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
        responses={200: inline_serializer("Liveness", fields={"status": serializers.CharField()})},
    )
    def get(self, request: Any) -> Response:
        return Response({"status": "ok"})


class ReadyView(_ProbeView):
    @extend_schema(
        tags=["health"],
        summary="Readiness probe: database, cache and channel layer",
        responses={200: _READY, 503: OpenApiResponse(_READY, description="A dependency is failing.")},
    )
    def get(self, request: Any) -> Response:
        checks = run_checks()
        ok = all(result["status"] == "ok" for result in checks.values())
        return Response({"status": "ok" if ok else "error", "checks": checks}, status=200 if ok else 503)
