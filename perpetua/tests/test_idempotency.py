"""Idempotency-Key (CONTRACT §0): replay, conflicts, release on failure, concurrency."""

import hashlib
import json
import threading
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from perpetua.api.idempotency import idempotency_purge_expired
from perpetua.api.models import IdempotencyKey

pytestmark = pytest.mark.urls("perpetua.tests.urls")


def rows(prefix):
    return Group.objects.filter(name__startswith=f"{prefix}-").count()


def post(client, path, body, key):
    headers = {"HTTP_IDEMPOTENCY_KEY": str(key)} if key is not None else {}
    return client.post(path, body, format="json", **headers)


@pytest.mark.django_db
def test_replay_returns_the_stored_response_and_runs_nothing(api):
    key = uuid.uuid4()
    first = post(api, "/api/v1/echo", {"title": "hello"}, key)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    second = post(api, "/api/v1/echo", {"title": "hello"}, key)
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert rows("echo") == 1
    assert IdempotencyKey.objects.get().state == IdempotencyKey.State.COMPLETE


@pytest.mark.django_db
def test_requests_without_a_key_are_not_deduplicated(api):
    post(api, "/api/v1/echo", {"title": "a"}, None)
    post(api, "/api/v1/echo", {"title": "a"}, None)
    assert rows("echo") == 2
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_client_errors_are_stored_and_replayed_too(api):
    key = uuid.uuid4()
    first = post(api, "/api/v1/echo", {"title": ""}, key)
    second = post(api, "/api/v1/echo", {"title": ""}, key)
    assert first.status_code == second.status_code == 400
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()


@pytest.mark.django_db
def test_same_key_with_another_body_is_409(api):
    key = uuid.uuid4()
    post(api, "/api/v1/echo", {"title": "one"}, key)
    response = post(api, "/api/v1/echo", {"title": "two"}, key)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert rows("echo") == 1


@pytest.mark.django_db
def test_same_key_on_another_path_is_409(api):
    key = uuid.uuid4()
    post(api, "/api/v1/echo", {"title": "one"}, key)
    assert post(api, "/api/v1/slow", {"title": "one"}, key).status_code == 409


@pytest.mark.django_db
def test_duplicate_while_in_flight_is_409(api, user, settings):
    key = uuid.uuid4()
    body = json.dumps({"title": "one"}).encode()
    fingerprint = hashlib.sha256(b"POST\n/api/v1/echo\n" + body).hexdigest()
    IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
    response = api.post("/api/v1/echo", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(key))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert "still being processed" in response.json()["error"]["message"]
    assert 1 <= int(response["Retry-After"]) <= settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS  # when it is released
    assert rows("echo") == 0


@pytest.mark.django_db
def test_key_must_be_a_uuid(api):
    response = post(api, "/api/v1/echo", {"title": "x"}, "not-a-uuid")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"][0]["field"] == "Idempotency-Key"
    assert rows("echo") == 0


@pytest.mark.django_db
def test_required_key_missing_is_400(api):
    response = post(api, "/api/v1/ai/echo", {}, None)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "Idempotency-Key"
    assert post(api, "/api/v1/ai/echo", {}, uuid.uuid4()).status_code == 200
    assert rows("ai") == 1


@pytest.mark.django_db
def test_keys_are_scoped_per_user(client_for, make_user):
    key = uuid.uuid4()
    alice, bob = client_for(make_user()), client_for(make_user())
    assert post(alice, "/api/v1/echo", {"title": "same"}, key).status_code == 201
    response = post(bob, "/api/v1/echo", {"title": "same"}, key)
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert rows("echo") == 2


@pytest.mark.django_db
def test_server_error_releases_the_key(api):
    key = uuid.uuid4()
    assert post(api, "/api/v1/unavailable", {}, key).status_code == 503
    assert not IdempotencyKey.objects.exists()
    assert post(api, "/api/v1/unavailable", {}, key).status_code == 503
    assert rows("unavailable") == 2


@pytest.mark.django_db
def test_unhandled_exception_releases_the_key(api):
    api.raise_request_exception = False
    key = uuid.uuid4()
    assert post(api, "/api/v1/boom", {}, key).status_code == 500
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_streamed_response_is_not_replayed_but_never_rerun(api):
    key = uuid.uuid4()
    first = post(api, "/api/v1/stream", {}, key)
    assert first.status_code == 200
    assert b"".join(first.streaming_content).endswith(b"[DONE]\n\n")
    second = post(api, "/api/v1/stream", {}, key)
    assert second.status_code == 409
    assert rows("stream") == 1


@pytest.mark.django_db
def test_expired_key_is_treated_as_new(api, user, settings):
    settings.IDEMPOTENCY_TTL_HOURS = 24
    key = uuid.uuid4()
    post(api, "/api/v1/echo", {"title": "x"}, key)
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    response = post(api, "/api/v1/echo", {"title": "x"}, key)
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert rows("echo") == 2
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db
def test_a_key_left_in_flight_by_a_dead_process_is_released_after_the_timeout(api, user, settings):
    settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS = 120
    key = uuid.uuid4()
    body = {"title": "x"}
    fingerprint = hashlib.sha256(b"unused").hexdigest()
    IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)  # the process died here
    assert post(api, "/api/v1/echo", body, key).status_code == 409  # may still be running
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(seconds=121))
    response = post(api, "/api/v1/echo", body, key)
    assert response.status_code == 201
    assert rows("echo") == 1
    assert IdempotencyKey.objects.get().state == IdempotencyKey.State.COMPLETE


@pytest.mark.django_db
def test_purge_deletes_only_expired_keys(user):
    old = IdempotencyKey.objects.create(user=user, key=uuid.uuid4(), fingerprint="a" * 64)
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    IdempotencyKey.objects.create(user=user, key=uuid.uuid4(), fingerprint="b" * 64)
    assert idempotency_purge_expired() == 1
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # autocommit, as in production (no savepoints)
def test_keyed_request_costs_two_queries(api, django_assert_num_queries):
    # Without a key the request costs only the access-token user lookup; a key adds two.
    post(api, "/api/v1/auth/ping", {}, None)
    with django_assert_num_queries(1):
        post(api, "/api/v1/auth/ping", {}, None)
    with django_assert_num_queries(1 + 2):  # user lookup, INSERT in-flight row, UPDATE with the response
        post(api, "/api/v1/auth/ping", {}, uuid.uuid4())


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_execute_exactly_once(client_for, user):
    key = str(uuid.uuid4())
    results = []
    barrier = threading.Barrier(10)

    def worker():
        try:
            client = client_for(user)
            barrier.wait()
            response = client.post("/api/v1/slow", {"n": 1}, format="json", HTTP_IDEMPOTENCY_KEY=key)
            results.append((response.status_code, response.get("Idempotent-Replayed")))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 10
    assert rows("slow") == 1
    executed = [r for r in results if r == (201, None)]
    assert len(executed) == 1
    for status, replayed in results:
        assert (status, replayed) in {(201, None), (201, "true"), (409, None)}


@pytest.mark.django_db
@pytest.mark.urls("perpetua.urls")
def test_admin_lists_keys_read_only(client, make_user):
    staff = make_user(is_staff=True, is_superuser=True)
    IdempotencyKey.objects.create(user=staff, key=uuid.uuid4(), fingerprint="c" * 64)
    client.force_login(staff)
    response = client.get("/admin/api/idempotencykey/")
    assert response.status_code == 200
    assert client.get("/admin/api/idempotencykey/add/").status_code == 403
