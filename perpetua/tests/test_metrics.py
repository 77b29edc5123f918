"""`/metrics` (CONTRACT §15): Prometheus exposition behind a bearer token."""

import pytest

from perpetua.api.metrics import CREDITS_CONSUMED, JOBS_PROCESSED

pytestmark = [pytest.mark.urls("perpetua.tests.urls"), pytest.mark.django_db]


def test_metrics_without_configured_token_do_not_exist(anon_client, settings):
    settings.METRICS_TOKEN = ""
    assert anon_client.get("/metrics").status_code == 404
    assert anon_client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_metrics_require_the_bearer_token(anon_client, settings):
    settings.METRICS_TOKEN = "s3cret"
    missing = anon_client.get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert anon_client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret").status_code == 401
    assert anon_client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403


def test_metrics_exposition(api, anon_client, settings):
    settings.METRICS_TOKEN = "s3cret"
    api.get("/api/v1/echo")
    CREDITS_CONSUMED.labels(credit_type="daily", operation="chat").inc()
    JOBS_PROCESSED.labels(job="send_push", outcome="succeeded").inc()
    response = anon_client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert 'perpetua_credits_consumed_total{credit_type="daily",operation="chat"}' in text
    assert 'perpetua_jobs_processed_total{job="send_push",outcome="succeeded"}' in text


def test_jobs_in_the_queue_are_exported_from_the_table_the_workers_share(anon_client, settings):
    from perpetua.tests.jobs_for_tests import record_run

    settings.METRICS_TOKEN = "s3cret"
    record_run.enqueue("a")
    record_run.enqueue("b")
    text = anon_client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").content.decode()
    assert 'perpetua_jobs{job="record_run",status="ready"} 2.0' in text
