"""Web Push subscriptions over HTTP (CONTRACT §13) and the enqueue rule of notification_create."""

from __future__ import annotations

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from notifications.models import PushSubscription
from notifications.services import notification_create
from notifications.tests.conftest import b64url, make_vapid_keys

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/push-subscription"
KEY_URL = "/api/v1/notifications/push-subscription/vapid-public-key"
SUBSCRIPTION_FIELDS = {"id", "user_id", "endpoint", "created_at", "updated_at"}


@pytest.fixture
def other_api(client_for, make_user):
    return client_for(make_user())


def post(client, body):
    return client.post(URL, body, format="json")


def delete(client, body):
    return client.delete(URL, body, format="json")


def test_register_is_201_then_200_and_refreshes_keys(api, user, push_service):
    browser = push_service.browser()
    first = post(api, browser.subscription_json())
    assert first.status_code == 201
    data = first.json()["data"]
    assert set(data) == SUBSCRIPTION_FIELDS
    assert data["endpoint"] == browser.endpoint and data["user_id"] == str(user.id)
    assert data["created_at"].endswith("Z") and len(data["created_at"]) == 24

    renewed = browser.subscription_json()
    renewed["keys"]["auth"] = b64url(b"\x01" * 16)
    renewed["expirationTime"] = 1767225600000
    again = post(api, renewed)
    assert again.status_code == 200
    assert again.json()["data"]["id"] == data["id"]
    row = PushSubscription.objects.get()
    assert row.auth == renewed["keys"]["auth"] and row.user_id == user.id
    assert row.p256dh == browser.subscription_json()["keys"]["p256dh"]


def test_padded_base64url_keys_are_stored_unpadded(api, push_service):
    body = push_service.browser().subscription_json()
    body["keys"] = {name: value + "=" * (-len(value) % 4) for name, value in body["keys"].items()}
    assert post(api, body).status_code == 201
    row = PushSubscription.objects.get()
    assert "=" not in row.p256dh + row.auth and len(row.p256dh) == 87 and len(row.auth) == 22


def _bad(body, **changes):
    body = {**body, "keys": dict(body["keys"])}
    for name, value in changes.items():
        target = body["keys"] if name in ("p256dh", "auth", "extra_key") else body
        if value is ...:
            target.pop(name)
        else:
            target[name] = value
    return body


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"endpoint": "ftp://push.example.com/x"}, "endpoint"),
        ({"endpoint": "javascript:alert(1)"}, "endpoint"),
        ({"endpoint": "not a url"}, "endpoint"),
        ({"endpoint": "https://push.example.com/" + "a" * 2000}, "endpoint"),
        ({"endpoint": "https://push.example.com/ä"}, "endpoint"),
        ({"endpoint": ...}, "endpoint"),
        ({"keys": ...}, "keys"),
        ({"keys": "p256dh"}, "keys"),
        ({"p256dh": ...}, "keys.p256dh"),
        ({"auth": ...}, "keys.auth"),
        ({"p256dh": "not/base64+url"}, "keys.p256dh"),
        ({"p256dh": b64url(b"\x04" + b"\x01" * 32)}, "keys.p256dh"),  # 33 bytes
        ({"p256dh": b64url(b"\x02" + b"\x01" * 64)}, "keys.p256dh"),  # 65 bytes, not uncompressed
        ({"p256dh": b64url(b"\x04" + b"\x00" * 64)}, "keys.p256dh"),  # not on the curve
        ({"auth": b64url(b"\x01" * 15)}, "keys.auth"),
        ({"auth": b64url(b"\x01" * 32)}, "keys.auth"),
        ({"auth": "a!b"}, "keys.auth"),
        ({"auth": ""}, "keys.auth"),
        ({"unexpected": 1}, "unexpected"),
        ({"extra_key": "x"}, "keys.extra_key"),
        ({"expirationTime": "soon"}, "expirationTime"),
        ({"expirationTime": "1767225600000"}, "expirationTime"),  # a number in a string is no number
        ({"expirationTime": True}, "expirationTime"),
        ({"endpoint": 123}, "endpoint"),
        ({"p256dh": 123}, "keys.p256dh"),
        ({"auth": ["x"]}, "keys.auth"),
    ],
)
def test_register_validation_errors(api, push_service, changes, field):
    response = post(api, _bad(push_service.browser().subscription_json(), **changes))
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["request_id"]
    assert field in {detail["field"] for detail in error["details"]}
    assert not PushSubscription.objects.exists()


def test_endpoint_registered_by_another_user_moves_to_the_caller(api, other_api, user, push_service):
    body = push_service.browser().subscription_json()
    assert post(other_api, body).status_code == 201
    response = post(api, body)
    assert response.status_code == 201
    assert PushSubscription.objects.get().user_id == user.id


