"""Web Push delivery (CONTRACT §13, §6, §15) by the real worker against a fake push service.

Transactional tests: enqueue needs real commits, and the worker runs as in production.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from model_bakery import baker

from notifications import providers, push
from notifications.models import Notification, PushSubscription
from notifications.services import notification_create
from tasks.models import Reminder
from tasks.services.reminders import reminders_fire_due, reminders_fire_due_job

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/notifications/push-subscription"
KEY_URL = "/api/v1/notifications/push-subscription/vapid-public-key"


def subscribe(api, push_service, **options):
    """What the SPA does: fetch the VAPID key, let the browser subscribe with it, POST the result."""
    key = api.get(KEY_URL).json()["data"]["public_key"]
    browser = push_service.browser(application_server_key=key, **options)
    assert api.post(URL, browser.subscription_json(), format="json").status_code == 201
    return browser


def jobs(name):
    return list(DBTaskResult.objects.filter(task_path=f"notifications.push.{name}").order_by("enqueued_at"))


def notify(user, **fields):
    fields = {
        "type": "reminder",
        "title": "File taxes",
        "body": "Due in 15 minutes.",
        "action_url": "/tasks/1",
    } | fields
    return notification_create(user=user, push=True, **fields)


def test_push_is_sent_by_the_worker_signed_with_vapid_and_encrypted(api, user, vapid, push_service, run_worker):
    browser = subscribe(api, push_service)
    notification = notify(user, title="Zahlung fällig ✓")
    assert push_service.received == []  # nothing inside the caller: only a queued job

    run_worker()

    [received] = push_service.to(browser)
    assert received.status == 201, (received.vapid_error, received.decrypt_error)
    claims = received.vapid_claims
    assert claims["aud"] == push_service.origin
    assert claims["sub"] == "mailto:ops@perpetua.test"
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    assert claims["k"] == vapid.public
    assert received.headers["authorization"].startswith("vapid t=")
    assert received.headers["content-encoding"] == "aes128gcm"
    assert received.headers["ttl"] == "3600"
    assert received.payload == {
        "title": "Zahlung fällig ✓",
        "body": "Due in 15 minutes.",
        "action_url": "/tasks/1",
        "notification_id": str(notification.pk),
        "type": "reminder",
    }
    statuses = [job.status for job in jobs("push_send_notification") + jobs("push_send")]
    assert statuses == [TaskResultStatus.SUCCESSFUL, TaskResultStatus.SUCCESSFUL]
    assert jobs("push_send")[0].return_value == "sent"


@pytest.mark.parametrize("form", ["pem", "pkcs8_pem"])
def test_pem_vapid_key_signs_too(api, user, vapid, settings, push_service, run_worker, form):
    settings.VAPID_PRIVATE_KEY = getattr(vapid, form)
    browser = subscribe(api, push_service)
    notify(user)
    run_worker()
    [received] = push_service.to(browser)
    assert received.status == 201 and received.vapid_claims["k"] == vapid.public


def test_every_browser_of_the_user_and_no_one_else(api, client_for, user, make_user, vapid, push_service, run_worker):
    phone, laptop = subscribe(api, push_service), subscribe(api, push_service)
    stranger = subscribe(client_for(make_user()), push_service)
    notify(user)
    run_worker()
    assert len(push_service.to(phone)) == len(push_service.to(laptop)) == 1
    assert push_service.to(stranger) == []


def test_gone_subscription_is_deleted_without_retry(api, user, vapid, push_service, run_worker):
    gone = subscribe(api, push_service, statuses=[410])
    alive = subscribe(api, push_service)
    notify(user)
    run_worker()
    assert [r.status for r in push_service.to(gone)] == [410]
    assert [r.status for r in push_service.to(alive)] == [201]
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [alive.endpoint]
    sends = jobs("push_send")
    assert {job.status for job in sends} == {TaskResultStatus.SUCCESSFUL}
    assert sorted(job.return_value for job in sends) == ["gone", "sent"]


def test_404_also_deletes(api, user, vapid, push_service, run_worker):
    subscribe(api, push_service, statuses=[404])
    notify(user)
    run_worker()
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize("status", [500, 503, 429])
def test_temporary_failure_schedules_a_bounded_retry(api, user, vapid, push_service, run_worker, settings, status):
    settings.JOB_RETRY_BASE_SECONDS = 60
    browser = subscribe(api, push_service, statuses=[status])
    notify(user)
    run_worker()

    first, retry = jobs("push_send")
    assert first.status == TaskResultStatus.FAILED
    assert first.exception_class_path == "notifications.providers.PushTemporaryFailure"
    assert retry.status == TaskResultStatus.READY
    assert retry.args_kwargs["kwargs"] == {"_attempt": 2}
    assert retry.run_after >= timezone.now() + timedelta(seconds=50)
    assert PushSubscription.objects.filter(endpoint=browser.endpoint).exists()
    assert len(push_service.to(browser)) == 1  # the retry waits for its time


def test_flaky_push_service_succeeds_on_retry(api, user, vapid, push_service, run_worker, settings):
    settings.JOB_RETRY_BASE_SECONDS = 0
    browser = subscribe(api, push_service, statuses=[500, 201])
    notification = notify(user)
    run_worker()
    assert [r.status for r in push_service.to(browser)] == [500, 201]
    assert push_service.to(browser)[1].payload["notification_id"] == str(notification.pk)
    assert [job.status for job in jobs("push_send")] == [TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL]


def test_retries_stop_at_the_bound(api, user, vapid, push_service, run_worker, settings):
    settings.JOB_RETRY_BASE_SECONDS = 0
    settings.JOB_MAX_ATTEMPTS = 3
    browser = subscribe(api, push_service, statuses=[502])
    notify(user)
    run_worker()
    assert [r.status for r in push_service.to(browser)] == [502, 502, 502]
    assert [job.status for job in jobs("push_send")] == [TaskResultStatus.FAILED] * 3
    assert PushSubscription.objects.filter(endpoint=browser.endpoint).exists()  # kept: not gone


def test_unreachable_push_service_is_retried(user, vapid, run_worker, settings, push_service):
    settings.JOB_RETRY_BASE_SECONDS = 3600
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: connection refused
    body = push_service.browser().subscription_json()
    PushSubscription.objects.create(
        user=user, endpoint=f"http://127.0.0.1:{port}/push/x", p256dh=body["keys"]["p256dh"], auth=body["keys"]["auth"]
    )
    notify(user)
    run_worker()
    first, retry = jobs("push_send")
    assert first.exception_class_path == "notifications.providers.PushTemporaryFailure"
    assert retry.status == TaskResultStatus.READY


@pytest.mark.parametrize("status", [400, 403, 413])
def test_other_refusals_are_dropped_not_retried(api, user, vapid, push_service, run_worker, status):
    browser = subscribe(api, push_service, statuses=[status])
    notify(user)
    run_worker()
    [send] = jobs("push_send")
    assert send.status == TaskResultStatus.SUCCESSFUL and send.return_value == "rejected"
    assert PushSubscription.objects.filter(endpoint=browser.endpoint).exists()


def test_vapid_key_other_than_the_subscriptions_is_refused_by_the_service(
    api, user, vapid, settings, push_service, run_worker
):
    from notifications.tests.conftest import make_vapid_keys

    browser = subscribe(api, push_service)
    settings.VAPID_PRIVATE_KEY = make_vapid_keys().raw  # keys rotated after the browser subscribed
    notify(user)
    run_worker()
    assert [r.status for r in push_service.to(browser)] == [403]
    assert jobs("push_send")[0].return_value == "rejected"


def test_missing_vapid_config_logs_and_skips(api, user, settings, push_service, run_worker, caplog):
    settings.VAPID_PRIVATE_KEY = ""
    browser = push_service.browser()
    api.post(URL, browser.subscription_json(), format="json")
    notify(user)
    with caplog.at_level(logging.WARNING, logger="notifications.push"):
        run_worker()
    assert push_service.received == []
    [fan_out] = jobs("push_send_notification")
    assert fan_out.status == TaskResultStatus.SUCCESSFUL and fan_out.return_value == 0
    assert "VAPID_PRIVATE_KEY is not configured" in caplog.text


def test_notification_read_or_deleted_before_the_push_is_not_pushed(api, user, vapid, push_service, run_worker):
    subscribe(api, push_service)
    read = notify(user)
    Notification.objects.filter(pk=read.pk).update(read=True)
    deleted = notify(user)
    deleted.delete()
    run_worker()
    assert push_service.received == []


def test_redirects_are_not_followed(user, vapid, push_service, run_worker):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    target = push_service.browser()

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(307)
            self.send_header("Location", target.endpoint)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        body = target.subscription_json()
        PushSubscription.objects.create(
            user=user,
            endpoint=f"http://127.0.0.1:{server.server_address[1]}/push/r",
            p256dh=body["keys"]["p256dh"],
            auth=body["keys"]["auth"],
        )
        notify(user)
        run_worker()
    finally:
        server.shutdown()
        server.server_close()
    assert push_service.received == []
    assert jobs("push_send")[0].return_value == "rejected"


def test_oversized_payload_is_cut_to_fit_one_push_message(api, user, vapid, push_service, run_worker):
    browser = subscribe(api, push_service)
    notify(user, title="𝄞" * 100, body="𝄞" * 500, action_url="/" + "a" * 999)
    run_worker()
    [received] = push_service.to(browser)
    assert received.status == 201 and len(received.body) <= 4096
    assert received.payload["title"] == "𝄞" * 100


# --- reminders with method "push" (CONTRACT §6) -----------------------------------------------------


def due_push_reminder(user, **task_fields):
    task = baker.make("tasks.Task", user=user, title="File taxes", **task_fields)
    return baker.make(
        Reminder,
        user=user,
        task=task,
        type="absolute",
        method="push",
        scheduled_at=timezone.now() - timedelta(minutes=1),
    )


def test_push_reminder_fires_in_app_and_push_through_the_worker(api, user, vapid, push_service, run_worker):
    browser = subscribe(api, push_service)
    reminder = due_push_reminder(user)
    reminders_fire_due_job.enqueue()
    assert push_service.received == []

    run_worker()  # fires the reminder, then (same worker run) sends the push it queued

    reminder.refresh_from_db()
    assert reminder.fired is True
    notification = Notification.objects.get(user=user)
    assert notification.type == "reminder" and notification.action_url == f"/tasks/{reminder.task_id}"
    [received] = push_service.to(browser)
    assert received.status == 201
    assert received.payload["notification_id"] == str(notification.pk)
    assert received.payload["title"] == "File taxes"


def test_reminder_firing_succeeds_whatever_the_push_outcome(api, user, vapid, push_service, run_worker):
    subscribe(api, push_service, statuses=[410])
    reminder = due_push_reminder(user)
    assert reminders_fire_due() == 1  # the caller: no network call, no failure
    assert push_service.received == []
    reminder.refresh_from_db()
    assert reminder.fired is True

    run_worker()
    assert [r.status for r in push_service.received] == [410]
    assert not PushSubscription.objects.exists()
    assert Notification.objects.filter(user=user).count() == 1


def test_in_app_reminder_sends_no_push(api, user, vapid, push_service, run_worker):
    subscribe(api, push_service)
    reminder = due_push_reminder(user)
    Reminder.objects.filter(pk=reminder.pk).update(method="in_app")
    reminders_fire_due()
    run_worker()
    assert push_service.received == [] and jobs("push_send_notification") == []


def test_job_functions_run_directly_too(user, vapid, push_service):
    """The same path without the worker (the django-tasks backend's `call`)."""
    browser = push_service.browser()
    body = browser.subscription_json()
    subscription = PushSubscription.objects.create(
        user=user, endpoint=browser.endpoint, p256dh=body["keys"]["p256dh"], auth=body["keys"]["auth"]
    )
    notification = Notification.objects.create(user=user, type="system", title="Hello")
    assert push.push_send.call(str(notification.pk), str(subscription.pk)) == "sent"
    assert push_service.to(browser)[0].payload["title"] == "Hello"
    assert providers.push_configured()
