"""Prometheus metrics (CONTRACT §15) and the token-protected `/metrics` endpoint.

django-prometheus already exports request latency histograms by view, response
counts by status and exceptions. The counters below are the domain ones; other apps
increment them:

    from perpetua.api.metrics import JOBS_PROCESSED
    JOBS_PROCESSED.labels(job="send_push", outcome="succeeded").inc()

The credits counters are incremented by `credits.services` only, after the movement
commits (granted, consumed, expired and refunded, by credit type). The AI ones
(calls, failures, provider latency, by endpoint) by `ai.services.calls` only.

`/metrics` answers only `Authorization: Bearer <METRICS_TOKEN>` (constant-time
comparison): no/other scheme → 401 with `WWW-Authenticate: Bearer`, wrong token → 403,
METRICS_TOKEN unset → 404 (the endpoint does not exist until an operator enables it).
With several server processes, set PROMETHEUS_MULTIPROC_DIR so the exposition
aggregates them (prometheus_client multiprocess mode).
"""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView
from django_tasks_db.models import DBTaskResult
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from perpetua.api.exceptions import AccessDenied, NotFound

CREDITS_GRANTED = Counter(
    "perpetua_credits_granted",
    "AI credits granted, by credit type (kickstart, daily, subscription, purchased).",
    ["credit_type"],
)
CREDITS_CONSUMED = Counter(
    "perpetua_credits_consumed",
    "AI credits consumed, by credit type and operation (chat, subtasks, note_convert, transcribe).",
    ["credit_type", "operation"],
)
CREDITS_EXPIRED = Counter("perpetua_credits_expired", "AI credits expired unused, by credit type.", ["credit_type"])
CREDITS_REFUNDED = Counter(
    "perpetua_credits_refunded", "AI credits refunded after a failed AI call, by credit type.", ["credit_type"]
)
AI_CALLS = Counter(
    "perpetua_ai_calls",
    "AI provider calls, by endpoint (chat, chat_stream, generate_subtasks, note_convert) and outcome (ok, failed).",
    ["endpoint", "outcome"],
)
AI_FAILURES = Counter(
    "perpetua_ai_failures",
    "Failed AI provider calls, by endpoint and reason (unconfigured, timeout, error, malformed, disconnected).",
    ["endpoint", "reason"],
)
AI_LATENCY = Histogram(
    "perpetua_ai_latency_seconds",
    "Time spent waiting on the AI provider per call, by endpoint.",
    ["endpoint"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60),
)
JOBS_PROCESSED = Counter(
    "perpetua_jobs_processed",
    "Background jobs run by the worker, by job name and outcome (succeeded, retried, failed).",
    ["job", "outcome"],
)


class JobQueueCollector:
    """Jobs by task and status, read from the queue table at scrape time.

    The worker runs in its own processes, which serve no /metrics: the table it works
    from is what every server process can see. One GROUP BY per scrape.
    """

    def describe(self) -> list[GaugeMetricFamily]:
        return [self._family()]

    def collect(self) -> Any:
        family = self._family()
        rows = DBTaskResult.objects.values_list("task_path", "status").annotate(n=Count("id")).order_by()
        for task_path, status, count in rows:
            family.add_metric([task_path.rsplit(".", 1)[-1], str(status).lower()], count)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "perpetua_jobs", "Background jobs in the queue, by job and status (ready, running, successful, failed).",
            labels=["job", "status"],
        )  # fmt: skip


REGISTRY.register(JobQueueCollector())


def _plain(status: int, text: str, **headers: str) -> HttpResponse:
    response = HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")
    for name, value in headers.items():
        response[name] = value
    return response


@require_GET
def metrics_view(request: Any) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        return _plain(NotFound.status_code, NotFound.default_message)
    scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return _plain(401, "Bearer token required.", **{"WWW-Authenticate": 'Bearer realm="metrics"'})
    if not hmac.compare_digest(presented.strip().encode(), token.encode()):
        return _plain(AccessDenied.status_code, AccessDenied.default_message)
    return ExportToDjangoView(request)