def test_delete_is_idempotent_and_only_touches_own_rows(api, other_api, user, push_service):
    mine, theirs = push_service.browser(), push_service.browser()
    post(api, mine.subscription_json())
    post(other_api, theirs.subscription_json())

    # 200 with a JSON body, never 204 (CONTRACT §0: the SPA parses every success body).
    gone = (200, {"data": {"deleted": True}})
    not_mine = delete(api, {"endpoint": theirs.endpoint})  # not mine: nothing happens
    assert (not_mine.status_code, not_mine.json()) == gone
    assert PushSubscription.objects.count() == 2
    removed, again = delete(api, {"endpoint": mine.endpoint}), delete(api, {"endpoint": mine.endpoint})
    assert [(r.status_code, r.json()) for r in (removed, again)] == [gone, gone]
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [theirs.endpoint]
    assert delete(api, mine.subscription_json()).status_code == 400  # unknown fields
    missing = delete(api, {})
    assert missing.status_code == 400
    assert missing.json()["error"]["details"][0]["field"] == "endpoint"


def test_registering_past_the_cap_drops_the_least_recent(api, user, push_service, settings):
    settings.PUSH_MAX_SUBSCRIPTIONS_PER_USER = 2
    first, second, third = (push_service.browser() for _ in range(3))
    post(api, first.subscription_json())
    post(api, second.subscription_json())
    assert post(api, first.subscription_json()).status_code == 200  # first is now the most recent
    assert post(api, third.subscription_json()).status_code == 201
    endpoints = set(PushSubscription.objects.filter(user=user).values_list("endpoint", flat=True))
    assert endpoints == {first.endpoint, third.endpoint}


def test_subscription_endpoints_require_auth(anon_client, push_service):
    assert post(anon_client, push_service.browser().subscription_json()).status_code == 401
    assert delete(anon_client, {"endpoint": "https://x.example/"}).status_code == 401
    assert anon_client.get(KEY_URL).status_code == 401


def test_idempotency_key_replays_registration(api, push_service):
    body = push_service.browser().subscription_json()
    headers = {"HTTP_IDEMPOTENCY_KEY": "5b0c3a3e-8d2e-4a53-9a43-3c3cf39fb2b1"}
    first = api.post(URL, body, format="json", **headers)
    replay = api.post(URL, body, format="json", **headers)
    assert first.status_code == replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert PushSubscription.objects.count() == 1


# --- VAPID public key -----------------------------------------------------------------------------


def test_vapid_public_key_from_raw_private_key(api, vapid):
    assert api.get(KEY_URL).json() == {"data": {"public_key": vapid.public}}


@pytest.mark.parametrize("form", ["pem", "pkcs8_pem", "escaped_pem"])
def test_vapid_private_key_may_be_pem(api, settings, form):
    keys = make_vapid_keys()
    settings.VAPID_PUBLIC_KEY = ""
    value = keys.pkcs8_pem if form == "pkcs8_pem" else keys.pem
    settings.VAPID_PRIVATE_KEY = value.replace("\n", "\\n") if form == "escaped_pem" else value
    assert api.get(KEY_URL).json()["data"]["public_key"] == keys.public


def test_vapid_public_key_is_derived_when_the_configured_one_mismatches(api, vapid, settings, caplog):
    settings.VAPID_PUBLIC_KEY = make_vapid_keys().public
    assert api.get(KEY_URL).json()["data"]["public_key"] == vapid.public
    assert "does not match" in caplog.text


def test_vapid_public_key_is_null_when_unconfigured(api, settings):
    settings.VAPID_PRIVATE_KEY = ""
    settings.VAPID_PUBLIC_KEY = ""
    assert api.get(KEY_URL).json() == {"data": {"public_key": None}}
    settings.VAPID_PRIVATE_KEY = "not-a-key"
    assert api.get(KEY_URL).json() == {"data": {"public_key": None}}


# --- enqueueing ------------------------------------------------------------------------------------


def push_jobs():
    return list(DBTaskResult.objects.filter(task_path__startswith="notifications.push."))


def test_push_notification_is_enqueued_with_its_notification(user, push_service):
    PushSubscription.objects.create(user=user, endpoint=push_service.browser().endpoint, p256dh="x", auth="y")
    with transaction.atomic():
        notification = notification_create(user=user, type="reminder", title="Due", push=True)
        notification_create(user=user, type="achievement", title="Unlocked")  # in-app only
    [queued] = push_jobs()
    assert queued.task_path == "notifications.push.push_send_notification"
    assert queued.args_kwargs["args"] == [str(notification.pk)]


def test_rolled_back_notification_enqueues_nothing(user, push_service, django_capture_on_commit_callbacks):
    PushSubscription.objects.create(user=user, endpoint=push_service.browser().endpoint, p256dh="x", auth="y")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            notification_create(user=user, type="reminder", title="Due", push=True)
            raise RuntimeError("rollback")
    assert callbacks == [] and push_jobs() == []


def test_no_subscription_no_push_job(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification_create(user=user, type="reminder", title="Due", push=True)
    assert callbacks == [] and push_jobs() == []
