"""Refresh-token rotation, reuse detection, logout and the refresh cookie (CONTRACT §1)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import RefreshToken
from accounts.services import refresh_token_hash, refresh_tokens_purge_revoked, session_start
from accounts.tests.conftest import bearer

pytestmark = pytest.mark.django_db

REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


def refresh(token: str | None, client: APIClient | None = None):
    body = {"refresh_token": token} if token is not None else {}
    return (client or APIClient()).post(REFRESH, body, format="json")


def assert_invalid_refresh(response) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "INVALID_REFRESH_TOKEN"


def test_refresh_rotates_the_token_in_the_same_family(user):
    first = session_start(user=user)

    response = refresh(first.refresh_token)

    assert response.status_code == 200, response.content
    data = response.json()
    assert "data" not in data  # flat like sign-in (CONTRACT §1)
    assert data["refresh_token"] != first.refresh_token
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 900
    assert data["user"]["id"] == str(user.pk)
    old = RefreshToken.objects.get(token_hash=refresh_token_hash(first.refresh_token))
    new = RefreshToken.objects.get(token_hash=refresh_token_hash(data["refresh_token"]))
    assert old.used_at is not None and old.replaced_by_id == new.pk
    assert new.family_id == old.family_id == first.session_id
    # The new access token is valid and carries the same session id.
    assert bearer(data["access_token"]).get("/api/v1/users/me").status_code == 200
    # The new refresh token works once more.
    assert refresh(data["refresh_token"]).status_code == 200


def test_refresh_tokens_are_stored_only_as_hashes(user):
    result = session_start(user=user)

    row = RefreshToken.objects.get(user=user)
    assert row.token_hash == refresh_token_hash(result.refresh_token)
    assert len(row.token_hash) == 64
    assert not RefreshToken.objects.filter(token_hash=result.refresh_token).exists()
    assert row.expires_at - row.created_at == pytest.approx(timedelta(days=7), abs=timedelta(seconds=5))


def test_reusing_a_rotated_token_revokes_the_whole_family(user):
    first = session_start(user=user)
    second = refresh(first.refresh_token).json()

    reuse = refresh(first.refresh_token)

    assert_invalid_refresh(reuse)
    assert not RefreshToken.objects.filter(family_id=first.session_id, revoked_at__isnull=True).exists()
    # The newest token of the family (the legitimate holder's) stops working too,
    assert_invalid_refresh(refresh(second["refresh_token"]))
    # and so do the access tokens of that session.
    assert bearer(second["access_token"]).get("/api/v1/users/me").status_code == 401


def test_reuse_does_not_touch_other_sessions(user):
    stolen = session_start(user=user)
    other = session_start(user=user)
    refresh(stolen.refresh_token)

    assert_invalid_refresh(refresh(stolen.refresh_token))

    assert refresh(other.refresh_token).status_code == 200


def test_unknown_missing_and_expired_tokens_are_refused(user):
    assert_invalid_refresh(refresh("not-a-token"))
    assert_invalid_refresh(refresh(None))
    assert_invalid_refresh(refresh(""))

    expired = session_start(user=user)
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_invalid_refresh(refresh(expired.refresh_token))


def test_refresh_rejects_unknown_fields(user):
    first = session_start(user=user)

    response = APIClient().post(REFRESH, {"refresh_token": first.refresh_token, "extra": 1}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"] == [{"field": "extra", "message": "Unknown field."}]


def test_refresh_for_a_deactivated_user_is_refused(user):
    first = session_start(user=user)
    user.is_active = False
    user.save()

    assert_invalid_refresh(refresh(first.refresh_token))


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refreshes_with_one_token_exactly_one_succeeds(user):
    first = session_start(user=user)
    barrier = threading.Barrier(2)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait()
            response = refresh(first.refresh_token)
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [200, 401]
    # The loser was treated as reuse: the whole family, the winner's new token included, is revoked.
    family = RefreshToken.objects.filter(family_id=first.session_id)
    assert family.count() == 2
    assert not family.filter(revoked_at__isnull=True).exists()


def test_logout_revokes_the_family_and_is_idempotent(user):
    first = session_start(user=user)
    second = refresh(first.refresh_token).json()

    response = APIClient().post(LOGOUT, {"refresh_token": second["refresh_token"]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"data": {"logged_out": True}}
    assert not RefreshToken.objects.filter(family_id=first.session_id, revoked_at__isnull=True).exists()
    assert_invalid_refresh(refresh(second["refresh_token"]))
    assert bearer(second["access_token"]).get("/api/v1/users/me").status_code == 401
    # Again, with the same token, an unknown one, or nothing at all: still 200 with the same body.
    again = [
        APIClient().post(LOGOUT, {"refresh_token": second["refresh_token"]}, format="json"),
        APIClient().post(LOGOUT, {"refresh_token": "garbage"}, format="json"),
        APIClient().post(LOGOUT, {}, format="json"),
        APIClient().generic("POST", LOGOUT, "{bad", content_type="application/json"),
        APIClient().generic("POST", LOGOUT, "x", content_type="text/plain"),
    ]
    assert [(r.status_code, r.json()) for r in again] == [(200, {"data": {"logged_out": True}})] * 5


def test_logout_leaves_other_sessions_alone(user):
    mine = session_start(user=user)
    other_device = session_start(user=user)

    APIClient().post(LOGOUT, {"refresh_token": mine.refresh_token}, format="json")

    assert refresh(other_device.refresh_token).status_code == 200
    assert bearer(other_device.access_token).get("/api/v1/users/me").status_code == 200


def test_refresh_cookie_is_set_on_sign_in_used_by_refresh_and_cleared_by_logout(sign_in, settings):
    client = APIClient()
    response = sign_in(client)

    cookie = response.cookies[settings.REFRESH_COOKIE_NAME]
    assert cookie.value == response.json()["refresh_token"]
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/api/v1/auth/"
    assert response["Cache-Control"] == "no-store"

    # No body: the cookie is used, and a rotated one is set.
    refreshed = client.post(REFRESH, {}, format="json")
    assert refreshed.status_code == 200, refreshed.content
    new_cookie = refreshed.cookies[settings.REFRESH_COOKIE_NAME]
    assert new_cookie.value == refreshed.json()["refresh_token"] != cookie.value

    logout = client.post(LOGOUT, {}, format="json")
    assert logout.status_code == 200
    cleared = logout.cookies[settings.REFRESH_COOKIE_NAME]
    assert cleared.value == ""
    assert cleared["max-age"] == 0
    assert cleared["path"] == "/api/v1/auth/"
    assert_invalid_refresh(refresh(new_cookie.value))


def test_refresh_cookie_secure_flag_follows_settings(sign_in, settings):
    settings.REFRESH_COOKIE_SECURE = False

    response = sign_in()

    assert response.cookies[settings.REFRESH_COOKIE_NAME]["secure"] == ""


def test_purge_deletes_only_long_revoked_or_expired_tokens(user, settings):
    now = timezone.now()
    live = session_start(user=user)
    old_revoked = session_start(user=user)
    recently_revoked = session_start(user=user)
    old_expired = session_start(user=user)
    RefreshToken.objects.filter(family_id=old_revoked.session_id).update(revoked_at=now - timedelta(days=8))
    RefreshToken.objects.filter(family_id=recently_revoked.session_id).update(revoked_at=now - timedelta(days=1))
    RefreshToken.objects.filter(family_id=old_expired.session_id).update(expires_at=now - timedelta(days=8))

    assert refresh_tokens_purge_revoked() == 2
    assert refresh_tokens_purge_revoked() == 0

    remaining = set(RefreshToken.objects.values_list("family_id", flat=True))
    assert remaining == {live.session_id, recently_revoked.session_id}
